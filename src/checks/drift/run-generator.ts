import { join } from "node:path";
import { pathExists } from "../../core/path-probe.js";
import { maskSecrets } from "../../core/secrets.js";
import { runBounded } from "../../sandbox/bounded-process.js";
import { minimalEnvironment } from "../../sandbox/minimal-environment.js";
import type { RunFolder } from "../../sandbox/run-folder.js";
import { LOADER_CACHES_OFF, type LoaderPreference, typescriptRun, type TypeScriptRun } from "../../sandbox/typescript-loader.js";

/** How the product regenerates its infra files. */
export type Generator =
  /** A script in the product folder, run as `npx tsx <file>` would run it. */
  | { readonly kind: "script"; readonly file: string }
  /** A command line given in the options, run through a shell. */
  | { readonly kind: "command"; readonly command: string };

export type GeneratorOutcome = (
  | { readonly status: "ok" }
  | { readonly status: "failed"; readonly exitCode: number | undefined; readonly stderrTail: string }
  | { readonly status: "timeout" }
) & {
  /** How a script ran (absent for a command). */
  readonly typescript?: TypeScriptRun;
};

/** The scripts looked for, in this order, relative to the product folder. */
const GENERATOR_SCRIPTS = ["infra/generate.ts", "infra/generate.mts", "infra/generate.cts", "infra/generate.mjs", "infra/generate.js"];
const STDERR_TAIL_LINES = 40;

/** The product's generator, or undefined when it has none (the check then uses the built-in one). */
export async function findGenerator(productDir: string, command: string | undefined): Promise<Generator | undefined> {
  if (command !== undefined && command.trim().length > 0) return { kind: "command", command };
  for (const file of GENERATOR_SCRIPTS) {
    if (await pathExists(join(productDir, file))) return { kind: "script", file };
  }
  return undefined;
}

/** The command a person runs to regenerate, for fix texts. */
export function generatorCommandLine(generator: Generator): string {
  return generator.kind === "command" ? generator.command : `npx tsx ${generator.file}`;
}

function tail(text: string): string {
  const lines = text.trimEnd().split("\n");
  return maskSecrets(lines.slice(-STDERR_TAIL_LINES).join("\n"));
}

export interface RunGeneratorOptions {
  /** The product folder of the throwaway copy. */
  readonly cwd: string;
  /** The caller's environment: only PATH and the locale pass on. */
  readonly callerEnv: Readonly<Record<string, string | undefined>>;
  /** HOME, TMPDIR and the OS user (as root, the unprivileged one, who owns the copy). */
  readonly runFolder: RunFolder;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  /** The fastest way that gives what `npx tsx` gives (default), or always the full `--import tsx`. */
  readonly loader?: LoaderPreference;
}

/**
 * Runs the generator bounded (sandbox/bounded-process.ts): its own process group, so a timeout or
 * an abort stops everything it started (a shell's children too); the minimal environment, never the
 * caller's token or secrets; as root, the unprivileged user.
 */
export async function runGenerator(generator: Generator, options: RunGeneratorOptions): Promise<GeneratorOutcome> {
  const bounds = {
    cwd: options.cwd,
    // The copy lives at a new path on every run, so a loader's disk cache would only collect dead entries.
    env: minimalEnvironment(options.callerEnv, { home: options.runFolder.home, tmpdir: options.runFolder.tmp, extra: LOADER_CACHES_OFF }),
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    user: options.runFolder.user,
  };
  const typescript = generator.kind === "script" ? typescriptRun(join(options.cwd, generator.file), options.loader) : undefined;
  const result =
    generator.kind === "command"
      ? await runBounded(generator.command, [], { ...bounds, shell: true })
      : await runBounded(process.execPath, [...typescript!.nodeArgs, generator.file], bounds);
  const how = typescript && { typescript };
  if (result.timedOut) return { status: "timeout", ...how };
  if (result.exitCode === 0) return { status: "ok", ...how };
  return { status: "failed", exitCode: result.exitCode, stderrTail: tail(result.spawnError ?? result.output), ...how };
}
