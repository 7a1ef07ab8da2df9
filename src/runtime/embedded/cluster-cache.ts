/**
 * A pristine cluster, initialised once and kept in the user's cache, copied for each server instead
 * of running `initdb` (about a second of CPU) every time.
 *
 * An entry is what `initdb` wrote, untouched: no password (the caller sets the bootstrap password
 * on first start, with the same `ALTER ROLE … PASSWORD` and `password_encryption` that initdb's
 * `--pwfile` uses), the `pg_hba.conf` rule applied after the copy. It is keyed by everything initdb
 * is given: the PostgreSQL binaries (their package and the `postgres` program's size and time), the
 * bootstrap superuser's name, the encoding and locale, and the instance's POSTGRES_INITDB_ARGS.
 *
 * Made atomically: copied into a temp folder beside it with a manifest (every file's path and size,
 * and a random id of its own) written last, then renamed into place; two runs making the same entry
 * at once both succeed and one entry stays. Removed atomically too (pruned, or bad): renamed aside
 * first, then deleted. Runs share the cache (vitest's parallel files, several products in one CLI,
 * two CLIs): a run whose entry another run removes or replaces while it checks or copies it sees the
 * entry gone, or another id at its path, and makes its own cluster instead — silently, since nothing
 * is wrong; a copy is kept only when the entry it started from was there, the same, from the first
 * file to the last (an id never returns to a path once moved away, so no copy mixes two entries).
 * Used only when it is ours: the cache folder and the entry owned by this process's user,
 * neither writable by anyone else, no link inside, every file as the manifest says. Anything else
 * (another user's folder, a partial or altered entry) is not used: a bad entry is removed and made
 * again, a cache folder owned by someone else is passed over for a fresh initdb.
 */
