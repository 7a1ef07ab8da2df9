import { runCleanups } from "../core/cleanup-registry.js";
import { main, reportFailure } from "./main.js";

/** What a shell shows for a process that died writing to a closed pipe (128 + SIGPIPE). */
const CLOSED_STDOUT_EXIT = 141;

/**
 * The process entry: wires stdio, signals and the exit code around `main`. On SIGINT / SIGTERM
 * the run is aborted and every registered cleanup (embedded server, compose stack, temp dirs)
 * runs before the process exits with 128 + the signal number. When stdout's reader goes away
 * (`… | head -1`) the run is aborted the same way and ends quietly through its own cleanup.
 */
export async function cli(): Promise<void> {
  const controller = new AbortController();
  const verbose = process.argv.includes("--verbose");
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals, code: number) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\ncivic-conformance: ${signal} received, cleaning up…\n`);
    controller.abort(new Error(`interrupted by ${signal}`));
    void runCleanups()
      .catch((error: unknown) => process.stderr.write(`warning: cleanup failed: ${String(error)}\n`))
      .finally(() => process.exit(code));
  };
  process.on("SIGINT", () => onSignal("SIGINT", 130));
  process.on("SIGTERM", () => onSignal("SIGTERM", 143));

  // A closed stdout: stop writing to it, abort the run, let `main` unwind through its cleanup.
  let stdoutClosed = false;
  let stderrClosed = false;
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (stdoutClosed) return;
    stdoutClosed = true;
    if (error.code !== "EPIPE") writeStderr(`civic-conformance: cannot write to standard output: ${error.message}\n`);
    controller.abort(new Error("standard output was closed"));
  });
  process.stderr.on("error", () => {
    stderrClosed = true;
  });
  const writeStderr = (text: string) => {
    if (!stderrClosed) process.stderr.write(text);
  };
  // A bug that escapes every `try` is one line (its stack with --verbose), the cleanups still run, exit 3.
  const onCrash = (error: unknown) => {
    if (stopping) return;
    stopping = true;
    reportFailure(error, { stderr: writeStderr }, verbose);
    controller.abort(error);
    void runCleanups().finally(() => process.exit(3));
  };
  process.on("uncaughtException", onCrash);
  process.on("unhandledRejection", onCrash);

  const exitCode = await main(process.argv.slice(2), {
    stdout: (text) => {
      if (!stdoutClosed) process.stdout.write(text);
    },
    stderr: writeStderr,
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    cwd: process.cwd(),
    env: process.env,
    signal: controller.signal,
  });
  if (!stopping) process.exitCode = stdoutClosed ? CLOSED_STDOUT_EXIT : exitCode;
}
