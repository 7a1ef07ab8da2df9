import type { CheckResult, CheckStatus, Finding, MatrixCell, Report } from "../core/report-model.js";
import { policyLines } from "./render-policy.js";

const STATUS_ICON: Record<CheckStatus, string> = { pass: "✅", fail: "❌", skip: "⏭️", error: "⚠️" };

/** Escapes text for a Markdown table cell or inline run: pipes, backticks at edges, HTML. */
function escapeInline(text: string): string {
  return text.replace(/[\\|<>*_[\]]/g, (c) => `\\${c}`).replace(/\r?\n/g, " ");
}

function code(text: string): string {
  const fence = text.includes("`") ? "``" : "`";
  return `${fence}${text}${fence}`;
}

function headline(report: Report): string {
  const s = report.summary;
  if (s.verdict === "pass") return `## ✅ civic-conformance: ${report.product} — all checks passed`;
  if (s.verdict === "fail") return `## ❌ civic-conformance: ${report.product} — ${s.failed} check${s.failed === 1 ? "" : "s"} failed`;
  return `## ⚠️ civic-conformance: ${report.product} — ${s.errored} check${s.errored === 1 ? "" : "s"} could not run`;
}

function findingCount(check: CheckResult): string {
  if (check.findings.length === 0) return check.reason ? escapeInline(check.reason) : "—";
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
  if (finding.details) {
    const fence = finding.details.includes("```") ? "````" : "```";
    lines.push("", "  <details><summary>Details</summary>", "", `  ${fence}diff`, ...finding.details.trimEnd().split("\n").map((l) => `  ${l}`), `  ${fence}`, "", "  </details>");
  }
  return lines;
}

/** Service × database table; ✅ where a credential is kept out (or its own), ❌ where it gets in. */
export function renderMatrix(matrix: readonly MatrixCell[]): string[] {
  const credentials = [...new Set(matrix.map((c) => c.credentialOf))];
  const databases = [...new Set(matrix.map((c) => c.database))];
  const cell = new Map(matrix.map((c) => [`${c.credentialOf}\u0000${c.database}`, c]));
  const symbol = (c: MatrixCell | undefined) => {
    if (!c) return "";
    if (c.outcome === "own") return "🟢 own";
    if (c.outcome === "refused") return "✅";
    if (c.outcome === "connected") return "❌";
    return "⚠️";
  };
  return [
    `| credential of ↓ / database → | ${databases.map(code).join(" | ")} |`,
    `|---|${databases.map(() => ":-:").join("|")}|`,
    ...credentials.map((who) => `| ${code(who)} | ${databases.map((db) => symbol(cell.get(`${who}\u0000${db}`))).join(" | ")} |`),
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
    if (check.findings.length === 0 && !matrix && !check.notes?.length) continue;
    out.push("", `### ${STATUS_ICON[check.status]} ${code(check.id)} — ${escapeInline(check.title)}`, "");
    for (const note of check.notes ?? []) out.push(`> ${escapeInline(note)}`, "");
    for (const finding of check.findings) out.push(...renderFinding(finding));
    // Open when a credential gets into a foreign database: the matrix is then the evidence a reviewer needs.
    const breached = matrix?.some((cell) => cell.outcome === "connected" || cell.outcome === "error");
    if (matrix?.length) out.push("", `<details${breached ? " open" : ""}><summary>Isolation matrix (credential × database)</summary>`, "", ...renderMatrix(matrix), "", "</details>");
  }
  const decided = policyLines(report);
  if (decided.length > 0) out.push("", "<details><summary>Registry, profile, suppressions</summary>", "", ...decided.map((line) => `- ${escapeInline(line)}`), "", "</details>");
  return `${out.join("\n")}\n`;
}
