import type { Report } from "../core/report-model.js";
import { productMarker, type RunStamp, stampMarker } from "./comment-markers.js";
import { renderMarkdown } from "./render-markdown.js";
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
