import { runCleanups } from "../core/cleanup-registry.js";
import { main } from "./main.js";

/**
 * The process entry: wires stdio, signals and the exit code around `main`. On SIGINT / SIGTERM
 * the run is aborted and every registered cleanup (embedded server, compose stack, temp dirs)
 * runs before the process exits with 128 + the signal number.
 */
export async function cli(): Promise<void> {
  const controller = new AbortController();
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

  const exitCode = await main(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    cwd: process.cwd(),
    env: process.env,
    signal: controller.signal,
  });
  if (!stopping) process.exitCode = exitCode;
}
