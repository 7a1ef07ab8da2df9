import { type CheckResult, describeUncovered } from "../core/report-model.js";
import { EnvironmentError, UsageError } from "../core/errors.js";
import { maskCheckResult } from "../core/mask-report.js";
import { type Check, type CheckContext, type CheckOutput, CheckUnableError } from "../checks/check.js";
import type { FindingPolicy } from "./finding-policy.js";

export interface CheckProgress {
  started(check: Check): void;
  /** `product` names the product when one run checks several. */
  finished(result: CheckResult, product?: string): void;
}

/** The reason of a check the run's abort (signal, closed stdout) stopped or never started. */
export const INTERRUPTED = "interrupted before it finished";

export interface ExecuteOptions {
  /** Run the checks together (independent file-only checks); else one after another. */
  readonly concurrent?: boolean;
  /** A check threw a `UsageError`: the input is bad (the door exits 2 unless a check failed). */
  readonly onInputError?: (error: UsageError) => void;
  /** The team's decisions (profile, rule levels, suppressions, baseline), applied to each result before it is shown. */
  readonly policy?: FindingPolicy;
}

/**
 * Runs the selected checks and turns each outcome into a masked `CheckResult`. A check that throws
 * is reported as `error` with a one-line reason (never `pass`, never a stack trace); a check whose
 * coverage is incomplete is never `pass` either.
 * Live checks run one after another: they share the server (under `embedded` the migrations check's
 * CREATE DATABASE from template1 fails while another check is connected to template1), and each
 * parallelises its own work; only neighbours that change nothing there (`readsOnly`: own-database and
 * isolation) run beside each other, sharing `--concurrency` (so a server with few connection slots
 * sees no more at once than before), reported in their order. File-only checks may run concurrently.
 */
export async function executeChecks(
  checks: readonly Check[],
  context: CheckContext,
  progress?: CheckProgress,
  options: ExecuteOptions = {},
): Promise<CheckResult[]> {
  if (options.concurrent) {
    // Independent file-only checks: run together, report each as it finishes, keep list order.
    return Promise.all(
      checks.map(async (check) => {
        progress?.started(check);
        const result = decide(await runOne(check, context, options), options);
        progress?.finished(result);
        return result;
      }),
    );
  }
  const results: CheckResult[] = [];
  for (let first = 0; first < checks.length; ) {
    let end = first + 1;
    if (checks[first]!.readsOnly) while (end < checks.length && checks[end]!.readsOnly) end += 1;
    const group = checks.slice(first, end);
    // Checks side by side share --concurrency (connections at once), as one check alone had it.
    const shared = group.length > 1 && context.options?.concurrency !== undefined
      ? { ...context, options: { ...context.options, concurrency: Math.max(1, Math.floor(context.options.concurrency / group.length)) } }
      : context;
    const together = group.map((check) => {
      progress?.started(check);
      return runOne(check, shared, options);
    });
    for (const running of together) {
      const result = decide(await running, options);
      progress?.finished(result);
      results.push(result);
    }
    first = end;
  }
  return results;
}

function decide(result: CheckResult, options: ExecuteOptions): CheckResult {
  return options.policy ? options.policy.apply(result) : result;
}

async function runOne(check: Check, context: CheckContext, options: ExecuteOptions): Promise<CheckResult> {
  const started = performance.now();
  const base = { id: check.id, title: check.title };
  const elapsed = () => Math.round(performance.now() - started);
  const unmet = unmetNeed(check, context);
  if (unmet) return { ...base, status: "skip", durationMs: 0, findings: [], reason: unmet };
  if (context.signal.aborted) return { ...base, status: "error", durationMs: 0, findings: [], reason: INTERRUPTED };
  try {
    const output = await check.run(context);
    // The server went away while the check looked: whatever it concluded, it did not look at all of it.
    const fault = context.live?.fault?.();
    if (fault) return faulted(base, elapsed(), fault, context);
    return maskCheckResult(judge(base, output, elapsed()));
  } catch (error) {
    const durationMs = elapsed();
    // After Ctrl-C, SIGTERM or a closed stdout a check's failure is the interruption's echo: said once by the door.
    if (context.signal.aborted) return { ...base, status: "error", durationMs, findings: [], reason: INTERRUPTED };
    const fault = context.live?.fault?.();
    if (fault) return faulted(base, durationMs, fault, context);
    let reason: string;
    if (error instanceof UsageError) {
      reason = error.format();
      options.onInputError?.(error);
    } else if (error instanceof EnvironmentError || error instanceof CheckUnableError) {
      reason = error.message;
    } else {
      // A bug: one line for the user, the stack for `--verbose`.
      reason = `internal error (please report it): ${error instanceof Error ? error.message : String(error)}`;
      if (error instanceof Error && error.stack) context.logger.debug(`${check.id}: ${error.stack}`);
    }
    context.logger.error(`${check.id}: ${firstLine(reason)}`);
    return maskCheckResult({ ...base, status: "error", durationMs, findings: [], reason });
  }
}

/**
 * The verdict on what a check returned: `skip` when it could not look, `fail` on an error finding,
 * `error` when its coverage is incomplete and nothing failed it (never `pass` on a partial look),
 * else `pass`. Coverage stays on the result whatever the status.
 */
function judge(base: Pick<CheckResult, "id" | "title">, output: CheckOutput, durationMs: number): CheckResult {
  const extra = {
    ...(output.notes?.length && { notes: output.notes }),
    ...(output.coverage && { coverage: output.coverage }),
    ...(output.data && { data: output.data }),
  };
  const findings = output.findings;
  if (output.skipped !== undefined) return { ...base, status: "skip", durationMs, findings, reason: output.skipped, ...extra };
  if (findings.some((f) => f.severity === "error")) return { ...base, status: "fail", durationMs, findings, ...extra };
  if (output.coverage && !output.coverage.complete) {
    const reason = `could not look at: ${describeUncovered(output.coverage) || output.coverage.summary}`;
    return { ...base, status: "error", durationMs, findings, reason, ...extra };
  }
  return { ...base, status: "pass", durationMs, findings, ...extra };
}

function firstLine(text: string): string {
  const [first = "", ...rest] = text.split("\n");
  return rest.length > 0 ? `${first} …` : first;
}

function faulted(base: Pick<CheckResult, "id" | "title">, durationMs: number, fault: string, context: CheckContext): CheckResult {
  context.logger.error(`${base.id}: ${firstLine(fault)}`);
  return maskCheckResult({ ...base, status: "error", durationMs, findings: [], reason: fault });
}

function unmetNeed(check: Check, context: CheckContext): string | undefined {
  if (check.needs.includes("compose") && !context.product.compose) return "no compose file was loaded";
  if (check.needs.includes("postgres") && !context.live) return "needs a live PostgreSQL server, and no runtime was started";
  return undefined;
}
