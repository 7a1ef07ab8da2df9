import { execa } from "execa";
import { chmod, cp, lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCompose } from "../../src/compose-file/load-compose-file.js";
import { UsageError } from "../../src/core/errors.js";
import { RecordingLogger } from "../../src/core/logger.js";
import type { Product } from "../../src/product/product.js";
import { productPostgres } from "../../src/product/product-postgres.js";
import type { Registry, Service } from "../../src/registry/model.js";
import { pendingCleanups, runCleanups } from "../../src/core/cleanup-registry.js";
import { EmbeddedRuntime } from "../../src/runtime/embedded/embedded-runtime.js";
import { hydrateLibrarySymlinks, preparePostgresBinaries } from "../../src/runtime/embedded/postgres-binaries.js";
import type { LiveEnvironment } from "../../src/runtime/runtime.js";
import { chooseTempRoot } from "../../src/sandbox/temp-root.js";
import { REPO_ROOT } from "../helpers/fixtures.js";

/**
 * A tiny product written to a temp dir: a postgres service (deliberately not named `postgres`)
 * mounting a folder of init scripts of every kind the official image knows, and three services:
 * one whose DATABASE_URL points at it, one pointing elsewhere, one stateless.
 */
const COMPOSE = `services:
  db:
    image: postgres:16-alpine
    environment:
      POSTGRES_USER: \${POSTGRES_USER:-owner}
      POSTGRES_PASSWORD: \${POSTGRES_PASSWORD}
      POSTGRES_DB: platform
      LEDGER_DB_PASSWORD: \${LEDGER_DB_PASSWORD}
      INTRUDER_DB_PASSWORD: intruder-secret-1
      GREETING: hello from compose
    volumes:
      - ./initdb:/docker-entrypoint-initdb.d
  ledger:
    image: node:20-alpine
    environment:
      DATABASE_URL: postgresql://ledger:\${LEDGER_DB_PASSWORD}@db:5432/ledger
  elsewhere:
    image: node:20-alpine
    environment:
      DATABASE_URL: postgresql://ledger:not-here@other-host:5432/ledger
  wrong-port:
    image: node:20-alpine
    environment:
      DATABASE_URL: postgresql://ledger:\${LEDGER_DB_PASSWORD}@db:5433/ledger
  gateway:
    image: node:20-alpine
`;

const INIT_SCRIPTS: Record<string, { text: string; mode?: number; gzip?: boolean }> = {
  "01-schema.sql": {
    text: `CREATE TABLE init_log (seq serial PRIMARY KEY, script text NOT NULL, detail text);
INSERT INTO init_log (script, detail) VALUES ('01-schema.sql', current_user || '@' || current_database());
\\getenv ledger_password LEDGER_DB_PASSWORD
CREATE ROLE ledger LOGIN PASSWORD :'ledger_password';
CREATE DATABASE ledger OWNER ledger;
REVOKE CONNECT ON DATABASE ledger FROM PUBLIC;
\\getenv intruder_password INTRUDER_DB_PASSWORD
CREATE ROLE intruder LOGIN PASSWORD :'intruder_password';
`,
  },
  "02-exec.sh": {
    mode: 0o755,
    text: `#!/bin/bash
set -e
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" --no-psqlrc \\
  -c "INSERT INTO init_log (script, detail) VALUES ('02-exec.sh', '$(id -un)|$GREETING')"
`,
  },
  "03-data.sql.gz": { gzip: true, text: "INSERT INTO init_log (script) VALUES ('03-data.sql.gz');\n" },
  "04-sourced.sh": {
    mode: 0o644,
    text: `docker_process_sql -c "INSERT INTO init_log (script, detail) VALUES ('04-sourced.sh', '$POSTGRES_DB')"\n`,
  },
  "05-notes.txt": { text: "THIS IS NOT SQL AND WOULD FAIL IF RUN;\n" },
  // Byte order, as the image's glob sorts: "10-" comes before "9-".
  "10-ten.sql": {
    text: `INSERT INTO init_log (script) VALUES ('10-ten.sql');
\\c ledger
CREATE TABLE entries (id int);
`,
  },
  "9-nine.sql": { text: "INSERT INTO init_log (script) VALUES ('9-nine.sql');\n" },
};

interface MiniProduct {
  readonly root: string;
  readonly product: Product;
}

function service(key: string, database: string): Service {
  return { key, hostname: key, port: 4000, database, dockerfile: `modules/${key}/Dockerfile`, routes: [`/${key}`], layer: "domain", label: key, line: 1, fieldLines: {} };
}

