import type { Report } from "../core/report-model.js";
import { COMBINED_MARKER, productMarker, type RunStamp, stampMarker } from "./comment-markers.js";
import { escapeInline, renderMarkdown } from "./render-markdown.js";
import { truncateMarkdown } from "./render-summary-truncation.js";

/** GitHub refuses a comment body over 65,536 characters. */
export const COMMENT_LIMIT_CHARS = 65_536;

export interface CommentOptions {
  readonly stamp: RunStamp;
  /** The run's page, where the job summary holds the whole report. */
  readonly summaryUrl: string;
  readonly limitChars?: number;
}

/**
 * One green line says everything only when there is nothing else to say: every check passed, none
 * was skipped or could not run, and every live check covered all it had to.
 */
export function fullyPassed(report: Report): boolean {
  return report.summary.verdict === "pass" && report.checks.every((check) => check.status === "pass" && (check.coverage?.complete ?? true));
}

function passLine(report: Report, summaryUrl: string): string {
  const s = report.summary;
  const warnings = s.warnings ? ` · ${s.warnings} warning${s.warnings === 1 ? "" : "s"}` : "";
  return `✅ **civic-conformance · ${report.product}**: all ${s.passed} checks passed${warnings} · runtime \`${report.runtime}\` · [run](${summaryUrl})`;
}

/**
 * The sticky pull-request comment of one product: the hidden markers that find it again and order
 * runs, then one green line when everything passed with full coverage (`fullyPassed`), else the
 * full Markdown report (skips, checks that could not run and what was not covered included), cut
 * with a pointer to the job summary when too long.
 */
export function renderComment(report: Report, options: CommentOptions): string {
  const limit = options.limitChars ?? COMMENT_LIMIT_CHARS;
  const head = `${productMarker(report.product)}\n${stampMarker(options.stamp)}\n`;
  if (fullyPassed(report)) return `${head}${passLine(report, options.summaryUrl)}\n`;
  const footer = `\n<sub>Commit ${options.stamp.sha.slice(0, 7)} · [full report in the job summary](${options.summaryUrl})</sub>\n`;
  const note = `> ✂️ **This comment was cut at GitHub's ${limit.toLocaleString("en-US")}-character limit.** The full report is in the [job summary](${options.summaryUrl}).`;
  const budget = limit - head.length - footer.length;
  return `${head}${truncateMarkdown(renderMarkdown(report), (text) => text.length <= budget, note)}${footer}`;
}

const VERDICT_ICON = { pass: "✅", fail: "❌", error: "⚠️" } as const;

function verdictCell(report: Report): string {
  const s = report.summary;
  if (fullyPassed(report)) return `all ${s.passed} checks passed`;
  return [s.failed && `${s.failed} failed`, s.errored && `${s.errored} could not run`, s.skipped && `${s.skipped} skipped`, `${s.passed} passed`]
    .filter(Boolean)
    .join(" · ") + (s.verdict === "pass" ? " (not every check passed with full coverage)" : "");
}

/**
 * The one pull-request comment for several products (the reports of a matrix's jobs, combined by
 * `mode: comment`): the hidden markers, a table with every product's verdict (always shown, however
 * long the rest), then the full report of each product that did not pass with full coverage, cut
 * with a pointer to the job summaries when too long.
 */
export function renderCombinedComment(reports: readonly Report[], options: CommentOptions): string {
  const limit = options.limitChars ?? COMMENT_LIMIT_CHARS;
  const head = `${COMBINED_MARKER}\n${stampMarker(options.stamp)}\n`;
  const failing = reports.filter((report) => !fullyPassed(report));
  const worst = reports.some((r) => r.summary.verdict === "fail") ? "fail" : reports.some((r) => r.summary.verdict === "error") ? "error" : "pass";
  const title = `### ${VERDICT_ICON[worst]} civic-conformance · ${reports.length} products · ${reports.length - failing.length} fully passed`;
  const table = [
    "| | Product | Checks | Runtime |",
    "|---|---|---|---|",
    ...reports.map((r) => `| ${fullyPassed(r) ? "✅" : VERDICT_ICON[r.summary.verdict]} | ${escapeInline(r.productDir ?? r.product)} | ${verdictCell(r)} | ${escapeInline(r.runtime)} |`),
  ];
  const footer = `\n<sub>Commit ${options.stamp.sha.slice(0, 7)} · [full reports in the job summaries](${options.summaryUrl})</sub>\n`;
  const top = `${head}${title}\n\n${table.join("\n")}\n`;
  if (failing.length === 0) return `${top}${footer}`;
  const note = `> ✂️ **This comment was cut at GitHub's ${limit.toLocaleString("en-US")}-character limit.** The full reports are in the [job summaries](${options.summaryUrl}).`;
  const details = failing.map((report) => renderMarkdown(report)).join("\n---\n\n");
  const budget = limit - top.length - footer.length - 2;
  return `${top}\n${truncateMarkdown(details, (text) => text.length <= budget, note)}${footer}`;
}
