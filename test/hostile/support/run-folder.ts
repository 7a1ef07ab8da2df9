/**
 * One folder per hostile run: `tmp/` is the CLI's TMPDIR (nothing else may appear in it), `out/`
 * holds the reports the test asked for, `dumps/` is where planted product code writes what it saw
 * (world-writable: init scripts and COPY … TO PROGRAM run as the server's OS user). Leftovers are
 * looked for by this folder's unique path: files under `tmp/`, processes whose command line or
 * working directory is inside it (or inside the fixture copy), and every civic-conformance folder
 * the run's own log named. `sweep()` ends what a broken run left (by pid, only processes tied to this
 * folder) so one failing case does not poison the next.
 */
import { chmod, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export interface LeftoverProcess {
  readonly pid: number;
  readonly args: string;
  readonly cwd: string;
}

export interface Leftovers {
  /** Entries left in the run's TMPDIR. */
  readonly tempEntries: string[];
  /** Processes still tied to the run's folders. */
  readonly processes: LeftoverProcess[];
  /** civic-conformance folders the run's log named that still exist (e.g. in /dev/shm). */
  readonly namedFolders: string[];
}

export class RunFolder implements AsyncDisposable {
  private constructor(
    /** The folder that holds everything of this run. */
    readonly root: string,
  ) {}

  /**
   * @param privateTemp make `tmp/` 0700, as `mktemp -d` does (the root-with-private-TMPDIR case);
   *   otherwise 0755 so the embedded server's OS user can reach its folder.
   */
  static async create(label: string, { privateTemp = false }: { privateTemp?: boolean } = {}): Promise<RunFolder> {
    const root = await mkdtemp(join(tmpdir(), `civic-hostile-${label}-`));
    await chmod(root, 0o755);
    const folder = new RunFolder(root);
    await mkdir(folder.tmp, { mode: 0o755 });
    await chmod(folder.tmp, privateTemp ? 0o700 : 0o755);
    await mkdir(folder.out);
    await mkdir(folder.dumps);
    await chmod(folder.dumps, 0o1777);
    return folder;
  }

  /** The CLI's TMPDIR. */
  get tmp(): string {
    return join(this.root, "tmp");
  }

  /** Where the test asks for report files. */
  get out(): string {
    return join(this.root, "out");
  }

  /** Where planted product code writes what it saw. */
  get dumps(): string {
    return join(this.root, "dumps");
  }

  /**
   * The CLI's whole environment: PATH, HOME, a UTF-8 locale, no colour, this run's TMPDIR, plus
   * `extra` (a variable set to `undefined` is left out).
   */
  env(extra: Readonly<Record<string, string | undefined>> = {}): Record<string, string | undefined> {
    return { PATH: process.env.PATH, HOME: process.env.HOME, LANG: "C.UTF-8", NO_COLOR: "1", TMPDIR: this.tmp, ...extra };
  }

  /** What the run left behind. `extraRoots`: other folders whose processes count (the fixture copy). */
  async leftovers(log: string, extraRoots: readonly string[] = []): Promise<Leftovers> {
    const roots = [this.root, ...extraRoots];
    const named = [...new Set([...log.matchAll(/(\/[^\s,'"`:)]*civic-conformance-[A-Za-z0-9_.-]+)/g)].map((m) => m[1]!))];
    const namedFolders: string[] = [];
    for (const path of named) if (await exists(path)) namedFolders.push(path);
    return {
      tempEntries: await readdir(this.tmp).catch(() => []),
      processes: await processesUnder([...roots, ...named]),
      namedFolders,
    };
  }

  /** Ends every process tied to this run (by pid) and removes the folder. */
  async sweep(extraRoots: readonly string[] = []): Promise<void> {
    await killProcessesUnder([this.root, ...extraRoots]);
    await rm(this.root, { recursive: true, force: true, maxRetries: 3 });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.sweep();
  }
}

/** Nothing at all left: the shape tests assert with `toEqual`. */
export const NOTHING_LEFT: Leftovers = { tempEntries: [], processes: [], namedFolders: [] };

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Processes whose command line or working directory lies inside one of `roots` (never this test process). */
export async function processesUnder(roots: readonly string[]): Promise<LeftoverProcess[]> {
  const found: LeftoverProcess[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const args = await readFile(`/proc/${pid}/cmdline`, "utf8").then((text) => text.split("\0").join(" ").trim(), () => "");
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => "");
    if (!args && !cwd) continue;
    if (roots.some((root) => args.includes(root) || cwd === root || cwd.startsWith(`${root}/`))) found.push({ pid, args, cwd });
  }
  return found;
}

/**
 * Stops what a broken run left, by pid: a postmaster gets SIGQUIT (immediate shutdown, which also
 * releases its shared memory; its backends go with it), every other process SIGKILL; whatever is
 * still there after a while gets SIGKILL too.
 */
export async function killProcessesUnder(roots: readonly string[]): Promise<void> {
  const first = await processesUnder(roots);
  if (first.length === 0) return;
  for (const { pid, args } of first) {
    // A backend (`postgres: civic civic_platform …`) is its postmaster's to end.
    if (args.startsWith("postgres:")) continue;
    try {
      process.kill(pid, isPostmaster(args) ? "SIGQUIT" : "SIGKILL");
    } catch {
      // Gone meanwhile.
    }
  }
  for (let waited = 0; waited < 15_000; waited += 200) {
    if ((await processesUnder(roots)).length === 0) return;
    await sleep(200);
  }
  for (const { pid } of await processesUnder(roots)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Gone meanwhile.
    }
  }
  await sleep(300);
}

/** `…/bin/postgres -D <data dir> …`: a server's postmaster (not initdb's bootstrap backend). */
export function isPostmaster(args: string): boolean {
  return / -D /.test(` ${args} `) && /(^|\/)postgres /.test(args);
}
