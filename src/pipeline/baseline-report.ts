import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { UsageError } from "../core/errors.js";
import type { Finding } from "../core/report-model.js";
import type { Baseline } from "./finding-policy.js";

/**
 * Reads `--baseline`: a report JSON of an earlier run (`check --format json`), or the action's
 * `report-json` file, whose report of the same product folder is used. Every finding it lists
 * (reported, suppressed or already known) is part of the baseline.
 *
 * @throws UsageError when the file cannot be read or is not a civic-conformance report
 */
export async function readBaseline(file: string, cwd: string, productDir: string): Promise<Baseline> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(resolve(cwd, file), "utf8"));
  } catch (error) {
    throw new UsageError(`cannot read the baseline report: ${(error as Error).message}`, { file });
  }
  const report = pickReport(parsed, productDir, file);
  const findings = [
    ...report.checks.flatMap((check) => check.findings.map((finding) => ({ check: check.id, ...finding }))),
    ...(report.suppressed ?? []),
    ...(report.baseline?.known ?? []),
  ];
  for (const finding of findings) {
    if (typeof finding.check !== "string" || typeof finding.rule !== "string" || typeof finding.message !== "string") {
      throw new UsageError("the baseline report has a finding without check, rule or message; is it a civic-conformance JSON report?", { file });
    }
  }
  return { file, findings };
}

interface ReportShape {
  readonly productDir?: string;
  readonly checks: ReadonlyArray<{ readonly id: string; readonly findings: readonly Finding[] }>;
  readonly suppressed?: ReadonlyArray<Finding & { check: string }>;
  readonly baseline?: { readonly known?: ReadonlyArray<Finding & { check: string }> };
}

function isReport(value: unknown): value is ReportShape {
  const candidate = value as Partial<ReportShape> | null;
  return typeof candidate === "object" && candidate !== null && Array.isArray(candidate.checks) && candidate.checks.every((check) => Array.isArray(check?.findings));
}

function pickReport(parsed: unknown, productDir: string, file: string): ReportShape {
  if (isReport(parsed)) return parsed;
  const reports = (parsed as { reports?: unknown } | null)?.reports;
  if (Array.isArray(reports)) {
    const valid = reports.filter(isReport);
    const same = valid.filter((report) => report.productDir === productDir);
    if (same.length === 1) return same[0]!;
    if (valid.length === 1) return valid[0]!;
    throw new UsageError(`the baseline file holds ${valid.length} reports and none of product folder ${productDir}`, { file });
  }
  throw new UsageError("not a civic-conformance report (expected the JSON of `check --format json`, or the action's report-json file)", { file });
}
