import type { CheckResult, Coverage, Finding, MatrixCell, Report } from "./report-model.js";
import { maskSecrets } from "./secrets.js";

/**
 * Masking on the report model, before any renderer serialises it: free text only (messages, fixes,
 * details, reasons, notes, coverage lines, matrix reasons, other check data), value by value, so
 * each format escapes the masked text as it needs and stays valid. Ids, statuses, rule ids, paths,
 * services and numbers are never touched.
 */
export function maskReport(report: Report): Report {
  return {
    ...report,
    checks: report.checks.map(maskCheckResult),
    ...(report.suppressed && { suppressed: report.suppressed.map(maskFinding) }),
    ...(report.suppressions && { suppressions: report.suppressions.map((suppression) => ({ ...suppression, reason: maskSecrets(suppression.reason) })) }),
    ...(report.baseline && { baseline: { ...report.baseline, known: report.baseline.known.map(maskFinding) } }),
    ...(report.registry && { registry: maskStrings(report.registry) as NonNullable<Report["registry"]> }),
  };
}

export function maskCheckResult(result: CheckResult): CheckResult {
  return {
    ...result,
    findings: result.findings.map(maskFinding),
    ...(result.reason !== undefined && { reason: maskSecrets(result.reason) }),
    ...(result.notes && { notes: result.notes.map(maskSecrets) }),
    ...(result.coverage && { coverage: maskCoverage(result.coverage) }),
    ...(result.data && { data: maskData(result.data) }),
  };
}

function maskFinding<T extends Finding>(finding: T): T {
  return {
    ...finding,
    message: maskSecrets(finding.message),
    ...(finding.fix !== undefined && { fix: maskSecrets(finding.fix) }),
    ...(finding.details !== undefined && { details: maskSecrets(finding.details) }),
  };
}

function maskCoverage(coverage: Coverage): Coverage {
  const items = (list: Coverage["covered"]) => list.map((item) => (item.reason === undefined ? item : { ...item, reason: maskSecrets(item.reason) }));
  return { ...coverage, summary: maskSecrets(coverage.summary), covered: items(coverage.covered), uncovered: items(coverage.uncovered) };
}

function maskData(data: NonNullable<CheckResult["data"]>): NonNullable<CheckResult["data"]> {
  const { matrix, ...rest } = data;
  const masked = maskStrings(rest) as Record<string, unknown>;
  if (!matrix) return masked;
  return {
    ...masked,
    matrix: matrix.map(
      (cell): MatrixCell => ({
        ...cell,
        ...(cell.reason !== undefined && { reason: maskSecrets(cell.reason) }),
        ...(cell.cause !== undefined && { cause: maskSecrets(cell.cause) }),
      }),
    ),
  };
}

function maskStrings(value: unknown): unknown {
  if (typeof value === "string") return maskSecrets(value);
  if (Array.isArray(value)) return value.map(maskStrings);
  if (typeof value === "object" && value !== null) return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, maskStrings(inner)]));
  return value;
}