import { createHash, randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import { copyFileSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { chmod, lstat, mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import { promisify } from "node:util";
import type { Logger } from "../../core/logger.js";
import type { OsUser } from "../../sandbox/os-user.js";
import type { PostgresBinaries } from "./postgres-binaries.js";

/** Set to `1` to run initdb for every server, as before the cache. */
export const NO_CLUSTER_CACHE_ENV = "CIVIC_NO_CLUSTER_CACHE";
/** Where the cache goes, overriding the default below. */
export const CLUSTER_CACHE_DIR_ENV = "CIVIC_CLUSTER_CACHE_DIR";

const MANIFEST = "civic-cluster.json";
const execFileAsync = promisify(execFile);

/** Bumped when what an entry holds changes meaning; an entry of another format is replaced without a warning. */
const FORMAT = 3;
/** Entries kept (about 40 MB each); past it the least recently used go when a new one is kept. */
const MAX_ENTRIES = 12;

/**
 * Where pristine clusters are cached, or `undefined` for none (`CIVIC_NO_CLUSTER_CACHE=1`):
 * `CIVIC_CLUSTER_CACHE_DIR`; on a GitHub runner its job's temp folder (`RUNNER_TEMP`, emptied after
 * every job: a pull request's code, which runs as the same OS user, cannot leave a cluster for a
 * later job, of this repository or another, to start from); else
 * `$XDG_CACHE_HOME/civic-conformance/clusters` or `~/.cache/civic-conformance/clusters`.
 */
export function clusterCacheDir(env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (env[NO_CLUSTER_CACHE_ENV] && env[NO_CLUSTER_CACHE_ENV] !== "0") return undefined;
  if (env[CLUSTER_CACHE_DIR_ENV]) return env[CLUSTER_CACHE_DIR_ENV];
  if (env.RUNNER_TEMP) return join(env.RUNNER_TEMP, "civic-conformance-clusters");
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, "civic-conformance", "clusters");
  if (env.HOME) return join(env.HOME, ".cache", "civic-conformance", "clusters");
  return undefined;
}

/** What initdb is given: the cache key. */
export interface PristineClusterSpec {
  readonly superuser: string;
  /** The instance's POSTGRES_INITDB_ARGS, split; encoding and locale are fixed by `runInitdb`. */
  readonly initdbArgs: readonly string[];
}

interface Manifest {
  readonly format: number;
  readonly key: string;
  /** This making of the entry: another id at the same path is another entry. */
  readonly id: string;
  readonly files: ReadonlyArray<readonly [path: string, size: number]>;
  readonly folders: readonly string[];
}

/** How a server's cluster came to be, for the verbose log and the timings. */
export type ClusterSource = "cache" | "initdb";

export class ClusterCache {
  private constructor(
    /** The cache folder, checked to be ours. */
    readonly dir: string,
    private readonly uid: number | undefined,
    private readonly logger: Logger,
  ) {}

  /**
   * The cache at `dir`, made if missing (0700); `undefined`, with the reason logged, when it cannot
   * be used safely or at all (owned by another user, writable by others, not a folder).
   */
  static async open(dir: string, logger: Logger): Promise<ClusterCache | undefined> {
    const uid = process.getuid?.();
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const problem = unsafe(await lstat(dir), uid, "folder");
      if (problem) {
        logger.warn(`the cluster cache ${dir} is not used (${problem}); every embedded server runs initdb`);
        return undefined;
      }
      await removeAbandoned(dir);
      return new ClusterCache(dir, uid, logger);
    } catch (error) {
      logger.debug(`the cluster cache ${dir} cannot be used (${(error as Error).message}); every embedded server runs initdb`);
      return undefined;
    }
  }

  /** The entry's name: readable version, then a hash of everything initdb is given. */
  static async keyOf(binaries: PostgresBinaries, spec: PristineClusterSpec): Promise<string> {
    const postgres = await stat(binaries.postgres);
    const packageJson = await readFile(join(binaries.nativeDir, "..", "package.json"), "utf8").catch(() => "");
    const version = /"version"\s*:\s*"([^"]+)"/.exec(packageJson)?.[1] ?? "unknown";
    const hash = createHash("sha256")
      .update(JSON.stringify({ FORMAT, packageJson, size: postgres.size, mtime: postgres.mtimeMs, encoding: "UTF8", locale: "C", ...spec }))
      .digest("hex")
      .slice(0, 20);
    return `pg-${version.replace(/[^0-9A-Za-z.-]/g, "_")}-${hash}`;
  }

  /**
   * Copies the entry `key` into `dataDir` (which must not exist), owned by `user`; false when there
   * is no usable entry (a bad one is removed, to be made again), or when another run removed or
   * replaced it meanwhile. The copy is checked against the manifest (`copyEntry`): the same folders
   * and files, each of its listed size.
   */
  async copyTo(key: string, dataDir: string, user: OsUser): Promise<boolean> {
    const entry = join(this.dir, key);
    const checked = await this.checked(entry, key);
    if (checked.state === undefined) return false;
    if (checked.problem !== undefined) {
      // Another run removed or replaced it while it was looked at: nothing is wrong with the cache.
      if ((await stateOf(entry)) !== checked.state) return this.raced(key, "looked at");
      return this.discard(entry, key, checked.problem, { quiet: checked.outdated === true });
    }
    const manifest = checked.manifest!;
    // Its time says when it was last used: the least recently used go first, never the one being copied.
    const now = new Date();
    await utimes(entry, now, now).catch(() => undefined);
    try {
      await copyEntry(entry, dataDir, manifest, checked.state, user);
    } catch (error) {
      await rm(dataDir, { recursive: true, force: true });
      if (error instanceof EntryMoved || (await stateOf(entry)) !== checked.state) return this.raced(key, "copied");
      if (error instanceof EntryDamage) return this.discard(entry, key, error.message);
      throw error;
    }
    return true;
  }

  /**
   * Keeps a copy of the freshly initialised `dataDir` as entry `key`. Losing a race to another run
   * making the same entry is fine; any failure only costs the next run an initdb (logged).
   */
  async store(key: string, dataDir: string): Promise<void> {
    const temp = join(this.dir, `.tmp-${key}-${randomBytes(6).toString("hex")}`);
    try {
      const manifest = await manifestOf(dataDir, key, randomBytes(8).toString("hex"));
      await copyTree(dataDir, temp, manifest);
      // Written last: an entry without it (or with another listing) is partial.
      await writeFile(join(temp, MANIFEST), JSON.stringify(manifest), { mode: 0o600 });
      await rename(temp, join(this.dir, key));
      this.logger.debug(`cluster cache: kept a pristine cluster as ${join(this.dir, key)}`);
      await this.prune();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Another run renamed its copy into place first: theirs is as good as ours.
      if (code !== "ENOTEMPTY" && code !== "EEXIST") this.logger.debug(`cluster cache: could not keep the pristine cluster (${(error as Error).message})`);
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
  }

  /**
   * The entry's manifest when the entry is ours alone (nobody else can enter it, so nobody else can
   * have put anything inside) and lists exactly its folders and files, or what is wrong with it
   * (`outdated`: only its format); with `state`, what was at the path when this began (`stateOf`),
   * undefined when there is no entry.
   */
  private async checked(entry: string, key: string): Promise<{ state: string | undefined; manifest?: Manifest; problem?: string; outdated?: boolean }> {
    const state = await stateOf(entry);
    if (state === undefined) return { state };
    let info;
    try {
      info = await lstat(entry);
    } catch {
      return { state: undefined };
    }
    const problem = unsafe(info, this.uid, "entry", 0o077);
    if (problem) return { state, problem };
    let manifest: Manifest;
    try {
      manifest = JSON.parse(await readFile(join(entry, MANIFEST), "utf8")) as Manifest;
    } catch {
      return { state, problem: "no readable manifest: a partial entry" };
    }
    if (manifest.format !== FORMAT) return { state, problem: `its format is ${String(manifest.format)}, not ${FORMAT}`, outdated: true };
    if (manifest.key !== key) return { state, problem: "its manifest is for another key" };
    let listing: Listing;
    try {
      listing = listingOf(entry);
    } catch (error) {
      return { state, problem: (error as Error).message };
    }
    const listed = new Set(manifest.files.map(([path]) => path));
    const files = listing.files.filter((path) => path !== MANIFEST);
    if (files.length !== listed.size || files.some((path) => !listed.has(path))) return { state, problem: "its files differ from its manifest" };
    if (listing.folders.length !== manifest.folders.length) return { state, problem: "its folders differ from its manifest" };
    return { state, manifest };
  }

  /** Another run removed or replaced the entry while this one used it: a fresh initdb, as on a miss. */
  private raced(key: string, doing: string): false {
    this.logger.debug(`cluster cache: ${key} was removed or replaced by another run while it was ${doing}; this server runs initdb`);
    return false;
  }

  /** Removes the least recently used entries past `MAX_ENTRIES`, set aside first as a bad one is. */
  private async prune(): Promise<void> {
    const names = (await readdir(this.dir)).filter((name) => !name.startsWith("."));
    if (names.length <= MAX_ENTRIES) return;
    const used = await Promise.all(names.map(async (name) => ({ name, at: (await lstat(join(this.dir, name)).catch(() => undefined))?.mtimeMs ?? 0 })));
    for (const { name } of used.sort((a, b) => a.at - b.at).slice(0, names.length - MAX_ENTRIES)) {
      const aside = join(this.dir, `.bad-${name}-${randomBytes(6).toString("hex")}`);
      if (await setAsideAndRemove(join(this.dir, name), aside)) {
        this.logger.debug(`cluster cache: removed ${name}, the least recently used of more than ${MAX_ENTRIES} entries`);
      }
    }
  }

  /** Sets a bad entry aside and removes it, so it is made again; always false (nothing was copied). */
  private async discard(entry: string, key: string, problem: string, { quiet = false }: { quiet?: boolean } = {}): Promise<false> {
    const message = `cluster cache: ${entry} is not used (${problem}); it is removed and made again`;
    if (quiet) this.logger.debug(message);
    else this.logger.warn(message);
    // Renamed aside first, so a concurrent run never copies a half-removed entry.
    await setAsideAndRemove(entry, join(this.dir, `.bad-${key}-${randomBytes(6).toString("hex")}`));
    return false;
  }
}

