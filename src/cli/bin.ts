import { runCleanups } from "../core/cleanup-registry.js";
import { main, reportFailure } from "./main.js";

/** What a shell shows for a process that died writing to a closed pipe (128 + SIGPIPE). */
const CLOSED_STDOUT_EXIT = 141;

/** After a signal, the run has this long to stop its servers and remove its folders before the cleanups are forced. */
const CLEANUP_DEADLINE_MS = 20_000;

const SIGNAL_CODES = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
type HandledSignal = keyof typeof SIGNAL_CODES;

/**
 * The process entry: wires stdio, signals and the exit code around `main`. On SIGINT / SIGTERM /
 * SIGHUP the run is aborted, says so once, and unwinds through `main`'s own cleanup (one stop of
 * the runtime, the run folder removed), then exits with 128 + the signal number. A second signal,
 * or a cleanup that overruns its deadline, runs the remaining cleanups at once and exits. When
 * stdout's reader goes away (`… | head -1`) the run is aborted the same way and ends quietly
 * through its own cleanup (exit 141).
 */
export async function cli(): Promise<void> {
  const controller = new AbortController();
  const verbose = process.argv.includes("--verbose");

  let stdoutClosed = false;
  let stderrClosed = false;
  const writeStderr = (text: string) => {
    if (!stderrClosed) process.stderr.write(text);
  };

  let received: HandledSignal | undefined;
  let crashed = false;
  const forceExit = (code: number) => {
    void runCleanups()
      .then((failures) => {
        for (const failure of failures) writeStderr(`warning: cleanup failed: ${String(failure)}\n`);
      })
      .finally(() => process.exit(code));
  };
  const onSignal = (signal: HandledSignal) => {
    if (crashed) return;
    if (received) {
      writeStderr(`civic-conformance: ${signal} received again, cleaning up at once\n`);
      forceExit(SIGNAL_CODES[received]);
      return;
    }
    received = signal;
    writeStderr(`\ncivic-conformance: ${signal} received, cleaning up…\n`);
    controller.abort(new Error(`interrupted by ${signal}`));
    setTimeout(() => forceExit(SIGNAL_CODES[signal]), CLEANUP_DEADLINE_MS).unref();
  };
  for (const signal of Object.keys(SIGNAL_CODES) as HandledSignal[]) process.on(signal, () => onSignal(signal));

  // A closed stdout: stop writing to it, abort the run, let `main` unwind through its cleanup.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (stdoutClosed) return;
    stdoutClosed = true;
    if (error.code !== "EPIPE") writeStderr(`civic-conformance: cannot write to standard output: ${error.message}\n`);
    controller.abort(new Error("standard output was closed"));
  });
  process.stderr.on("error", () => {
    stderrClosed = true;
  });
  // A bug that escapes every `try` is one line (its stack with --verbose), the cleanups still run, exit 3.
  const onCrash = (error: unknown) => {
    if (crashed || received) return;
    crashed = true;
    reportFailure(error, { stderr: writeStderr }, verbose);
    controller.abort(error);
    forceExit(3);
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
  if (crashed) return;
  // `received` is set by a handler while main unwinds; the narrowing above does not see that.
  const signalled = received as HandledSignal | undefined;
  process.exitCode = signalled ? SIGNAL_CODES[signalled] : stdoutClosed ? CLOSED_STDOUT_EXIT : exitCode;
}
