import { describe, expect, it } from "vitest";
import { type CheckResult, type Report, summarize } from "../../src/core/report-model.js";
import { renderText } from "../../src/report/render-text.js";
import { colourPalette, paletteFor, plainPalette } from "../../src/report/style.js";

const checks: CheckResult[] = [
  { id: "registry", title: "Service registry is well formed", status: "pass", durationMs: 12, findings: [] },
  {
    id: "compose",
    title: "Compose file agrees with the registry",
    status: "fail",
    durationMs: 30,
    findings: [
      {
        rule: "compose/foreign-database",
        severity: "error",
        message: "DATABASE_URL of tax-certificates names assessment_roll.",
        service: "tax-certificates",
        file: "products/property-tax/docker-compose.yml",
        line: 251,
        fix: "Point it at tax_certificates.",
      },
    ],
  },
  { id: "isolation", title: "Credentials stay out of other databases", status: "skip", durationMs: 0, findings: [], reason: "needs a live PostgreSQL server" },
];
const report: Report = { version: 1, product: "property-tax", productDir: "products/property-tax", runtime: "none", checks, summary: summarize(checks) };

describe("renderText", () => {
  it("prints a line per check, each finding with file:line, service and fix, and the verdict with the runtime", () => {
    const text = renderText(report, plainPalette);
    expect(text).toContain("✔ registry      pass     12 ms");
    expect(text).toContain("✖ compose       fail     30 ms  1 error");
    expect(text).toContain("○ isolation     skip      0 ms  needs a live PostgreSQL server");
    expect(text).toContain("    error compose/foreign-database products/property-tax/docker-compose.yml:251 [tax-certificates]");
    expect(text).toContain("      fix: Point it at tax_certificates.");
    expect(text.trimEnd().split("\n").pop()).toBe("FAIL  1 passed, 1 failed, 1 skipped, 0 errored · 1 error finding, 0 warnings · runtime none");
    expect(text).not.toContain("\u001b[");
  });

  it("repeats only the checks with something to show once the progress lines were streamed", () => {
    const text = renderText(report, plainPalette, { progressShown: true });
    expect(text).not.toContain("registry");
    expect(text).toContain("✖ compose");
  });

  it("colours only on a TTY and never with NO_COLOR", () => {
    expect(paletteFor(true, {})).toBe(colourPalette);
    expect(paletteFor(false, {})).toBe(plainPalette);
    expect(paletteFor(true, { NO_COLOR: "1" })).toBe(plainPalette);
    expect(renderText(report, colourPalette)).toContain("\u001b[31m");
  });
});
