import packageJson from "../../package.json" with { type: "json" };
import type { Check } from "../checks/check.js";
import { EnvironmentError, UsageError } from "../core/errors.js";
import { locateProduct } from "../product/locate-product.js";
import { StreamLogger } from "../core/logger.js";
import type { CheckResult } from "../core/report-model.js";
import { maskSecrets } from "../core/secrets.js";
import type { CheckSettings } from "../core/settings.js";
import { describeInit, runInit } from "../adopt/init-command.js";
import { generateProduct } from "../generator/generate-command.js";
import { renderReports } from "../report/render-reports.js";
import { renderCheckLine } from "../report/render-text.js";
import { paletteFor } from "../report/style.js";
import { exitCodeForProducts, runProducts } from "../pipeline/check-products.js";
import { HELP } from "./help.js";
import { parseCliArgs } from "./parse-args.js";
import { openReportFiles } from "./report-files.js";

export const VERSION: string = packageJson.version;

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly stdoutIsTTY: boolean;
  readonly stderrIsTTY: boolean;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Aborted on SIGINT / SIGTERM: the run stops, cleans up and prints nothing more (the door picks the exit code). */
  readonly signal: AbortSignal;
}

/** The CLI door: parse, run, print, return the exit code. Never exits the process itself. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const command = parseCliArgs(argv, io.cwd, io.env);
    switch (command.kind) {
      case "help":
        io.stdout(HELP);
        return 0;
      case "version":
        io.stdout(`${VERSION}\n`);
        return 0;
      case "generate": {
        const { productPath, cwd, repoRoot: repoRootOverride, write, env } = command.settings;
        const { productDir, repoRoot } = await locateProduct(productPath, cwd, repoRootOverride);
        const result = await generateProduct(productDir, repoRoot, { write, env, signal: io.signal });
        for (const file of result.files) {
          if (write) io.stderr(`${file.changed ? "wrote" : "unchanged"} ${file.path}\n`);
          else io.stdout(`# ── ${file.path} ──\n${file.content}`);
        }
        return 0;
      }
      case "check":
        return await check(command.settings, io);
      case "init":
        io.stdout(describeInit(await runInit(command.settings)));
        return 0;
    }
  } catch (error) {
    // Whatever failed after an interrupt failed because of it: the signal's line was printed once.
    if (io.signal.aborted) return 1;
    return reportFailure(error, io, argv.includes("--verbose"));
  }
}

/**
 * `check`: open every `--output` file first (an unwritable one is exit 2 before any work), run, then
 * write each format. A report is written whenever the input could be read, also when the runtime
 * could not start; an interrupted run (signal, closed stdout) writes none.
 */
async function check(settings: CheckSettings, io: CliIo): Promise<number> {
  await using files = await openReportFiles(settings.outputs, settings.cwd);
  const logger = new StreamLogger(io.stderr, settings.verbose);
  // A progress line per check as it finishes: on stdout when the text report goes there (it then
  // repeats only the checks with findings), else on stderr so stdout stays machine-readable.
  const textOnStdout = settings.outputs.some((t) => t.format === "text" && t.file === undefined);
  const [progressWrite, progressPalette] = textOnStdout ? [io.stdout, paletteFor(io.stdoutIsTTY, io.env)] : [io.stderr, paletteFor(io.stderrIsTTY, io.env)];
  if (textOnStdout) progressWrite(`${progressPalette.bold(`civic-conformance · ${settings.productPath}`)}\n`);
  const progress = {
    started(_check: Check) {},
    finished(result: CheckResult, product?: string) {
      if (!io.signal.aborted) progressWrite(`${product ? `${product} · ` : ""}${renderCheckLine(result, progressPalette)}\n`);
    },
  };
  let run;
  try {
    run = await runProducts(settings, { logger, progress, signal: io.signal });
  } catch (error) {
    await files.discard();
    throw error;
  }
  if (io.signal.aborted) {
    await files.discard();
    return 3;
  }
  const { reports } = run;
  for (const target of settings.outputs.filter((t) => t.file === undefined)) {
    io.stdout(renderReports(reports, target.format, VERSION, paletteFor(io.stdoutIsTTY, io.env), { progressShown: true }));
  }
  for (const file of files.files) await file.write(renderReports(reports, file.target.format, VERSION));
  return exitCodeForProducts(run);
}

/** Every failure is one line and an exit code: 2 input, 3 environment or a bug (its stack only with `--verbose`); never a crash. */
export function reportFailure(error: unknown, io: Pick<CliIo, "stderr">, verbose: boolean): 2 | 3 {
  if (error instanceof UsageError) {
    io.stderr(`civic-conformance: ${maskSecrets(error.format())}\n`);
    return 2;
  }
  if (error instanceof EnvironmentError) {
    io.stderr(`civic-conformance: ${maskSecrets(error.message)}\n`);
    return 3;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.stderr(`civic-conformance: internal error (please report it): ${maskSecrets(message.split("\n")[0] ?? "")}\n`);
  if (verbose && error instanceof Error && error.stack) io.stderr(`${maskSecrets(error.stack)}\n`);
  else io.stderr("Run again with --verbose to see where it happened.\n");
  return 3;
}
