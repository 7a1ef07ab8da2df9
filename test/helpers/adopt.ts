/**
 * Running `check` and `init` in process on a copy of a real-layout fixture (issue 10): the report
 * reduced to what verdicts are made of, so a zero-config run and a run after `init` can be compared.
 */
import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runInit, type InitResult } from "../../src/adopt/init-command.js";
import { RecordingLogger } from "../../src/core/logger.js";
import type { Report } from "../../src/core/report-model.js";
import type { CheckSettings } from "../../src/core/settings.js";
import { runCheck } from "../../src/pipeline/check-pipeline.js";
import { fixture } from "./fixtures.js";

export interface AdoptCopy extends AsyncDisposable {
  /** The copy's root: the fixture is a repository of its own (its root is the product folder). */
  readonly root: string;
  read(path: string): Promise<string>;
}

/** A fresh copy of `fixtures/<name>` in a temp dir, removed on `await using` scope exit. */
export async function copyRealLayout(name: string): Promise<AdoptCopy> {
  const root = await mkdtemp(join(tmpdir(), `civic-adopt-${name}-`));
  await cp(fixture(name), root, { recursive: true });
  return {
    root,
    read: (path) => readFile(join(root, path), "utf8"),
    [Symbol.asyncDispose]: () => rm(root, { recursive: true, force: true }),
  };
}

export const STATIC_CHECKS = ["registry", "drift", "compose", "dependencies"];

export async function checkCopy(copy: AdoptCopy, extra: Partial<CheckSettings> = {}): Promise<Report> {
  const settings: CheckSettings = {
    productPath: copy.root,
    runtime: "embedded",
    only: STATIC_CHECKS,
    skip: [],
    outputs: [],
    commandTimeoutMs: 120_000,
    concurrency: 8,
    verbose: false,
    cwd: copy.root,
    env: { PATH: process.env.PATH },
    ...extra,
  };
  const { report } = await runCheck(settings, { logger: new RecordingLogger(), signal: new AbortController().signal });
  return report;
}

export function initCopy(copy: AdoptCopy, force = false): Promise<InitResult> {
  return runInit({ productPath: ".", force, cwd: copy.root, env: { PATH: process.env.PATH } });
}

export interface Located {
  readonly rule: string;
  readonly severity: string;
  readonly service: string | undefined;
  readonly at: string | undefined;
}

/** Every finding as rule, severity, service and file:line, sorted. */
export function findingsOf(report: Report, check?: string): Located[] {
  return report.checks
    .filter((result) => check === undefined || result.id === check)
    .flatMap((result) => result.findings.map((f) => ({ rule: f.rule, severity: f.severity, service: f.service, at: f.file ? `${f.file}${f.line ? `:${f.line}` : ""}` : undefined })))
    .sort((a, b) => `${a.rule} ${a.service} ${a.at}`.localeCompare(`${b.rule} ${b.service} ${b.at}`));
}

export function statuses(report: Report): Record<string, string> {
  return Object.fromEntries(report.checks.map((result) => [result.id, result.status]));
}

/**
 * Rules whose findings point at a registry entry's field: inferred, that is the line the field was
 * read from (the compose file, an env file); after `init`, the line in civic-conformance.yaml.
 */
const REGISTRY_LOCATED = /^(registry\/|isolation\/public-temp$|own-database\/(missing-database|missing-url)$|dependencies\/(unknown-host|unknown-service|wrong-port|undeclared|unused)$|compose\/missing-service$)/;

/**
 * What a verdict is made of, comparable across registry sources: each check's status and its
 * findings (rule, severity, service, and file:line unless the finding points at a registry entry's
 * field, see REGISTRY_LOCATED).
 */
export function verdicts(report: Report): Record<string, { status: string; findings: string[] }> {
  return Object.fromEntries(
    report.checks.map((result) => [
      result.id,
      {
        status: result.status,
        findings: result.findings
          .map((f) => [f.rule, f.severity, f.service ?? "-", REGISTRY_LOCATED.test(f.rule) ? "(registry)" : `${f.file ?? ""}:${f.line ?? ""}`].join(" "))
          .sort(),
      },
    ]),
  );
}

/** The civic house rules that must never fail a repository outside the civic layout. */
export const HOUSE_RULES = [
  "registry/database-name",
  "registry/duplicate-port",
  "registry/stateful-without-schema",
  "registry/schema-url",
  "registry/missing-field",
  "compose/port",
  "compose/missing-database-url",
  "drift/changed",
  "drift/created",
  "drift/deleted",
  "drift/generator-failed",
];
