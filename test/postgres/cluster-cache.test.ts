/**
 * The embedded runtime's pristine-cluster cache (runtime/embedded/cluster-cache.ts): a server whose
 * cluster was copied from the cache must be indistinguishable from one that ran initdb — the same
 * roles (the bootstrap password set as initdb's --pwfile sets it: SCRAM, the same
 * password_encryption), databases, ACLs, memberships, per-database catalogs and settings — and
 * give the same verdicts. The cache must be made atomically, survive concurrent runs, and never be
 * used when it is partial, altered, or not this user's alone.
 */
import { chmod, chown, mkdir, mkdtemp, readdir, rm, truncate, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { RecordingLogger } from "../../src/core/logger.js";
import type { Report } from "../../src/core/report-model.js";
import type { CheckSettings } from "../../src/core/settings.js";
import { runCheck } from "../../src/pipeline/check-pipeline.js";
import { fingerprintCluster, fingerprintDatabase } from "../../src/postgres/catalog-fingerprint.js";
import { loadProduct } from "../../src/product/load-product.js";
import { EmbeddedRuntime } from "../../src/runtime/embedded/embedded-runtime.js";
import type { LiveEnvironment } from "../../src/runtime/runtime.js";
import { resolveUnprivilegedUser } from "../../src/sandbox/os-user.js";
import { copyFixture, fixtureProduct, REPO_ROOT } from "../helpers/fixtures.js";
import { copyRealLayout, registrySource } from "../helpers/real-layouts.js";

const ENV = { PATH: process.env.PATH };
const temps: string[] = [];
afterAll(async () => {
  await Promise.all(temps.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `civic-cluster-cache-${prefix}-`));
  temps.push(dir);
  return dir;
}

/** Settings that differ per server start by nature, not by how the cluster was made. */
const PER_START_SETTINGS = ["port", "unix_socket_directories", "data_directory", "config_file", "hba_file", "ident_file", "listen_addresses"];

/** Everything a client can see of an instance that initdb decides: catalogs, settings, the bootstrap password's form. */
async function observable(adminUrl: string): Promise<unknown> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const rows = async (sql: string) => (await admin.query(sql)).rows;
    const databases = (await rows("SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname")).map((row) => row.datname as string);
    const perDatabase: Record<string, unknown> = {};
    for (const database of databases) {
      const client = new pg.Client({ connectionString: adminUrl, database });
      await client.connect();
      try {
        perDatabase[database] = {
          fingerprint: [...(await fingerprintDatabase(client)).entries()].sort(),
          // A temporary schema is named after the backend slot of the session that first made one (the init script's
          // pg_temp.require_password): which slot that is depends on which other sessions were still open, not on initdb.
          schemas: (
            await client.query(
              String.raw`SELECT regexp_replace(nspname, '^(pg_temp|pg_toast_temp)_\d+$', '\1_N') AS nspname, pg_get_userbyid(nspowner) AS owner, nspacl::text AS acl
                 FROM pg_namespace ORDER BY 1`,
            )
          ).rows,
          relations: (await client.query("SELECT count(*)::int AS n, max(oid)::int AS max_oid FROM pg_class")).rows,
        };
      } finally {
        await client.end();
      }
    }
    return {
      // A password's digest differs between any two starts (SCRAM salts are random): its presence is compared, and its form below.
      cluster: [...(await fingerprintCluster(admin)).entries()].sort().map(([key, entry]) => [key, { ...entry, value: entry.value.replace(/password [0-9a-f]{8}$/, "password set") }]),
      roles: await rows(
        `SELECT oid::int, rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls, rolconnlimit, rolvaliduntil,
                regexp_replace(rolpassword, '^(SCRAM-SHA-256\\$\\d+):.*$', '\\1') AS password_form
           FROM pg_authid ORDER BY rolname`,
      ),
      databases: await rows(
        `SELECT oid::int, datname, pg_get_userbyid(datdba) AS owner, pg_encoding_to_char(encoding) AS encoding, datlocprovider, datcollate, datctype,
                datistemplate, datallowconn, datconnlimit, datacl::text AS acl FROM pg_database ORDER BY datname`,
      ),
      memberships: await rows("SELECT roleid::regrole::text AS role, member::regrole::text AS member, grantor::regrole::text AS grantor, admin_option FROM pg_auth_members ORDER BY 1, 2"),
      roleSettings: await rows("SELECT setdatabase, setrole::regrole::text AS role, setconfig FROM pg_db_role_setting ORDER BY 1, 2"),
      settings: (await admin.query("SELECT name, setting, source FROM pg_settings WHERE NOT (name = ANY($1)) ORDER BY name", [PER_START_SETTINGS])).rows,
      hba: await rows("SELECT line_number, type, database, user_name, address, netmask, auth_method, options, error FROM pg_hba_file_rules ORDER BY line_number"),
      perDatabase,
    };
  } finally {
    await admin.end();
  }
}

