/**
 * Issue 8's truth tests for the migrations check, written first on branch truth-tests and collected
 * once the migrations work landed: non-Prisma migration sets (plain SQL, Flyway, golang-migrate,
 * dbmate) are applied, never a pass with nothing applied; the scratch database is made like the
 * product's (owned by the superuser, CONNECT granted → `permission denied for schema public`); one
 * service's refused scratch login leaves only that service uncovered, named, with the reason.
 * Each block is its source file's setup with only the migrations case kept.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkWithEveryFormat, cliEnv, whereFound, type CliRun } from "../helpers/cli-outputs.js";
import { copyFixture, type FixtureCopy } from "../helpers/fixtures.js";
import {
  COMPOSE,
  convertMigrations,
  databaseUrlLine,
  INIT_SQL,
  knownPasswords,
  PRODUCT,
  replaceDatabaseUrl,
  rewriteServiceBlock,
  service,
  STATEFUL,
  writeDotenv,
  writeFileIn,
  type MigrationTool,
} from "../helpers/property-tax-layouts.js";
import { checkOf, parseReport, type CheckLike, type CoverageItemLike, type ReportLike } from "../helpers/report-invariants.js";

// ─── from truth-vacuous-pass (issue 8 item 1): non-Prisma migration sets ───
describe.sequential('truth-vacuous-pass (issue 8 item 1): non-Prisma migration sets', () => {
  const UNREADABLE = "tax-sale-proceedings";
  const READABLE = STATEFUL.filter((s) => s.key !== UNREADABLE);
  const AT_PASSWORD_TAIL = `LeakTail${Date.now().toString(36)}`;
  const PASSWORDS = knownPasswords({ BILLING_INVOICING_DB_PASSWORD: `p@ss@${AT_PASSWORD_TAIL}` });
  const AUDIT_ENV_FILE = `${PRODUCT}/env/audit-logging.env`;

  const MIGRATION_TOOL: Record<string, MigrationTool> = {
    "tax-billing-instalment": "flyway",
    "tax-levy-rate": "dbmate",
    "payment-processing": "golang-migrate",
  };

  /** The set folders the rewrite produced, per service. */
  const migrationSets = new Map<string, string>();

  async function rewriteProduct(copy: FixtureCopy): Promise<void> {
    await writeDotenv(copy, PASSWORDS);
    const pw = (key: string) => `\${${service(key).passwordVariable}}`;

    // Per-service roles, each database granted ALL to its role, none closed to PUBLIC.
    await copy.edit(INIT_SQL, (text) => {
      let out = text;
      for (const s of STATEFUL) {
        out = out.replace(`REVOKE ALL ON DATABASE ${s.database} FROM PUBLIC;\n`, `GRANT ALL PRIVILEGES ON DATABASE ${s.database} TO ${s.database};\n`);
      }
      return out;
    });

    await replaceDatabaseUrl(copy, "auth-gateway", ["DB_HOST: postgres", 'DB_PORT: "5432"', "DB_NAME: auth_gateway", "DB_USER: auth_gateway", `DB_PASSWORD: ${pw("auth-gateway")}`]);
    await rewriteServiceBlock(copy, "notification-engine", (block) =>
      block.replace(
        /    environment:\n[\s\S]*$/,
        [
          "    environment:",
          "      - PORT=4101",
          "      - NODE_ENV=development",
          "      - DATABASE_HOST=postgres",
          "      - DATABASE_PORT=5432",
          "      - DATABASE_NAME=notification_engine",
          "      - DATABASE_USER=notification_engine",
          `      - DATABASE_PASSWORD=${pw("notification-engine")}`,
        ].join("\n"),
      ),
    );
    await replaceDatabaseUrl(copy, "audit-logging", []);
    await rewriteServiceBlock(copy, "audit-logging", (block) => block.replace("    environment:\n", "    env_file:\n      - ./env/audit-logging.env\n    environment:\n"));
    await writeFileIn(
      copy,
      AUDIT_ENV_FILE,
      `# audit-logging's database settings (read by src/config.js)\nDB_HOST=postgres\nDB_PORT=5432\nDB_NAME=audit_logging\nDB_USER=audit_logging\nDB_PASSWORD=${PASSWORDS.AUDIT_LOGGING_DB_PASSWORD}\n`,
    );
    await replaceDatabaseUrl(copy, "billing-invoicing", [`CMD_DB_URL: postgresql://billing_invoicing:${pw("billing-invoicing")}@postgres:5432/billing_invoicing`]);
    await replaceDatabaseUrl(copy, "assessment-roll", ["PGHOST: postgres", 'PGPORT: "5432"', "PGDATABASE: assessment_roll", "PGUSER: assessment_roll", `PGPASSWORD: ${pw("assessment-roll")}`]);
    await replaceDatabaseUrl(copy, "tax-billing-instalment", [
      "SPRING_DATASOURCE_URL: jdbc:postgresql://postgres:5432/tax_billing_instalment",
      "SPRING_DATASOURCE_USERNAME: tax_billing_instalment",
      `SPRING_DATASOURCE_PASSWORD: ${pw("tax-billing-instalment")}`,
    ]);
    await replaceDatabaseUrl(copy, "tax-levy-rate", [
      "TYPEORM_CONNECTION: postgres",
      "TYPEORM_HOST: postgres",
      'TYPEORM_PORT: "5432"',
      "TYPEORM_DATABASE: tax_levy_rate",
      "TYPEORM_USERNAME: tax_levy_rate",
      `TYPEORM_PASSWORD: ${pw("tax-levy-rate")}`,
    ]);
    await replaceDatabaseUrl(copy, "payment-processing", [`PAYMENTS_DSN: postgres://payment_processing:${pw("payment-processing")}@postgres:5432/payment_processing?sslmode=disable`]);
    await replaceDatabaseUrl(copy, "tax-certificates", ["POSTGRES_HOST: postgres", 'POSTGRES_PORT: "5432"', "POSTGRES_DB: tax_certificates", "POSTGRES_USER: tax_certificates", `POSTGRES_PASSWORD: ${pw("tax-certificates")}`]);
    await replaceDatabaseUrl(copy, UNREADABLE, ["APP_CONFIG_FILE: /run/config/tax-sale-proceedings.json"]);

    for (const s of STATEFUL) migrationSets.set(s.key, await convertMigrations(copy, s.module, MIGRATION_TOOL[s.key] ?? "plain"));
  }

  /** Whether a coverage item is about this service (by `service`, else by its role or module in `name`). */
  function about(item: CoverageItemLike, key: string): boolean {
    const s = service(key);
    return item.service === key || item.name.includes(s.database) || item.name.includes(s.module);
  }

  describe("issue 8 (1): no vacuous pass on split credentials, other URL names and non-Prisma migrations", { timeout: 600_000 }, () => {
    let copy: FixtureCopy;
    let run: CliRun;
    let report: ReportLike;

    beforeAll(async () => {
      copy = await copyFixture("property-tax");
      await rewriteProduct(copy);
      run = await checkWithEveryFormat(copy.root, ["--runtime", "embedded", "--only", "own-database,isolation,migrations,dependencies"], { env: cliEnv() });
      report = parseReport(run.files.json);
    }, 600_000);
    afterAll(() => copy?.[Symbol.asyncDispose]());

    it("migrations applies the plain SQL, Flyway, golang-migrate and dbmate sets (never pass with nothing applied), and cannot pass with one service untested", () => {
      const migrations = checkOf(report, "migrations");
      expect(migrations.status, JSON.stringify({ reason: migrations.reason, notes: migrations.notes })).not.toBe("pass");
      expect(["fail", "error"]).toContain(migrations.status);
      expect(migrations.findings.filter((f) => f.rule === "migrations/apply-failed")).toEqual([]);
      const coverage = migrations.coverage;
      expect(coverage, "migrations carries no coverage").toBeDefined();
      for (const s of READABLE) {
        const applied = coverage!.covered.filter((item) => item.kind === "migration-set" && (about(item, s.key) || item.name.includes(migrationSets.get(s.key)!)));
        expect(applied, `migration set of ${s.key} (${migrationSets.get(s.key)}) not covered`).toHaveLength(1);
      }
      expect(coverage!.uncovered.filter((item) => about(item, UNREADABLE)).length).toBeGreaterThan(0);
    });

  });
});

