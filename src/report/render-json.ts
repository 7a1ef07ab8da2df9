import type { Report } from "../core/report-model.js";

/** The machine-readable report, exactly the contract's shape (PRODUCT.md, "Contract"). */
export function renderJson(report: Report): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
