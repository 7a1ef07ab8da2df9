/**
 * Reading files of the repository under test, which may come from a stranger's pull request: every
 * file has a size cap (one table, below), is read with a bounded read (a link to `/dev/zero` or a
 * file growing while it is read cannot make the CLI read without end), and must stay inside the
 * repository — a symbolic link (or an absolute path) reaching outside it is refused unless the user
 * passed `--allow-outside-links`. Every refusal is a `UsageError` naming the file (exit 2).
 */
import { lstat, open, realpath } from "node:fs/promises";
import { dirname, relative, resolve, sep } from "node:path";
import { gunzipSync } from "node:zlib";
import { type SourceLocation, UsageError } from "./errors.js";

const KB = 1024;
const MB = 1024 * KB;

/**
 * The size caps, in one place. Generous for real repositories (a 2,000-service compose file is
 * 1.4 MB, its registry 0.75 MB), small enough that reading and parsing stay bounded in time and memory.
 */
export const INPUT_FILE_LIMITS = {
  "compose file": 5 * MB,
  "env file": 1 * MB,
  "service registry": 4 * MB,
  /** `civic-conformance.yaml` / `.json`. */
  "configuration file": 1 * MB,
  "init script": 64 * MB,
  /** What a compressed init script may decompress to. */
  "decompressed init script": 256 * MB,
  migration: 16 * MB,
  "secret file": 1 * MB,
  "Prisma schema": 4 * MB,
  Dockerfile: 1 * MB,
} as const;

export type InputFileKind = keyof typeof INPUT_FILE_LIMITS;

/** Where the repository under test ends, and whether the user let the CLI read past it. */
export interface RepositoryBoundary {
  /** Absolute monorepo root. */
  readonly repoRoot: string;
  /** `--allow-outside-links`: read files whose real path is outside `repoRoot`. */
  readonly allowOutsideLinks: boolean;
}

/** How a file is named in a refusal, and the line that led to it (a mount, an `env_file:` entry). */
export interface InputFileReference {
  /** The path as the user should see it (repo-relative where possible). */
  readonly shown: string;
  /** Where the reference to the file is written; defaults to the file itself. */
  readonly location?: SourceLocation;
}

/** `52.4 MB`, `900 KB`: a size as a person reads it. */
export function formatSize(bytes: number): string {
  if (bytes >= MB) return `${Math.round((bytes / MB) * 10) / 10} MB`;
  if (bytes >= KB) return `${Math.round((bytes / KB) * 10) / 10} KB`;
  return `${bytes} bytes`;
}

/**
 * Reads a file of the repository under test whole, refusing one over its kind's cap, one that is
 * not a regular file, and (with a `boundary`) one whose real path lies outside the repository.
 */
export async function readInputFile(path: string, kind: InputFileKind, reference: InputFileReference, boundary?: RepositoryBoundary): Promise<Buffer> {
  if (boundary) await assertInsideRepository(path, boundary, reference);
  const limit = INPUT_FILE_LIMITS[kind];
  const where = reference.location ?? { file: reference.shown };
  const handle = await open(path, "r");
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new UsageError(`${reference.shown} is not a regular file, so it cannot be read as a ${kind}`, where);
    if (info.size > limit) throw tooLarge(reference.shown, info.size, kind, where);
    // Read at most one byte past the cap: the size stat gave may be stale (a file still being written).
    const buffer = Buffer.alloc(Math.min(info.size, limit) + 1);
    let filled = 0;
    while (filled < buffer.length) {
      const wanted = buffer.length - filled;
      const { bytesRead } = await handle.read(buffer, filled, wanted, filled);
      filled += bytesRead;
      // A regular file reads short only at its end: no second read to be told so (one call per file saved).
      if (bytesRead < wanted) break;
    }
    if (filled > limit) throw tooLarge(reference.shown, undefined, kind, where);
    return buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

/** `readInputFile` as UTF-8 text. */
export async function readInputText(path: string, kind: InputFileKind, reference: InputFileReference, boundary?: RepositoryBoundary): Promise<string> {
  return (await readInputFile(path, kind, reference, boundary)).toString("utf8");
}

/** A gzip-compressed init script decompressed, refusing one that expands past its cap (a gzip bomb). */
export function gunzipInitScript(bytes: Buffer, reference: InputFileReference): Buffer {
  const limit = INPUT_FILE_LIMITS["decompressed init script"];
  try {
    return gunzipSync(bytes, { maxOutputLength: limit });
  } catch (error) {
    const reason = error instanceof RangeError ? `decompresses to more than ${formatSize(limit)}` : `cannot be decompressed (${(error as Error).message})`;
    throw new UsageError(`${reference.shown} ${reason}`, reference.location ?? { file: reference.shown });
  }
}

/** Refuses a file over its kind's cap, from its size alone (for files another program reads, e.g. psql). */
export function assertWithinLimit(size: number, kind: InputFileKind, reference: InputFileReference): void {
  if (size > INPUT_FILE_LIMITS[kind]) throw tooLarge(reference.shown, size, kind, reference.location ?? { file: reference.shown });
}

/** @param size the file's size, undefined when only "more than the cap" is known (it grew while read). */
function tooLarge(shown: string, size: number | undefined, kind: InputFileKind, where: SourceLocation): UsageError {
  const actual = size === undefined ? "" : ` ${formatSize(size)},`;
  return new UsageError(`${shown} is${actual} over the ${formatSize(INPUT_FILE_LIMITS[kind])} size limit for a ${kind}`, where);
}

const realRoots = new Map<string, Promise<string>>();

/**
 * Refuses `path` when its real path (every symbolic link on the way resolved) is outside the
 * repository, unless the boundary allows it. A path that does not exist passes: whoever reads it
 * reports it missing.
 */
export async function assertInsideRepository(path: string, boundary: RepositoryBoundary, reference: InputFileReference): Promise<void> {
  if (boundary.allowOutsideLinks) return;
  const outside = await outsideTarget(path, boundary.repoRoot);
  if (outside === undefined) return;
  const where = reference.location ?? { file: reference.shown };
  const how = (await linkOnTheWay(path, boundary.repoRoot)) ? `is a symbolic link to ${outside}` : `resolves to ${outside}`;
  throw new UsageError(`${reference.shown} ${how}, outside the repository; pass --allow-outside-links to read it`, where);
}

/** The real path of `path` when it lies outside `repoRoot`; undefined when inside or missing. */
export async function outsideTarget(path: string, repoRoot: string): Promise<string | undefined> {
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    return undefined;
  }
  let root = realRoots.get(repoRoot);
  if (!root) {
    root = realpath(repoRoot).catch(() => resolve(repoRoot));
    realRoots.set(repoRoot, root);
  }
  const fromRoot = relative(await root, real);
  return fromRoot === "" || (!fromRoot.startsWith(`..${sep}`) && fromRoot !== ".." && !fromRoot.startsWith(sep) && !/^[A-Za-z]:/.test(fromRoot)) ? undefined : real;
}

/** Whether `path` or one of its folders below the repository root is a symbolic link. */
async function linkOnTheWay(path: string, repoRoot: string): Promise<boolean> {
  const root = resolve(repoRoot);
  for (let current = resolve(path); current !== root && current !== dirname(current); current = dirname(current)) {
    try {
      if ((await lstat(current)).isSymbolicLink()) return true;
    } catch {
      return false;
    }
  }
  return false;
}
