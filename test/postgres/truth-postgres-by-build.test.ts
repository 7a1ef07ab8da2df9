/**
 * Issue 8, "What went wrong" 6 (PostgreSQL not found): a compose service `db` that builds its own
 * image `FROM postgres:16` with the init SQL `COPY`'d into /docker-entrypoint-initdb.d is the
 * PostgreSQL server. The compose check reads the init script from the build context, and the
 * embedded runtime provisions the server from it, exactly as the image would.
 * The product: the conformant fixture with its `postgres` service rewritten that way (and renamed
 * `db`, with every URL and depends_on following). The built CLI, the embedded runtime.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkWithEveryFormat, cliEnv, leakedSecrets, type CliRun } from "../helpers/cli-outputs.js";
import { copyFixture, type FixtureCopy } from "../helpers/fixtures.js";
import { COMPOSE, INIT_SQL, knownPasswords, PRODUCT, writeFileIn, writeDotenv } from "../helpers/property-tax-layouts.js";
import { checkOf, expectHonestReport, parseReport } from "../helpers/report-invariants.js";

const PASSWORDS = knownPasswords();

async function rewriteProduct(copy: FixtureCopy): Promise<void> {
  await writeDotenv(copy, PASSWORDS);
  await writeFileIn(copy, `${PRODUCT}/db/Dockerfile`, "FROM postgres:16\nCOPY init-databases.sql /docker-entrypoint-initdb.d/01-init-databases.sql\n");
  await writeFileIn(copy, `${PRODUCT}/db/init-databases.sql`, await copy.read(INIT_SQL));
  await rm(join(copy.root, INIT_SQL));
  await copy.edit(COMPOSE, (text) =>
    text
      .replace("  postgres:\n    image: postgres:16-alpine\n", "  db:\n    build: ./db\n")
      .replace("      - ./infra/init-databases.sql:/docker-entrypoint-initdb.d/01-init-databases.sql:ro\n", "")
      .replaceAll("@postgres:5432/", "@db:5432/")
      .replaceAll("      postgres:\n        condition: service_healthy", "      db:\n        condition: service_healthy"),
  );
  const compose = await copy.read(COMPOSE);
  if (/image: postgres|initdb\.d|@postgres:|^ {6}postgres:$/m.test(compose)) throw new Error("the compose rewrite left the old postgres service behind");
}

describe("issue 8 (6): a `db` service built FROM postgres with its init SQL COPY'd in", { timeout: 600_000 }, () => {
  let copy: FixtureCopy;
  let run: CliRun;

  beforeAll(async () => {
    copy = await copyFixture("property-tax");
    await rewriteProduct(copy);
    run = await checkWithEveryFormat(copy.root, ["--runtime", "embedded", "--only", "compose,own-database,isolation"], { env: cliEnv() });
  }, 600_000);
  afterAll(() => copy?.[Symbol.asyncDispose]());

  it("is recognised as the PostgreSQL service: no exit 2 'no PostgreSQL service', no compose/missing-postgres", () => {
    expect(run.stderr).not.toMatch(/no PostgreSQL service/);
    expect(run.exitCode, run.stderr).not.toBe(2);
    const report = parseReport(run.files.json);
    expect(checkOf(report, "compose").findings.map((f) => f.rule)).not.toContain("compose/missing-postgres");
  });

  it("provisions the server from the build context's init script: every check passes with full coverage, exit 0", () => {
    const report = parseReport(run.files.json);
    expect(Object.fromEntries(report.checks.map((c) => [c.id, c.status]))).toEqual({ compose: "pass", "own-database": "pass", isolation: "pass" });
    expect(checkOf(report, "own-database").coverage?.complete).toBe(true);
    expect(checkOf(report, "isolation").coverage?.complete).toBe(true);
    expect(run.exitCode, run.stderr).toBe(0);
    expectHonestReport(report, run.files);
    expect(leakedSecrets(run, Object.values(PASSWORDS))).toEqual([]);
  });
});
