import { readdir } from "node:fs/promises";
import { basename, join, posix, relative, resolve, sep } from "node:path";
import { argDeclarations, copyInstruction, type DockerfileStage, envDeclarations, substitute } from "./dockerfile.js";
import { directoryEntries, INITDB_DIR, type InitMountProblem, type InitScript, initScriptKind, type InitScripts, inRunOrder, isExecutable, statOrUndefined } from "./init-script-files.js";
import type { SourceLine } from "./model.js";

/** The Dockerfile a service is built from, with the stages of the built image (see `builtStage`). */
export interface InitBuild {
  /** Absolute build context. */
  readonly context: string;
  /** Repo-relative Dockerfile path, for origins. */
  readonly file: string;
  readonly chain: readonly DockerfileStage[];
  readonly args: ReadonlyMap<string, string>;
}

/**
 * What the build puts into the init directory: each `COPY`/`ADD` (not `--from` another stage) of
 * the built stage chain whose destination is the directory or a file in it, relative destinations
 * resolved against `WORKDIR`. Sources are read from the build context: files, directories (their
 * contents), and `*`/`?` globs in the last segment.
 */
export async function initScriptsFromBuild(build: InitBuild): Promise<InitScripts> {
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
            kind: nested ? "ignored" : initScriptKind(containerName, false),
            executable: executableByFlag ?? (isExecutable(info?.mode) || madeExecutable(containerName)),
            origin,
          });
        }
      }
    }
  }
  return { scripts: inRunOrder(byName.values()), problems };
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