/** Starts the embedded runtime on `productDir` with the given cache ("" for none), returns what each instance shows. */
async function startAndObserve(productDir: string, repoRoot: string, clusterCacheDir: string, logger = new RecordingLogger()): Promise<Record<string, unknown>> {
  const product = await loadProduct(productDir, repoRoot, { composeEnv: ENV });
  const runtime = new EmbeddedRuntime({ product, env: ENV, logger, clusterCacheDir });
  try {
    const live: LiveEnvironment = await runtime.start(AbortSignal.timeout(170_000));
    const seen: Record<string, unknown> = {};
    for (const [name, instance] of live.instances) seen[name] = await observable(instance.adminUrl);
    return seen;
  } finally {
    await runtime.stop();
  }
}

const propertyTax = { dir: fixtureProduct("property-tax"), root: join(REPO_ROOT, "fixtures", "property-tax") };

/** The verdicts of a report: each check's status and its findings' rule, service and place. */
function verdicts(report: Report): Record<string, { status: string; findings: string[] }> {
  return Object.fromEntries(
    report.checks.map((check) => [
      check.id,
      { status: check.status, findings: check.findings.map((finding) => `${finding.rule} ${finding.service ?? ""} ${finding.file ?? ""}:${finding.line ?? ""}`).sort() },
    ]),
  );
}

async function checkWith(productPath: string, cwd: string, env: Record<string, string | undefined>): Promise<Report> {
  const settings: CheckSettings = {
    productPath,
    runtime: "embedded",
    only: [],
    skip: [],
    outputs: [],
    commandTimeoutMs: 120_000,
    concurrency: 8,
    verbose: false,
    cwd,
    env: { ...ENV, ...env },
  };
  return (await runCheck(settings, { logger: new RecordingLogger(), signal: new AbortController().signal })).report;
}

