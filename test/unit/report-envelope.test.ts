/**
 * The `report-json` artifact `mode: comment` reads is untrusted (a fork's workflow run uploaded it):
 * it is checked against schema/report-envelope.schema.json (which holds each report to
 * schema/report.schema.json) before anything of it is used. Tampered files are refused with the
 * file and the first place it is wrong; free text is accepted and escaped where it is rendered.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_REPORT_FILE_BYTES, readReportEnvelope, type ReportEnvelope } from "../../src/action/report-envelope.js";
import { UsageError } from "../../src/core/errors.js";
import type { Report } from "../../src/core/report-model.js";
import { renderComment } from "../../src/report/render-comment.js";
import { REPO_ROOT } from "../helpers/fixtures.js";

const SHA = "0123456789abcdef0123456789abcdef01234567";

function report(overrides: Partial<Report> = {}): Report {
  return {
    version: 1,
    product: "property-tax",
    productDir: "products/property-tax",
    runtime: "embedded",
    checks: [
      {
        id: "isolation",
        title: "Each service reaches only its own database",
        status: "fail",
        durationMs: 120,
        findings: [{ rule: "isolation/foreign-connect", severity: "error", message: "audit-logging's credential connects to billing_invoicing.", service: "audit-logging", fix: "REVOKE CONNECT" }],
        data: { matrix: [{ credentialOf: "audit-logging", database: "billing_invoicing", outcome: "connected" }] },
      },
    ],
    summary: { passed: 0, failed: 1, skipped: 0, errored: 0, errors: 1, warnings: 0, verdict: "fail" },
    ...overrides,
  };
}

function envelope(reports: Report[] = [report()]): ReportEnvelope {
  return { version: 1, toolVersion: "0.1.0", repository: "civic/app", pullRequest: 7, stamp: { sha: SHA, runId: 600, runAttempt: 1, committedAt: "2030-01-02T03:04:05Z" }, reports };
}

let dir: string;
let count = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "civic-envelope-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function written(content: unknown): Promise<string> {
  const path = join(dir, `report-${count++}.json`);
  await writeFile(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

/** The refusal for a file, with what the step would print. */
async function refusal(content: unknown): Promise<string> {
  const path = await written(content);
  const error = await readReportEnvelope(path).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(UsageError);
  expect((error as UsageError).location?.file).toBe(path);
  return (error as UsageError).message;
}

