import { posix } from "node:path";
import { directoryEntries, INITDB_DIR, type InitMountProblem, type InitScript, initScriptKind, type InitScripts, inRunOrder, isExecutable, statOrUndefined } from "./init-script-files.js";
import { type InitBuild, initScriptsFromBuild } from "./init-scripts-from-build.js";
import type { ComposeService, SourceLine } from "./model.js";

// The init script model (init-script-files.ts) and the build's part (init-scripts-from-build.ts), for this module's callers.
export { INITDB_DIR, type InitMountProblem, type InitScript, type InitScriptKind, type InitScripts } from "./init-script-files.js";
export type { InitBuild } from "./init-scripts-from-build.js";

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
    const fromBuild = await initScriptsFromBuild(build);
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
      kind: nested ? "ignored" : initScriptKind(containerName, info.isDirectory()),
      executable: isExecutable(info.mode),
      origin: at(volume),
    });
  }

  return { scripts: inRunOrder(byName.values()), problems };
}
