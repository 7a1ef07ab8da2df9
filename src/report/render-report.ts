import type { Report } from "../core/report-model.js";
import type { Format } from "../core/settings.js";
import { renderJson } from "./render-json.js";
import { renderJunit } from "./render-junit.js";
import { renderMarkdown } from "./render-markdown.js";
import { renderSarif } from "./render-sarif.js";
import { renderText, type TextOptions } from "./render-text.js";
import { type Palette, plainPalette } from "./style.js";

/** Renders one report in one format. Pure: the doors decide where the text goes. */
export function renderReport(report: Report, format: Format, toolVersion: string, palette: Palette = plainPalette, textOptions: TextOptions = {}): string {
  switch (format) {
    case "text":
      return renderText(report, palette, textOptions);
    case "json":
      return renderJson(report);
    case "markdown":
      return renderMarkdown(report);
    case "sarif":
      return renderSarif([report], toolVersion);
    case "junit":
      return renderJunit([report]);
  }
}
