/**
 * The registry module is the repository's code: on a pull request, a stranger's. It is evaluated in
 * a child process (registry-child.ts), never in the CLI: under a time limit (a `while (true) {}`
 * would otherwise hang the CLI and, blocking its event loop, make it deaf to SIGINT and SIGTERM), a
 * memory limit (V8's heap, so an endless allocation ends as a clear error instead of taking the
 * machine's memory), with the minimal environment (no token, no caller secret), in a process group
 * of its own (stopped whole on timeout or Ctrl-C), and with a bounded answer. As root it runs as the
 * unprivileged user (os-user.ts), like every other piece of the repository's code: in place where
 * that user can read the checkout, else in a copy of the repository it owns. What comes back is
 * plain data; the Babel line map stays here, in the parent.
 */
import { existsSync } from "node:fs";
import { chown, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { EnvironmentError, UsageError } from "../core/errors.js";
import { runBounded } from "../sandbox/bounded-process.js";
import { minimalEnvironment } from "../sandbox/minimal-environment.js";
import { type OsUser, readableBy } from "../sandbox/os-user.js";
import { copyRepo, removeRepoCopy, type RepoCopy } from "../sandbox/repo-copy.js";
import { LOADER_CACHES_OFF, type LoaderPreference, typescriptRun } from "../sandbox/typescript-loader.js";

/** V8 heap of the evaluation: a registry of thousands of services needs a few tens of MB. */
export const REGISTRY_MEMORY_MB = 256;
/** Upper bound of the evaluation time, whatever `--timeout` says. */
export const REGISTRY_TIME_LIMIT_MS = 30_000;
/** The plain data the evaluation may hand back. */
const RESULT_BYTES = 16 * 1024 * 1024;

/** How the registry module is evaluated; every field has a safe default. */
export interface RegistrySandbox {
  /** Time limit (`--timeout`), capped at REGISTRY_TIME_LIMIT_MS. */
  readonly timeoutMs?: number;
  /** The caller's environment: only PATH and the locale pass through. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * A folder of the run (the run folder): HOME and working directory of the evaluation, so the
   * reaper finds a process a killed run left there. Without it a temp folder is made and removed.
   */
  readonly workDir?: string;
  /** Run as this OS user (as root: the unprivileged one, who must own `workDir`). */
  readonly user?: OsUser;
  /**
   * A new empty folder owned by `user`, removed with the run (`RunFolder.subfolder`): where the
   * repository is copied when `user` cannot read it in place. Without it such a repository is an
   * error.
   */
  readonly copyFolder?: () => Promise<string>;
  /** Ctrl-C / SIGTERM: the evaluation is stopped and the abort reason thrown. */
  readonly signal?: AbortSignal;
  /** The fastest way that gives what `npx tsx` gives (default), or always the full `--import tsx`. */
  readonly loader?: LoaderPreference;
  /** The verbose log: which way the module was evaluated. */
  readonly log?: (message: string) => void;
}

export type Evaluated = { readonly value: unknown } | { readonly missing: true };

/** Where errors point: the registry file, as the user should see it. */
export interface RegistrySite {
  readonly path: string;
  readonly shown: string;
  /** The module's text, when the caller has read it: it decides whether tsx's CommonJS hooks alone may evaluate it. */
  readonly source?: string;
  /** The repository it belongs to: what is copied when the sandbox's user cannot read it in place. Default: the module's folder. */
  readonly repoRoot?: string;
}

/**
 * A module that shapes its exports itself (`module.exports`, `exports.x`, `export =`, its own
 * `__esModule`) gets from tsx's ESM hooks a namespace made by a lexer of its text, which plain
 * `require` cannot reproduce: only the full loader evaluates it. Conservative: the words anywhere,
 * comments and strings too.
 */
const SHAPES_ITS_EXPORTS = /\bexports\b|__esModule|\bexport\s*=/;

/**
 * Built beside the bundle that imports this module (dist/registry-child.js); in the source tree
 * (tests) the TypeScript source, run through the same loader.
 */
function childEntry(): string {
  const built = fileURLToPath(new URL("./registry-child.js", import.meta.url));
  return existsSync(built) ? built : fileURLToPath(new URL("./registry-child.ts", import.meta.url));
}

/** Evaluates the registry module in the sandbox; every failure is a `UsageError` at the registry file. */
export async function evaluateRegistry(site: RegistrySite, sandbox: RegistrySandbox = {}): Promise<Evaluated> {
  const user = sandbox.user?.uid === undefined ? undefined : sandbox.user;
  const repoRoot = site.repoRoot ?? join(site.path, "..");
  const ownWorkDir = sandbox.workDir === undefined ? await mkdtemp(join(tmpdir(), "civic-conformance-registry-")) : undefined;
  let copy: RepoCopy | undefined;
  const inCopy = async (): Promise<string> => {
    const { uid, gid, name } = user!;
    copy = await copyRepo(repoRoot, await sandbox.copyFolder!(), { owner: { uid: uid!, gid: gid ?? uid! } });
    sandbox.log?.(`registry: evaluated as ${name}; it cannot read all of ${repoRoot} in place: evaluated in a copy at ${copy.root}`);
    return join(copy.root, relative(repoRoot, site.path));
  };
  try {
    if (ownWorkDir && user) await chown(ownWorkDir, user.uid!, user.gid ?? user.uid!);
    const workDir = sandbox.workDir ?? ownWorkDir!;
    const readableInPlace = !user || (readableBy(user, repoRoot) && readableBy(user, site.path));
    if (!readableInPlace && !sandbox.copyFolder) {
      throw new EnvironmentError(`the service registry ${site.shown} cannot be read by the user '${user!.name}' it is evaluated as`);
    }
    if (user && readableInPlace) sandbox.log?.(`registry: evaluated as ${user.name}, in place`);
    const first = await evaluateAt(readableInPlace ? site.path : await inCopy(), site, sandbox, workDir, user);
    // A module that imports a file the user cannot read (a 0600 file in a readable checkout): once more, in a copy the user owns.
    const retry = readableInPlace && user && sandbox.copyFolder && "error" in first.answer && /\bEACCES\b/.test(first.answer.error.message);
    const { path, answer } = retry ? await evaluateAt(await inCopy(), site, sandbox, workDir, user) : first;
    const shown = (text: string) => (copy ? text.split(copy.root).join(repoRoot) : text);
    if ("failure" in answer) throw new UsageError(shown(answer.failure), { file: site.shown });
    if ("error" in answer) {
      throw new UsageError(`The service registry failed to evaluate: ${shown(answer.error.message)}`, { file: site.shown, ...lineInStack(answer.error.stack, path) });
    }
    return "missing" in answer ? { missing: true } : { value: answer.value };
  } finally {
    if (copy) await removeRepoCopy(copy);
    if (ownWorkDir) await rm(ownWorkDir, { recursive: true, force: true });
  }
}

/** One evaluation of the module at `path` (the repository's file, or its copy's); a failure of the sandbox itself is `failure`. */
async function evaluateAt(
  path: string,
  site: RegistrySite,
  sandbox: RegistrySandbox,
  workDir: string,
  /** The OS user it runs as; undefined: as this process. */
  user: OsUser | undefined,
): Promise<{ readonly path: string; readonly answer: Answer | { readonly failure: string } }> {
  const timeoutMs = Math.min(sandbox.timeoutMs ?? REGISTRY_TIME_LIMIT_MS, REGISTRY_TIME_LIMIT_MS);
  const child = childEntry();
  const run = typescriptRun(path, sandbox.loader, site.source !== undefined && !SHAPES_ITS_EXPORTS.test(site.source));
  if (user) toolReadableBy(user, child, run.nodeArgs);
  // The source tree's child is TypeScript in an ESM package, which Node would hand to its ESM
  // loader as the main module: there it is required from `-e` (process.argv keeps its places).
  const entry = run.way === "tsx-commonjs" && child.endsWith(".ts") ? ["-e", "require(process.argv[1])", child] : [child];
  const childArgs = [...entry, path, ...(run.way === "tsx-commonjs" ? ["commonjs"] : [])];
  const result = await runBounded(process.execPath, [`--max-old-space-size=${REGISTRY_MEMORY_MB}`, ...run.nodeArgs, ...childArgs], {
    cwd: workDir,
    env: minimalEnvironment(sandbox.env ?? {}, { home: workDir, extra: LOADER_CACHES_OFF }),
    timeoutMs,
    ...(sandbox.signal && { signal: sandbox.signal }),
    ...(user && { user }),
    resultChannelBytes: RESULT_BYTES,
  });
  if (result.aborted) sandbox.signal?.throwIfAborted();
  const failure = (text: string) => ({ path, answer: { failure: text } });
  if (result.timedOut) {
    // No line: where a module loops is not known from outside it.
    return failure(`the service registry did not finish evaluating within ${Math.round(timeoutMs / 100) / 10} s (--timeout), so it was stopped`);
  }
  if (/heap out of memory|Allocation failed/i.test(result.output) || result.signal === "SIGABRT" || result.signal === "SIGTRAP") {
    return failure(`the service registry used more than ${REGISTRY_MEMORY_MB} MB of memory while evaluating, so it was stopped`);
  }
  if (result.resultChannel?.overflowed) return failure(`the service registry evaluates to more than ${RESULT_BYTES / 1024 / 1024} MB of data`);
  const answer = parseAnswer(result.resultChannel?.text ?? "");
  const esmHooks = answer?.esmHooksFor === undefined ? "" : `; tsx's ESM hooks started for ${answer.esmHooksFor}, which has import()`;
  sandbox.log?.(`registry: evaluated with ${run.description}${esmHooks}`);
  if (answer === undefined) {
    const how = result.spawnError ?? (result.signal ? `was killed by ${result.signal}` : `exited with code ${result.exitCode}`);
    const lastLine = result.output.trim().split("\n").at(-1) ?? "";
    return failure(`the service registry's evaluation ended without a result (it ${how})${lastLine ? `: ${lastLine}` : ""}`);
  }
  return { path, answer };
}

/**
 * The evaluation runs Node, the child entry and the loader of this installation as `user`: where
 * that user cannot read them (an installation under root's 0700 home, say) nothing of the
 * repository could be evaluated safely, so the run stops with the reason instead of falling back to
 * root.
 */
function toolReadableBy(user: OsUser, child: string, loaderArgs: readonly string[]): void {
  const files = [process.execPath, child, ...loaderArgs.filter((arg) => arg.startsWith("/"))];
  const unreadable = files.filter((file) => !readableBy(user, file));
  if (unreadable.length > 0) {
    throw new EnvironmentError(
      `the service registry is evaluated as the unprivileged user '${user.name}', who cannot read ${unreadable.join(", ")}. ` +
        `Install civic-conformance (and Node.js) where every user can read them (not under a 0700 home folder such as /root), or run it as a non-root user.`,
    );
  }
}

type Answer = (Evaluated | { readonly error: { readonly message: string; readonly stack: string } }) & { readonly esmHooksFor?: string };

function parseAnswer(text: string): Answer | undefined {
  if (text === "") return undefined;
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    const note = typeof parsed.esmHooksFor === "string" ? { esmHooksFor: parsed.esmHooksFor } : {};
    if ("value" in parsed) return { value: parsed.value, ...note };
    if (parsed.missing === true) return { missing: true, ...note };
    const error = parsed.error as { message?: unknown; stack?: unknown } | undefined;
    if (error) return { error: { message: String(error.message), stack: typeof error.stack === "string" ? error.stack : "" } };
  } catch {
    // Not our child's answer (the registry wrote on the channel itself): no result.
  }
  return undefined;
}

/** The loaders keep lines (tsx through source maps, jiti as it transpiles): the first frame in the registry file is the throwing line. */
function lineInStack(stack: string, path: string): { line: number; column: number } | Record<string, never> {
  const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const match = new RegExp(`${escaped}:(\\d+):(\\d+)`).exec(stack);
  return match ? { line: Number(match[1]), column: Number(match[2]) } : {};
}