describe("pristine cluster cache: a cached start equals a fresh initdb", { timeout: 600_000 }, () => {
  it("property-tax: identical catalogs, roles, ACLs and settings from initdb, from a cache miss and from a cache hit", async () => {
    const cache = await tempDir("equal");
    const fresh = await startAndObserve(propertyTax.dir, propertyTax.root, "");
    const missLogger = new RecordingLogger();
    const miss = await startAndObserve(propertyTax.dir, propertyTax.root, cache, missLogger);
    expect(missLogger.text()).toContain("cluster cache: kept a pristine cluster");
    const hitLogger = new RecordingLogger();
    const hit = await startAndObserve(propertyTax.dir, propertyTax.root, cache, hitLogger);
    expect(hitLogger.text()).toContain("cluster copied from the cache");
    expect(miss).toEqual(fresh);
    expect(hit).toEqual(fresh);
    // The bootstrap password is a SCRAM verifier, as initdb's --pwfile makes it (and the admin URL logged in with it over TCP).
    const roles = (fresh as { postgres: { roles: Array<{ oid: number; password_form: string | null }> } }).postgres.roles;
    // OID 10: the bootstrap superuser.
    expect(roles.find((role) => role.oid === 10)?.password_form).toBe("SCRAM-SHA-256$4096");
  });

  it("multi-instance: every instance identical from initdb and from the cache", async () => {
    await using copy = await copyRealLayout("multi-instance");
    const cache = await tempDir("instances");
    const fresh = await startAndObserve(copy.root, copy.root, "");
    await startAndObserve(copy.root, copy.root, cache);
    const hit = await startAndObserve(copy.root, copy.root, cache);
    expect(Object.keys(hit).sort()).toEqual(["postgres", "postgres-docs", "postgres-fees"]);
    expect(hit).toEqual(fresh);
  });

  it("gives the same verdicts on fixtures/property-tax and fixtures/multi-instance with the cache as with CIVIC_NO_CLUSTER_CACHE=1", async () => {
    const cache = await tempDir("verdicts");
    await using taxCopy = await copyFixture("property-tax");
    await using instancesCopy = await copyRealLayout("multi-instance");
    for (const [productPath, cwd] of [
      [taxCopy.product, taxCopy.root],
      [instancesCopy.root, instancesCopy.root],
    ] as const) {
      await mkdir(cache, { recursive: true });
      const without = verdicts(await checkWith(productPath, cwd, { CIVIC_NO_CLUSTER_CACHE: "1", CIVIC_CLUSTER_CACHE_DIR: cache }));
      expect(await readdir(cache), "CIVIC_NO_CLUSTER_CACHE=1 must not make the cache").toEqual([]);
      const first = verdicts(await checkWith(productPath, cwd, { CIVIC_CLUSTER_CACHE_DIR: cache }));
      const cached = verdicts(await checkWith(productPath, cwd, { CIVIC_CLUSTER_CACHE_DIR: cache }));
      expect(first).toEqual(without);
      expect(cached).toEqual(without);
      expect(Object.values(without).some((check) => check.status === "pass")).toBe(true);
      await rm(cache, { recursive: true, force: true });
    }
  });
});

describe("pristine cluster cache: made atomically, used only when whole and this user's", { timeout: 600_000 }, () => {
  async function start(cache: string): Promise<{ text: string; entries: string[] }> {
    const logger = new RecordingLogger();
    await startAndObserve(propertyTax.dir, propertyTax.root, cache, logger);
    return { text: logger.text(), entries: await readdir(cache) };
  }

  it("concurrent runs on an empty cache all start and leave one whole entry, no temp copy", async () => {
    const cache = await tempDir("concurrent");
    const product = await loadProduct(propertyTax.dir, propertyTax.root, { composeEnv: ENV });
    const runtimes = Array.from({ length: 3 }, () => new EmbeddedRuntime({ product, env: ENV, logger: new RecordingLogger(), clusterCacheDir: cache }));
    try {
      const lives = await Promise.all(runtimes.map((runtime) => runtime.start(AbortSignal.timeout(170_000))));
      for (const live of lives) expect(live.instances.size).toBe(1);
    } finally {
      await Promise.all(runtimes.map((runtime) => runtime.stop()));
    }
    const entries = await readdir(cache);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatch(/^pg-16\./);
    expect((await start(cache)).text).toContain("cluster copied from the cache");
  });

  it("keeps at most 12 entries, the least recently used removed first", async () => {
    const cache = await tempDir("prune");
    const old = new Date(Date.now() - 86_400_000);
    for (let i = 0; i < 12; i++) {
      await mkdir(join(cache, `pg-16.0-old${i}`));
      await utimes(join(cache, `pg-16.0-old${i}`), new Date(old.getTime() + i * 1000), new Date(old.getTime() + i * 1000));
    }
    const { text, entries } = await start(cache);
    expect(text).toContain("removed pg-16.0-old0, the least recently used of more than 12 entries");
    expect(entries).toHaveLength(12);
    expect(entries).not.toContain("pg-16.0-old0");
    expect(entries.filter((name) => !name.startsWith("pg-16.0-old"))).toHaveLength(1);
  });

  it("a partial entry (no manifest) and a truncated file are detected, not used, and made again", async () => {
    const cache = await tempDir("corrupt");
    const [entry] = (await start(cache)).entries;
    await rm(join(cache, entry!, "civic-cluster.json"));
    const partial = await start(cache);
    expect(partial.text).toMatch(/is not used \(no readable manifest: a partial entry\); it is removed and made again/);
    expect(partial.text).toContain("kept a pristine cluster");
    expect(partial.entries).toEqual([entry]);

    await truncate(join(cache, entry!, "global", "pg_control"), 100);
    const truncated = await start(cache);
    expect(truncated.text).toMatch(/is not used \(global\/pg_control differs from its manifest\)/);
    expect(truncated.entries).toEqual([entry]);
    expect((await start(cache)).text).toContain("cluster copied from the cache");
  });

  it("an entry planted by another user, or a cache folder others may write to, is never used", async () => {
    const other = await resolveUnprivilegedUser(process.getuid?.());
    const cache = await tempDir("planted");
    const [entry] = (await start(cache)).entries;
    if (process.getuid?.() === 0) {
      // As root the other local user is the server's own account: an entry it owns is not trusted.
      await chown(join(cache, entry!), other.uid!, other.gid!);
      const planted = await start(cache);
      expect(planted.text).toMatch(/is not used \(the entry is owned by uid \d+, not by this user \(uid 0\)\)/);
      expect(planted.text).not.toContain("cluster copied from the cache");
    }
    await chmod(cache, 0o777);
    const open = await start(cache);
    expect(open.text).toMatch(/the cluster cache .* is not used \(the folder is writable by other users \(mode 777\)\); every embedded server runs initdb/);
    expect(open.text).not.toContain("cluster copied from the cache");
    expect(open.text).not.toContain("kept a pristine cluster");
  });
});

