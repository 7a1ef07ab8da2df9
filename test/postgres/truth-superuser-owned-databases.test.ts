/**
 * Issue 8, "What went wrong" 5 (migrations on a database the product never has) and 7 (messages a
 * person acts on), on the popular "multiple databases" init script as teams copy it: each database
 * created by the superuser (no OWNER), the service role granted CONNECT only, nothing revoked from
 * PUBLIC, and the script kept in the repo's own `db/init/` folder (mounted as a directory), not in
 * `infra/init-databases.sql`. Credentials stay DATABASE_URLs, so today's code does try them all.
 * The built CLI, the embedded runtime (a real PostgreSQL 16), one run, every format.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkWithEveryFormat, cliEnv, leakedSecrets, whereFound, type CliRun } from "../helpers/cli-outputs.js";
import { copyFixture, type FixtureCopy } from "../helpers/fixtures.js";
import { COMPOSE, INIT_SQL, knownPasswords, PRODUCT, STATEFUL, writeDotenv, writeFileIn } from "../helpers/property-tax-layouts.js";
import { checkOf, expectHonestReport, parseReport, type ReportLike } from "../helpers/report-invariants.js";

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
  let initLines: number;

  beforeAll(async () => {
    copy = await copyFixture("property-tax");
    await rewriteProduct(copy);
    initLines = (await copy.read(REAL_INIT)).split("\n").length;
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

  it("(7) one isolation/foreign-connect finding per credential, listing every database it reached", () => {
    const isolation = checkOf(report, "isolation");
    expect(isolation.status).toBe("fail");
    const foreign = isolation.findings.filter((f) => f.rule === "isolation/foreign-connect");
    // One per credential (each names its service); at most one more may speak for PUBLIC, the cause they share.
    const perCredential = foreign.filter((f) => f.service !== undefined);
    expect(perCredential.length, `${perCredential.length} findings, the first: ${perCredential[0]?.message}`).toBe(STATEFUL.length);
    expect(new Set(perCredential.map((f) => f.service)).size).toBe(STATEFUL.length);
    expect(foreign.length - perCredential.length).toBeLessThanOrEqual(1);
    for (const finding of perCredential) {
      const others = STATEFUL.filter((s) => s.key !== finding.service);
      for (const other of others) expect(finding.message, `${finding.service}'s finding`).toContain(other.database);
    }
  });

  it("(7) the fix is the missing REVOKE … FROM PUBLIC line, not 'create roles' (the roles exist)", () => {
    const foreign = checkOf(report, "isolation").findings.filter((f) => f.rule === "isolation/foreign-connect");
    expect(foreign.length).toBeGreaterThan(0);
    const databases = STATEFUL.map((s) => s.database).join("|");
    // The statement itself, naming a database of this product (not a placeholder like `x` or `…`).
    const revokeLine = new RegExp(`REVOKE (CONNECT|ALL)\\b[^;]* ON DATABASE "?(${databases})"? FROM PUBLIC`);
    for (const finding of foreign) {
      expect(finding.fix).toMatch(revokeLine);
      expect(finding.fix).not.toMatch(/CREATE ROLE|own LOGIN role/);
    }
  });

  it("(7) findings point at the product's own init script (db/init/01-databases.sql), never at a non-existent infra/init-databases.sql", () => {
    const foreign = checkOf(report, "isolation").findings.filter((f) => f.rule === "isolation/foreign-connect");
    expect(foreign.length).toBeGreaterThan(0);
    for (const finding of foreign) {
      expect(finding.file).toBe(REAL_INIT);
      expect(finding.line).toBeGreaterThan(0);
      expect(finding.line).toBeLessThanOrEqual(initLines);
    }
    expect(whereFound(run, "infra/init-databases.sql")).toEqual([]);
  });

  it("the report is honest in every format and holds no password", () => {
    expectHonestReport(report, run.files);
    expect(leakedSecrets(run, Object.values(PASSWORDS))).toEqual([]);
  });
});
