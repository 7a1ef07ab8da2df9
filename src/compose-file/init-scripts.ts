import { readdir, stat } from "node:fs/promises";
import { basename, join, posix, relative, resolve, sep } from "node:path";
import { argDeclarations, copyInstruction, type DockerfileStage, envDeclarations, substitute } from "./dockerfile.js";
import type { ComposeService, SourceLine } from "./model.js";

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

/** The Dockerfile a service is built from, with the stages of the built image (see `builtStage`). */
export interface InitBuild {
  /** Absolute build context. */
  readonly context: string;
  /** Repo-relative Dockerfile path, for origins. */
  readonly file: string;
  readonly chain: readonly DockerfileStage[];
  readonly args: ReadonlyMap<string, string>;
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

/**
 * The init scripts the image would run for this service: those its build `COPY`s or `ADD`s into
 * the init directory (they are in the image), then its bind mounts (a mount hides the image's
 * files under it, and a file mounted over a name shadows the same name). Reads the host; never
 * throws for a missing file.
 */
export async function initScriptsOf(service: ComposeService, build?: InitBuild): Promise<InitScripts> {
  const byName = new Map<string, InitScript>();
  const problems: InitMountProblem[] = [];
  // A mount's origin is its volume entry, in whichever compose file wrote it (main, override, extends).
  const at = (volume: { file: string; line: number }): SourceLine => ({ file: volume.file, line: volume.line });
  const directoryMounts = service.volumes.filter((volume) => volume.target.replace(/\/$/, "") === INITDB_DIR);
  const innerMounts = service.volumes.filter((volume) => volume.target.startsWith(`${INITDB_DIR}/`));

  if (build && directoryMounts.length === 0) {
    const fromBuild = await buildInitScripts(build);
    for (const script of fromBuild.scripts) byName.set(script.containerName, script);
    problems.push(...fromBuild.problems);
  }

  for (const volume of directoryMounts) {
    if (volume.type !== "bind") {
      problems.push({ source: volume.source, target: volume.target, origin: at(volume), reason: "named-volume" });
      continue;
    }
    const info = await statOrUndefined(volume.source);
    if (!info) {
      problems.push({ source: volume.source, target: volume.target, origin: at(volume), reason: "missing" });
      continue;
    }
    if (!info.isDirectory()) {
      problems.push({ source: volume.source, target: volume.target, origin: at(volume), reason: "file-over-directory" });
      continue;
    }
    for (const script of await directoryEntries(volume.source, at(volume))) byName.set(script.containerName, script);
  }

  for (const volume of innerMounts) {
    const relativeTarget = posix.relative(INITDB_DIR, volume.target.replace(/\/$/, ""));
    // The image only globs the top level: anything mounted deeper is never run.
    const nested = relativeTarget.includes("/");
    const containerName = nested ? relativeTarget.split("/")[0]! : relativeTarget;
    if (volume.type !== "bind") {
      problems.push({ source: volume.source, target: volume.target, origin: at(volume), reason: "named-volume" });
      continue;
    }
    const info = await statOrUndefined(volume.source);
    if (!info) {
      problems.push({ source: volume.source, target: volume.target, origin: at(volume), reason: "missing" });
      continue;
    }
    byName.set(containerName, {
      hostPath: volume.source,
      containerName,
      kind: nested ? "ignored" : kindOf(containerName, info.isDirectory()),
      executable: isExecutable(info.mode),
      origin: at(volume),
    });
  }

  const scripts = [...byName.values()].sort((a, b) => compareBytes(a.containerName, b.containerName));
  return { scripts, problems };
}

async function directoryEntries(dir: string, origin: SourceLine): Promise<InitScript[]> {
  const scripts: InitScript[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const hostPath = join(dir, entry.name);
    const entryInfo = await statOrUndefined(hostPath);
    const isDirectory = entryInfo?.isDirectory() ?? entry.isDirectory();
    scripts.push({ hostPath, containerName: entry.name, kind: kindOf(entry.name, isDirectory), executable: isExecutable(entryInfo?.mode), origin });
  }
  return scripts;
}

/**
 * What the build puts into the init directory: each `COPY`/`ADD` (not `--from` another stage) of
 * the built stage chain whose destination is the directory or a file in it, relative destinations
 * resolved against `WORKDIR`. Sources are read from the build context: files, directories (their
 * contents), and `*`/`?` globs in the last segment.
 */
async function buildInitScripts(build: InitBuild): Promise<InitScripts> {
  const byName = new Map<string, InitScript>();
  const problems: InitMountProblem[] = [];
  const executablePaths = chmodExecutablePaths(build.chain);
  const madeExecutable = (containerName: string) => executablePaths.has(INITDB_DIR) || executablePaths.has(posix.join(INITDB_DIR, containerName));
  const variables = new Map<string, string>();
  for (const stage of build.chain) {
    let workdir = "/";
    for (const instruction of stage.instructions) {
      const lookup = (name: string) => variables.get(name);
      if (instruction.keyword === "ARG") {
        for (const [name, value] of argDeclarations(instruction.args)) {
          const given = build.args.get(name) ?? (value === undefined ? undefined : substitute(value, lookup));
          if (given !== undefined) variables.set(name, given);
        }
        continue;
      }
      if (instruction.keyword === "ENV") {
        for (const [name, value] of envDeclarations(instruction.args)) variables.set(name, substitute(value, lookup));
        continue;
      }
      if (instruction.keyword === "WORKDIR") {
        workdir = posix.resolve(workdir, substitute(instruction.args.trim(), lookup));
        continue;
      }
      if (instruction.keyword !== "COPY" && instruction.keyword !== "ADD") continue;
      const copy = copyInstruction(instruction.args);
      if (!copy) continue;
      const destination = posix.resolve(workdir, substitute(copy.destination, lookup));
      if (destination !== INITDB_DIR && !destination.startsWith(`${INITDB_DIR}/`)) continue;
      const origin: SourceLine = { file: build.file, line: instruction.line };
      const from = copy.flags.get("from");
      if (from !== undefined) {
        problems.push({ source: from, target: destination, origin, reason: "other-stage" });
        continue;
      }
      // `COPY a b dir/` or `COPY x /docker-entrypoint-initdb.d`: into the directory; otherwise `dest` names the file.
      const intoDirectory = destination === INITDB_DIR || copy.destination.endsWith("/") || copy.sources.length > 1;
      const chmod = copy.flags.get("chmod");
      const executableByFlag = chmod === undefined ? undefined : isExecutable(Number.parseInt(chmod, 8));
      for (const rawSource of copy.sources) {
        const source = substitute(rawSource, lookup);
        if (/^[a-z]+:\/\//i.test(source) || (instruction.keyword === "ADD" && /\.(tar|tgz|tar\.(gz|bz2|xz))$/.test(source))) {
          problems.push({ source, target: destination, origin, reason: "unreadable" });
          continue;
        }
        const matches = await contextMatches(build.context, source);
        if (matches.length === 0) {
          problems.push({ source: resolve(build.context, source), target: destination, origin, reason: "missing" });
          continue;
        }
        for (const hostPath of matches) {
          const info = await statOrUndefined(hostPath);
          if (info?.isDirectory()) {
            // A directory source copies its contents into the destination directory.
            const relativeTarget = posix.relative(INITDB_DIR, destination);
            if (relativeTarget !== "") {
              const containerName = relativeTarget.split("/")[0]!;
              byName.set(containerName, { hostPath, containerName, kind: "ignored", executable: false, origin });
              continue;
            }
            for (const script of await directoryEntries(hostPath, origin)) {
              byName.set(script.containerName, { ...script, executable: executableByFlag ?? (script.executable || madeExecutable(script.containerName)) });
            }
            continue;
          }
          const relativeTarget = posix.relative(INITDB_DIR, intoDirectory ? posix.join(destination, basename(hostPath)) : destination);
          const nested = relativeTarget.includes("/");
          const containerName = nested ? relativeTarget.split("/")[0]! : relativeTarget;
          byName.set(containerName, {
            hostPath,
            containerName,
            kind: nested ? "ignored" : kindOf(containerName, false),
            executable: executableByFlag ?? (isExecutable(info?.mode) || madeExecutable(containerName)),
            origin,
          });
        }
      }
    }
  }
  const scripts = [...byName.values()].sort((a, b) => compareBytes(a.containerName, b.containerName));
  return { scripts, problems };
}

/** Container paths a `RUN chmod +x …` (or an octal mode with an execute bit) makes executable. */
function chmodExecutablePaths(chain: readonly DockerfileStage[]): Set<string> {
  const paths = new Set<string>();
  for (const stage of chain) {
    for (const instruction of stage.instructions) {
      if (instruction.keyword !== "RUN") continue;
      for (const match of instruction.args.matchAll(/chmod\s+(?:-R\s+)?([ugoa]*\+[rwx]*x[rwx]*|[0-7]{3,4})\s+([^;&|]+)/g)) {
        const mode = match[1]!;
        if (/^[0-7]+$/.test(mode) && !isExecutable(Number.parseInt(mode, 8))) continue;
        for (const path of match[2]!.trim().split(/\s+/)) paths.add(path.replace(/\/\*?$/, ""));
      }
    }
  }
  return paths;
}

function isGlob(source: string): boolean {
  return /[*?[]/.test(source);
}

/** Host paths a build source names inside the context; never outside it (BuildKit refuses that too). */
async function contextMatches(context: string, source: string): Promise<string[]> {
  const normalized = source.replace(/^\.?\//, "").replace(/\/$/, "") || ".";
  const absolute = resolve(context, normalized);
  const inside = relative(context, absolute);
  if (inside.startsWith("..") || inside.split(sep).includes("..")) return [];
  if (!isGlob(normalized)) return (await statOrUndefined(absolute)) ? [absolute] : [];
  const dir = resolve(context, posix.dirname(normalized));
  const pattern = globPattern(posix.basename(normalized));
  try {
    return (await readdir(dir)).filter((name) => pattern.test(name)).sort().map((name) => join(dir, name));
  } catch {
    return [];
  }
}

function globPattern(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]");
  return new RegExp(`^${body}$`);
}

function isExecutable(mode: number | undefined): boolean {
  return mode !== undefined && (mode & 0o111) !== 0;
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