// ─── from truth-superuser-owned-databases (issue 8 item 5): scratch database created like the product's ───
describe.sequential("truth-superuser-owned-databases (issue 8 item 5): scratch database created like the product's", () => {
  const REAL_INIT = `${PRODUCT}/db/init/01-databases.sql`;
  const PASSWORDS = knownPasswords();

  async function rewriteProduct(copy: FixtureCopy): Promise<void> {
    await writeDotenv(copy, PASSWORDS);
    let sql = await copy.read(INIT_SQL);
    for (const s of STATEFUL) {
      const before = sql;
      sql = sql
        .replace(`CREATE DATABASE ${s.database} OWNER ${s.database};\n`, `CREATE DATABASE ${s.database};\nGRANT CONNECT ON DATABASE ${s.database} TO ${s.database};\n`)
        .replace(`-- ALL is CONNECT, CREATE and TEMPORARY: only the owner keeps them.\nREVOKE ALL ON DATABASE ${s.database} FROM PUBLIC;\n`, "");
      if (sql === before) throw new Error(`the init SQL block of ${s.key} moved under the test`);
    }
    await writeFileIn(copy, REAL_INIT, sql);
    await rm(join(copy.root, INIT_SQL));
    await copy.edit(COMPOSE, (text) =>
      text.replace("      - ./infra/init-databases.sql:/docker-entrypoint-initdb.d/01-init-databases.sql:ro\n", "      - ./db/init:/docker-entrypoint-initdb.d:ro\n"),
    );
  }

  describe("issue 8 (5, 7): databases owned by the superuser, CONNECT granted, PUBLIC never revoked", { timeout: 600_000 }, () => {
    let copy: FixtureCopy;
    let run: CliRun;
    let report: ReportLike;

    beforeAll(async () => {
      copy = await copyFixture("property-tax");
      await rewriteProduct(copy);
      run = await checkWithEveryFormat(copy.root, ["--runtime", "embedded", "--only", "own-database,isolation,migrations"], { env: cliEnv() });
      report = parseReport(run.files.json);
    }, 600_000);
    afterAll(() => copy?.[Symbol.asyncDispose]());

    it("(5) migrations fails with migrations/apply-failed for every service: as its own role it may not CREATE in public (PostgreSQL 15+)", () => {
      const migrations = checkOf(report, "migrations");
      expect(migrations.status, JSON.stringify({ reason: migrations.reason, notes: migrations.notes })).toBe("fail");
      const failed = migrations.findings.filter((f) => f.rule === "migrations/apply-failed");
      expect(failed.map((f) => f.service).sort()).toEqual(STATEFUL.map((s) => s.key).sort());
      for (const finding of failed) {
        expect(finding.message).toMatch(/permission denied for schema public/);
        expect(finding.file).toMatch(/\/migrations\/\d+_init\/migration\.sql$/);
        expect(finding.line).toBeGreaterThan(0);
      }
    });

  });
});