async function writeMiniProduct(scripts: Record<string, { text: string; mode?: number; gzip?: boolean }>, compose = COMPOSE): Promise<MiniProduct> {
  const root = await mkdtemp(join(tmpdir(), "civic-runtime-test-"));
  const dir = join(root, "products", "mini");
  await mkdir(join(dir, "initdb"), { recursive: true });
  await writeFile(join(dir, "docker-compose.yml"), compose);
  for (const [name, script] of Object.entries(scripts)) {
    const path = join(dir, "initdb", name);
    await writeFile(path, script.gzip ? gzipSync(script.text) : script.text);
    await chmod(path, script.mode ?? 0o644);
  }
  const registry: Registry = {
    path: join(dir, "infra", "service-registry.ts"),
    file: "products/mini/infra/service-registry.ts",
    services: [service("ledger", "ledger"), service("elsewhere", "elsewhere"), service("wrong-port", "wrong_port"), service("gateway", "")],
    source: "typescript",
  };
  const env = { PATH: process.env.PATH };
  const product: Product = { name: "mini", dir, repoRoot: root, registry, compose: await loadCompose(dir, root, env) };
  return { root, product };
}

/** The admin URL of the product's only instance. */
function adminOf(live: LiveEnvironment): string {
  expect(live.instances.size).toBe(1);
  return live.instances.values().next().value!.adminUrl;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function connectError(url: string): Promise<{ code?: string }> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    await client.end();
    return {};
  } catch (error) {
    return error as { code?: string };
  }
}

function withCredentials(url: string, user: string, password: string, database?: string): string {
  const parsed = new URL(url);
  parsed.username = user;
  parsed.password = password;
  if (database !== undefined) parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** The postmaster and every process under it, from `ps`. */
async function processTree(root: number): Promise<number[]> {
  const { stdout } = await execa("ps", ["-eo", "pid=,ppid="]);
  const pairs = stdout
    .trim()
    .split("\n")
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number]);
  const tree = [root];
  for (let i = 0; i < tree.length; i += 1) for (const [pid, ppid] of pairs) if (ppid === tree[i]) tree.push(pid);
  return tree;
}

/** Processes among `pids` that still run (zombies hold no port and no file, so they count as gone). */
async function running(pids: readonly number[]): Promise<number[]> {
  const { stdout } = await execa("ps", ["-o", "pid=,stat=", "-p", pids.join(",")], { reject: false });
  return stdout
    .trim()
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.trim().split(/\s+/)[1]?.startsWith("Z"))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolveAnswer) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolveAnswer(true);
    });
    socket.once("error", () => resolveAnswer(false));
  });
}

