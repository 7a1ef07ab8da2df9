import type { CheckResult, CheckStatus, Coverage, Finding, MatrixCell, Report } from "../core/report-model.js";
import { policyLines } from "./render-policy.js";

const STATUS_ICON: Record<CheckStatus, string> = { pass: "✅", fail: "❌", skip: "⏭️", error: "⚠️" };

/** Escapes text for a Markdown table cell or inline run: pipes, backticks at edges, HTML. */
export function escapeInline(text: string): string {
  return text.replace(/[\\|<>*_[\]]/g, (c) => `\\${c}`).replace(/\r?\n/g, " ");
}

function code(text: string): string {
  const fence = text.includes("`") ? "``" : "`";
  return `${fence}${text}${fence}`;
}

function headline(report: Report): string {
  const s = report.summary;
  if (s.verdict === "pass" && s.skipped > 0) return `## ✅ civic-conformance: ${report.product} — ${s.passed} passed, ${s.skipped} skipped`;
  if (s.verdict === "pass") return `## ✅ civic-conformance: ${report.product} — all checks passed`;
  if (s.verdict === "fail") return `## ❌ civic-conformance: ${report.product} — ${s.failed} check${s.failed === 1 ? "" : "s"} failed`;
  return `## ⚠️ civic-conformance: ${report.product} — ${s.errored} check${s.errored === 1 ? "" : "s"} could not run`;
}

function findingCount(check: CheckResult): string {
  if (check.findings.length === 0) return check.reason ? escapeInline(check.reason.split("\n")[0] ?? "") : "—";
  const errors = check.findings.filter((f) => f.severity === "error").length;
  const warnings = check.findings.length - errors;
  return [errors && `${errors} error${errors === 1 ? "" : "s"}`, warnings && `${warnings} warning${warnings === 1 ? "" : "s"}`].filter(Boolean).join(", ");
}

function renderFinding(finding: Finding): string[] {
  const where = finding.file ? code(`${finding.file}${finding.line ? `:${finding.line}` : ""}`) : undefined;
  const head = [
    `${finding.severity === "error" ? "🔴" : "🟡"} **${code(finding.rule)}**`,
    finding.service ? code(finding.service) : undefined,
    where,
  ]
    .filter(Boolean)
    .join(" · ");
  const lines = [`- ${head} — ${escapeInline(finding.message)}`];
  if (finding.fix) lines.push(`  <br>**Fix:** ${escapeInline(finding.fix)}`);
  if (finding.details) lines.push("", "  <details><summary>Details</summary>", "", ...fenced(finding.details, "diff"), "", "  </details>");
  return lines;
}

function fenced(text: string, language = ""): string[] {
  const fence = text.includes("```") ? "````" : "```";
  return [`  ${fence}${language}`, ...text.trimEnd().split("\n").map((l) => `  ${l}`), `  ${fence}`];
}

/** Why a check was skipped or could not run: its first line inline, the rest (an init script's output) folded. */
function renderReason(check: CheckResult): string[] {
  if (!check.reason || (check.status !== "skip" && check.status !== "error")) return [];
  const [first = "", ...rest] = check.reason.split("\n");
  const lines = [`${check.status === "skip" ? "**Skipped:**" : "**Error:**"} ${escapeInline(first)}`, ""];
  if (rest.length > 0) lines.push("<details><summary>Full cause</summary>", "", ...fenced(rest.join("\n"), "text"), "", "</details>", "");
  return lines;
}

/** What a live check looked at, and each thing it could not look at with why. */
function renderCoverage(coverage: Coverage): string[] {
  const lines = [`**Coverage** (${coverage.complete ? "complete" : "incomplete"}): ${escapeInline(coverage.summary)}`];
  if (coverage.uncovered.length > 0) {
    lines.push("");
    for (const item of coverage.uncovered) {
      const where = item.file ? ` · ${code(`${item.file}${item.line ? `:${item.line}` : ""}`)}` : "";
      lines.push(`- not covered: ${item.kind} ${code(item.name)}${where}${item.reason ? ` — ${escapeInline(item.reason)}` : ""}`);
    }
  }
  return [...lines, ""];
}