describe("the report-json artifact of mode: comment", () => {
  it("reads a well-formed file as it was written", async () => {
    const original = envelope();
    expect(await readReportEnvelope(await written(original))).toEqual(original);
  });

  it("refuses wrong types, naming where", async () => {
    const tampered = envelope();
    (tampered.reports[0]!.checks[0] as unknown as { durationMs: string }).durationMs = "120";
    expect(await refusal(tampered)).toBe("Not a civic-conformance report-json file: /reports/0/checks/0/durationMs must be integer (schema/report-envelope.schema.json).");
    expect(await refusal({ ...envelope(), reports: "all good" })).toBe("Not a civic-conformance report-json file: /reports must be array (schema/report-envelope.schema.json).");
    expect(await refusal({ ...envelope(), stamp: { sha: SHA, runId: "600", runAttempt: 1 } })).toBe(
      "Not a civic-conformance report-json file: /stamp/runId must be integer (schema/report-envelope.schema.json).",
    );
  });

  it("refuses what the schema does not allow: extra properties, unknown statuses, a stamp that is not a commit", async () => {
    expect(await refusal({ ...envelope(), html: "<script>" })).toBe(
      'Not a civic-conformance report-json file: the top level has a property the schema does not allow: "html" (schema/report-envelope.schema.json).',
    );
    const status = envelope();
    (status.reports[0]!.checks[0] as unknown as { status: string }).status = "<b>pass</b>";
    expect(await refusal(status)).toBe('Not a civic-conformance report-json file: /reports/0/checks/0/status must be one of "pass", "fail", "skip", "error" (schema/report-envelope.schema.json).');
    expect(await refusal({ ...envelope(), stamp: { sha: `${SHA.slice(0, 39)} -->`, runId: 1, runAttempt: 1 } })).toMatch(/^Not a civic-conformance report-json file: \/stamp\/sha must match pattern /);
    expect(await refusal({ ...envelope(), stamp: { sha: SHA, runId: 1, runAttempt: 1, committedAt: "2030 --><img src=x>" } })).toMatch(/\/stamp\/committedAt must match pattern/);
  });

  it("refuses HTML where it would be rendered outside escaped text: the product name goes into the comment's marker and headline", async () => {
    expect(await refusal(envelope([report({ product: "x --><img src=https://evil.example/p.png><!--" })]))).toMatch(
      /^Not a civic-conformance report-json file: \/reports\/0\/product must match pattern /,
    );
    // A real folder name with letters of any script, digits, dots, dashes and spaces is fine.
    expect((await readReportEnvelope(await written(envelope([report({ product: "Grundsteuer Ämter-2.0" })])))).reports[0]!.product).toBe("Grundsteuer Ämter-2.0");
  });

  it("accepts HTML inside a message, and the comment shows it as text", async () => {
    const html = `Looks fine <img src="https://evil.example/pixel.png"> <!-- civic-conformance:other-product --> <details open>`;
    const tampered = envelope();
    tampered.reports[0]!.checks[0]!.findings[0]!.message = html;
    const read = await readReportEnvelope(await written(tampered));
    const comment = renderComment(read.reports[0]!, { stamp: read.stamp, summaryUrl: "https://github.example/run" });
    expect(comment).toContain("Looks fine \\<img src=\"https://evil.example/pixel.png\"\\> \\<!-- civic-conformance:other-product --\\> \\<details open\\>");
    // A backslash before `<` is Markdown for a literal `<`: no tag opens.
    expect(comment).not.toMatch(/(?<!\\)<img/);
    expect(comment).not.toContain("<!-- civic-conformance:other-product -->");
  });

  it("refuses huge files before reading them, and too many products, findings or matrix cells", async () => {
    const huge = join(dir, "huge.json");
    const content = `${JSON.stringify(envelope())}${" ".repeat(MAX_REPORT_FILE_BYTES)}`;
    await writeFile(huge, content);
    await expect(readReportEnvelope(huge)).rejects.toThrow(
      `The report JSON is ${content.length.toLocaleString("en-US")} bytes; a civic-conformance report-json file is at most 33,554,432 bytes.`,
    );
    expect(await refusal(envelope(Array.from({ length: 101 }, () => report())))).toBe(
      "Not a civic-conformance report-json file: /reports must NOT have more than 100 items (schema/report-envelope.schema.json).",
    );
    const findings = envelope();
    findings.reports[0]!.checks[0]!.findings = Array.from({ length: 10_001 }, () => report().checks[0]!.findings[0]!);
    expect(await refusal(findings)).toMatch(/\/reports\/0\/checks\/0\/findings must NOT have more than 10000 items/);
    const matrix = envelope();
    matrix.reports[0]!.checks[0]!.data = { matrix: Array.from({ length: 40_001 }, () => ({ credentialOf: "a", database: "b", outcome: "refused" as const })) };
    expect(await refusal(matrix)).toMatch(/\/reports\/0\/checks\/0\/data\/matrix must NOT have more than 40000 items/);
  });

  it("refuses a file that is not JSON, saying so", async () => {
    expect(await refusal('{"version": 1,')).toMatch(/^The report JSON does not parse: /);
  });

  it("is validated by code generated from the schemas as they are (run `node scripts/report-envelope-validator.mjs` when this fails)", async () => {
    await expect(promisify(execFile)(process.execPath, [join(REPO_ROOT, "scripts", "report-envelope-validator.mjs"), "--check"])).resolves.toBeDefined();
  });
});