describe("embedded runtime: provisioning as the official postgres image", { timeout: 60_000 }, () => {
  let mini: MiniProduct;
  let runtime: EmbeddedRuntime;
  let live: LiveEnvironment;
  const logger = new RecordingLogger();

  /** The URL `live.reach` gives the service's first credential. */
  const reachOf = async (key: string) => {
    const credential = (await productPostgres(mini.product)).of(key)?.credentials[0];
    return credential && live.reach(credential);
  };

  beforeAll(async () => {
    mini = await writeMiniProduct(INIT_SCRIPTS);
    runtime = new EmbeddedRuntime({ product: mini.product, env: { PATH: process.env.PATH }, logger });
    live = await runtime.start(new AbortController().signal);
  }, 120_000);

  afterAll(async () => {
    await runtime?.stop();
    await rm(mini.root, { recursive: true, force: true });
  });

  it("creates POSTGRES_DB and makes POSTGRES_USER the bootstrap superuser, reachable through adminUrl", async () => {
    const url = new URL(adminOf(live));
    expect(url.hostname).toBe("127.0.0.1");
    expect(url.username).toBe("owner");
    expect(url.pathname).toBe("/platform");
    expect(url.password).toBe(mini.product.compose!.variables.get("POSTGRES_PASSWORD"));
    const [row] = await query<{ user: string; db: string; superuser: boolean; version: string }>(
      adminOf(live),
      "SELECT current_user AS user, current_database() AS db, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser, current_setting('server_version_num') AS version",
    );
    expect(row).toEqual({ user: "owner", db: "platform", superuser: true, version: expect.stringMatching(/^16\d{4}$/) });
  });

  it("runs the init scripts in the container's name order, *.sql into POSTGRES_DB, *.sh executed or sourced, *.sql.gz decompressed, other files ignored", async () => {
    const rows = await query<{ script: string; detail: string | null }>(adminOf(live), "SELECT script, detail FROM init_log ORDER BY seq");
    const osUser = process.getuid?.() === 0 ? "postgres" : userInfo().username;
    expect(rows).toEqual([
      { script: "01-schema.sql", detail: "owner@platform" },
      { script: "02-exec.sh", detail: `${osUser}|hello from compose` },
      { script: "03-data.sql.gz", detail: null },
      { script: "04-sourced.sh", detail: "platform" },
      { script: "10-ten.sql", detail: null },
      { script: "9-nine.sql", detail: null },
    ]);
    expect(logger.entries).toContainEqual({ level: "debug", message: expect.stringContaining("init: ignoring 05-notes.txt") });
  });

  it("lets scripts switch databases with \\c", async () => {
    const ledgerAdmin = withCredentials(adminOf(live), "owner", new URL(adminOf(live)).password, "ledger");
    const rows = await query<{ name: string }>(ledgerAdmin, "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'");
    expect(rows).toEqual([{ name: "entries" }]);
  });

  it("gives scripts the service's interpolated environment, so \\getenv finds a generated password", async () => {
    const url = (await reachOf("ledger"))!;
    expect(new URL(url).password).toBe(mini.product.compose!.variables.get("LEDGER_DB_PASSWORD"));
    const [row] = await query<{ user: string; db: string }>(url, "SELECT current_user AS user, current_database() AS db");
    expect(row).toEqual({ user: "ledger", db: "ledger" });
  });

  it("reaches only credentials bound to the instance at its port; a host naming no instance or another port is not reached here", async () => {
    const port = runtime.location!.port;
    const password = mini.product.compose!.variables.get("LEDGER_DB_PASSWORD");
    expect([...live.instances.keys()]).toEqual(["db"]);
    expect(live.instances.get("db")).toMatchObject({ name: "db", host: "127.0.0.1", port });
    expect(await reachOf("ledger")).toBe(`postgresql://ledger:${password}@127.0.0.1:${port}/ledger`);
    expect(await reachOf("elsewhere")).toBeUndefined();
    expect(await reachOf("wrong-port")).toBeUndefined();
    const postgres = await productPostgres(mini.product);
    expect(postgres.of("gateway")!.credentials).toEqual([]);
    expect(postgres.of("elsewhere")!.problems.map((problem) => problem.kind)).toEqual(["unknown-host"]);
    expect(postgres.of("wrong-port")!.problems.map((problem) => problem.kind)).toEqual(["wrong-port"]);
  });

  it("refuses a wrong password over TCP (28P01), for the superuser and for a service role", async () => {
    expect((await connectError(withCredentials(live.instances.get("db")!.adminUrl, "owner", "wrong-password"))).code).toBe("28P01");
    expect((await connectError(withCredentials((await reachOf("ledger"))!, "ledger", "wrong-password"))).code).toBe("28P01");
  });

  it("trusts no TCP connection: psql without a password is asked for one", async () => {
    const url = new URL(adminOf(live));
    const result = await execa("psql", ["--no-password", "--no-psqlrc", "-h", "127.0.0.1", "-p", url.port, "-U", "owner", "-d", "platform", "-c", "SELECT 1"], {
      reject: false,
      env: { PGPASSWORD: undefined },
    });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("no password supplied");
  });

  it("refuses a role with the right password but no CONNECT privilege (42501)", async () => {
    const intruder = withCredentials(adminOf(live), "intruder", "intruder-secret-1", "ledger");
    expect((await connectError(intruder)).code).toBe("42501");
    // The same credentials do log in where CONNECT was not revoked: the refusal is the privilege, not the password.
    expect(await query(withCredentials(adminOf(live), "intruder", "intruder-secret-1", "platform"), "SELECT 1 AS one")).toEqual([{ one: 1 }]);
  });

  it("is a throwaway server: services not running, scratch databases on the same server", async () => {
    expect(live.runtime).toBe("embedded");
    expect(live.servicesRunning).toBe(false);
    const db = live.instances.get("db")!;
    expect(await db.scratchAdminUrl()).toBe(db.adminUrl);
  });

  it("records how long each phase of the start took", () => {
    const timings = runtime.timings!;
    expect(timings.total).toBeGreaterThanOrEqual(timings.initdb + timings.restart);
    expect(logger.entries).toContainEqual({ level: "debug", message: expect.stringMatching(/^embedded PostgreSQL ready on 127\.0\.0\.1:\d+ in \d+ ms/) });
  });
});

describe("embedded runtime: the image's other settings", { timeout: 60_000 }, () => {
  it("reads POSTGRES_PASSWORD_FILE from the mounted secret, defaults user and database to postgres, and hides *_FILE from scripts", async () => {
    const compose = `services:
  postgres:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD_FILE: /run/secrets/db_password
    secrets:
      - db_password
    volumes:
      - ./initdb:/docker-entrypoint-initdb.d
secrets:
  db_password:
    file: ./db_password.txt
`;
    const mini = await writeMiniProduct(
      {
        "01-env.sh": {
          mode: 0o755,
          text: `#!/bin/bash
set -e
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" -c "CREATE TABLE seen AS SELECT '\${POSTGRES_PASSWORD_FILE:-unset}'::text AS file_var, '\${#POSTGRES_PASSWORD}'::int AS password_length"
`,
        },
      },
      compose,
    );
    try {
      await writeFile(join(mini.product.dir, "db_password.txt"), "from-the-secret-file\n");
      const product = { ...mini.product, compose: await loadCompose(mini.product.dir, mini.root, { PATH: process.env.PATH }) };
      const runtime = new EmbeddedRuntime({ product, env: { PATH: process.env.PATH }, logger: new RecordingLogger() });
      try {
        const live = await runtime.start(new AbortController().signal);
        const url = new URL(adminOf(live));
        expect([url.username, url.password, url.pathname]).toEqual(["postgres", "from-the-secret-file", "/postgres"]);
        expect(await query(adminOf(live), "SELECT file_var, password_length FROM seen")).toEqual([{ file_var: "unset", password_length: 20 }]);
      } finally {
        await runtime.stop();
      }
    } finally {
      await rm(mini.root, { recursive: true, force: true });
    }
  });

  it("honours POSTGRES_HOST_AUTH_METHOD=trust as the image does: then any password is accepted", async () => {
    const compose = `services:
  postgres:
    image: postgres:16
    environment:
      POSTGRES_USER: owner
      POSTGRES_HOST_AUTH_METHOD: trust
`;
    const mini = await writeMiniProduct({}, compose);
    const runtime = new EmbeddedRuntime({ product: mini.product, env: { PATH: process.env.PATH }, logger: new RecordingLogger() });
    try {
      const live = await runtime.start(new AbortController().signal);
      expect(adminOf(live)).toMatch(/^postgresql:\/\/owner@127\.0\.0\.1:\d+\/owner$/);
      expect(await query(withCredentials(adminOf(live), "owner", "anything-at-all"), "SELECT current_user AS user")).toEqual([{ user: "owner" }]);
    } finally {
      await runtime.stop();
      await rm(mini.root, { recursive: true, force: true });
    }
  });
});

