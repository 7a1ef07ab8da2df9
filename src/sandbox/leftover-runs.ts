/**
 * The reaper: what a killed run left (its run folder, a PostgreSQL server still listening, a psql or
 * a generator still running in it) is stopped and removed by the next run, and by the action's
 * `post:` step — the file-system analogue of testcontainers' Ryuk. A run folder is stale when its
 * record names a process that is gone (or a pid now used by another process: the start time differs);
 * a folder without a record (killed before it was written) when it is older than a minute and no
 * process works in it. Live runs, other hosts' folders on a shared disk, and anything not named like
 * a run folder are left alone. A server's cluster is in `<run folder>/<name>/data`; the System V
 * segment of a postmaster killed with SIGKILL is removed with it (postmaster-memory.ts). The compose
 * projects a run booted (named in its record) are torn down by the caller's `tearDownComposeProjects`
 * once the processes working in the folder (the Compose CLI among them) are gone; without it, or
 * when it fails, the folder is kept for a later run and reported.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { releaseOrphanedSegment } from "./postmaster-memory.js";
import { isPostmaster, processesInside, processStartTime, type TableProcess } from "./process-table.js";
import { removeTree } from "./remove-tree.js";
import { RUN_FOLDER_PREFIX, RUN_RECORD, type RunRecord } from "./run-folder.js";

/** A folder without a record younger than this may be a run that is just starting. */
const UNRECORDED_GRACE_MS = 60_000;
/** Immediate shutdown (SIGQUIT) releases a postmaster's shared memory; it gets this long before SIGKILL. */
const POSTMASTER_GRACE_MS = 5_000;

/** One stale run folder the reaper removed, and what it stopped there. */
export interface ReapedRun {
  readonly folder: string;
  /** What was in it (the cluster's folder, the drift copy's), by name. */
  readonly contents: readonly string[];
  /** The pid of the run that left it, when its record was readable. */
  readonly ownerPid: number | undefined;
  /** PostgreSQL servers stopped: pid and data directory. */
  readonly servers: ReadonlyArray<{ readonly pid: number; readonly dataDir: string }>;
  /** Other processes ended (psql, initdb, a generator…). */
  readonly otherProcesses: number;
  /** Compose projects torn down: containers, volumes, networks, images of the run. */
  readonly composeProjects: readonly string[];
}

/** Removes what each compose project a killed run booted left on the engine (docker/run-resources.ts). */
export type ComposeProjectsTeardown = (projects: readonly string[]) => Promise<void>;

export interface ReapOptions {
  /** Without it, a stale run folder that booted a compose project is kept and reported, never half reaped. */
  readonly tearDownComposeProjects?: ComposeProjectsTeardown;
}

/** One line saying what was reaped, naming the folders (the cluster's too). */
export function describeReaped(reaped: ReapedRun): string {
  const owner = reaped.ownerPid === undefined ? "an earlier run" : `an earlier run (pid ${reaped.ownerPid})`;
  const servers = reaped.servers.map((server) => `stopped the PostgreSQL server (pid ${server.pid}) of ${server.dataDir}, `).join("");
  const projects = reaped.composeProjects.length > 0 ? `removed compose project${reaped.composeProjects.length === 1 ? "" : "s"} ${reaped.composeProjects.join(", ")} (containers, volumes, networks, images), ` : "";
  const others = reaped.otherProcesses > 0 ? `ended ${reaped.otherProcesses} other process${reaped.otherProcesses === 1 ? "" : "es"} working there, ` : "";
  const contents = reaped.contents.length > 0 ? ` (${reaped.contents.join(", ")})` : "";
  return `reaped what ${owner} left when it was killed: ${servers}${others}${projects}removed ${reaped.folder}${contents}`;
}

