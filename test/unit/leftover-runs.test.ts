/**
 * The run folder and its record, and the reaper that removes what a killed run left (sandbox/).
 * Real folders and real processes: a stale run is made by recording a pid that has exited, with a
 * real process still working inside the folder.
 */
import { spawn } from "node:child_process";
import { execa } from "execa";
import { chown, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { describeReaped, reapLeftoverRuns } from "../../src/sandbox/leftover-runs.js";
import { processesInside, processStartTime } from "../../src/sandbox/process-table.js";
import { RUN_FOLDER_PREFIX, RunFolder } from "../../src/sandbox/run-folder.js";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "civic-reaper-"));
});
afterEach(async () => {
  for (const process of await processesInside(root)) {
    try {
      globalThis.process.kill(process.pid, "SIGKILL");
    } catch {
      // Gone.
    }
  }
  await rm(root, { recursive: true, force: true });
});

const exists = (path: string) => stat(path).then(() => true, () => false);

/** The ids of the kernel's System V shared memory segments. */
async function segmentIds(): Promise<string[]> {
  return (await readFile("/proc/sysvipc/shm", "utf8")).split("\n").slice(1).map((line) => line.trim().split(/\s+/)[1] ?? "");
}

/** A new 56-byte System V segment, attached by nobody: its key and id. */
async function systemVSegment(): Promise<{ key: string; id: string }> {
  const made = await execa("ipcmk", ["-M", "56"], { env: { LC_ALL: "C" } });
  const id = /(\d+)\s*$/.exec(made.stdout)![1]!;
  const row = (await readFile("/proc/sysvipc/shm", "utf8")).split("\n").map((line) => line.trim().split(/\s+/)).find((fields) => fields[1] === id)!;
  return { key: row[0]!, id };
}

/** A pid that existed and has exited. */
async function exitedPid(): Promise<number> {
  const child = spawn("true");
  await new Promise((resolve) => child.on("exit", resolve));
  return child.pid!;
}

/** A run folder as a killed run leaves it: a record of a gone owner, and a process still working in it. */
async function killedRunFolder(name: string): Promise<{ folder: string; worker: number }> {
  const folder = join(root, `${RUN_FOLDER_PREFIX}${name}`);
  await mkdir(join(folder, "work"), { recursive: true });
  await writeFile(join(folder, "run.json"), JSON.stringify({ pid: await exitedPid(), startTime: "1", host: hostname(), startedAt: new Date().toISOString() }));
  const worker = spawn("sleep", ["300"], { cwd: join(folder, "work"), detached: true, stdio: "ignore" });
  worker.unref();
  return { folder, worker: worker.pid! };
}

describe("the run folder", () => {
  it("records its owner (pid and start time), holds HOME and TMPDIR, and is gone after remove()", async () => {
    const folder = await RunFolder.create({ TMPDIR: root }, { name: "current user" });
    expect(folder.path.startsWith(join(root, RUN_FOLDER_PREFIX))).toBe(true);
    expect(((await stat(folder.path)).mode & 0o777).toString(8)).toBe("711");
    const record = JSON.parse(await readFile(join(folder.path, "run.json"), "utf8")) as { pid: number; startTime: string };
    expect(record.pid).toBe(process.pid);
    expect(record.startTime).toBe(await processStartTime(process.pid));
    expect(await exists(folder.home)).toBe(true);
    expect(await exists(folder.tmp)).toBe(true);
    await Promise.all([folder.remove(), folder.remove()]);
    expect(await exists(folder.path)).toBe(false);
  });
});

