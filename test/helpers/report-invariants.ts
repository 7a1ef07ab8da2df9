/**
 * "Never a false pass", as an assertion any test can make on any report it gets (issue 8, and the
 * lead's contracts in notes/contracts.md):
 * - a live check (`own-database`, `isolation`, `migrations`) that passed or failed carries `coverage`;
 * - `pass` only with `coverage.complete` (static checks may carry no coverage at all);
 * - `dependencies` passes only when its live probe ran (coverage complete), else it is `skip` or `fail`;
 * - coverage is well formed: every uncovered item says why, `complete` means nothing is uncovered;
 * - `skip` and `error` say why; `fail` has an error finding and `pass` none; the summary adds up;
 * - every format the run wrote parses (JSON and SARIF as JSON, JUnit as XML, Markdown fences closed),
 *   and the JSON report is valid against schema/report.schema.json.
 *
 * The report is typed structurally here (not with src/core/report-model.ts) so the helper states the
 * contract, whatever shape the model has on the day it runs.
 */
import type AjvModule from "ajv";
import { XMLValidator } from "fast-xml-parser";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { expect } from "vitest";
import type { ReportFiles } from "./cli-outputs.js";
import { REPO_ROOT } from "./fixtures.js";

export const LIVE_CHECKS = ["own-database", "isolation", "migrations"] as const;
const COVERAGE_KINDS = new Set(["service", "credential", "database", "instance", "migration-set", "dependency"]);
const STATUSES = new Set(["pass", "fail", "skip", "error"]);

export interface CoverageItemLike {
  kind: string;
  name: string;
  service?: string;
  reason?: string;
  file?: string;
  line?: number;
}

export interface CoverageLike {
  complete: boolean;
  summary: string;
  covered: CoverageItemLike[];
  uncovered: CoverageItemLike[];
}

export interface FindingLike {
  rule: string;
  severity: string;
  message: string;
  service?: string;
  file?: string;
  line?: number;
  fix?: string;
  details?: string;
}

export interface CheckLike {
  id: string;
  title?: string;
  status: string;
  durationMs?: number;
  findings: FindingLike[];
  reason?: string;
  notes?: string[];
  coverage?: CoverageLike;
  data?: Record<string, unknown>;
}

export interface ReportLike {
  version: number;
  product: string;
  runtime: string;
  checks: CheckLike[];
  summary: { passed: number; failed: number; skipped: number; errored: number; errors: number; warnings: number; verdict: string };
}

const schema = JSON.parse(readFileSync(join(REPO_ROOT, "schema", "report.schema.json"), "utf8")) as object;
// ajv is CommonJS with its class on `default`: required, as test/sarif.test.ts does.
const Ajv = createRequire(import.meta.url)("ajv") as typeof AjvModule.default;
const validateSchema = new Ajv({ allErrors: true }).compile(schema);

/** Parses the JSON report text; throws with the parser's message (and where) when it is not JSON. */
export function parseReport(text: string | undefined): ReportLike {
  if (text === undefined) throw new Error("the JSON report was not written");
  return JSON.parse(text) as ReportLike;
}

export function checkOf(report: ReportLike, id: string): CheckLike {
  const check = report.checks.find((c) => c.id === id);
  if (!check) throw new Error(`the report has no ${id} check (checks: ${report.checks.map((c) => c.id).join(", ")})`);
  return check;
}

function coverageViolations(where: string, coverage: unknown): string[] {
  if (typeof coverage !== "object" || coverage === null) return [`${where}: coverage is not an object`];
  const c = coverage as Partial<CoverageLike>;
  const out: string[] = [];
  if (typeof c.complete !== "boolean") out.push(`${where}: coverage.complete is not a boolean`);
  if (typeof c.summary !== "string" || c.summary.trim() === "") out.push(`${where}: coverage.summary is empty`);
  for (const list of ["covered", "uncovered"] as const) {
    const items = c[list];
    if (!Array.isArray(items)) {
      out.push(`${where}: coverage.${list} is not an array`);
      continue;
    }
    for (const item of items) {
      if (!COVERAGE_KINDS.has(item?.kind)) out.push(`${where}: coverage.${list} item of unknown kind ${JSON.stringify(item?.kind)}`);
      if (typeof item?.name !== "string" || item.name === "") out.push(`${where}: coverage.${list} item without a name`);
      if (list === "uncovered" && (typeof item?.reason !== "string" || item.reason.trim() === "")) {
        out.push(`${where}: uncovered ${item?.kind} ${item?.name} gives no reason`);
      }
      if (item?.line !== undefined && item.file === undefined) out.push(`${where}: coverage item ${item.name} has a line but no file`);
    }
  }
  if (c.complete === true && Array.isArray(c.uncovered) && c.uncovered.length > 0) {
    out.push(`${where}: coverage.complete is true while ${c.uncovered.length} item(s) are uncovered`);
  }
  return out;
}