/**
 * The postgres service's command line (`command: postgres -c name=value`), as the image's entrypoint
 * hands it to the server: the init-phase server and the final one take its settings, which win over
 * postgresql.conf and ALTER SYSTEM; the bootstrap superuser's password is hashed as initdb hashes it
 * (the image never gives initdb the command). Settings naming the container's places and files are
 * not applied, and say so; a setting PostgreSQL refuses is the product's mistake at its line.
 */
describe("embedded runtime: the postgres service's command", { timeout: 90_000 }, () => {
  const composeWith = (command: string) => `services:
  postgres:
    image: postgres:16
    environment:
      POSTGRES_USER: owner
      POSTGRES_PASSWORD: owner-secret-1
    command: ${command}
    volumes:
      - ./initdb:/docker-entrypoint-initdb.d
`;
  const started = async (scripts: Parameters<typeof writeMiniProduct>[0], command: string, use: (live: LiveEnvironment, logger: RecordingLogger) => Promise<void>) => {
    const mini = await writeMiniProduct(scripts, composeWith(command));
    const logger = new RecordingLogger();
    // With a cluster cache, as a real run has: the superuser's password is set on the first start, under the product's settings.
    const clusterCacheDir = join(mini.root, "cluster-cache");
    const runtime = new EmbeddedRuntime({ product: mini.product, env: { PATH: process.env.PATH }, logger, clusterCacheDir });
    try {
      await use(await runtime.start(new AbortController().signal), logger);
    } finally {
      await runtime.stop();
      await rm(mini.root, { recursive: true, force: true });
    }
  };

  it("applies its settings to the init scripts' server and the final one (plain SQL scripts); the superuser's password stays initdb's SCRAM", async () => {
    const scripts = {
      "01-app.sql": { text: "CREATE TABLE seen AS SELECT current_setting('max_connections') AS during_init;\nCREATE ROLE app LOGIN PASSWORD 'app-secret-1';\n" },
    };
    const command = "postgres -c max_connections=42 -c password_encryption=md5 -c shared_preload_libraries=pg_stat_statements -c config_file=/etc/postgresql/postgresql.conf -p 5433";
    await started(scripts, command, async (live, logger) => {
      const admin = adminOf(live);
      expect(await query(admin, "SELECT current_setting('max_connections') AS max, current_setting('shared_preload_libraries') AS preload")).toEqual([{ max: "42", preload: "pg_stat_statements" }]);
      expect(await query(admin, "SELECT during_init FROM seen")).toEqual([{ during_init: "42" }]);
      const hashes = await query<{ rolname: string; scheme: string }>(admin, "SELECT rolname, split_part(rolpassword, '$', 1) AS scheme FROM pg_authid WHERE rolname IN ('app', 'owner') ORDER BY rolname");
      expect(hashes.map((row) => [row.rolname, row.scheme.startsWith("md5") ? "md5" : row.scheme])).toEqual([["app", "md5"], ["owner", "SCRAM-SHA-256"]]);
      expect(logger.entries).toContainEqual({ level: "warn", message: expect.stringMatching(/command of "postgres" \(products\/mini\/docker-compose\.yml:7\) sets config_file; not applied by the embedded runtime: it names a file/) });
      expect(logger.entries).toContainEqual({ level: "info", message: expect.stringMatching(/sets port; not applied by the embedded runtime: where the server listens/) });
    });
  });

  it("applies them on the socket-only server that runs psql and shell init scripts, too", async () => {
    const scripts = {
      "01-record.sh": { text: '#!/bin/sh\nset -e\npsql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -c "CREATE TABLE seen AS SELECT current_setting(\'max_connections\') AS during_init"\n', mode: 0o755 },
    };
    await started(scripts, `["-c", "max_connections=43"]`, async (live) => {
      expect(await query(adminOf(live), "SELECT during_init, current_setting('max_connections') AS max FROM seen")).toEqual([{ during_init: "43", max: "43" }]);
    });
  });

  it("a command that is not postgres is not read, and says so: the server keeps the image's settings", async () => {
    await started({}, `["sh", "-c", "exec postgres -c max_connections=44"]`, async (live, logger) => {
      expect(await query(adminOf(live), "SELECT current_setting('max_connections') AS max")).toEqual([{ max: "300" }]);
      expect(logger.entries).toContainEqual({ level: "warn", message: expect.stringMatching(/command of "postgres" .* is not read: the command runs "sh", not postgres/) });
    });
  });

  it("a setting PostgreSQL refuses is a usage error at the command's line, as the container would exit", async () => {
    const failure = await started({}, "postgres -c max_connections=lots", async () => undefined).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(UsageError);
    expect((failure as UsageError).message).toMatch(/the command of "postgres" sets max_connections, which PostgreSQL refuses: invalid value for parameter "max_connections": "lots"/);
    expect((failure as UsageError).location).toMatchObject({ file: "products/mini/docker-compose.yml", line: 7 });
  });
});

