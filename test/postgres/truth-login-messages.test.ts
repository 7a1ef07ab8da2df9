/**
 * Issue 8, "What went wrong" 7 (messages): a login failure says why — the role does not exist, the
 * role has no password, the URL has no password — instead of `28P01 password authentication failed`
 * for all of them, and never a raw driver error (`SASL: SCRAM-SERVER-FIRST-MESSAGE: client password
 * must be a string`). The multiple-databases script creates roles without a password; teams then
 * leave the password out of the URL, or keep one the role never got.
 *
 * The product (a scripted rewrite of a copy of fixtures/property-tax):
 * - tax-certificates logs in as `ghost_role`, which no init script creates;
 * - payment-processing's role is created without a password, its URL still has one;
 * - tax-sale-proceedings' role is created without a password, and its URL has none either;
 * - only tax-certificates and tax-sale-proceedings keep their (Prisma) migrations, to keep the run short.
 * The built CLI, the embedded runtime, own-database and migrations, every format.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkWithEveryFormat, cliEnv, leakedSecrets, whereFound, type CliRun } from "../helpers/cli-outputs.js";
import { copyFixture, type FixtureCopy } from "../helpers/fixtures.js";
import { COMPOSE, databaseUrlLine, INIT_SQL, knownPasswords, service, STATEFUL, writeDotenv } from "../helpers/property-tax-layouts.js";
import { checkOf, expectHonestReport, parseReport, type CheckLike, type ReportLike } from "../helpers/report-invariants.js";

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

  it("a login as a role that does not exist says so, not `password authentication failed (28P01)`", () => {
    const messages = findingsOf(checkOf(report, "own-database"), GHOST).map((f) => f.message);
    expect(messages.length).toBeGreaterThan(0);
    expect(messages.join("\n")).toMatch(/ghost_role[^\n]*does not exist|does not exist[^\n]*ghost_role/);
    expect(messages.join("\n")).not.toMatch(/password authentication failed|28P01/);
  });

  it("a login as a role created without a password says the role has no password, not `password authentication failed`", () => {
    const messages = findingsOf(checkOf(report, "own-database"), ROLE_WITHOUT_PASSWORD).map((f) => f.message);
    expect(messages.length).toBeGreaterThan(0);
    expect(messages.join("\n")).toMatch(/no password|without a password/i);
    expect(messages.join("\n")).not.toMatch(/password authentication failed|28P01/);
  });

  it("a URL without a password gives a clear message everywhere, never the raw `SASL: … client password must be a string`", () => {
    expect(whereFound(run, "SASL")).toEqual([]);
    expect(whereFound(run, "client password must be a string")).toEqual([]);
    const ownDatabase = findingsOf(checkOf(report, "own-database"), NO_PASSWORD_ANYWHERE).map((f) => f.message);
    expect(ownDatabase.join("\n")).toMatch(/no password|without a password/i);
    // The migrations of that service cannot be applied as its role: said plainly, with the service named, in a finding or
    // its uncovered item (one service's failure must not abort the whole check).
    const migrations = checkOf(report, "migrations");
    const said = [
      ...findingsOf(migrations, NO_PASSWORD_ANYWHERE).map((f) => f.message),
      ...(migrations.coverage?.uncovered ?? []).filter((item) => item.service === NO_PASSWORD_ANYWHERE || item.name.includes(service(NO_PASSWORD_ANYWHERE).database)).map((item) => item.reason ?? ""),
    ].join("\n");
    expect(said, JSON.stringify({ status: migrations.status, reason: migrations.reason })).toMatch(/no password|without a password/i);
  });

  it("the report is honest in every format and holds no password", () => {
    expectHonestReport(report, run.files);
    expect(leakedSecrets(run, Object.values(PASSWORDS))).toEqual([]);
  });
});