describe("reaping what killed runs left", () => {
  it("ends the processes still working in a killed run's folder, removes it, and says so naming it", async () => {
    const { folder, worker } = await killedRunFolder("killed");
    const { reaped, failures } = await reapLeftoverRuns([root]);
    expect(failures).toEqual([]);
    expect(reaped).toHaveLength(1);
    expect(reaped[0]).toMatchObject({ folder, contents: ["work"], otherProcesses: 1, servers: [] });
    expect(describeReaped(reaped[0]!)).toMatch(new RegExp(`^reaped what an earlier run \\(pid \\d+\\) left when it was killed: ended 1 other process working there, removed ${folder} \\(work\\)$`));
    expect(await exists(folder)).toBe(false);
    expect(await processStartTime(worker)).toBeUndefined();
  });

  it("removes the System V segment a postmaster killed with SIGKILL left, as named by its postmaster.pid, and no other", async () => {
    // Real kernel segments (util-linux's ipcmk), standing in for the 56-byte interlock a postmaster keeps.
    const orphan = await systemVSegment();
    const stranger = await systemVSegment();
    try {
      const { folder } = await killedRunFolder("killed-postmaster");
      await mkdir(join(folder, "pg-a", "data"), { recursive: true });
      // postmaster.pid as PostgreSQL 16 writes it: line 7 is the segment's key and id.
      const pidFile = (segment: { key: string; id: string }) => `4242\n${folder}/pg-a/data\n1796190000\n5432\n${folder}/pg-a\n127.0.0.1\n${segment.key.padStart(9)} ${segment.id.padStart(9)}\nready   \n`;
      await writeFile(join(folder, "pg-a", "data", "postmaster.pid"), pidFile(orphan));
      await mkdir(join(folder, "pg-b", "data"), { recursive: true });
      // Another segment's id with the wrong key: not the one this folder's postmaster made.
      await writeFile(join(folder, "pg-b", "data", "postmaster.pid"), pidFile({ key: String(Number(stranger.key) + 1), id: stranger.id }));
      // The right key and id in a folder of another OS user (uid 1, daemon), who did not make the
      // segment: a pid file its server's user could have rewritten to name someone else's segment.
      // Only root can give a folder away; the suite runs as root on CI, as the embedded runtime's
      // unprivileged user needs.
      await mkdir(join(folder, "pg-c", "data"), { recursive: true });
      await writeFile(join(folder, "pg-c", "data", "postmaster.pid"), pidFile(stranger));
      await chown(join(folder, "pg-c", "data"), 1, 1);

      const { reaped, failures } = await reapLeftoverRuns([root]);

      expect(failures).toEqual([]);
      expect(reaped.map((run) => run.folder)).toEqual([folder]);
      expect(await segmentIds()).not.toContain(orphan.id);
      expect(await segmentIds()).toContain(stranger.id);
    } finally {
      for (const { id } of [orphan, stranger]) await execa("ipcrm", ["-m", id], { reject: false });
    }
  });

  it("tears down the compose projects a killed run's record names once the processes working there (its Compose CLI) are gone, and says so", async () => {
    const { folder, worker } = await killedRunFolder("killed-compose");
    const record = JSON.parse(await readFile(join(folder, "run.json"), "utf8")) as object;
    await writeFile(join(folder, "run.json"), JSON.stringify({ ...record, composeProjects: ["civic-shop-0a1b2c3d"] }));
    const torn: { projects: readonly string[]; workerAlive: boolean }[] = [];
    // The engine side is test/docker/killed-run.test.ts; here, what the reaper asks of it and when.
    const tearDownComposeProjects = async (projects: readonly string[]) => {
      torn.push({ projects, workerAlive: (await processStartTime(worker)) !== undefined });
    };

    const { reaped, failures } = await reapLeftoverRuns([root], { tearDownComposeProjects });

    expect(failures).toEqual([]);
    expect(torn).toEqual([{ projects: ["civic-shop-0a1b2c3d"], workerAlive: false }]);
    expect(reaped[0]).toMatchObject({ folder, composeProjects: ["civic-shop-0a1b2c3d"] });
    expect(describeReaped(reaped[0]!)).toContain("ended 1 other process working there, removed compose project civic-shop-0a1b2c3d (containers, volumes, networks, images), removed ");
    expect(await exists(folder)).toBe(false);
  });

  it("keeps a killed run's folder, and reports it, while its compose projects cannot be torn down", async () => {
    const { folder } = await killedRunFolder("killed-compose-kept");
    const record = JSON.parse(await readFile(join(folder, "run.json"), "utf8")) as object;
    await writeFile(join(folder, "run.json"), JSON.stringify({ ...record, composeProjects: ["civic-shop-4e5f6a7b"] }));

    const without = await reapLeftoverRuns([root]);
    expect(without.reaped).toEqual([]);
    expect(without.failures).toEqual([`${folder}: it booted compose project civic-shop-4e5f6a7b, which this step cannot remove; kept for a later run`]);
    expect(await exists(folder)).toBe(true);

    const failing = await reapLeftoverRuns([root], { tearDownComposeProjects: () => Promise.reject(new Error("no Docker engine answers")) });
    expect(failing.failures).toEqual([`${folder}: no Docker engine answers`]);
    expect(await exists(folder)).toBe(true);

    const later = await reapLeftoverRuns([root], { tearDownComposeProjects: async () => undefined });
    expect(later.reaped.map((run) => run.folder)).toEqual([folder]);
    expect(await exists(folder)).toBe(false);
  });

  it("names in the record the compose projects a run boots", async () => {
    const folder = await RunFolder.create({ TMPDIR: root }, { name: "current user" });
    await folder.noteComposeProject("civic-shop-11223344");
    expect(JSON.parse(await readFile(join(folder.path, "run.json"), "utf8"))).toMatchObject({ pid: process.pid, composeProjects: ["civic-shop-11223344"] });
    await folder.remove();
  });

  it("leaves a live run, a pid reused by another process, and a young folder without a record alone", async () => {
    const live = await RunFolder.create({ TMPDIR: root }, { name: "current user" });
    const reused = join(root, `${RUN_FOLDER_PREFIX}reused`);
    await mkdir(reused);
    // This process's pid with another start time: the owner is gone, its pid is someone else's now.
    await writeFile(join(reused, "run.json"), JSON.stringify({ pid: process.pid, startTime: "1", host: hostname(), startedAt: "" }));
    const young = join(root, `${RUN_FOLDER_PREFIX}young`);
    await mkdir(young);
    const other = join(root, "civic-conformance-pg-old-format");
    await mkdir(other);

    const { reaped } = await reapLeftoverRuns([root]);

    expect(reaped.map((run) => run.folder)).toEqual([reused]);
    expect(await exists(live.path)).toBe(true);
    expect(await exists(young)).toBe(true);
    expect(await exists(other)).toBe(true);
    await live.remove();
  });
});