// ─── from truth-login-messages (issue 8 item 7): migrations says 'no password' per service ───
describe.sequential("truth-login-messages (issue 8 item 7): migrations says 'no password' per service", () => {
  const GHOST = "tax-certificates";
  const ROLE_WITHOUT_PASSWORD = "payment-processing";
  const NO_PASSWORD_ANYWHERE = "tax-sale-proceedings";
  const PASSWORDS = knownPasswords();

  async function createRoleWithoutPassword(copy: FixtureCopy, key: string): Promise<void> {
    const { database } = service(key);
    await copy.edit(INIT_SQL, (text) => text.replace(`CREATE ROLE ${database} LOGIN PASSWORD :'${database}_password'\n`, `CREATE ROLE ${database} LOGIN\n`));
  }

  async function rewriteProduct(copy: FixtureCopy): Promise<void> {
    await writeDotenv(copy, PASSWORDS);
    const ghost = service(GHOST);
    await copy.edit(COMPOSE, (text) => text.replace(databaseUrlLine(ghost), databaseUrlLine(ghost).replace(`//${ghost.database}:`, "//ghost_role:")));
    await createRoleWithoutPassword(copy, ROLE_WITHOUT_PASSWORD);
    await createRoleWithoutPassword(copy, NO_PASSWORD_ANYWHERE);
    const bare = service(NO_PASSWORD_ANYWHERE);
    await copy.edit(COMPOSE, (text) => text.replace(databaseUrlLine(bare), `      DATABASE_URL: postgresql://${bare.database}@postgres:5432/${bare.database}\n`));
    for (const s of STATEFUL) {
      if (s.key === GHOST || s.key === NO_PASSWORD_ANYWHERE) continue;
      await rm(join(copy.root, s.module, "prisma", "migrations"), { recursive: true });
    }
  }

  function findingsOf(check: CheckLike, key: string) {
    return check.findings.filter((f) => f.service === key);
  }

  describe("issue 8 (7): login failures say why", { timeout: 600_000 }, () => {
    let copy: FixtureCopy;
    let run: CliRun;
    let report: ReportLike;

    beforeAll(async () => {
      copy = await copyFixture("property-tax");
      await rewriteProduct(copy);
      run = await checkWithEveryFormat(copy.root, ["--runtime", "embedded", "--only", "own-database,migrations"], { env: cliEnv() });
      report = parseReport(run.files.json);
    }, 600_000);
    afterAll(() => copy?.[Symbol.asyncDispose]());

    it("a URL without a password gives a clear message everywhere, never the raw `SASL: … client password must be a string`", () => {
      expect(whereFound(run, "SASL")).toEqual([]);
      expect(whereFound(run, "client password must be a string")).toEqual([]);
      const ownDatabase = findingsOf(checkOf(report, "own-database"), NO_PASSWORD_ANYWHERE).map((f) => f.message);
      expect(ownDatabase.join("\n")).toMatch(/no password|without a password/i);
      // The migrations of that service cannot be applied as its role: said plainly, with the service named.
      const migrations = checkOf(report, "migrations");
      const said = [
        ...findingsOf(migrations, NO_PASSWORD_ANYWHERE).map((f) => f.message),
        ...(migrations.coverage?.uncovered ?? []).filter((item) => item.service === NO_PASSWORD_ANYWHERE || item.name.includes(service(NO_PASSWORD_ANYWHERE).database)).map((item) => item.reason ?? ""),
      ].join("\n");
      expect(said, JSON.stringify({ status: migrations.status, reason: migrations.reason })).toMatch(/no password|without a password/i);
    });

  });
});