/** Finds the stale run folders under `roots` and reaps each; a folder that cannot be removed is skipped (returned in `failures`). */
export async function reapLeftoverRuns(roots: readonly string[], options: ReapOptions = {}): Promise<{ reaped: ReapedRun[]; failures: string[] }> {
  const reaped: ReapedRun[] = [];
  const failures: string[] = [];
  for (const root of roots) {
    const names = await readdir(root).catch(() => [] as string[]);
    for (const name of names.filter((candidate) => candidate.startsWith(RUN_FOLDER_PREFIX))) {
      const folder = join(root, name);
      try {
        const verdict = await staleness(folder);
        if (verdict.stale) reaped.push(await reap(folder, verdict.record, options));
      } catch (error) {
        failures.push(`${folder}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
  return { reaped, failures };
}

async function staleness(folder: string): Promise<{ stale: boolean; record?: RunRecord }> {
  const record = await readRecord(folder);
  if (record) {
    if (record.host !== hostname()) return { stale: false };
    const startTime = await processStartTime(record.pid);
    const alive = startTime !== undefined && (record.startTime === undefined || startTime === record.startTime);
    return { stale: !alive, record };
  }
  const info = await stat(folder).catch(() => undefined);
  if (!info || Date.now() - info.mtimeMs < UNRECORDED_GRACE_MS) return { stale: false };
  return { stale: (await processesInside(folder)).length === 0 };
}

async function readRecord(folder: string): Promise<RunRecord | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(folder, RUN_RECORD), "utf8")) as Partial<RunRecord>;
    if (typeof parsed.pid !== "number" || typeof parsed.host !== "string") return undefined;
    return parsed as RunRecord;
  } catch {
    return undefined;
  }
}

/** Names in a run folder worth saying: not the record, nor the HOME and TMPDIR every run has. */
const ALWAYS_THERE = new Set([RUN_RECORD, "home", "tmp"]);

async function reap(folder: string, record: RunRecord | undefined, options: ReapOptions): Promise<ReapedRun> {
  const contents = (await readdir(folder).catch(() => [] as string[])).filter((name) => !ALWAYS_THERE.has(name)).sort();
  const found = await processesInside(folder);
  // Postmasters first, with SIGQUIT: their backends go with them, and their shared memory is freed.
  const postmasters = found.filter(isPostmaster);
  for (const server of postmasters) signal(server.pid, "SIGQUIT");
  await until(async () => (await processesInside(folder)).every((process) => !postmasters.some((server) => server.pid === process.pid)), POSTMASTER_GRACE_MS);
  // Whatever is still there (a postmaster that did not go, psql, initdb, a generator): SIGKILL.
  for (const process of await processesInside(folder)) signal(process.pid, "SIGKILL");
  await until(async () => (await processesInside(folder)).length === 0, 2_000);
  // The Compose CLI it ran is gone now: what it asked the engine for is torn down, or the folder kept.
  const composeProjects = record?.composeProjects ?? [];
  if (composeProjects.length > 0) {
    if (!options.tearDownComposeProjects) throw new Error(`it booted compose project ${composeProjects.join(", ")}, which this step cannot remove; kept for a later run`);
    await options.tearDownComposeProjects(composeProjects);
  }
  // A postmaster that was itself killed with SIGKILL left its System V segment: its pid file names it.
  for (const name of contents) await releaseOrphanedSegment(join(folder, name, "data"));
  await removeTree(folder);
  return {
    folder,
    contents,
    ownerPid: record?.pid,
    servers: postmasters.map((server) => ({ pid: server.pid, dataDir: dataDirOf(server) })),
    otherProcesses: found.filter((process) => !isPostmaster(process) && !process.args.startsWith("postgres:")).length,
    composeProjects,
  };
}

function dataDirOf(server: TableProcess): string {
  return / -D (\S+)/.exec(` ${server.args} `)?.[1] ?? server.cwd;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Gone meanwhile.
  }
}

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  for (let waited = 0; waited < timeoutMs; waited += 100) {
    if (await condition()) return;
    await sleep(100);
  }
}
