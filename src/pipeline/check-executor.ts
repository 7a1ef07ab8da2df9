import type { CheckResult } from "../core/report-model.js";
import { EnvironmentError, UsageError } from "../core/errors.js";
import { maskSecrets } from "../core/secrets.js";
import { type Check, type CheckContext, CheckUnableError } from "../checks/check.js";
import type { FindingPolicy } from "./finding-policy.js";

export interface CheckProgress {
  started(check: Check): void;
  finished(result: CheckResult): void;
}

/**
 * Runs the selected checks and turns each outcome into a `CheckResult`. A check that throws is
 * reported as `error` (never `pass`); a `UsageError` aborts the run, since the input is bad.
 * Live checks run one after another: they share the server (under `embedded` the migrations check's
 * CREATE DATABASE from template1 fails while another check is connected to template1), and each
 * parallelises its own work. File-only checks may run concurrently.
 */
export async function executeChecks(
  checks: readonly Check[],
  context: CheckContext,
  progress?: CheckProgress,
  { concurrent = false, policy }: { concurrent?: boolean; policy?: FindingPolicy } = {},
): Promise<CheckResult[]> {
  // The team's decisions (profile, rule levels, suppressions, baseline) shape each result before it is shown.
  const decide = (result: CheckResult) => (policy ? policy.apply(result) : result);
  if (concurrent) {
    // Independent file-only checks: run together, report each as it finishes, keep list order.
    return Promise.all(
      checks.map(async (check) => {
        progress?.started(check);
        const result = decide(await runOne(check, context));
        progress?.finished(result);
        return result;
      }),
    );
  }
  const results: CheckResult[] = [];
  for (const check of checks) {
    progress?.started(check);
    const result = decide(await runOne(check, context));
    progress?.finished(result);
    results.push(result);
  }
  return results;
}

async function runOne(check: Check, context: CheckContext): Promise<CheckResult> {
  const started = performance.now();
  const base = { id: check.id, title: check.title };
  const elapsed = () => Math.round(performance.now() - started);
  const unmet = unmetNeed(check, context);
  if (unmet) return { ...base, status: "skip", durationMs: 0, findings: [], reason: unmet };
  try {
    const output = await check.run(context);
    const durationMs = elapsed();
    const findings = output.findings.map((f) => ({
      ...f,
      message: maskSecrets(f.message),
      ...(f.fix !== undefined && { fix: maskSecrets(f.fix) }),
      ...(f.details !== undefined && { details: maskSecrets(f.details) }),
    }));
    const notes = output.notes?.map(maskSecrets);
    const extra = { ...(notes?.length && { notes }), ...(output.data && { data: output.data }) };
    if (output.skipped !== undefined) {
      return { ...base, status: "skip", durationMs, findings, reason: maskSecrets(output.skipped), ...extra };
    }
    const failed = findings.some((f) => f.severity === "error");
    return { ...base, status: failed ? "fail" : "pass", durationMs, findings, ...extra };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const reason =
      error instanceof EnvironmentError || error instanceof CheckUnableError
        ? error.message
        : `internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
    context.logger.error(`${check.id}: ${reason}`);
    return { ...base, status: "error", durationMs: elapsed(), findings: [], reason: maskSecrets(reason) };
  }
}

function unmetNeed(check: Check, context: CheckContext): string | undefined {
  if (check.needs.includes("compose") && !context.product.compose) return "no compose file was loaded";
  if (check.needs.includes("postgres") && !context.live) return "needs a live PostgreSQL server, and no runtime was started";
  return undefined;
}
