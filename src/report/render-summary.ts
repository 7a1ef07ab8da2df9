import type { Report } from "../core/report-model.js";
import { renderMarkdown } from "./render-markdown.js";
import { truncateMarkdown } from "./render-summary-truncation.js";

/** GitHub refuses a step summary over 1 MiB; keep a margin for what other steps append. */
export const SUMMARY_LIMIT_BYTES = 1024 * 1024 - 16 * 1024;

export interface SummaryOptions {
  /** Byte budget; `SUMMARY_LIMIT_BYTES` by default. */
  readonly limitBytes?: number;
  /** Where the whole report is when the summary had to be cut, e.g. the report JSON file. */
  readonly fullReport?: string;
}

/** The job summary: every product's Markdown report, one after another, cut to fit if need be. */
export function renderSummary(reports: readonly Report[], options: SummaryOptions = {}): string {
  const limit = options.limitBytes ?? SUMMARY_LIMIT_BYTES;
  const body = reports.map((report) => renderMarkdown(report)).join("\n---\n\n");
  const note =
    `> ✂️ **This summary was cut to stay under GitHub's ${Math.round(limit / 1024)} KiB limit.** ` +
    `The full report is in ${options.fullReport ? `\`${options.fullReport}\` (the \`report-json\` output)` : "the report JSON (the `report-json` output)"}; ` +
    "upload it as an artifact to keep it.";
  return truncateMarkdown(body, (text) => Buffer.byteLength(text, "utf8") <= limit, note);
}
