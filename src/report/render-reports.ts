import type { Report } from "../core/report-model.js";
import type { Format } from "../core/settings.js";
import { renderJunit } from "./render-junit.js";
import { renderMarkdown } from "./render-markdown.js";
import { renderReport } from "./render-report.js";
import { renderSarif } from "./render-sarif.js";
import { renderText, type TextOptions } from "./render-text.js";
import { type Palette, plainPalette } from "./style.js";

/**
 * Renders the reports of one run in one format: a single product's report exactly as
 * `renderReport` does; several products (`check` of a monorepo root) as one document: text and
 * Markdown one product after another with a closing tally, JSON `{ "version": 1, "reports": [...] }`
 * (each item the single-product contract), SARIF and JUnit with every product inside. Pure.
 */
export function renderReports(reports: readonly Report[], format: Format, toolVersion: string, palette: Palette = plainPalette, textOptions: TextOptions = {}): string {
  if (reports.length === 1) return renderReport(reports[0]!, format, toolVersion, palette, textOptions);
  switch (format) {
    case "text":
      // Progress lines of several products interleave: each product's block repeats its checks in full.
      return `${reports.map((report) => renderText(report, palette)).join("\n")}\n${palette.bold(tally(reports))}\n`;
    case "json":
      return `${JSON.stringify({ version: 1, reports }, null, 2)}\n`;
    case "markdown":
      return `${reports.map((report) => renderMarkdown(report)).join("\n---\n\n")}\n---\n\n${tally(reports)}\n`;
    case "sarif":
      return renderSarif(reports, toolVersion);
    case "junit":
      return renderJunit(reports);
  }
}

function tally(reports: readonly Report[]): string {
  const count = (verdict: Report["summary"]["verdict"]) => reports.filter((r) => r.summary.verdict === verdict).length;
  return `${reports.length} products: ${count("pass")} passed, ${count("fail")} failed, ${count("error")} could not run every check`;
}
