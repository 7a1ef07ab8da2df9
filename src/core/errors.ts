/**
 * The two kinds of failure the doors know how to report. Anything else is a bug and keeps its stack.
 */

export interface SourceLocation {
  /** Path as the user should see it (relative to the working directory where possible). */
  file: string;
  line?: number;
  column?: number;
}

/** The input could not be read: bad flags, bad registry, bad YAML, missing files. Exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  constructor(
    message: string,
    readonly location?: SourceLocation,
  ) {
    super(message);
  }

  /** `file:line:column: message`, the form editors and CI logs link. */
  format(): string {
    if (!this.location) return this.message;
    const { file, line, column } = this.location;
    const where = [file, line, line !== undefined ? column : undefined].filter((part) => part !== undefined).join(":");
    return `${where}: ${this.message}`;
  }
}

/** The environment could not run what was asked: no Docker for `--runtime compose`, port in use. Exit code 3. */
export class EnvironmentError extends Error {
  override readonly name = "EnvironmentError";
}

export function isKnownError(error: unknown): error is UsageError | EnvironmentError {
  return error instanceof UsageError || error instanceof EnvironmentError;
}
