/**
 * Issue 8's model-level guard: "pass ⇒ coverage complete" (notes/contracts.md), held three ways.
 * 1. The assertion helper every test calls (test/helpers/report-invariants.ts) catches each way a
 *    report can lie, and lets an honest one through (so a green run of it means something).
 * 2. The check executor enforces the invariant on whatever a check returns: a check that reports
 *    incomplete coverage and no error finding is `error`, never `pass`.
 * 3. Every report the built CLI writes for the committed fixtures without a server holds it, in every format.
 * No server here: the executor runs synthetic checks, the CLI runs the static checks.
 */
import { describe, expect, it } from "vitest";
import type { Check, CheckContext, CheckOutput } from "../../src/checks/check.js";
import { executeChecks } from "../../src/pipeline/check-executor.js";
import { RecordingLogger } from "../../src/core/logger.js";
import { checkWithEveryFormat, cliEnv } from "../helpers/cli-outputs.js";
import {
  expectHonestReport,
  formatViolations,
  honestyViolations,
  parseReport,
  type CheckLike,
  type CoverageLike,
  type ReportLike,
} from "../helpers/report-invariants.js";

const complete: CoverageLike = {
  complete: true,
  summary: "2/2 stateful services, 2 credentials x 2 databases (2 logins, catalog read)",
  covered: [
    { kind: "credential", name: "svc_a@127.0.0.1:5432", service: "svc-a", file: "products/p/docker-compose.yml", line: 12 },
    { kind: "credential", name: "svc_b@127.0.0.1:5432", service: "svc-b", file: "products/p/docker-compose.yml", line: 20 },
  ],
  uncovered: [],
};
const incomplete: CoverageLike = {
  complete: false,
  summary: "1/2 stateful services",
  covered: [complete.covered[0]!],
  uncovered: [{ kind: "credential", name: "svc-b", service: "svc-b", reason: "no credential variable the tool can read" }],
};

function reportOf(...checks: CheckLike[]): ReportLike {
  const count = (status: string) => checks.filter((c) => c.status === status).length;
  const failed = count("fail");
  const errored = count("error");
  return {
    version: 1,
    product: "p",
    runtime: "embedded",
    checks,
    summary: {
      passed: count("pass"),
      failed,
      skipped: count("skip"),
      errored,
      errors: checks.flatMap((c) => c.findings).filter((f) => f.severity === "error").length,
      warnings: checks.flatMap((c) => c.findings).filter((f) => f.severity === "warning").length,
      verdict: failed ? "fail" : errored ? "error" : "pass",
    },
  };
}

const honest = reportOf(
  { id: "registry", status: "pass", findings: [] },
  { id: "isolation", status: "pass", findings: [], coverage: complete },
  { id: "dependencies", status: "skip", findings: [], reason: "the live part needs the compose runtime; the static part found nothing" },
);