/**
 * What is at `path` now: its inode and its manifest's id, so that another entry put at the same path
 * (even one reusing the inode) reads differently; undefined when nothing is there.
 */
async function stateOf(path: string): Promise<string | undefined> {
  const info = await lstat(path).catch(() => undefined);
  if (!info) return undefined;
  return stateText(info, await readFile(join(path, MANIFEST), "utf8").catch(() => undefined));
}

/** `stateOf`, without yielding to the event loop between the copy's last file and the look. */
function stateOfSync(path: string): string | undefined {
  let info;
  try {
    info = lstatSync(path);
  } catch {
    return undefined;
  }
  let manifest: string | undefined;
  try {
    manifest = readFileSync(join(path, MANIFEST), "utf8");
  } catch {
    manifest = undefined;
  }
  return stateText(info, manifest);
}

function stateText(info: { dev: number | bigint; ino: number | bigint }, manifest: string | undefined): string {
  let id = "no manifest";
  if (manifest !== undefined) {
    try {
      id = String((JSON.parse(manifest) as Partial<Manifest>).id ?? "no id");
    } catch {
      id = "unreadable";
    }
  }
  return `${info.dev}:${info.ino}:${id}`;
}

/** Renames `path` to `aside`, then deletes it; false when it was gone already. Another run removing the same folder is no failure. */
async function setAsideAndRemove(path: string, aside: string): Promise<boolean> {
  try {
    await rename(path, aside);
  } catch {
    return false;
  }
  await rm(aside, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined);
  return true;
}

