import { chmod, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CheckOutput } from "../../src/checks/check.js";
import { migrationsCheck } from "../../src/checks/migrations/index.js";
import { RecordingLogger } from "../../src/core/logger.js";
import type { Finding } from "../../src/core/report-model.js";
import { copyFixture, type FixtureCopy } from "../helpers/fixtures.js";
import { adminUrlOf, startLiveProduct, type LiveProduct } from "../helpers/live-product.js";
import type { LiveEnvironment } from "../../src/runtime/runtime.js";

const MODULES = "modules";
const BILLING_BALANCE = `${MODULES}/domain/revenue/tax-billing-instalment/prisma/migrations/20240305152210_add_balance_due/migration.sql`;
const AUTH_LOGIN_ATTEMPTS = `${MODULES}/platform/auth-gateway/prisma/migrations/20240328120922_add_login_attempts/migration.sql`;
const AUTH_MFA = `${MODULES}/platform/auth-gateway/prisma/migrations/20240213155541_add_mfa_to_users/migration.sql`;
const NOTIFICATION_LOCALE = `${MODULES}/platform/notification-engine/prisma/migrations/20240227092815_add_template_locale/migration.sql`;
const INIT_SQL = "products/property-tax/infra/init-databases.sql";

/** Runs the check on a fixture copy's files against a running stack (whose registry is the same), or the `live` environment given. */
async function runOn(
  stack: LiveProduct,
  copy: FixtureCopy,
  migrateCommand?: string,
  live: LiveEnvironment = stack.live,
): Promise<CheckOutput & { logger: RecordingLogger }> {
  const logger = new RecordingLogger();
  const output = await migrationsCheck.run({
    product: { ...stack.product, dir: copy.product, repoRoot: copy.root },
    live,
    options: { commandTimeoutMs: 30_000, concurrency: 2, env: { PATH: process.env.PATH }, ...(migrateCommand && { migrateCommand }) },
    logger,
    signal: new AbortController().signal,
  });
  if (process.env.MIGRATIONS_TEST_DEBUG) console.log(logger.text());
  return { ...output, logger };
}

/** The stack's environment with each instance's scratch server (this embedded server) said to be removed after the run, as compose's container is. */
function disposableScratch(stack: LiveProduct): LiveEnvironment {
  return { ...stack.live, instances: new Map([...stack.live.instances].map(([name, instance]) => [name, { ...instance, scratchDisposable: true }])) };
}

/** Appends SQL to a migration of the copy; returns the 1-based line where the addition starts. */
async function append(copy: FixtureCopy, file: string, sql: string): Promise<number> {
  const before = await copy.read(file);
  const body = before.endsWith("\n") ? before : `${before}\n`;
  await copy.write(file, `${body}\n${sql}\n`);
  return body.split("\n").length + 1;
}

async function adminQuery<T extends pg.QueryResultRow>(stack: LiveProduct, sql: string, database?: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: adminUrlOf(stack.live), ...(database && { database }) });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** What the check must leave behind: no scratch database, no role a migration created. */
async function leftovers(stack: LiveProduct): Promise<string[]> {
  const rows = await adminQuery<{ name: string }>(
    stack,
    `SELECT 'database ' || datname AS name FROM pg_database WHERE datname LIKE 'civic\\_scratch\\_%'
     UNION ALL SELECT 'role ' || rolname FROM pg_roles WHERE rolname IN ('reporting_reader', 'shared_reader')`,
  );
  return rows.map((row) => row.name);
}