describe("embedded runtime: connection slots", { timeout: 90_000 }, () => {
  const compose = `services:
  postgres:
    image: postgres:16
    environment:
      POSTGRES_USER: owner
      POSTGRES_PASSWORD: owner-secret-1
    volumes:
      - ./initdb:/docker-entrypoint-initdb.d
`;

  /** Opens `count` connections at once and closes them; the first refusal's message, or undefined. */
  async function refusalAmong(url: string, count: number): Promise<string | undefined> {
    const clients = Array.from({ length: count }, () => new pg.Client({ connectionString: url }));
    const connected = await Promise.allSettled(clients.map((client) => client.connect()));
    await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
    const refused = connected.find((result): result is PromiseRejectedResult => result.status === "rejected");
    return refused && (refused.reason as Error).message;
  }

  it("takes 300 connections, room for the migrations check's two per stateful service, where the image's initdb chose 100", async () => {
    const mini = await writeMiniProduct({}, compose);
    const runtime = new EmbeddedRuntime({ product: mini.product, env: { PATH: process.env.PATH }, logger: new RecordingLogger() });
    try {
      const live = await runtime.start(new AbortController().signal);
      expect(await query(adminOf(live), "SELECT current_setting('max_connections') AS max")).toEqual([{ max: "300" }]);
      expect(await refusalAmong(adminOf(live), 150)).toBeUndefined();
    } finally {
      await runtime.stop();
      await rm(mini.root, { recursive: true, force: true });
    }
  });

  it("keeps the product's own max_connections: an init script's ALTER SYSTEM wins, as it would in the image", async () => {
    const mini = await writeMiniProduct({ "01-connections.sql": { text: "ALTER SYSTEM SET max_connections = 40;\n" } }, compose);
    const runtime = new EmbeddedRuntime({ product: mini.product, env: { PATH: process.env.PATH }, logger: new RecordingLogger() });
    try {
      const live = await runtime.start(new AbortController().signal);
      expect(await query(adminOf(live), "SELECT current_setting('max_connections') AS max")).toEqual([{ max: "40" }]);
      expect(await refusalAmong(adminOf(live), 60)).toMatch(/too many clients/);
    } finally {
      await runtime.stop();
      await rm(mini.root, { recursive: true, force: true });
    }
  });
});

