import type { CheckResult, CheckStatus, Coverage, Finding, Report } from "../core/report-model.js";
import { policyLines } from "./render-policy.js";
import { type Palette, plainPalette } from "./style.js";

const ICONS: Record<CheckStatus, string> = { pass: "✔", fail: "✖", skip: "○", error: "!" };

function statusColour(status: CheckStatus, palette: Palette): (text: string) => string {
  switch (status) {
    case "pass":
      return palette.green;
    case "fail":
      return palette.red;
    case "error":
      return palette.yellow;
    case "skip":
      return palette.dim;
  }
}

/** The one-line progress/status line of a check, also used for the live progress on stderr. */
export function renderCheckLine(result: CheckResult, palette: Palette = plainPalette): string {
  const colour = statusColour(result.status, palette);
  const errors = result.findings.filter((f) => f.severity === "error").length;
  const warnings = result.findings.length - errors;
  const counts = [errors && `${errors} error${errors === 1 ? "" : "s"}`, warnings && `${warnings} warning${warnings === 1 ? "" : "s"}`]
    .filter(Boolean)
    .join(", ");
  // The first line of a long reason (an init script's output): the text report prints the rest under it.
  const reason = result.reason?.split("\n")[0];
  const tail = [counts, reason].filter(Boolean).join(" · ");
  return `${colour(`${ICONS[result.status]} ${result.id.padEnd(13)} ${result.status.padEnd(5)}`)} ${palette.dim(`${String(result.durationMs).padStart(5)} ms`)}${tail ? `  ${tail}` : ""}`;
}

function renderFinding(finding: Finding, palette: Palette): string[] {
  const severity = finding.severity === "error" ? palette.red("error") : palette.yellow("warning");
  const where = finding.file ? `${finding.file}${finding.line ? `:${finding.line}` : ""}` : "";
  const service = finding.service ? palette.cyan(`[${finding.service}]`) : "";
  const lines = [`    ${severity} ${palette.bold(finding.rule)} ${[where, service].filter(Boolean).join(" ")}`.trimEnd()];
  lines.push(`      ${finding.message}`);
  if (finding.fix) lines.push(`      ${palette.dim("fix:")} ${finding.fix}`);
  if (finding.details) {
    for (const line of finding.details.trimEnd().split("\n")) {
      const coloured = line.startsWith("+") && !line.startsWith("+++") ? palette.green(line) : line.startsWith("-") && !line.startsWith("---") ? palette.red(line) : palette.dim(line);
      lines.push(`      ${coloured}`);
    }
  }
  return lines;
}

/** The coverage line of a live check, then what it could not look at and why. */
function renderCoverage(coverage: Coverage, palette: Palette): string[] {
  const mark = coverage.complete ? palette.green("complete") : palette.yellow("incomplete");
  return [
    `    coverage (${mark}): ${coverage.summary}`,
    ...coverage.uncovered.map((item) => `      ${palette.yellow("not covered:")} ${item.kind} ${item.name}${item.reason ? ` — ${item.reason}` : ""}`),
  ];
}

export interface TextOptions {
  /** The check lines were already streamed as progress: repeat only those with something to show. */
  readonly progressShown?: boolean;
}

/** The terminal report: a line per check, its findings under it, a summary last. */
export function renderText(report: Report, palette: Palette = plainPalette, options: TextOptions = {}): string {
  const out = options.progressShown ? [""] : [palette.bold(`civic-conformance · ${report.product} · runtime ${report.runtime}`), ""];
  for (const check of report.checks) {
    if (options.progressShown && check.findings.length === 0 && !check.notes?.length && !check.coverage) continue;
    out.push(renderCheckLine(check, palette));
    // Streamed progress already said why (a start failure is printed once, above the progress lines).
    if (!options.progressShown) for (const line of check.reason?.split("\n").slice(1) ?? []) out.push(`    ${line}`);
    for (const note of check.notes ?? []) out.push(`    ${palette.dim(`note: ${note}`)}`);
    if (check.coverage) out.push(...renderCoverage(check.coverage, palette));
    for (const finding of check.findings) out.push(...renderFinding(finding, palette));
  }
  const decided = policyLines(report);
  if (decided.length > 0) out.push("", ...decided.map((line) => palette.dim(line)));
  const s = report.summary;
  const verdict = s.verdict === "pass" ? palette.green("PASS") : s.verdict === "fail" ? palette.red("FAIL") : palette.yellow("ERROR");
  out.push(
    "",
    `${verdict}  ${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped, ${s.errored} errored · ${s.errors} error finding${s.errors === 1 ? "" : "s"}, ${s.warnings} warning${s.warnings === 1 ? "" : "s"} · runtime ${report.runtime}`,
  );
  return `${out.join("\n")}\n`;
}
