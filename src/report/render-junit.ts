import type { CheckResult, Report } from "../core/report-model.js";

function xml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c] ?? c);
}

function testCase(product: string, check: CheckResult): string {
  const open = `    <testcase classname="civic-conformance.${xml(product)}" name="${xml(check.id)}" time="${(check.durationMs / 1000).toFixed(3)}"`;
  const body = check.findings
    .map((f) => `${f.severity} ${f.rule}${f.service ? ` [${f.service}]` : ""}${f.file ? ` ${f.file}${f.line ? `:${f.line}` : ""}` : ""}: ${f.message}${f.fix ? `\n  fix: ${f.fix}` : ""}`)
    .join("\n");
  switch (check.status) {
    case "pass":
      return body ? `${open}>\n      <system-out>${xml(body)}</system-out>\n    </testcase>` : `${open}/>`;
    case "skip":
      return `${open}>\n      <skipped message="${xml(check.reason ?? "skipped")}"/>\n    </testcase>`;
    case "error":
      return `${open}>\n      <error message="${xml(check.reason ?? "could not run")}"/>\n    </testcase>`;
    case "fail": {
      const errors = check.findings.filter((f) => f.severity === "error").length;
      return `${open}>\n      <failure message="${errors} finding${errors === 1 ? "" : "s"}" type="${xml(check.id)}">${xml(body)}</failure>\n    </testcase>`;
    }
  }
}

/** JUnit XML for CI systems other than GitHub: one test suite per product, one test case per check. */
export function renderJunit(reports: readonly Report[]): string {
  const suites = reports.map((report) => {
    const s = report.summary;
    const time = report.checks.reduce((sum, c) => sum + c.durationMs, 0) / 1000;
    return [
      `  <testsuite name="${xml(report.product)}" tests="${report.checks.length}" failures="${s.failed}" errors="${s.errored}" skipped="${s.skipped}" time="${time.toFixed(3)}">`,
      ...report.checks.map((c) => testCase(report.product, c)),
      "  </testsuite>",
    ].join("\n");
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="civic-conformance">\n${suites.join("\n")}\n</testsuites>\n`;
}