describe("embedded runtime: stop and failures leave nothing behind", { timeout: 60_000 }, () => {
  it("stop() ends the server and its backends, frees the port, removes the temp dir, and may be called again", async () => {
    const mini = await writeMiniProduct({});
    try {
      const runtime = new EmbeddedRuntime({ product: mini.product, env: { PATH: process.env.PATH }, logger: new RecordingLogger() });
      const before = pendingCleanups();
      const live = await runtime.start(new AbortController().signal);
      expect(pendingCleanups()).toBe(before + 1);
      const { tempDir, pid, port } = runtime.location!;
      // An open session, so there is a backend process to outlive the postmaster if stop were sloppy.
      const session = new pg.Client({ connectionString: adminOf(live) });
      session.on("error", () => undefined);
      await session.connect();
      const pids = await processTree(pid!);
      expect(pids.length).toBeGreaterThan(1);
      expect(await exists(tempDir)).toBe(true);
      expect(await portAnswers(port)).toBe(true);

      await runtime.stop();
      expect(await running(pids)).toEqual([]);
      expect(await portAnswers(port)).toBe(false);
      expect(await exists(tempDir)).toBe(false);
      expect(pendingCleanups()).toBe(before);
      await runtime.stop();
      expect(runtime.location).toBeUndefined();
    } finally {
      await rm(mini.root, { recursive: true, force: true });
    }
  });

  it("stop() ends a server whose cluster it removes by an immediate shutdown: no shutdown checkpoint to write what the run dirtied", async () => {
    const mini = await writeMiniProduct({});
    try {
      const runtime = new EmbeddedRuntime({ product: mini.product, env: { PATH: process.env.PATH }, logger: new RecordingLogger() });
      const live = await runtime.start(new AbortController().signal);
      // The session hears why its backend ends.
      const session = new pg.Client({ connectionString: adminOf(live) });
      const told: string[] = [];
      session.on("error", (error) => told.push(error.message));
      await session.connect();
      const ended = new Promise<void>((resolveEnd) => session.on("end", () => resolveEnd()));
      await runtime.stop();
      await ended;
      // What a fast shutdown tells every session first; an immediate one may not reach the client before its socket closes.
      expect(told.length).toBeGreaterThan(0);
      expect(told).not.toContain("terminating connection due to administrator command");
    } finally {
      await rm(mini.root, { recursive: true, force: true });
    }
  });

  it("reports a failing init script as a UsageError naming the script and psql's line, and removes the half-built server", async () => {
    const mini = await writeMiniProduct({
      "01-ok.sql": { text: "CREATE TABLE fine (id int);\n" },
      "02-broken.sql": { text: "SELECT 1;\n\nINSERT INTO no_such_table VALUES (1);\n" },
      "03-never.sql": { text: "CREATE TABLE never_reached (id int);\n" },
    });
    try {
      const runtime = new EmbeddedRuntime({ product: mini.product, env: { PATH: process.env.PATH }, logger: new RecordingLogger() });
      const before = pendingCleanups();
      const error = await runtime.start(new AbortController().signal).then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expect(error).toBeInstanceOf(UsageError);
      const usage = error as UsageError;
      expect(usage.location).toEqual({ file: "products/mini/initdb/02-broken.sql", line: 3 });
      expect(usage.message).toBe(
        'init script 02-broken.sql failed, as it would in the postgres container\'s first start: ERROR: relation "no_such_table" does not exist',
      );
      expect(runtime.location).toBeUndefined();
      expect(pendingCleanups()).toBe(before);
    } finally {
      await rm(mini.root, { recursive: true, force: true });
    }
  });

  it("reports a failing *.sh script with its last output lines", async () => {
    const mini = await writeMiniProduct({ "01-fail.sh": { mode: 0o755, text: "#!/bin/sh\necho 'cannot seed: missing SEED_URL' >&2\nexit 4\n" } });
    try {
      const runtime = new EmbeddedRuntime({ product: mini.product, env: { PATH: process.env.PATH }, logger: new RecordingLogger() });
      const error = (await runtime.start(new AbortController().signal).catch((failure: unknown) => failure)) as UsageError;
      expect(error).toBeInstanceOf(UsageError);
      expect(error.location).toEqual({ file: "products/mini/initdb/01-fail.sh" });
      expect(error.message).toBe("init script 01-fail.sh failed, as it would in the postgres container's first start:\ncannot seed: missing SEED_URL");
    } finally {
      await rm(mini.root, { recursive: true, force: true });
    }
  });
});

/** A process that starts the runtime, prints where it lives, and waits, with the CLI door's signal handling. */
const CHILD_SCRIPT = `
import { loadCompose } from ${JSON.stringify(join(REPO_ROOT, "src/compose-file/load-compose-file.ts"))};
import { silentLogger } from ${JSON.stringify(join(REPO_ROOT, "src/core/logger.ts"))};
import { runCleanups } from ${JSON.stringify(join(REPO_ROOT, "src/core/cleanup-registry.ts"))};
import { EmbeddedRuntime } from ${JSON.stringify(join(REPO_ROOT, "src/runtime/embedded/embedded-runtime.ts"))};

const [productDir, repoRoot] = process.argv.slice(2);
const env = { PATH: process.env.PATH };
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => void runCleanups().finally(() => process.exit(signal === "SIGINT" ? 130 : 143)));
}
const compose = await loadCompose(productDir, repoRoot, env);
const product = { name: "mini", dir: productDir, repoRoot, registry: { path: "", file: "", services: [] }, compose };
const runtime = new EmbeddedRuntime({ product, env, logger: silentLogger });
await runtime.start(new AbortController().signal);
process.stdout.write(JSON.stringify(runtime.location) + "\\n");
setInterval(() => undefined, 60_000);
`;

describe("embedded runtime: a process killed by a signal cleans up", { timeout: 90_000 }, () => {
  for (const [signal, exitCode] of [["SIGTERM", 143], ["SIGINT", 130]] as const) {
    it(`${signal} leaves no postgres process, no listening port and no temp dir`, async () => {
      const mini = await writeMiniProduct({ "01-table.sql": { text: "CREATE TABLE t (id int);\n" } });
      const script = join(mini.root, "child.ts");
      await writeFile(script, CHILD_SCRIPT);
      try {
        const child = execa(join(REPO_ROOT, "node_modules/.bin/jiti"), [script, mini.product.dir, mini.root], { reject: false, buffer: { stdout: false } });
        const location = await new Promise<{ tempDir: string; pid: number; port: number }>((resolveLine, reject) => {
          let text = "";
          child.stdout.on("data", (chunk: Buffer) => {
            text += chunk.toString();
            if (text.includes("\n")) resolveLine(JSON.parse(text.split("\n")[0]!));
          });
          void child.then((result) => reject(new Error(`child exited before starting: ${result.stderr}`)));
        });
        const pids = await processTree(location.pid);
        expect(await portAnswers(location.port)).toBe(true);

        child.kill(signal);
        const result = await child;
        expect(result.exitCode).toBe(exitCode);
        expect(await running(pids)).toEqual([]);
        expect(await portAnswers(location.port)).toBe(false);
        expect(await exists(location.tempDir)).toBe(false);
      } finally {
        await rm(mini.root, { recursive: true, force: true });
      }
    });
  }
});

