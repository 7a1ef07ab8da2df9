/**
 * The exit code of `check` (README, "Exit codes"): 1 when a check failed on its own findings, even
 * when the runtime could not start; else 2 when the product's own input stopped a check or the
 * runtime, 3 when a check could not look, 0 otherwise (skips allowed).
 */
import { describe, expect, it } from "vitest";
import { type CheckResult, type CheckStatus, type Report, summarize } from "../../src/core/report-model.js";
import { exitCodeFor, type StartFailure } from "../../src/pipeline/run-outcome.js";

function reportOf(...statuses: CheckStatus[]): Report {
  const checks: CheckResult[] = statuses.map((status, index) => ({
    id: `check-${index}`,
    title: "t",
    status,
    durationMs: 0,
    findings: status === "fail" ? [{ rule: `check-${index}/x`, severity: "error", message: "m" }] : [],
    ...(status === "skip" || status === "error" ? { reason: "r" } : {}),
  }));
  return { version: 1, product: "p", productDir: "p", runtime: "embedded", checks, summary: summarize(checks) };
}

const input: StartFailure = { kind: "input", cause: "infra/init.sql:2: init script failed" };
const environment: StartFailure = { kind: "environment", cause: "initdb failed" };

describe("exitCodeFor", () => {
  it.each<[string, Parameters<typeof exitCodeFor>[0], number]>([
    ["every check passed, one skipped", { report: reportOf("pass", "skip"), inputError: false }, 0],
    ["a check failed", { report: reportOf("pass", "fail"), inputError: false }, 1],
    ["a check failed on its findings while an init script stopped the runtime", { report: reportOf("fail", "error"), inputError: false, startFailure: input }, 1],
    ["an init script failed on its own SQL", { report: reportOf("pass", "error"), inputError: false, startFailure: input }, 2],
    ["a check stopped on bad input", { report: reportOf("pass", "error"), inputError: true }, 2],
    ["the environment could not start the runtime", { report: reportOf("pass", "error"), inputError: false, startFailure: environment }, 3],
    ["a check could not look", { report: reportOf("pass", "error"), inputError: false }, 3],
  ])("%s → %i", (_name, run, code) => {
    expect(exitCodeFor(run)).toBe(code);
  });
});
