/**
 * How the embedded server's postmaster is stopped, read from the server's own log (what
 * `PostgresProcess.log()` keeps of its stderr): a clean stop is PostgreSQL's fast shutdown, which
 * ends with a shutdown checkpoint (every buffer the run dirtied is written out, about 150 ms at the
 * end of a 6-service run); a stop whose cluster is removed next (`discard`) is an immediate shutdown.
 */
import { chown, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { preparePostgresBinaries, type PostgresBinaries } from "../../src/runtime/embedded/postgres-binaries.js";
import { PostgresProcess, runInitdb } from "../../src/runtime/embedded/postgres-process.js";
import { resolveUnprivilegedUser, type OsUser } from "../../src/sandbox/os-user.js";
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
