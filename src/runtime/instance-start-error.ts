/**
 * A runtime that could not start every PostgreSQL instance says which ones failed and why, each
 * with its own cause (an init script's file:line, a port, a binary), and which ones did start: one
 * instance's failure must not hide the others. The error is a `UsageError` when any cause is the
 * product's (an init script failing on its own SQL: exit 2), else an `EnvironmentError` (exit 3),
 * so the doors' exit codes stay what they were for one instance.
 */
import { EnvironmentError, UsageError } from "../core/errors.js";

export interface InstanceFailure {
  /** The compose name of the instance. */
  readonly instance: string;
  /** The cause, as the instance's start threw it (`UsageError` with file:line, `EnvironmentError`, or a bug). */
  readonly error: Error;
}

/** What both start errors carry. */
export interface InstancesStartFailure {
  readonly failures: readonly InstanceFailure[];
  /** Instances that did start (and were stopped again). */
  readonly started: readonly string[];
}

export class InstancesInputError extends UsageError implements InstancesStartFailure {
  constructor(
    message: string,
    location: UsageError["location"],
    readonly failures: readonly InstanceFailure[],
    readonly started: readonly string[],
  ) {
    super(message, location);
  }
}

export class InstancesEnvironmentError extends EnvironmentError implements InstancesStartFailure {
  constructor(
    message: string,
    readonly failures: readonly InstanceFailure[],
    readonly started: readonly string[],
  ) {
    super(message);
  }
}

/** The failures of a start, when `error` is one of the errors above. */
export function instanceFailuresOf(error: unknown): InstancesStartFailure | undefined {
  return error instanceof InstancesInputError || error instanceof InstancesEnvironmentError ? error : undefined;
}

/**
 * One error for the failed instances. With a single instance in the product its message is the
 * cause's own; with several, each cause is named by its instance. A bug (neither kind) is rethrown
 * as it is, keeping its stack.
 */
export function instancesStartError(failures: readonly InstanceFailure[], started: readonly string[], instanceCount: number): Error {
  const bug = failures.find((failure) => !(failure.error instanceof UsageError) && !(failure.error instanceof EnvironmentError));
  if (bug) return bug.error;
  const describe = (failure: InstanceFailure) => {
    const text = failure.error instanceof UsageError ? failure.error.format() : failure.error.message;
    return instanceCount > 1 ? `instance "${failure.instance}": ${text}` : text;
  };
  const input = failures.find((failure) => failure.error instanceof UsageError);
  if (input) {
    const first = input.error as UsageError;
    const message =
      failures.length === 1 && instanceCount === 1
        ? first.message
        : [
            instanceCount > 1 ? `instance "${input.instance}": ${first.message}` : first.message,
            ...failures.filter((failure) => failure !== input).map(describe),
            ...(started.length > 0 ? [`started meanwhile: ${started.join(", ")}`] : []),
          ].join("\n");
    return new InstancesInputError(message, first.location, failures, started);
  }
  const message =
    failures.length === 1 && instanceCount === 1
      ? failures[0]!.error.message
      : [...failures.map(describe), ...(started.length > 0 ? [`started meanwhile: ${started.join(", ")}`] : [])].join("\n");
  return new InstancesEnvironmentError(message, failures, started);
}
