import { execa } from "execa";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pathExists } from "../../core/path-probe.js";
import { maskSecrets } from "../../core/secrets.js";

/** How the product regenerates its infra files. */
export type Generator =
  /** A script in the product folder, run as `npx tsx <file>` would run it. */
  | { readonly kind: "script"; readonly file: string }
  /** A command line given in the options, run through a shell. */
  | { readonly kind: "command"; readonly command: string };

export type GeneratorOutcome =
  | { readonly status: "ok" }
  | { readonly status: "failed"; readonly exitCode: number | undefined; readonly stderrTail: string }
  | { readonly status: "timeout" };

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

/**
 * The TypeScript loader the generator runs under, resolved from this package rather than the
 * user's repository: tsx, which is what `npx tsx infra/generate.ts` runs (TypeScript, ESM or
 * CommonJS, `import.meta.url` and `__dirname`, nothing installed in the repository). Where tsx
 * cannot be resolved (the action's self-contained bundle carries no native esbuild) jiti's hooks
 * stand in: the same semantics, slower to start.
 */
function typescriptLoader(): string {
  for (const specifier of ["tsx", "jiti/register"]) {
    try {
      return fileURLToPath(import.meta.resolve(specifier));
    } catch {
      // Not resolvable from here: try the next loader.
    }
  }
  throw new Error("neither tsx nor jiti can be resolved from civic-conformance's own installation");
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

function tail(text: string): string {
  const lines = text.trimEnd().split("\n");
  return maskSecrets(lines.slice(-STDERR_TAIL_LINES).join("\n"));
}

export interface RunGeneratorOptions {
  /** The product folder of the throwaway copy. */
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
}

/**
 * Runs the generator in its own process group, so a timeout or an abort stops everything it
 * started (a shell's children too) and the pipes close.
 */
export async function runGenerator(generator: Generator, options: RunGeneratorOptions): Promise<GeneratorOutcome> {
  const common = {
    cwd: options.cwd,
    // The copy lives at a new path on every run, so a loader's disk cache (jiti's is keyed by path)
    // would only collect dead entries.
    env: { ...options.env, JITI_FS_CACHE: "false", TSX_DISABLE_CACHE: "1" },
    extendEnv: false,
    reject: false,
    detached: true,
    stdin: "ignore",
  } as const;
  const child =
    generator.kind === "command"
      ? execa(generator.command, { ...common, shell: true })
      : execa(process.execPath, ["--import", typescriptLoader(), generator.file], common);

  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child.pid);
  }, options.timeoutMs);
  const abort = () => killGroup(child.pid);
  options.signal.addEventListener("abort", abort, { once: true });
  try {
    const result = await child;
    if (timedOut) return { status: "timeout" };
    if (result.exitCode === 0 && !result.signal) return { status: "ok" };
    const stderr = typeof result.stderr === "string" ? result.stderr : "";
    const stdout = typeof result.stdout === "string" ? result.stdout : "";
    return { status: "failed", exitCode: result.exitCode, stderrTail: tail(stderr || stdout) };
  } finally {
    clearTimeout(timer);
    // Whatever the generator left running in the background goes with it.
    killGroup(child.pid);
    options.signal.removeEventListener("abort", abort);
  }
}
