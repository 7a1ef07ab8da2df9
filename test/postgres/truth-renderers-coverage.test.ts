/**
 * Issue 8, "What went wrong" 1, the renderers' half: what a check did not look at must reach every
 * reader. `dependencies` whose live part did not run is `skip` (never `pass`, notes/contracts.md);
 * the PR comment is one green line only when coverage is full; SARIF and JUnit carry the notes.
 * The built CLI on the committed conformant fixture with the static checks only (no server: the live
 * probe of dependencies cannot run). The PR comment is the action's renderer (src/report/render-comment.ts),
 * fed the report the CLI wrote: the action posts exactly that.
 */
import { XMLParser } from "fast-xml-parser";
import { beforeAll, describe, expect, it } from "vitest";
import type { Report } from "../../src/core/report-model.js";
import { renderComment } from "../../src/report/render-comment.js";
import { checkWithEveryFormat, cliEnv, type CliRun } from "../helpers/cli-outputs.js";
import { checkOf, expectHonestReport, parseReport, type CheckLike, type ReportLike } from "../helpers/report-invariants.js";

const STAMP = { sha: "0123456789abcdef0123456789abcdef01234567", runId: 42, runAttempt: 1 };
const SUMMARY_URL = "https://github.com/civic/app/actions/runs/42/attempts/1";

/** What a reader must be told about a check: why it was skipped or errored, and its notes. */
function toldAbout(check: CheckLike): string[] {
  return [check.reason, ...(check.notes ?? [])].filter((text): text is string => typeof text === "string" && text.trim() !== "");
}

function allStrings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(allStrings);
  if (typeof value === "object" && value !== null) return Object.values(value).flatMap(allStrings);
  return [];
}

describe("issue 8 (1): a check that did not look fully is never shown as a plain pass", { timeout: 300_000 }, () => {
  let run: CliRun;
  let report: ReportLike;

  beforeAll(async () => {
    run = await checkWithEveryFormat("fixtures/property-tax", ["--only", "registry,drift,compose,dependencies"], { env: cliEnv() });
    report = parseReport(run.files.json);
  }, 300_000);

  it("dependencies is skip without a running stack, saying its live part needs the compose runtime; exit 0 (skips allowed)", () => {
    const dependencies = checkOf(report, "dependencies");
    expect(dependencies.status, JSON.stringify(dependencies.notes)).toBe("skip");
    expect(dependencies.reason).toMatch(/compose/);
    expect(run.exitCode, run.stderr).toBe(0);
  });

  it("the PR comment is not one green line when a check was skipped: it names dependencies and why", () => {
    const comment = renderComment(report as unknown as Report, { stamp: STAMP, summaryUrl: SUMMARY_URL });
    const visible = comment.split("\n").filter((line) => line.trim() !== "" && !line.startsWith("<!--"));
    expect(visible.length, comment).toBeGreaterThan(1);
    expect(comment).toContain("dependencies");
    const reason = checkOf(report, "dependencies").reason;
    expect(reason, "dependencies gives no reason to show").toBeTruthy();
    // Markdown may escape characters of the reason; the words must be there.
    expect(comment.replace(/\\(.)/g, "$1")).toContain(reason);
  });

  it("SARIF carries what dependencies did not look at (its reason and notes)", () => {
    const told = toldAbout(checkOf(report, "dependencies"));
    expect(told.length).toBeGreaterThan(0);
    const strings = allStrings(JSON.parse(run.files.sarif!));
    for (const text of told) expect(strings.some((s) => s.includes(text)), `SARIF does not say: ${text}`).toBe(true);
  });

  it("JUnit marks dependencies skipped and carries its reason and notes", () => {
    const dependencies = checkOf(report, "dependencies");
    const told = toldAbout(dependencies);
    expect(told.length).toBeGreaterThan(0);
    const junit = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "", isArray: (name) => name === "testsuite" || name === "testcase" }).parse(run.files.junit!) as {
      testsuites: { testsuite: Array<{ testcase: Array<{ name: string; skipped?: unknown }> }> };
    };
    const testcase = junit.testsuites.testsuite[0]!.testcase.find((t) => t.name === "dependencies");
    expect(testcase, run.files.junit).toBeDefined();
    expect(testcase!.skipped, JSON.stringify(testcase)).toBeDefined();
    const strings = allStrings(testcase);
    for (const text of told) expect(strings.some((s) => s.includes(text)), `JUnit does not say: ${text}`).toBe(true);
  });

  it("the report is honest in every format", () => {
    expectHonestReport(report, run.files);
  });
});
