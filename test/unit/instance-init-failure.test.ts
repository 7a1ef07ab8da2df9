/**
 * How the compose runtime tells, from a PostgreSQL container's log, that an init script failed
 * (pure; the real containers are test/docker/compose-instances.test.ts and
 * test/docker/multi-instance-compose.test.ts), and which services need a failed instance.
 * The log lines are the entrypoint's own (docker-library/postgres `docker-entrypoint.sh`, which the
 * local stand-in follows) and psql's.
 */
import { describe, expect, it } from "vitest";
import { loadCompose } from "../../src/compose-file/load-compose-file.js";
import { initFailureInLog } from "../../src/runtime/compose-stack/instance-init-failure.js";
import { servicesNeeding } from "../../src/runtime/compose-stack/stack-readiness.js";
import { copyRealLayout } from "../helpers/real-layouts.js";

const ENTRYPOINT = "/usr/local/bin/docker-entrypoint.sh";
const firstStart = (...lines: string[]) => ["The files belonging to this database system will be owned by user \"postgres\".", ...lines].join("\n");

describe("initFailureInLog", () => {
  it("takes psql's file:line when an SQL script stopped on an error", () => {
    const log = firstStart(
      `${ENTRYPOINT}: running /docker-entrypoint-initdb.d/01-fee-collection.sql`,
      "CREATE ROLE",
      'psql:/docker-entrypoint-initdb.d/01-fee-collection.sql:12: ERROR:  extension "postgis" is not available',
    );
    expect(initFailureInLog(log, true)).toEqual({ script: "01-fee-collection.sql", line: 12, detail: 'ERROR: extension "postgis" is not available' });
  });

  it("still tells after a restart policy brought the container back up, the half-made folder's init skipped", () => {
    const log = firstStart(
      `${ENTRYPOINT}: running /docker-entrypoint-initdb.d/10-service-roles.sh`,
      "psql:<stdin>:1: ERROR:  role \"permits\" already exists",
      "",
      "PostgreSQL Database directory appears to contain a database; Skipping initialization",
      "LOG:  database system is ready to accept connections",
    );
    expect(initFailureInLog(log, false)).toEqual({ script: "10-service-roles.sh", detail: 'psql:<stdin>:1: ERROR: role "permits" already exists' });
  });

  it("names the last script the entrypoint ran when the container exited without completing the init", () => {
    const log = firstStart(`${ENTRYPOINT}: running /docker-entrypoint-initdb.d/01-ok.sql`, "CREATE DATABASE", `${ENTRYPOINT}: running /docker-entrypoint-initdb.d/02-setup.sh`);
    expect(initFailureInLog(log, true)).toEqual({ script: "02-setup.sh", detail: "the container's entrypoint stopped there, before the init process completed" });
  });

  it("says nothing of an init still running, or one that completed (an error a .sh script ignored included)", () => {
    const running = firstStart(`${ENTRYPOINT}: running /docker-entrypoint-initdb.d/02-setup.sh`);
    expect(initFailureInLog(running, false)).toBeUndefined();
    const completed = firstStart(
      `${ENTRYPOINT}: running /docker-entrypoint-initdb.d/02-setup.sh`,
      "psql:/docker-entrypoint-initdb.d/03-optional.sql:1: ERROR:  relation \"x\" does not exist",
      "",
      "PostgreSQL init process complete; ready for start up.",
    );
    expect(initFailureInLog(completed, false)).toBeUndefined();
    expect(initFailureInLog("", true)).toBeUndefined();
  });
});

describe("servicesNeeding", () => {
  it("is the failed instances and every service that depends on them, directly or not", async () => {
    await using copy = await copyRealLayout("multi-instance");
    await copy.edit("compose.yaml", (text) => text.replace("  document-store:\n", "  receipts:\n    image: node:20-alpine\n    depends_on: [fee-collection]\n\n  document-store:\n"));
    const compose = await loadCompose(copy.root, copy.root, { POSTGRES_PASSWORD: "x" });
    expect([...servicesNeeding(compose, ["postgres-fees"])].sort()).toEqual(["fee-collection", "postgres-fees", "receipts"]);
    expect([...servicesNeeding(compose, [])]).toEqual([]);
  });
});