describe("migrations check on the conformant stack", { timeout: 120_000 }, () => {
  let stack: LiveProduct;
  let stackCopy: FixtureCopy;

  beforeAll(async () => {
    stackCopy = await copyFixture("property-tax");
    stack = await startLiveProduct(stackCopy.product, stackCopy.root);
  }, 120_000);

  afterAll(async () => {
    await stack?.[Symbol.asyncDispose]();
    await stackCopy?.[Symbol.asyncDispose]();
  });

  it("passes the conformant fixture and leaves no scratch database behind", async () => {
    await using copy = await copyFixture("property-tax");
    const output = await runOn(stack, copy);
    expect(output.skipped).toBeUndefined();
    expect(output.findings).toEqual([]);
    expect(await leftovers(stack)).toEqual([]);
    // Prisma SQL reaches no other database: each pass proves it with a fingerprint per database before, after and at the end, and needs no sweep.
    expect(output.logger.text()).toMatch(/migrations pass f: the last fingerprints took/);
    expect(output.logger.text()).toMatch(/migrations pass r: the last fingerprints took/);
    expect(output.logger.text()).not.toMatch(/applying again/);
  });

  it("applies the registry-order and reverse-order passes at the same time when no migration can reach outside its database", async () => {
    await using copy = await copyFixture("property-tax");
    const output = await runOn(stack, copy);
    expect(output.findings).toEqual([]);
    // The order the passes logged their events in, not timings: the reverse pass starts before the registry-order pass ends.
    const events = output.logger.entries.map((entry) => entry.message);
    const reverseStarts = events.findIndex((message) => message.startsWith("migrations pass r: applying"));
    const forwardEnds = events.findIndex((message) => message.startsWith("migrations pass f: the last fingerprints took"));
    expect(reverseStarts).toBeGreaterThanOrEqual(0);
    expect(forwardEnds).toBeGreaterThanOrEqual(0);
    expect(reverseStarts).toBeLessThan(forwardEnds);
    // Ten services per pass: the reverse pass's first service is applied while the registry-order pass is still applying.
    const forwardApplied = events.filter((message) => /^migrations pass f: applying the migrations of /.test(message));
    expect(forwardApplied).toHaveLength(10);
    expect(events.findIndex((message) => /^migrations pass r: applying the migrations of /.test(message))).toBeLessThan(events.indexOf(forwardApplied.at(-1)!));
    expect(output.logger.text()).not.toMatch(/applying again/);
    expect(await leftovers(stack)).toEqual([]);
  });

  it("reports migrations/foreign-reference for a foreign key to another service's table", async () => {
    await using copy = await copyFixture("property-tax");
    const line = await append(
      copy,
      BILLING_BALANCE,
      `-- AddForeignKey\nALTER TABLE "tax_bills" ADD CONSTRAINT "tax_bills_property_id_fkey" FOREIGN KEY ("property_id") REFERENCES "properties"("id");`,
    );
    const output = await runOn(stack, copy);
    expect(output.findings).toEqual([
      expect.objectContaining({ severity: "error", rule: "migrations/foreign-reference", service: "tax-billing-instalment", file: BILLING_BALANCE, line: line + 1 }),
    ]);
    const message = output.findings[0]!.message;
    expect(message).toContain(`references table "properties", which only assessment-roll's migrations create: another service's table`);
    expect(message).toContain("42P01");
    expect(await leftovers(stack)).toEqual([]);
  });

  it("reports migrations/cross-database-link for a migration creating the dblink extension", async () => {
    await using copy = await copyFixture("property-tax");
    const line = await append(copy, AUTH_LOGIN_ATTEMPTS, "CREATE EXTENSION IF NOT EXISTS dblink;");
    const output = await runOn(stack, copy);
    expect(output.findings).toEqual([
      expect.objectContaining({ severity: "error", rule: "migrations/cross-database-link", service: "auth-gateway", file: AUTH_LOGIN_ATTEMPTS, line }),
    ]);
    expect(output.findings[0]!.message).toContain("creates the dblink extension");
    // The service role may not create an untrusted extension: the apply fails too, and the finding says so.
    expect(output.findings[0]!.message).toContain("42501");
  });

  it("reports migrations/outside-effect for a migration creating a role its owner may not create", async () => {
    await using copy = await copyFixture("property-tax");
    const line = await append(copy, AUTH_LOGIN_ATTEMPTS, "CREATE ROLE reporting_reader NOLOGIN;");
    const output = await runOn(stack, copy);
    expect(output.findings).toEqual([
      expect.objectContaining({ severity: "error", rule: "migrations/outside-effect", service: "auth-gateway", file: AUTH_LOGIN_ATTEMPTS, line }),
    ]);
    expect(output.findings[0]!.message).toContain("creates role reporting_reader");
    expect(await leftovers(stack)).toEqual([]);
  });

  it("reports migrations/foreign-reference for a grant of CONNECT on another service's database", async () => {
    await using copy = await copyFixture("property-tax");
    const line = await append(copy, BILLING_BALANCE, "GRANT CONNECT ON DATABASE assessment_roll TO tax_billing_instalment;");
    const output = await runOn(stack, copy);
    expect(output.findings).toEqual([
      expect.objectContaining({ severity: "error", rule: "migrations/foreign-reference", service: "tax-billing-instalment", file: BILLING_BALANCE, line }),
    ]);
    expect(output.findings[0]!.message).toContain("names assessment-roll's database assessment_roll");
  });

  it("reports migrations/outside-effect for a grant of CONNECT on its own database to PUBLIC, and puts the grant back", async () => {
    await using copy = await copyFixture("property-tax");
    const line = await append(copy, BILLING_BALANCE, "GRANT CONNECT ON DATABASE tax_billing_instalment TO PUBLIC;");
    const output = await runOn(stack, copy);
    expect(output.findings).toEqual([
      expect.objectContaining({ severity: "error", rule: "migrations/outside-effect", service: "tax-billing-instalment", file: BILLING_BALANCE, line }),
    ]);
    // Seen live: the scratch server here is the embedded server itself, so the grant really happened.
    expect(output.findings[0]!.message).toContain("granted CONNECT on database tax_billing_instalment to PUBLIC");
    const publicConnect = await adminQuery<{ allowed: boolean }>(
      stack,
      "SELECT has_database_privilege('public', 'tax_billing_instalment', 'CONNECT') AS allowed",
    );
    expect(publicConnect).toEqual([{ allowed: false }]);
    expect(await leftovers(stack)).toEqual([]);
  });

  it("reports migrations/outside-effect for a migration changing its role's settings, and resets them", async () => {
    await using copy = await copyFixture("property-tax");
    const line = await append(copy, AUTH_LOGIN_ATTEMPTS, "ALTER ROLE auth_gateway SET statement_timeout = '5s';");
    const output = await runOn(stack, copy);
    expect(output.findings).toEqual([
      expect.objectContaining({ severity: "error", rule: "migrations/outside-effect", service: "auth-gateway", file: AUTH_LOGIN_ATTEMPTS, line }),
    ]);
    expect(output.findings[0]!.message).toContain("created setting for role auth_gateway in every database (statement_timeout=5s)");
    expect(await adminQuery(stack, "SELECT setconfig FROM pg_db_role_setting WHERE setrole = 'auth_gateway'::regrole")).toEqual([]);
    // A cluster change may show in other databases' fingerprints: the passes, begun at the same time, ran again one after the other with every database fingerprinted after every service.
    expect(output.logger.text()).toMatch(/migrations passes f and r: pass [fr]: the cluster changed while the migrations of [a-z-]+ ran; applying again, one pass after the other, with every database fingerprinted after every service/);
    expect(output.logger.text()).toMatch(/migrations pass fs: applying the migrations of auth-gateway/);
    expect(output.logger.text()).toMatch(/migrations pass rs: applying the migrations of auth-gateway/);
  });

  it("reports migrations/apply-failed with the migration folder and the line of a syntax error", async () => {
    await using copy = await copyFixture("property-tax");
    const line = await append(copy, NOTIFICATION_LOCALE, `-- CreateIndex\nCREATE INDEX "templates_locale_idx" ON "templates" ("locale",);`);
    const output = await runOn(stack, copy);
    expect(output.findings).toEqual([
      expect.objectContaining({ severity: "error", rule: "migrations/apply-failed", service: "notification-engine", file: NOTIFICATION_LOCALE, line: line + 1 }),
    ]);
    const message = output.findings[0]!.message;
    expect(message).toContain("Migration 20240227092815_add_template_locale of notification-engine");
    expect(message).toContain("42601");
    expect(message).toContain(`CREATE INDEX "templates_locale_idx" ON "templates" ("locale",)`);
    expect(await leftovers(stack)).toEqual([]);
  });

  // A project's own applier: psql over each migration, as start-dev.sh-style scripts do.
  const PSQL_MIGRATE =
    'for f in "$MIGRATIONS_DIR"/*/migration.sql; do psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -1 -f "$f" >/dev/null || exit 3; done';

  it("passes the conformant fixture with the project's own migrate command, run per stateful service in registry order, then in reverse", async () => {
    await using copy = await copyFixture("property-tax");
    // The command runs as the unprivileged user when the tests run as root: it logs where it may write.
    const ran = join(copy.root, "services-migrated.txt");
    await writeFile(ran, "");
    await chmod(ran, 0o666);
    const output = await runOn(stack, copy, `echo "$SERVICE" >> ${JSON.stringify(ran)} && ${PSQL_MIGRATE}`);
    expect(output.skipped).toBeUndefined();
    expect(output.findings).toEqual([]);
    const statefulKeys = stack.product.registry.services.filter((s) => s.database !== "").map((s) => s.key);
    expect((await readFile(ran, "utf8")).trim().split("\n")).toEqual([...statefulKeys, ...[...statefulKeys].reverse()]);
    expect(statefulKeys).toHaveLength(10);
    expect(await leftovers(stack)).toEqual([]);
  });

  it("reports migrations/apply-failed for the service whose migrate command fails", async () => {
    await using copy = await copyFixture("property-tax");
    await append(copy, NOTIFICATION_LOCALE, `CREATE INDEX "templates_locale_idx" ON "templates" ("locale",);`);
    const output = await runOn(stack, copy, PSQL_MIGRATE);
    expect(output.findings).toEqual([
      expect.objectContaining({
        severity: "error",
        rule: "migrations/apply-failed",
        service: "notification-engine",
        file: "modules/platform/notification-engine/prisma/schema.prisma",
      }),
    ]);
    expect(output.findings[0]!.message).toContain("The migrate command of notification-engine");
    expect(output.findings[0]!.message).toContain("exited with code 3");
    expect(output.findings[0]!.message).toContain("syntax error");
  });

  it("notes a stateful service without a reachable credential instead of applying its migrations", async () => {
    await using copy = await copyFixture("property-tax");
    const live: LiveEnvironment = { ...stack.live, reach: (credential) => (credential.service === "tax-levy-rate" ? undefined : stack.live.reach(credential)) };
    const output = await migrationsCheck.run({
      product: { ...stack.product, dir: copy.product, repoRoot: copy.root },
      live,
      options: { commandTimeoutMs: 30_000, concurrency: 2, env: {} },
      logger: new RecordingLogger(),
      signal: new AbortController().signal,
    });
    expect(output.findings).toEqual([]);
    expect(output.notes).toContain("tax-levy-rate has no credential the runtime can reach: its migrations were not applied");
  });

  it("on a scratch server removed after the run (compose: a container of its own), gives the same verdict and leaves the last passes' databases to that removal", async () => {
    await using copy = await copyFixture("property-tax");
    try {
      const output = await runOn(stack, copy, undefined, disposableScratch(stack));
      expect(output.skipped).toBeUndefined();
      expect(output.findings).toEqual([]);
      expect(output.coverage?.summary).toBe("10 migration sets applied on 1 scratch server");
      // Both passes decided the verdict: their 20 databases are not dropped one by one, only closed.
      expect((await leftovers(stack)).filter((name) => name.startsWith("database civic_scratch_"))).toHaveLength(20);
      const open = await adminQuery<{ n: number }>(stack, "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE 'civic-conformance migrations%'");
      expect(open[0]!.n).toBe(0);
      expect(output.logger.text()).toMatch(/migrations: the scratch server is removed after the run: its 20 scratch databases are left to that removal/);
    } finally {
      for (const { name } of await adminQuery<{ name: string }>(stack, "SELECT datname AS name FROM pg_database WHERE datname LIKE 'civic\\_scratch\\_%'")) {
        await adminQuery(stack, `DROP DATABASE "${name}" WITH (FORCE)`);
      }
    }
    expect(await leftovers(stack)).toEqual([]);
  });

  it("skips with a reason when the runtime offers no scratch server", async () => {
    await using copy = await copyFixture("property-tax");
    const instances = new Map([...stack.live.instances].map(([name, instance]) => [name, { ...instance, scratchAdminUrl: () => Promise.resolve(undefined) }]));
    const live: LiveEnvironment = { ...stack.live, instances };
    const output = await migrationsCheck.run({
      product: { ...stack.product, dir: copy.product, repoRoot: copy.root },
      live,
      options: { commandTimeoutMs: 30_000, concurrency: 2, env: {} },
      logger: new RecordingLogger(),
      signal: new AbortController().signal,
    });
    expect(output.findings).toEqual([]);
    expect(output.skipped).toMatch(/no scratch PostgreSQL server/);
  });
});