/** A cache file is not what its manifest says (size, kind): the entry is damaged. */
class EntryDamage extends Error {}

/** The entry was not at its path, the same, from the first file copied to the last: another run removed or replaced it. */
class EntryMoved extends Error {}

/** A temp copy (`.tmp-…`) or an entry set aside (`.bad-…`) this old was left by a run that was killed meanwhile. */
const ABANDONED_AFTER_MS = 10 * 60_000;

/** Removes what runs killed while making or removing an entry left in the cache folder. */
async function removeAbandoned(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    if (!name.startsWith(".tmp-") && !name.startsWith(".bad-")) continue;
    const path = join(dir, name);
    const info = await lstat(path).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > ABANDONED_AFTER_MS) await rm(path, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Why a cache folder or entry may not be trusted, or undefined. */
function unsafe(info: Awaited<ReturnType<typeof lstat>>, uid: number | undefined, what: string, forbidden = 0o022): string | undefined {
  if (info.isSymbolicLink() || !info.isDirectory()) return `the ${what} is not a folder`;
  if (uid !== undefined && info.uid !== uid) return `the ${what} is owned by uid ${info.uid}, not by this user (uid ${uid})`;
  const mode = Number(info.mode) & 0o777;
  if ((mode & forbidden) !== 0) return `the ${what} is ${forbidden === 0o022 ? "writable" : "open"} by other users (mode ${mode.toString(8)})`;
  return undefined;
}

interface Listing {
  readonly files: readonly string[];
  readonly folders: readonly string[];
}

/**
 * Every folder and regular file under `root`, relative to it. Anything else (a link, a socket) is an
 * error: initdb makes none. About a thousand entries in some forty folders, read synchronously as
 * `copyTree` copies (asynchronously each folder waits for a turn of an event loop that the servers
 * and child processes starting beside it keep busy), each path cut from its folder's rather than
 * computed by `path.relative` (which resolves both paths: 8–30 ms a listing on the 2-core machine,
 * against about 2 ms).
 */
function listingOf(root: string): Listing {
  const base = resolve(root);
  const files: string[] = [];
  const folders: string[] = [];
  for (const entry of readdirSync(base, { recursive: true, withFileTypes: true })) {
    // `parentPath` from Node 20.12, `path` before it: `base`, or `base` and a sub-folder.
    const parent = entry.parentPath ?? (entry as { path?: string }).path ?? base;
    const path = parent === base ? entry.name : `${parent.slice(base.length + 1)}${sep}${entry.name}`;
    if (entry.isDirectory()) folders.push(path);
    else if (entry.isFile()) files.push(path);
    else throw new Error(`${path} is not a regular file`);
  }
  return { files, folders };
}

/** The manifest of a freshly initialised cluster: its folders (parents first) and its files with their sizes. */
async function manifestOf(root: string, key: string, id: string): Promise<Manifest> {
  const listing = listingOf(root);
  const files = await Promise.all(listing.files.map(async (path) => [path, (await lstat(join(root, path))).size] as const));
  files.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const folders = [...listing.folders].sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
  return { format: FORMAT, key, id, files, folders };
}

/**
 * Copies what `manifest` lists from `source` into the new folder `target` (made here: an existing
 * path, a planted link included, makes it fail), folders 0700, files keeping their mode, then hands
 * everything to `owner`. With `check` (the source's `stateOf` when it was checked), a source file
 * that is not a regular file of the listed size throws `EntryDamage`, and a source that is no longer
 * that same entry after the last file throws `EntryMoved`: looked at with no turn of the event loop
 * in between, so a run of this process cannot remove it unseen either.
 *
 * Synchronous on purpose: about a thousand small files, and each asynchronous call is a round trip
 * through libuv's four-thread pool and the event loop. Measured on the 2-core machine: about 60 ms
 * this way against 110 ms asynchronously for one cluster, and 290–320 ms for three started at once
 * (the pool and the loop shared by all three).
 */
async function copyTree(source: string, target: string, manifest: Manifest, { check, owner }: { check?: string; owner?: OsUser } = {}): Promise<void> {
  await mkdir(target, { mode: 0o700 });
  await chmod(target, 0o700);
  for (const folder of manifest.folders) mkdirSync(join(target, folder), { mode: 0o700 });
  for (const [path, size] of manifest.files) {
    if (path === MANIFEST) continue;
    if (check !== undefined) {
      const info = lstatSync(join(source, path));
      if (!info.isFile() || info.size !== size) throw new EntryDamage(`${path} differs from its manifest`);
    }
    copyFileSync(join(source, path), join(target, path));
  }
  if (check !== undefined && stateOfSync(source) !== check) throw new EntryMoved(`${source} was removed or replaced while it was copied`);
  if (owner?.uid === undefined) return;
  const gid = owner.gid ?? owner.uid;
  lchownSync(target, owner.uid, gid);
  for (const path of [...manifest.folders, ...manifest.files.map(([file]) => file)]) if (path !== MANIFEST) lchownSync(join(target, path), owner.uid, gid);
}

/**
 * Copies the entry `source` into the new folder `target` (made here: an existing path, a planted
 * link included, makes it fail) with `cp -a`, a child process: the copy runs off the event loop, so
 * servers started together copy on both cores while the loop serves the others' starts (the
 * synchronous `copyTree` blocks it for about 60 ms per cluster). Then the copy is checked against
 * the manifest: the same folders and files and nothing else (no link, no extra file: `listingOf`),
 * each file of its listed size (else `EntryDamage`), and the entry at `source` still the one checked
 * (`check`, else `EntryMoved`: the copy may hold files of another entry). Everything then goes to
 * `owner`. Where `/bin/cp` is missing or fails, `copyTree` does it all.
 */
async function copyEntry(source: string, target: string, manifest: Manifest, check: string, owner: OsUser): Promise<void> {
  await mkdir(target, { mode: 0o700 });
  await chmod(target, 0o700);
  try {
    // By its system path: the caller's PATH may be minimal (node and docker only). `--no-dereference`
    // is part of -a: a link in the entry is copied as a link, and the listing below refuses it.
    await execFileAsync("/bin/cp", ["-a", "--", `${source}/.`, target]);
  } catch {
    // No /bin/cp, or it stopped part-way (a file removed under it, a special file, a full disk):
    // the file-by-file copy meets the same thing and says what it is.
    if (stateOfSync(source) !== check) throw new EntryMoved(`${source} was removed or replaced while it was copied`);
    await rm(target, { recursive: true, force: true });
    return copyTree(source, target, manifest, { check, owner });
  }
  if (stateOfSync(source) !== check) throw new EntryMoved(`${source} was removed or replaced while it was copied`);
  rmSync(join(target, MANIFEST), { force: true });
  let listing: Listing;
  try {
    listing = listingOf(target);
  } catch (error) {
    throw new EntryDamage((error as Error).message);
  }
  const listedFiles = manifest.files.filter(([path]) => path !== MANIFEST);
  if (listing.folders.length !== manifest.folders.length || listing.files.length !== listedFiles.length) {
    throw new EntryDamage(`the entry holds ${listing.files.length} files in ${listing.folders.length} folders, its manifest ${listedFiles.length} in ${manifest.folders.length}`);
  }
  const folders = new Set(listing.folders);
  for (const folder of manifest.folders) if (!folders.has(folder)) throw new EntryDamage(`${folder} is missing`);
  for (const [path, size] of listedFiles) {
    const info = lstatSync(join(target, path), { throwIfNoEntry: false });
    if (!info?.isFile() || info.size !== size) throw new EntryDamage(`${path} differs from its manifest`);
  }
  if (owner.uid === undefined) return;
  const gid = owner.gid ?? owner.uid;
  lchownSync(target, owner.uid, gid);
  for (const path of [...manifest.folders, ...listedFiles.map(([file]) => file)]) lchownSync(join(target, path), owner.uid, gid);
}
