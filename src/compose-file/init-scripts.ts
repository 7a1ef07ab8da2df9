import { readdir, stat } from "node:fs/promises";
import { join, posix } from "node:path";
import type { ComposeService } from "./model.js";
import { INITDB_DIR } from "./postgres-service.js";

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
  /** Line of the volume entry, in the compose file `file`. */
  readonly line: number;
  readonly file: string;
}

/** A mount into the init directory that provides nothing the image could run. */
export interface InitMountProblem {
  /** Absolute host path (bind mounts) or the volume name. */
  readonly source: string;
  readonly target: string;
  readonly line: number;
  readonly file: string;
  readonly reason: "missing" | "named-volume" | "file-over-directory";
}

export interface InitScripts {
  /** In the order the image runs them (byte order of the container name, as `ls` under LC_ALL=C). */
  readonly scripts: readonly InitScript[];
  readonly problems: readonly InitMountProblem[];
}

function kindOf(containerName: string, isDirectory: boolean): InitScriptKind {
  if (isDirectory) return "ignored";
  for (const kind of ["sql.gz", "sql.xz", "sql.zst", "sql", "sh"] as const) {
    if (containerName.endsWith(`.${kind}`)) return kind;
  }
  return "ignored";
}

async function statOrUndefined(path: string) {
  try {
    return await stat(path);
  } catch {
    return undefined;
  }
}

/** The init scripts the official image would run for this service, from its bind mounts. Reads the host; never throws for a missing file. */
export async function initScriptsOf(service: ComposeService): Promise<InitScripts> {
  // A file mounted over a name shadows the same name from a mounted directory, as the later mount does in the container.
  const byName = new Map<string, InitScript>();
  const problems: InitMountProblem[] = [];
  const directoryMounts = service.volumes.filter((volume) => volume.target.replace(/\/$/, "") === INITDB_DIR);
  const innerMounts = service.volumes.filter((volume) => volume.target.startsWith(`${INITDB_DIR}/`));

  for (const volume of directoryMounts) {
    if (volume.type !== "bind") {
      problems.push({ source: volume.source, target: volume.target, line: volume.line, file: volume.file, reason: "named-volume" });
      continue;
    }
    const info = await statOrUndefined(volume.source);
    if (!info) {
      problems.push({ source: volume.source, target: volume.target, line: volume.line, file: volume.file, reason: "missing" });
      continue;
    }
    if (!info.isDirectory()) {
      problems.push({ source: volume.source, target: volume.target, line: volume.line, file: volume.file, reason: "file-over-directory" });
      continue;
    }
    for (const entry of await readdir(volume.source, { withFileTypes: true })) {
      const hostPath = join(volume.source, entry.name);
      const entryInfo = await statOrUndefined(hostPath);
      const isDirectory = entryInfo?.isDirectory() ?? entry.isDirectory();
      byName.set(entry.name, {
        hostPath,
        containerName: entry.name,
        kind: kindOf(entry.name, isDirectory),
        executable: isExecutable(entryInfo?.mode),
        line: volume.line,
        file: volume.file,
      });
    }
  }

  for (const volume of innerMounts) {
    const relativeTarget = posix.relative(INITDB_DIR, volume.target.replace(/\/$/, ""));
    // The image only globs the top level: anything mounted deeper is never run.
    const nested = relativeTarget.includes("/");
    const containerName = nested ? relativeTarget.split("/")[0]! : relativeTarget;
    if (volume.type !== "bind") {
      problems.push({ source: volume.source, target: volume.target, line: volume.line, file: volume.file, reason: "named-volume" });
      continue;
    }
    const info = await statOrUndefined(volume.source);
    if (!info) {
      problems.push({ source: volume.source, target: volume.target, line: volume.line, file: volume.file, reason: "missing" });
      continue;
    }
    byName.set(containerName, {
      hostPath: volume.source,
      containerName,
      kind: nested ? "ignored" : kindOf(containerName, info.isDirectory()),
      executable: isExecutable(info.mode),
      line: volume.line,
      file: volume.file,
    });
  }

  const scripts = [...byName.values()].sort((a, b) => compareBytes(a.containerName, b.containerName));
  return { scripts, problems };
}

function isExecutable(mode: number | undefined): boolean {
  return mode !== undefined && (mode & 0o111) !== 0;
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