describe("expectHonestReport catches every way a report can lie", () => {
  it("lets an honest report through", () => {
    expect(honestyViolations(honest)).toEqual([]);
    expectHonestReport(honest);
  });

  it.each<[string, CheckLike, RegExp]>([
    ["a pass with incomplete coverage", { id: "isolation", status: "pass", findings: [], coverage: incomplete }, /pass with incomplete coverage/],
    ["a live check that passed without coverage", { id: "migrations", status: "pass", findings: [] }, /carries no coverage/],
    ["a live check that failed without coverage", { id: "own-database", status: "fail", findings: [{ rule: "own-database/missing-url", severity: "error", message: "m" }] }, /carries no coverage/],
    ["dependencies passing with its live probe skipped", { id: "dependencies", status: "pass", findings: [], notes: ["live probe skipped"] }, /dependencies passed without its live probe/],
    ["an uncovered item with no reason", { id: "isolation", status: "error", reason: "r", findings: [], coverage: { ...incomplete, uncovered: [{ kind: "credential", name: "svc-b" }] } }, /gives no reason/],
    ["complete coverage with uncovered items", { id: "isolation", status: "pass", findings: [], coverage: { ...incomplete, complete: true } }, /complete is true while/],
    ["an unknown coverage kind", { id: "isolation", status: "pass", findings: [], coverage: { ...complete, covered: [{ kind: "table", name: "t" }] } }, /unknown kind/],
    ["a skip without a reason", { id: "dependencies", status: "skip", findings: [] }, /says no reason/],
    ["a pass with an error finding", { id: "registry", status: "pass", findings: [{ rule: "registry/x", severity: "error", message: "m" }] }, /pass with 1 error finding/],
  ])("%s", (_name, check, violation) => {
    const violations = honestyViolations(reportOf(check));
    expect(violations.some((v) => violation.test(v)), violations.join("\n")).toBe(true);
    expect(() => expectHonestReport(reportOf(check))).toThrow();
  });

  it("a summary that does not add up", () => {
    const report = { ...honest, summary: { ...honest.summary, passed: 3 } };
    expect(honestyViolations(report)).toEqual(["summary.passed is 3, the checks say 2"]);
  });

  it("formats that do not parse: JSON cut by masking, SARIF, JUnit, an open Markdown fence", () => {
    expect(formatViolations({ json: '{ "status": "***, "x": 1 }' })[0]).toMatch(/report\.json is not JSON/);
    expect(formatViolations({ json: JSON.stringify({ version: 1 }) })[0]).toMatch(/does not match schema/);
    expect(formatViolations({ sarif: '{"version": "2.1.0", "runs": [' })[0]).toMatch(/report\.sarif is not JSON/);
    expect(formatViolations({ junit: '<testsuites><testcase name="a"></testsuites>' })[0]).toMatch(/report\.xml is not well-formed/);
    expect(formatViolations({ markdown: "## x\n\n```diff\n- a\n" })[0]).toMatch(/code fence open/);
    expect(formatViolations({ sarif: '{"version": "2.1.0"}', junit: "<a/>", markdown: "```\nx\n```\n" })).toEqual([]);
  });
});

/** A check that reports exactly `output`, for the executor to judge. */
function syntheticCheck(output: CheckOutput): Check {
  return { id: "isolation", title: "synthetic", needs: [], rules: [], run: () => Promise.resolve(output) };
}

const context = { product: {}, options: { commandTimeoutMs: 1_000, concurrency: 1, env: {} }, logger: new RecordingLogger(), signal: new AbortController().signal } as unknown as CheckContext;

describe("the check executor enforces pass ⇒ coverage complete", () => {
  it("a check with incomplete coverage and no error finding is error, naming what was not covered", async () => {
    const [result] = await executeChecks([syntheticCheck({ findings: [], coverage: incomplete } as unknown as CheckOutput)], context);
    const check = result as unknown as CheckLike;
    expect(check.status).toBe("error");
    expect(check.reason).toMatch(/svc-b/);
    expect(check.coverage).toEqual(incomplete);
  });

  it("a check with incomplete coverage and an error finding fails, and keeps its coverage", async () => {
    const finding = { rule: "isolation/untested-credential", severity: "error" as const, message: "svc-b's credential could not be read", service: "svc-b" };
    const [result] = await executeChecks([syntheticCheck({ findings: [finding], coverage: incomplete } as unknown as CheckOutput)], context);
    const check = result as unknown as CheckLike;
    expect(check.status).toBe("fail");
    expect(check.coverage).toEqual(incomplete);
  });

  it("a check with complete coverage and no error finding passes, and its coverage reaches the report", async () => {
    const [result] = await executeChecks([syntheticCheck({ findings: [], coverage: complete } as unknown as CheckOutput)], context);
    const check = result as unknown as CheckLike;
    expect(check.status).toBe("pass");
    expect(check.coverage).toEqual(complete);
  });
});

describe("every report the CLI writes for the committed fixtures without a server is honest", { timeout: 300_000 }, () => {
  it.each(["fixtures/property-tax", "fixtures/seed-reference"])("%s, static checks, every format", async (fixture) => {
    const run = await checkWithEveryFormat(fixture, ["--only", "registry,drift,compose,dependencies"], { env: cliEnv() });
    expect([0, 1], run.stderr).toContain(run.exitCode);
    expectHonestReport(parseReport(run.files.json), run.files);
  });
});
