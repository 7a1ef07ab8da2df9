import type { CheckResult, Report } from "../core/report-model.js";

/** Escaped for XML text and attributes; control characters XML 1.0 cannot hold (a tool's ANSI colours) dropped. */
function xml(text: string): string {
  return text.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, "").replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c] ?? c);
}

/** What a check did not look at, and what it covered: notes, coverage line, uncovered items. */
function systemOut(check: CheckResult, findingsText: string): string {
  const lines = [
    ...(check.reason?.includes("\n") ? [check.reason] : []),
    ...(check.notes ?? []).map((note) => `note: ${note}`),
    ...(check.coverage
      ? [
          `coverage (${check.coverage.complete ? "complete" : "incomplete"}): ${check.coverage.summary}`,
          ...check.coverage.uncovered.map((item) => `not covered: ${item.kind} ${item.name}${item.reason ? ` — ${item.reason}` : ""}`),
        ]
      : []),
    ...(findingsText ? [findingsText] : []),
  ];
  return lines.length > 0 ? `\n      <system-out>${xml(lines.join("\n"))}</system-out>` : "";
}

function testCase(product: string, check: CheckResult): string {
  const open = `    <testcase classname="civic-conformance.${xml(product)}" name="${xml(check.id)}" time="${(check.durationMs / 1000).toFixed(3)}"`;
  const body = check.findings
    .map((f) => `${f.severity} ${f.rule}${f.service ? ` [${f.service}]` : ""}${f.file ? ` ${f.file}${f.line ? `:${f.line}` : ""}` : ""}: ${f.message}${f.fix ? `\n  fix: ${f.fix}` : ""}`)
    .join("\n");
  // A message attribute holds one line; a longer reason goes whole into <system-out>.
  const reasonLine = (fallback: string) => xml(check.reason?.split("\n")[0] ?? fallback);
  switch (check.status) {
    case "pass": {
      const out = systemOut(check, body);
      return out ? `${open}>${out}\n    </testcase>` : `${open}/>`;
    }
    case "skip":
      return `${open}>\n      <skipped message="${reasonLine("skipped")}"/>${systemOut(check, body)}\n    </testcase>`;
    case "error":
      return `${open}>\n      <error message="${reasonLine("could not run")}"/>${systemOut(check, body)}\n    </testcase>`;
    case "fail": {
      const errors = check.findings.filter((f) => f.severity === "error").length;
      return `${open}>\n      <failure message="${errors} finding${errors === 1 ? "" : "s"}" type="${xml(check.id)}">${xml(body)}</failure>${systemOut(check, "")}\n    </testcase>`;
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