/** What backs a cell: L a login attempt, C the catalog (read as the admin), L+C both. */
const PROOF_MARK: Readonly<Record<NonNullable<MatrixCell["proof"]>, string>> = { login: "L", catalog: "C", "login+catalog": "L+C" };

export const MATRIX_LEGEND =
  "✅ kept out · ❌ gets in · 🟢 own database · ⚠️ not proven, or login and catalog disagree — " +
  "L: proven by a login attempt, C: proven by the catalog (`has_database_privilege` as the admin), L+C: both. " +
  "Rows `role …` and `PUBLIC` are read from the catalog alone.";

/**
 * Credential (then catalog-only role, then PUBLIC) × database table (`database@instance` with several
 * instances); ✅ where it is kept out (or its own), ❌ where it gets in, each with the proof behind it.
 */
export function renderMatrix(matrix: readonly MatrixCell[]): string[] {
  const column = (c: MatrixCell) => (c.instance === undefined ? c.database : `${c.database}@${c.instance}`);
  const credentials = [...new Set(matrix.map((c) => c.credentialOf))];
  const databases = [...new Set(matrix.map(column))];
  const cell = new Map(matrix.map((c) => [`${c.credentialOf}\u0000${column(c)}`, c]));
  const symbol = (c: MatrixCell | undefined) => {
    if (!c) return "";
    if (c.outcome === "own") return "🟢 own";
    const proof = c.proof ? ` ${PROOF_MARK[c.proof]}` : "";
    // Kept out by the login alone while the catalog lets the role in: true today for this credential, not for its role.
    if (c.outcome === "refused") return c.proof === undefined || (c.catalog === "allowed" && c.proof === "login") ? `⚠️${proof}` : `✅${proof}`;
    if (c.outcome === "connected") return `❌${proof}`;
    return "⚠️";
  };
  return [
    `| credential of ↓ / database → | ${databases.map(code).join(" | ")} |`,
    `|---|${databases.map(() => ":-:").join("|")}|`,
    ...credentials.map((who) => `| ${code(who)} | ${databases.map((db) => symbol(cell.get(`${who}\u0000${db}`))).join(" | ")} |`),
    "",
    MATRIX_LEGEND,
  ];
}

/** The PR-facing report: verdict, a table of checks, then each failing check's findings with fixes. */
export function renderMarkdown(report: Report): string {
  const s = report.summary;
  const out = [
    headline(report),
    "",
    `Runtime ${code(report.runtime)} · ${s.passed} passed · ${s.failed} failed · ${s.skipped} skipped · ${s.errored} errored`,
    "",
    "| Check | Status | Time | Findings |",
    "|---|---|--:|---|",
    ...report.checks.map((c) => `| ${code(c.id)} | ${STATUS_ICON[c.status]} ${c.status} | ${c.durationMs} ms | ${findingCount(c)} |`),
  ];
  for (const check of report.checks) {
    const matrix = check.data?.matrix;
    const told = (check.status === "skip" || check.status === "error") && check.reason;
    if (check.findings.length === 0 && !matrix && !check.notes?.length && !check.coverage && !told) continue;
    const section = [`### ${STATUS_ICON[check.status]} ${code(check.id)} — ${escapeInline(check.title)}`, "", ...renderReason(check)];
    for (const note of check.notes ?? []) section.push(`> ${escapeInline(note)}`, "");
    if (check.coverage) section.push(...renderCoverage(check.coverage));
    for (const finding of check.findings) section.push(...renderFinding(finding));
    // Open when a credential gets into a foreign database: the matrix is then the evidence a reviewer needs.
    const breached = matrix?.some((cell) => cell.outcome === "connected" || cell.outcome === "error");
    if (matrix?.length) section.push("", `<details${breached ? " open" : ""}><summary>Isolation matrix (credential × database)</summary>`, "", ...renderMatrix(matrix), "", "</details>");
    while (section.at(-1) === "") section.pop();
    out.push("", ...section);
  }
  const decided = policyLines(report);
  if (decided.length > 0) out.push("", "<details><summary>Registry, profile, suppressions</summary>", "", ...decided.map((line) => (line.startsWith("  ") ? `  - ${escapeInline(line.trim())}` : `- ${escapeInline(line)}`)), "", "</details>");
  return `${out.join("\n")}\n`;
}
