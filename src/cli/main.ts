import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import packageJson from "../../package.json" with { type: "json" };
import type { Check } from "../checks/check.js";
import { EnvironmentError, UsageError } from "../core/errors.js";
import { locateProduct } from "../product/locate-product.js";
import { StreamLogger } from "../core/logger.js";
import type { CheckResult } from "../core/report-model.js";
import { maskSecrets } from "../core/secrets.js";
import { generateProduct } from "../generator/generate-command.js";
import { renderReport } from "../report/render-report.js";
import { renderCheckLine } from "../report/render-text.js";
import { paletteFor } from "../report/style.js";
import { exitCodeFor, runCheck } from "../pipeline/check-pipeline.js";
import { HELP } from "./help.js";
import { parseCliArgs } from "./parse-args.js";

export const VERSION: string = packageJson.version;

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly stdoutIsTTY: boolean;
  readonly stderrIsTTY: boolean;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Aborted on SIGINT / SIGTERM. */
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
        const { productPath, cwd, repoRoot: repoRootOverride, write } = command.settings;
        const { productDir, repoRoot } = await locateProduct(productPath, cwd, repoRootOverride);
        const result = await generateProduct(productDir, repoRoot, { write });
        for (const file of result.files) {
          if (write) io.stderr(`${file.changed ? "wrote" : "unchanged"} ${file.path}\n`);
          else io.stdout(`# ── ${file.path} ──\n${file.content}`);
        }
        return 0;
      }
      case "check": {
        const { settings } = command;
        const logger = new StreamLogger(io.stderr, settings.verbose);
        // A progress line per check as it finishes: on stdout when the text report goes there (it then
        // repeats only the checks with findings), else on stderr so stdout stays machine-readable.
        const textOnStdout = settings.outputs.some((t) => t.format === "text" && t.file === undefined);
        const [progressWrite, progressPalette] = textOnStdout ? [io.stdout, paletteFor(io.stdoutIsTTY, io.env)] : [io.stderr, paletteFor(io.stderrIsTTY, io.env)];
        if (textOnStdout) progressWrite(`${progressPalette.bold(`civic-conformance · ${settings.productPath}`)}\n`);
        const progress = {
          started(_check: Check) {},
          finished(result: CheckResult) {
            progressWrite(`${renderCheckLine(result, progressPalette)}\n`);
          },
        };
        const { report } = await runCheck(settings, { logger, progress, signal: io.signal });
        for (const target of settings.outputs) {
          const palette = target.file === undefined ? paletteFor(io.stdoutIsTTY, io.env) : undefined;
          const text = maskSecrets(renderReport(report, target.format, VERSION, palette, { progressShown: target.file === undefined }));
          if (target.file === undefined) io.stdout(text);
          else {
            const path = resolve(settings.cwd, target.file);
            await mkdir(dirname(path), { recursive: true });
            await writeFile(path, text);
          }
        }
        return exitCodeFor(report);
      }
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`civic-conformance: ${maskSecrets(error.format())}\n`);
      return 2;
    }
    if (error instanceof EnvironmentError) {
      io.stderr(`civic-conformance: ${maskSecrets(error.message)}\n`);
      return 3;
    }
    io.stderr(`civic-conformance: internal error (please report it):\n${maskSecrets(error instanceof Error ? (error.stack ?? error.message) : String(error))}\n`);
    return 70;
  }
}