/**
 * The dynamic shared memory segments the processes `pids` have mapped: PostgreSQL's POSIX segments
 * (`/dev/shm/PostgreSQL.<n>`, its default dynamic_shared_memory_type) or its mmap files
 * (`<data dir>/pg_dynshmem/mmap.<n>`). Read from each process's own memory map: the server's own
 * segments only, whatever other servers on the machine hold.
 */
async function mappedSegments(pids: readonly number[]): Promise<string[]> {
  const segments = new Set<string>();
  for (const pid of pids) {
    const maps = await readFile(`/proc/${pid}/maps`, "utf8").catch(() => "");
    for (const path of maps.matchAll(/\s(\/dev\/shm\/PostgreSQL\.\S+|\/\S*\/pg_dynshmem\/\S+)$/gm)) segments.add(path[1]!);
  }
  return [...segments].sort();
}

/** The System V segment a postmaster names on line 7 of its postmaster.pid (key and id), when the kernel still has it. */
async function systemVSegment(dataDir: string): Promise<{ id: string; attached: number } | undefined> {
  const [, id] = ((await readFile(join(dataDir, "postmaster.pid"), "utf8")).split("\n")[6] ?? "").trim().split(/\s+/);
  const row = (await readFile("/proc/sysvipc/shm", "utf8")).split("\n").map((line) => line.trim().split(/\s+/)).find((fields) => fields[1] === id);
  return row && { id: id!, attached: Number(row[6]) };
}

