/**
 * How the embedded server's postmaster is stopped, read from the server's own log (what
 * `PostgresProcess.log()` keeps of its stderr): a clean stop is PostgreSQL's fast shutdown, which
 * ends with a shutdown checkpoint (every buffer the run dirtied is written out, about 150 ms at the
 * end of a 6-service run); a stop whose cluster is removed next (`discard`) is an immediate shutdown.
 */
import { chown, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { preparePostgresBinaries, type PostgresBinaries } from "../../src/runtime/embedded/postgres-binaries.js";
import { PostgresProcess, runInitdb } from "../../src/runtime/embedded/postgres-process.js";
import { resolveUnprivilegedUser, type OsUser } from "../../src/sandbox/os-user.js";
import { processesInside } from "../../src/sandbox/process-table.js";
import { chooseTempRoot } from "../../src/sandbox/temp-root.js";

describe("embedded PostgreSQL process: stopping", { timeout: 60_000 }, () => {
  let binaries: PostgresBinaries;
  let user: OsUser;
  let dir: string;
  let dataDir: string;

  beforeAll(async () => {
    binaries = await preparePostgresBinaries();
    user = await resolveUnprivilegedUser(process.getuid?.());
    dir = await mkdtemp(join((await chooseTempRoot(process.env, user)).root, "civic-conformance-test-stop-"));
    if (user.uid !== undefined) await chown(dir, user.uid, user.gid ?? user.uid);
    dataDir = join(dir, "data");
    await runInitdb(binaries, { dataDir, superuser: "civic", extraArgs: [], user, cwd: dir, signal: new AbortController().signal });
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const start = () => PostgresProcess.start(binaries, dataDir, { listenAddresses: "", port: 5432, socketDir: dir }, user);

  it("a clean stop is a fast shutdown, with its shutdown checkpoint", async () => {
    const server = await start();
    await server.stop();
    expect(server.log()).toContain("received fast shutdown request");
    expect(server.log()).toContain("shutting down");
    expect(server.log()).not.toContain("received immediate shutdown request");
  });

  it("a stop that discards the cluster is an immediate shutdown: no checkpoint", async () => {
    const server = await start();
    await server.stop({ discard: true });
    expect(server.log()).toContain("received immediate shutdown request");
    expect(server.log()).not.toContain("received fast shutdown request");
    expect(server.log()).not.toContain("shutting down");
  });
});

/**
 * initdb's single-user backend holds a System V segment (PostgreSQL's interlock) that it removes when
 * it exits. When a run is cancelled during initdb (Ctrl-C, SIGTERM: the process group gets SIGTERM),
 * initdb by default removes the data folder while its backend is still shutting down; the backend
 * then fails on the missing files (PANIC, abort()) without removing its segment, which the kernel
 * keeps until reboot, with no data folder left to name it. The segment's key is the data folder's
 * inode (PostgreSQL's `sysv_shmem.c`: the first key tried is `st_ino`, the next ones follow), so
 * the test makes the folder first and knows which keys are this initdb's.
 */
describe("embedded PostgreSQL process: an initdb cancelled mid-way", { timeout: 120_000 }, () => {
  let binaries: PostgresBinaries;
  let user: OsUser;
  let root: string;

  beforeAll(async () => {
    binaries = await preparePostgresBinaries();
    user = await resolveUnprivilegedUser(process.getuid?.());
    root = await mkdtemp(join((await chooseTempRoot(process.env, user)).root, "civic-conformance-test-initdb-abort-"));
    if (user.uid !== undefined) await chown(root, user.uid, user.gid ?? user.uid);
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** Rows of the kernel's segment table whose key is one PostgreSQL derives from `inode`. */
  const segmentsKeyedBy = async (inode: bigint) =>
    (await readFile("/proc/sysvipc/shm", "utf8"))
      .split("\n")
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => /^-?\d+$/.test(fields[0] ?? ""))
      .filter((fields) => {
        const key = BigInt.asUintN(32, BigInt(fields[0]!));
        return key >= BigInt.asUintN(32, inode) && key < BigInt.asUintN(32, inode) + 16n;
      });

  // The abort lands at several points of initdb's bootstrap and single-user phases (most of its time).
  it.each([
    ["boot", 0],
    ["boot", 100],
    ["single", 0],
    ["single", 100],
    ["single", 200],
  ] as const)("aborted in the --%s phase, %i ms in: no System V segment and no /dev/shm file is left", async (phase, offsetMs) => {
    const dir = await mkdtemp(join(root, "run-"));
    const dataDir = join(dir, "data");
    if (user.uid !== undefined) await chown(dir, user.uid, user.gid ?? user.uid);
    const controller = new AbortController();
    const running = runInitdb(binaries, { dataDir, superuser: "civic", extraArgs: [], user, cwd: dir, signal: controller.signal }).catch((error: Error) => error);
    // Also when an expectation below fails first: no initdb of this test outlives it.
    onTestFinished(async () => {
      controller.abort(new Error("the test ended"));
      await running;
    });
    const backend = new RegExp(` --${phase}\\b`);
    let reached = false;
    for (let waited = 0; waited < 20_000 && !reached; waited += 10) {
      reached = (await processesInside(dir)).some((process) => backend.test(process.args));
      if (!reached) await sleep(10);
    }
    expect(reached, `initdb's --${phase} backend never ran`).toBe(true);
    // Its dynamic shared memory lives in the data folder (pg_dynshmem), removed with it: a backend
    // killed with SIGKILL leaves no /dev/shm/PostgreSQL.* file, which only a reboot would remove.
    const backendPids = (await processesInside(dir)).filter((process) => backend.test(process.args)).map((process) => process.pid);
    const maps = (await Promise.all(backendPids.map((pid) => readFile(`/proc/${pid}/maps`, "utf8").catch(() => "")))).join("\n");
    expect(maps.match(/\/dev\/shm\/PostgreSQL\.\d+/g) ?? []).toEqual([]);
    // initdb made the data folder (as in a run): its inode names the backend's segment.
    const inode = (await stat(dataDir, { bigint: true })).ino;
    await sleep(offsetMs);
    controller.abort(new Error("cancelled by the test"));
    expect(await running).toBeInstanceOf(Error);
    for (let waited = 0; waited < 5_000 && (await processesInside(dir)).length > 0; waited += 20) await sleep(20);
    expect(await processesInside(dir)).toEqual([]);
    expect(await segmentsKeyedBy(inode)).toEqual([]);
  });
});
