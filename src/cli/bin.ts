import { runCleanups } from "../core/cleanup-registry.js";
import { main } from "./main.js";

/** After a signal, the run has this long to stop its servers and remove its folders before the cleanups are forced. */
const CLEANUP_DEADLINE_MS = 20_000;

const SIGNAL_CODES = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
type HandledSignal = keyof typeof SIGNAL_CODES;

/**
 * The process entry: wires stdio, signals and the exit code around `main`. On SIGINT / SIGTERM /
 * SIGHUP the run is aborted, says so once, and unwinds through `main`'s own cleanup (one stop of
 * the runtime, the run folder removed), then exits with 128 + the signal number. A second signal,
 * or a cleanup that overruns its deadline, runs the remaining cleanups at once and exits.
 */
export async function cli(): Promise<void> {
  // testcontainers (the compose runtime's scratch server) would pull its reaper image; this tool
  // removes its own containers (cleanup registry, `post:` step), so the reaper is off unless asked for.
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";
  const controller = new AbortController();
  let received: HandledSignal | undefined;
  const forceExit = (code: number) => {
    void runCleanups()
      .then((failures) => {
        for (const failure of failures) process.stderr.write(`warning: cleanup failed: ${String(failure)}\n`);
      })
      .finally(() => process.exit(code));
  };
  const onSignal = (signal: HandledSignal) => {
    if (received) {
      process.stderr.write(`civic-conformance: ${signal} received again, cleaning up at once\n`);
      forceExit(SIGNAL_CODES[received]);
      return;
    }
    received = signal;
    process.stderr.write(`\ncivic-conformance: ${signal} received, cleaning up…\n`);
    controller.abort(new Error(`interrupted by ${signal}`));
    setTimeout(() => forceExit(SIGNAL_CODES[signal]), CLEANUP_DEADLINE_MS).unref();
  };
  for (const signal of Object.keys(SIGNAL_CODES) as HandledSignal[]) process.on(signal, () => onSignal(signal));

  const exitCode = await main(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    cwd: process.cwd(),
    env: process.env,
    signal: controller.signal,
  });
  // `received` is set by a handler while main unwinds; the narrowing above does not see that.
  const signalled = received as HandledSignal | undefined;
  process.exitCode = signalled ? SIGNAL_CODES[signalled] : exitCode;
}