describe("plain SQL init scripts over the protocol, without the image's restart unless a script changed what it reads", { timeout: 300_000 }, () => {
  async function writeProduct(root: string, initScript: string | undefined): Promise<void> {
    await mkdir(join(root, "init"), { recursive: true });
    if (initScript !== undefined) await writeFile(join(root, "init", "01-init.sql"), initScript);
    await writeFile(
      join(root, "compose.yaml"),
      [
        "services:",
        "  postgres:",
        "    image: postgres:16-alpine",
        "    environment:",
        "      POSTGRES_USER: owner",
        "      POSTGRES_PASSWORD: owner-pw-1234",
        "      POSTGRES_DB: app",
        "    volumes: ['./init:/docker-entrypoint-initdb.d:ro']",
        "  app:",
        "    image: node:20-alpine",
        "    environment:",
        "      DATABASE_URL: postgresql://owner:owner-pw-1234@postgres:5432/app",
        "",
      ].join("\n"),
    );
    await mkdir(join(root, "infra"), { recursive: true });
    await writeFile(join(root, "infra", "service-registry.ts"), registrySource({ app: { database: "app", dockerfile: "" } }));
  }

  /** Starts a product whose one init script is `script`; what it shows, and the phases it went through. */
  async function started(script: string | undefined, cache: string): Promise<{ seen: Record<string, unknown>; log: string }> {
    const root = await tempDir("init");
    await writeProduct(root, script);
    const logger = new RecordingLogger();
    const seen = await startAndObserve(root, root, cache, logger);
    return { seen, log: logger.text() };
  }

  // A meta-command only psql runs (\\set and \\getenv go over the protocol too) makes the same SQL
  // go through psql and the image's restart.
  const THROUGH_PSQL = "\\echo through psql\n";
  const SQL = [
    "CREATE ROLE reader LOGIN PASSWORD 'reader-pw-1234';",
    "CREATE DATABASE reports OWNER reader;",
    "REVOKE ALL ON DATABASE reports FROM PUBLIC;",
    "CREATE FUNCTION public.answer() RETURNS int LANGUAGE sql AS $$ SELECT 42; $$;",
    "ALTER DATABASE reports SET search_path = public;",
    "",
  ].join("\n");

  it("shows exactly what psql and the restart show: no script, plain SQL, and SQL with ALTER SYSTEM (restarted)", async () => {
    const cache = await tempDir("protocol");
    const none = await started(undefined, cache);
    expect(none.log).toMatch(/0 init scripts 0, restart 0\)/);
    expect(none.seen).toEqual((await started(`${THROUGH_PSQL}SELECT 1;\n`, cache)).seen);

    const plain = await started(SQL, cache);
    expect(plain.log).toContain("init: 1 plain SQL script, sent over the protocol as psql would send them");
    expect(plain.log).toMatch(/1 init scripts \d+, restart 0\)/);
    const psql = await started(`${THROUGH_PSQL}${SQL}`, cache);
    expect(psql.log).not.toContain("over the protocol");
    expect(plain.seen).toEqual(psql.seen);

    const altered = await started(`${SQL}ALTER SYSTEM SET work_mem = '8MB';\n`, cache);
    expect(altered.log).toMatch(/1 init scripts \d+, restart [1-9]\d*\)/);
    const alteredPsql = await started(`${THROUGH_PSQL}${SQL}ALTER SYSTEM SET work_mem = '8MB';\n`, cache);
    expect(altered.seen).toEqual(alteredPsql.seen);
    expect(JSON.stringify(altered.seen)).toContain('"name":"work_mem","setting":"8192","source":"configuration file"');
  });

  it("a plain statement past --timeout is cancelled by the server and reported at its line, nothing left running", async () => {
    const root = await tempDir("timeout");
    await writeProduct(root, `${SQL}SELECT pg_sleep(600);\n`);
    const product = await loadProduct(root, root, { composeEnv: ENV });
    const logger = new RecordingLogger();
    const runtime = new EmbeddedRuntime({ product, env: ENV, logger, clusterCacheDir: await tempDir("timeout-cache"), scriptTimeoutMs: 2_000 });
    const started = performance.now();
    const error = await runtime.start(AbortSignal.timeout(60_000)).then(
      () => undefined,
      (caught: unknown) => caught as { format?: () => string; message: string },
    );
    await runtime.stop();
    expect(logger.text()).toContain("sent over the protocol");
    expect(error?.format?.() ?? error?.message).toMatch(/init\/01-init\.sql:6: init script 01-init\.sql did not finish within 2 s \(--timeout\): the server cancelled its statement/);
    expect(performance.now() - started).toBeLessThan(30_000);
    // This run's processes only (other tests share the machine): its server by its cluster folder, anything working on the product.
    const cluster = /cluster and socket in (\S+),/.exec(logger.text())?.[1];
    expect(cluster).toBeDefined();
    const { stdout } = await execa("ps", ["-eo", "args="]);
    expect(stdout.split("\n").filter((args) => args.includes(cluster!) || args.includes(root))).toEqual([]);
  });

  it("a failing plain statement is reported at the line psql names, as psql's failure is", async () => {
    const cache = await tempDir("failing");
    const failing = `${SQL}\nCREATE TABLE broken (\n  id int,\n  id int\n);\n`;
    const messages: string[] = [];
    for (const script of [failing, `${THROUGH_PSQL}${failing}`]) {
      const error = await started(script, cache).then(
        () => undefined,
        (caught: unknown) => caught as Error,
      );
      expect(error).toBeInstanceOf(Error);
      messages.push(((error as { format?: () => string }).format?.() ?? error!.message));
    }
    // The statement's `;` is on line 10; the psql variant has one line more at the top.
    expect(messages[0]).toMatch(/init\/01-init\.sql:10: init script 01-init\.sql failed, as it would in the postgres container's first start: ERROR: column "id" specified more than once$/);
    expect(messages[1]).toBe(messages[0]!.replace(":10:", ":11:"));
  });
});