describe("migrations check when auth-gateway's role may create roles", { timeout: 180_000 }, () => {
  /** The scripted init-SQL mutation: auth_gateway gets CREATEROLE, so its migrations can reach the cluster. */
  async function stackWithCreateRole(copy: FixtureCopy): Promise<LiveProduct> {
    await copy.edit(INIT_SQL, (text) =>
      text.replace(
        "CREATE ROLE auth_gateway LOGIN PASSWORD :'auth_gateway_password'\n  NOSUPERUSER NOCREATEDB NOCREATEROLE",
        "CREATE ROLE auth_gateway LOGIN PASSWORD :'auth_gateway_password'\n  NOSUPERUSER NOCREATEDB CREATEROLE",
      ),
    );
    return startLiveProduct(copy.product, copy.root);
  }

  /** The one finding of auth-gateway's migration creating reporting_reader: migrations/outside-effect at its line, naming the role. */
  function expectCreatedRoleAt(findings: readonly Finding[], file: string, line: number): void {
    expect(findings).toEqual([expect.objectContaining({ severity: "error", rule: "migrations/outside-effect", service: "auth-gateway", file, line })]);
    expect(findings[0]!.message).toContain("created role reporting_reader");
  }

  it("reports migrations/outside-effect naming the created role, and drops it afterwards", async () => {
    await using copy = await copyFixture("property-tax");
    await using stack = await stackWithCreateRole(copy);
    const line = await append(copy, AUTH_LOGIN_ATTEMPTS, "CREATE ROLE reporting_reader NOLOGIN;");
    const output = await runOn(stack, copy);
    expectCreatedRoleAt(output.findings, AUTH_LOGIN_ATTEMPTS, line);
    expect(await leftovers(stack)).toEqual([]);
  });

  it("reports migrations/outside-effect for a role created while both passes run at once, from the passes applied again one after the other", async () => {
    await using copy = await copyFixture("property-tax");
    await using stack = await stackWithCreateRole(copy);
    const line = await append(copy, AUTH_MFA, "CREATE ROLE reporting_reader NOLOGIN;");
    const output = await runOn(stack, copy);
    expectCreatedRoleAt(output.findings, AUTH_MFA, line);
    // The passes began at the same time; the role made them unverified, and the sweeps one after the other found who created it.
    const log = output.logger.text();
    expect(log).toMatch(/migrations pass r: applying 10 services' migrations beside pass f/);
    expect(log).toMatch(/migrations passes f and r: .*; applying again, one pass after the other/);
    expect(log).toMatch(/migrations pass fs: applying the migrations of auth-gateway/);
    expect(log).toMatch(/migrations pass rs: applying the migrations of auth-gateway/);
    expect(await leftovers(stack)).toEqual([]);
  });

  it("on a scratch server removed after the run, finds the same role from the sweeps; only the last pass's databases are left to that removal", async () => {
    await using copy = await copyFixture("property-tax");
    await using stack = await stackWithCreateRole(copy);
    const line = await append(copy, AUTH_MFA, "CREATE ROLE reporting_reader NOLOGIN;");
    const output = await runOn(stack, copy, undefined, disposableScratch(stack));
    expectCreatedRoleAt(output.findings, AUTH_MFA, line);
    const log = output.logger.text();
    expect(log).toMatch(/migrations passes f and r: .*; applying again, one pass after the other/);
    // The unverified passes' and the first sweep's databases were dropped before the next pass (its cluster fingerprints would have seen them go); the last sweep's are left.
    const scratch = (await adminQuery<{ name: string }>(stack, "SELECT datname AS name FROM pg_database WHERE datname LIKE 'civic\\_scratch\\_%'")).map((row) => row.name);
    expect(scratch).toHaveLength(10);
    expect(scratch.every((name) => /_rs\d+_[0-9a-f]{8}$/.test(name))).toBe(true);
    expect(log).toMatch(/migrations: the scratch server is removed after the run: its 10 scratch databases are left to that removal/);
  });

  it("reports migrations/order-dependent for migrations that only apply after another service's", async () => {
    await using copy = await copyFixture("property-tax");
    await using stack = await stackWithCreateRole(copy);
    const createLine = await append(copy, AUTH_LOGIN_ATTEMPTS, "CREATE ROLE shared_reader NOLOGIN;");
    const grantLine = await append(copy, NOTIFICATION_LOCALE, `GRANT SELECT ON "templates" TO shared_reader;`);
    const output = await runOn(stack, copy);
    expect(output.findings).toEqual([
      expect.objectContaining({ severity: "error", rule: "migrations/outside-effect", service: "auth-gateway", file: AUTH_LOGIN_ATTEMPTS, line: createLine }),
      expect.objectContaining({ severity: "error", rule: "migrations/order-dependent", service: "notification-engine", file: NOTIFICATION_LOCALE, line: grantLine }),
    ]);
    expect(output.findings[1]!.message).toContain("apply in registry order but fail in reverse registry order");
    expect(output.findings[1]!.message).toContain(`role "shared_reader" does not exist`);
    expect(await leftovers(stack)).toEqual([]);
  });
});
