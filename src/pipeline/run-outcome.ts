/** How a `check` run ends: why its runtime did not start, and its exit code. */
import { EnvironmentError, isKnownError, type SourceLocation, UsageError } from "../core/errors.js";
import { maskSecrets } from "../core/secrets.js";
import type { Logger } from "../core/logger.js";
import type { Report } from "../core/report-model.js";

/** Why the runtime did not start: the product's own input (an init script) or the environment. */
export interface StartFailure {
  readonly kind: "input" | "environment";
  /** One cause, `file:line: …` where there is one, masked; also the live checks' reason. */
  readonly cause: string;
  readonly location?: SourceLocation;
}

/**
 * Why the runtime did not start, printed once here. A `UsageError` is the product's input (an init
 * script's own SQL, file:line); anything else is the environment's, a bug included (one line; its
 * stack only with `--verbose`). After an abort the failure is the abort's echo and is not printed.
 */
export function startFailureOf(error: unknown, io: { readonly logger: Logger; readonly signal: AbortSignal }): StartFailure {
  const kind = error instanceof UsageError ? "input" : "environment";
  const cause = maskSecrets(
    error instanceof UsageError
      ? error.format()
      : error instanceof EnvironmentError
        ? error.message
        : `internal error (please report it): ${error instanceof Error ? error.message : String(error)}`,
  );
  if (!io.signal.aborted) {
    io.logger.error(`the runtime could not start: ${cause}`);
    if (!isKnownError(error) && error instanceof Error && error.stack) io.logger.debug(maskSecrets(error.stack));
  }
  return { kind, cause, ...(error instanceof UsageError && error.location && { location: error.location }) };
}

/**
 * 0 every check passed (skips allowed), 1 a check failed on its own findings, else 2 when the input
 * stopped a check or the runtime (an init script's own SQL), 3 when a check could not run.
 */
export function exitCodeFor(run: { readonly report: Pick<Report, "summary">; readonly startFailure?: StartFailure; readonly inputError: boolean }): 0 | 1 | 2 | 3 {
  const { verdict } = run.report.summary;
  if (verdict === "fail") return 1;
  if (run.inputError || run.startFailure?.kind === "input") return 2;
  if (verdict === "error") return 3;
  return 0;
}
