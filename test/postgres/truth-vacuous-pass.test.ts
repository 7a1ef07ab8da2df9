/**
 * Issue 8, "What went wrong" 1 (vacuous pass), on the layout real teams use: services get their
 * credentials in other variables than DATABASE_URL, every database is open to PUBLIC (per-service
 * roles, GRANT ALL, no REVOKE), migrations are plain SQL / Flyway / golang-migrate / dbmate folders.
 * The built CLI, the embedded runtime (a real PostgreSQL 16), one run, every format.
 *
 * The product (a scripted rewrite of a copy of fixtures/property-tax):
 * | service                | credential form                                         | migrations          |
 * |------------------------|---------------------------------------------------------|---------------------|
 * | auth-gateway           | DB_HOST/DB_PORT/DB_NAME/DB_USER/DB_PASSWORD (map)        | plain SQL folder    |
 * | notification-engine    | DATABASE_HOST/… (list form `- KEY=value`)               | plain SQL folder    |
 * | audit-logging          | DB_* in an `env_file:`                                   | plain SQL folder    |
 * | billing-invoicing      | CMD_DB_URL (a URL under another name; password has `@`) | plain SQL folder    |
 * | assessment-roll        | libpq PGHOST/PGPORT/PGDATABASE/PGUSER/PGPASSWORD         | plain SQL folder    |
 * | tax-billing-instalment | SPRING_DATASOURCE_URL (jdbc:) + _USERNAME / _PASSWORD   | Flyway V<n>__       |
 * | tax-levy-rate          | TYPEORM_HOST/… /TYPEORM_PASSWORD                        | dbmate              |
 * | payment-processing     | PAYMENTS_DSN (a *_DSN URL)                              | golang-migrate      |
 * | tax-certificates       | POSTGRES_HOST/POSTGRES_DB/POSTGRES_USER/… on the client | plain SQL folder    |
 * | tax-sale-proceedings   | none the tool can read (APP_CONFIG_FILE)                | plain SQL folder    |
 * Passwords come from `.env`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkWithEveryFormat, cliEnv, leakedSecrets, type CliRun } from "../helpers/cli-outputs.js";
import { copyFixture, type FixtureCopy } from "../helpers/fixtures.js";
import {
  COMPOSE,
  convertMigrations,
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
import { checkOf, expectHonestReport, parseReport, type CoverageItemLike, type ReportLike } from "../helpers/report-invariants.js";

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

  it("the rewrite took: the compose file names no DATABASE_URL any more, and the run wrote a report (exit 1)", async () => {
    expect(await copy.read(COMPOSE)).not.toMatch(/^\s+DATABASE_URL:/m);
    expect(run.exitCode, run.stderr).toBe(1);
  });

  it("isolation fails with isolation/foreign-connect for every credential it can read (never pass): all databases are open to PUBLIC", () => {
    const isolation = checkOf(report, "isolation");
    expect(isolation.status, JSON.stringify({ notes: isolation.notes, findings: isolation.findings.map((f) => f.rule) })).toBe("fail");
    const breached = new Set(isolation.findings.filter((f) => f.rule === "isolation/foreign-connect").map((f) => f.service));
    expect([...breached].sort()).toEqual(expect.arrayContaining(READABLE.map((s) => s.key).sort()));
  });

  it("isolation reports the credential it cannot read as isolation/untested-credential, and its coverage says what was read and where", () => {
    const isolation = checkOf(report, "isolation");
    const untested = isolation.findings.filter((f) => f.rule === "isolation/untested-credential");
    expect(untested.map((f) => [f.service, f.severity])).toEqual([[UNREADABLE, "error"]]);
    const coverage = isolation.coverage;
    expect(coverage, "isolation carries no coverage").toBeDefined();
    expect(coverage!.complete).toBe(false);
    expect(coverage!.uncovered.filter((item) => about(item, UNREADABLE)).length).toBeGreaterThan(0);
    for (const s of READABLE) {
      const read = coverage!.covered.filter((item) => item.kind === "credential" && about(item, s.key));
      expect(read, `no covered credential for ${s.key}`).toHaveLength(1);
      expect(read[0]!.file, `where ${s.key}'s credential was read`).toBeTruthy();
      expect(read[0]!.line).toBeGreaterThan(0);
    }
    const fromEnvFile = coverage!.covered.find((item) => item.kind === "credential" && about(item, "audit-logging"));
    expect(fromEnvFile?.file).toBe(AUDIT_ENV_FILE);
  });

  it("own-database logs in with every credential it can read: no own-database/missing-url for them", () => {
    const ownDatabase = checkOf(report, "own-database");
    const missingUrl = ownDatabase.findings.filter((f) => f.rule === "own-database/missing-url").map((f) => f.service);
    expect(missingUrl.filter((key) => key !== UNREADABLE)).toEqual([]);
    expect(ownDatabase.status).not.toBe("pass");
  });

  it("dependencies is skip under the embedded runtime (its live part needs the compose runtime), never pass", () => {
    const dependencies = checkOf(report, "dependencies");
    expect(dependencies.status).toBe("skip");
    expect(dependencies.reason).toMatch(/compose/);
  });

  it("every live check carries coverage and the report is honest in every format", () => {
    for (const id of ["own-database", "isolation", "migrations"]) expect(checkOf(report, id).coverage, `${id} has no coverage`).toBeDefined();
    expectHonestReport(report, run.files);
  });

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

  it("no password (nor the tail of the one holding @) appears in stdout, stderr or any report file", () => {
    expect(leakedSecrets(run, [...Object.values(PASSWORDS), AT_PASSWORD_TAIL])).toEqual([]);
  });
});