describe("embedded runtime: a server killed with SIGKILL (the OOM killer, a hard cancel) leaves nothing outside its folder", { timeout: 90_000 }, () => {
  it("its dynamic shared memory is in the cluster folder, removed with it: no /dev/shm/PostgreSQL.* segment of its own left, no orphaned System V segment", async () => {
    const mini = await writeMiniProduct({ "01-table.sql": { text: "CREATE TABLE t (id int);\n" } });
    const runtime = new EmbeddedRuntime({ product: mini.product, env: { PATH: process.env.PATH }, logger: new RecordingLogger() });
    let segments: string[] = [];
    let tempDir = "";
    let segment: { id: string; attached: number } | undefined;
    try {
      const live = await runtime.start(new AbortController().signal);
      tempDir = runtime.location!.tempDir;
      segment = await systemVSegment(join(tempDir, "data"));
      expect(segment?.attached).toBeGreaterThan(0);
      // A parallel query takes segments of its own, beside the postmaster's control segment.
      await query(adminOf(live), "SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0; SELECT count(*) FROM pg_class");
      const pids = await processTree(runtime.location!.pid!);
      segments = await mappedSegments(pids);
      process.kill(runtime.location!.pid!, "SIGKILL");
      for (let waited = 0; waited < 10_000 && (await running(pids)).length > 0; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
      // Its backends follow the postmaster within a moment; what SIGKILL leaves is what only the postmaster removes.
      for (const pid of await running(pids)) process.kill(pid, "SIGKILL");
      // What the kernel keeps after the postmaster is gone: its interlock segment, attached by nobody.
      expect(await systemVSegment(join(runtime.location!.tempDir, "data"))).toEqual({ id: segment!.id, attached: 0 });
    } finally {
      await runtime.stop().catch(() => undefined);
      await rm(mini.root, { recursive: true, force: true });
    }
    // The postmaster's control segment at least, every segment inside the cluster's folder…
    expect(segments.length, "the server mapped its dynamic shared memory").toBeGreaterThan(0);
    expect(segments.filter((path) => !path.startsWith(`${tempDir}/`))).toEqual([]);
    // …and none of them outlives the server and its folder.
    const left: string[] = [];
    for (const path of segments) if (await exists(path)) left.push(path);
    expect(left).toEqual([]);
    // The System V segment: removed with the folder, by the id its postmaster.pid named.
    const ids = (await readFile("/proc/sysvipc/shm", "utf8")).split("\n").map((line) => line.trim().split(/\s+/)[1]);
    expect(ids).not.toContain(segment!.id);
  });
});

describe("embedded runtime: npm refused the platform package's install script", { timeout: 90_000 }, () => {
  it("creates the missing library symlinks from native/pg-symlinks.json and starts", async () => {
    const installed = dirname((await preparePostgresBinaries()).nativeDir);
    const copyRoot = await mkdtemp(join(tmpdir(), "civic-pg-package-"));
    // The server runs as an unprivileged user when we are root: it must reach the copy.
    await chmod(copyRoot, 0o755);
    const packageDir = join(copyRoot, "linux-x64");
    const mini = await writeMiniProduct({});
    try {
      await cp(installed, packageDir, { recursive: true, verbatimSymlinks: true });
      const links = JSON.parse(await readFile(join(packageDir, "native", "pg-symlinks.json"), "utf8")) as { source: string; target: string }[];
      for (const link of links) await rm(join(packageDir, link.target));
      expect(await exists(join(packageDir, "native/lib/libpq.so.5"))).toBe(false);

      const runtime = new EmbeddedRuntime({ product: mini.product, env: { PATH: process.env.PATH }, logger: new RecordingLogger(), packageDir });
      try {
        const live = await runtime.start(new AbortController().signal);
        expect(await query(adminOf(live), "SELECT current_setting('server_version_num')::int / 10000 AS major")).toEqual([{ major: 16 }]);
      } finally {
        await runtime.stop();
      }
      for (const link of links) expect((await lstat(join(packageDir, link.target))).isSymbolicLink()).toBe(true);
      expect(await readlink(join(packageDir, "native/lib/libpq.so.5"))).toBe("libpq.so.5.16");
      expect((await stat(join(packageDir, "native/lib/libpq.so.5"))).isFile()).toBe(true);

      // Several processes hydrating at once (or again) neither fail nor duplicate anything.
      for (const link of links.slice(0, 4)) await rm(join(packageDir, link.target));
      const created = await Promise.all([hydrateLibrarySymlinks(packageDir), hydrateLibrarySymlinks(packageDir), hydrateLibrarySymlinks(packageDir)]);
      expect(created.reduce((sum, count) => sum + count, 0)).toBe(4);
      expect(await hydrateLibrarySymlinks(packageDir)).toBe(0);
    } finally {
      await rm(copyRoot, { recursive: true, force: true });
      await rm(mini.root, { recursive: true, force: true });
    }
  });
});

// Keep the registry of cleanups empty for whatever runs next in this worker.
afterAll(async () => {
  await runCleanups();
});

describe("embedded runtime: interrupted while starting", { timeout: 60_000 }, () => {
  it("runCleanups() during initdb (a Ctrl-C in the CLI) makes start fail, and once the cleanups resolve no server and no temp dir remain", async () => {
    const mini = await writeMiniProduct({ "01-first.sql": { text: "CREATE TABLE first (id int);\n" } });
    try {
      let tempDir: string | undefined;
      let cleanups: Promise<unknown[]> | undefined;
      class InterruptingLogger extends RecordingLogger {
        override debug(message: string): void {
          super.debug(message);
          const dir = /cluster and socket in (\S+),/.exec(message)?.[1];
          if (dir && !cleanups) {
            tempDir = dir;
            cleanups = runCleanups();
          }
        }
      }
      const runtime = new EmbeddedRuntime({ product: mini.product, env: { PATH: process.env.PATH }, logger: new InterruptingLogger() });
      await expect(runtime.start(new AbortController().signal)).rejects.toThrow();
      expect(await cleanups).toEqual([]);
      expect(await exists(tempDir!)).toBe(false);
      const { stdout } = await execa("ps", ["-eo", "args="]);
      expect(stdout.split("\n").filter((args) => args.includes(tempDir!))).toEqual([]);
    } finally {
      await rm(mini.root, { recursive: true, force: true });
    }
  });

  it("an abort during the init scripts rejects start with the abort reason and leaves no server and no temp dir", async () => {
    const mini = await writeMiniProduct({
      "01-first.sql": { text: "CREATE TABLE first (id int);\n" },
      "02-second.sql": { text: "CREATE TABLE second (id int);\n" },
    });
    try {
      const controller = new AbortController();
      const reason = new Error("interrupted by SIGINT");
      let tempDir: string | undefined;
      // Aborts exactly when the first init script starts, as a Ctrl-C at that moment would.
      class AbortingLogger extends RecordingLogger {
        override debug(message: string): void {
          super.debug(message);
          tempDir ??= /cluster and socket in (\S+),/.exec(message)?.[1];
          if (message === "init: running 01-first.sql") controller.abort(reason);
        }
      }
      const runtime = new EmbeddedRuntime({ product: mini.product, env: { PATH: process.env.PATH }, logger: new AbortingLogger() });
      const before = pendingCleanups();
      await expect(runtime.start(controller.signal)).rejects.toBe(reason);
      expect(tempDir).toMatch(/civic-conformance-pg-/);
      expect(await exists(tempDir!)).toBe(false);
      const { stdout } = await execa("ps", ["-eo", "args="]);
      expect(stdout.split("\n").filter((args) => args.includes(tempDir!))).toEqual([]);
      expect(pendingCleanups()).toBe(before);
    } finally {
      await rm(mini.root, { recursive: true, force: true });
    }
  });
});

describe("embedded runtime: where the throwaway cluster lives", () => {
  it("prefers a roomy /dev/shm (RAM) unless the user set TMPDIR", async () => {
    const { statfs } = await import("node:fs/promises");
    const shm = await statfs("/dev/shm").catch(() => undefined);
    const roomy = shm !== undefined && shm.bavail * shm.bsize >= 1024 ** 3;
    expect((await chooseTempRoot({ PATH: process.env.PATH })).root).toBe(roomy ? "/dev/shm" : tmpdir());
    expect((await chooseTempRoot({ TMPDIR: tmpdir() })).root).toBe(tmpdir());
  });
});