/** Every way the report breaks the honesty contract; empty when it holds. */
export function honestyViolations(report: ReportLike): string[] {
  const out: string[] = [];
  for (const check of report.checks) {
    const where = `${check.id} (${check.status})`;
    if (!STATUSES.has(check.status)) out.push(`${where}: unknown status`);
    const isLive = (LIVE_CHECKS as readonly string[]).includes(check.id);
    if (check.coverage !== undefined) out.push(...coverageViolations(where, check.coverage));
    if (isLive && (check.status === "pass" || check.status === "fail") && check.coverage === undefined) {
      out.push(`${where}: a live check that looked carries no coverage`);
    }
    if (check.status === "pass" && check.coverage !== undefined && check.coverage.complete !== true) {
      out.push(`${where}: pass with incomplete coverage (${check.coverage.summary})`);
    }
    if (check.id === "dependencies" && check.status === "pass" && check.coverage?.complete !== true) {
      out.push(`${where}: dependencies passed without its live probe having run for every URL (no complete coverage)${check.notes?.length ? `; notes: ${check.notes.join(" | ")}` : ""}`);
    }
    if ((check.status === "skip" || check.status === "error") && !check.reason?.trim()) out.push(`${where}: says no reason`);
    const errors = check.findings.filter((f) => f.severity === "error").length;
    if (check.status === "pass" && errors > 0) out.push(`${where}: pass with ${errors} error finding(s)`);
    if (check.status === "fail" && errors === 0) out.push(`${where}: fail without an error finding`);
    for (const finding of check.findings) {
      if (!finding.rule.startsWith(`${check.id}/`)) out.push(`${where}: finding rule ${finding.rule} is not one of the check's`);
      if (finding.severity !== "error" && finding.severity !== "warning") out.push(`${where}: finding ${finding.rule} has severity ${finding.severity}`);
      if (!finding.message?.trim()) out.push(`${where}: finding ${finding.rule} has no message`);
      if (finding.line !== undefined && finding.file === undefined) out.push(`${where}: finding ${finding.rule} has a line but no file`);
    }
  }
  const count = (status: string) => report.checks.filter((c) => c.status === status).length;
  const s = report.summary;
  const expected = { passed: count("pass"), failed: count("fail"), skipped: count("skip"), errored: count("error") };
  for (const [key, value] of Object.entries(expected)) {
    if (s[key as keyof typeof expected] !== value) out.push(`summary.${key} is ${s[key as keyof typeof expected]}, the checks say ${value}`);
  }
  if (s.verdict === "pass" && (expected.failed > 0 || expected.errored > 0)) out.push("summary.verdict is pass while a check failed or errored");
  return out;
}

/** Every way the written formats are broken; empty when each parses. */
export function formatViolations(files: Partial<ReportFiles>): string[] {
  const out: string[] = [];
  if (files.json !== undefined) {
    try {
      const report = JSON.parse(files.json) as unknown;
      if (!validateSchema(report)) out.push(`report.json does not match schema/report.schema.json: ${JSON.stringify(validateSchema.errors)}`);
    } catch (error) {
      out.push(`report.json is not JSON: ${(error as Error).message}`);
    }
  }
  if (files.sarif !== undefined) {
    try {
      const sarif = JSON.parse(files.sarif) as { version?: string };
      if (sarif.version !== "2.1.0") out.push(`report.sarif has version ${sarif.version}`);
    } catch (error) {
      out.push(`report.sarif is not JSON: ${(error as Error).message}`);
    }
  }
  if (files.junit !== undefined) {
    const valid = XMLValidator.validate(files.junit);
    if (valid !== true) out.push(`report.xml is not well-formed XML: ${JSON.stringify(valid.err)}`);
  }
  if (files.markdown !== undefined) {
    const fences = files.markdown.split("\n").filter((line) => /^\s*(```|````)/.test(line)).length;
    if (fences % 2 !== 0) out.push(`report.md leaves a code fence open (${fences} fence lines)`);
  }
  return out;
}

/**
 * The honesty contract on one report, and (when given) the formats it was written in.
 * All violations are listed at once, so a failure shows the whole picture.
 */
export function expectHonestReport(report: ReportLike, files: Partial<ReportFiles> = {}): void {
  expect([...honestyViolations(report), ...formatViolations(files)]).toEqual([]);
}
