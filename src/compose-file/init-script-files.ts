import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { SourceLine } from "./model.js";

/** The official image's init directory: the files there run on the first start, on an empty data directory. */
export const INITDB_DIR = "/docker-entrypoint-initdb.d";

/**
 * How the official image treats a file in `/docker-entrypoint-initdb.d` (`docker_process_init_files`):
 * `*.sh` executed (or sourced when not executable), `*.sql` run through psql, compressed SQL
 * decompressed first, anything else (directories included) skipped with "ignoring".
 */
export type InitScriptKind = "sql" | "sql.gz" | "sql.xz" | "sql.zst" | "sh" | "ignored";

export interface InitScript {
  /** Absolute path on the host. */
  readonly hostPath: string;
  /** The file's name inside `/docker-entrypoint-initdb.d`: this, not the host name, decides order and kind. */
  readonly containerName: string;
  readonly kind: InitScriptKind;
  /** For `sh`: the image executes an executable script and sources any other. */
  readonly executable: boolean;
  /** What puts the file there: the compose file's volume entry, or the Dockerfile's `COPY`/`ADD` line. */
  readonly origin: SourceLine;
}

/** A mount or `COPY` into the init directory that provides nothing the image could run, or nothing readable here. */
export interface InitMountProblem {
  /** Absolute host path (bind mounts, build sources) or the volume / stage name. */
  readonly source: string;
  readonly target: string;
  readonly origin: SourceLine;
  readonly reason: "missing" | "named-volume" | "file-over-directory" | "other-stage" | "unreadable";
}

export interface InitScripts {
  /** In the order the image runs them (byte order of the container name, as `ls` under LC_ALL=C). */
  readonly scripts: readonly InitScript[];
  readonly problems: readonly InitMountProblem[];
}

/** How the image treats a file of this name in the init directory. */
export function initScriptKind(containerName: string, isDirectory: boolean): InitScriptKind {
  if (isDirectory) return "ignored";
  for (const kind of ["sql.gz", "sql.xz", "sql.zst", "sql", "sh"] as const) {
    if (containerName.endsWith(`.${kind}`)) return kind;
  }
  return "ignored";
}

/** The file's stat, or `undefined` when it is not there (or not readable). */
export async function statOrUndefined(path: string) {
  try {
    return await stat(path);
  } catch {
    return undefined;
  }
}

/** Each entry of a host directory that lands in the init directory, as the image would see it. */
export async function directoryEntries(dir: string, origin: SourceLine): Promise<InitScript[]> {
  const scripts: InitScript[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const hostPath = join(dir, entry.name);
    const entryInfo = await statOrUndefined(hostPath);
    const isDirectory = entryInfo?.isDirectory() ?? entry.isDirectory();
    scripts.push({ hostPath, containerName: entry.name, kind: initScriptKind(entry.name, isDirectory), executable: isExecutable(entryInfo?.mode), origin });
  }
  return scripts;
}

export function isExecutable(mode: number | undefined): boolean {
  return mode !== undefined && (mode & 0o111) !== 0;
}

/** The scripts in the order the image runs them: byte order of the container name, as `ls` under LC_ALL=C. */
export function inRunOrder(scripts: Iterable<InitScript>): InitScript[] {
  return [...scripts].sort((a, b) => Buffer.compare(Buffer.from(a.containerName), Buffer.from(b.containerName)));
}
