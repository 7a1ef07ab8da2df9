/**
 * The migrations check on non-Prisma sets (issue 8, item 1): zero-config `check --only migrations`
 * on copies of the real-layout fixtures, live on the embedded PostgreSQL 16. Every set the built-in
 * applier can read is applied in its tool's order as the service's own role; a stateful service
 * whose migrations cannot be applied is a `migrations/no-migrations` finding with the reason, and
 * the check is never `pass` with it.
 */
import { appendFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { CheckResult, Report } from "../../src/core/report-model.js";
import { type AdoptCopy, checkCopy, copyRealLayout } from "../helpers/adopt.js";
import { copyRealLayout as copyWithHandRegistry, REAL_LAYOUTS } from "../helpers/real-layouts.js";

function migrationsOf(report: Report): CheckResult {
  return report.checks.find((check) => check.id === "migrations")!;
}

function located(result: CheckResult): string[] {
  return result.findings.map((f) => `${f.rule} ${f.severity} ${f.service ?? "-"} ${f.file ?? ""}:${f.line ?? ""}`).sort();
}

async function runMigrations(name: string, change?: (root: string) => Promise<void>): Promise<CheckResult> {
  await using copy = await copyRealLayout(name);
  if (change) await change(copy.root);
  return migrationsOf(await checkCopy(copy, { only: ["migrations"] }));
}

describe("migrations check on golang-migrate, dbmate, Flyway and plain SQL sets", { timeout: 240_000 }, () => {
  it("split-vars-conformant: the golang-migrate and dbmate sets are applied, down parts never, and the check passes with full coverage", async () => {
    const result = await runMigrations("split-vars-conformant", async (root) => {
      // A down part that ran would fail: it drops a table that does not exist.
      await appendFile(join(root, "accounts/migrations/000002_add_account_email.down.sql"), "\nDROP TABLE never_created;\n");
      const ledger = join(root, "ledger/db/migrations/20240212150000_create_balances.sql");
      await writeFile(ledger, `${await readFile(ledger, "utf8")}\nDROP TABLE never_created;\n`);
    });
    expect(located(result)).toEqual([]);
    expect(result.status).toBe("pass");
    expect(result.coverage?.complete).toBe(true);
    expect(result.coverage?.covered.map((item) => `${item.service} ${item.name}`).sort()).toEqual(["accounts accounts/migrations", "ledger ledger/db/migrations"]);
    expect(result.coverage?.summary).toMatch(/^2 migration sets applied/);
  });

  it("split-vars-conformant: a failing statement in a golang-migrate up file and one in a dbmate up part are apply-failed at their file and line", async () => {
    const result = await runMigrations("split-vars-conformant", async (root) => {
      await appendFile(join(root, "accounts/migrations/000002_add_account_email.up.sql"), "ALTER TABLE no_such_table ADD COLUMN x int;\n");
      const ledger = join(root, "ledger/db/migrations/20240105093000_create_entries.sql");
      const text = await readFile(ledger, "utf8");
      await writeFile(ledger, text.replace("-- migrate:down", "INSERT INTO no_such_ledger VALUES (1);\n\n-- migrate:down"));
    });
    expect(result.status).toBe("fail");
    expect(located(result)).toEqual([
      "migrations/apply-failed error accounts accounts/migrations/000002_add_account_email.up.sql:3",
      "migrations/apply-failed error ledger ledger/db/migrations/20240105093000_create_entries.sql:9",
    ]);
    expect(result.findings.map((f) => f.message).join("\n")).toMatch(/no_such_table.*does not exist/);
  });

  it("split-vars-leaky: Flyway V10 applies after V2 (a name sort would fail it), plain SQL sets apply, full coverage", async () => {
    const result = await runMigrations("split-vars-leaky");
    expect(located(result)).toEqual([]);
    expect(result.status).toBe("pass");
    expect(result.coverage?.covered.map((item) => `${item.service} ${item.name}`).sort()).toEqual([
      "catalog services/catalog/migrations",
      "orders services/orders/db/migration",
      "payments services/payments/migrations",
    ]);
  });

  it("split-vars-leaky: the static scan covers Flyway files (server-side-io at the file and line)", async () => {
    const result = await runMigrations("split-vars-leaky", async (root) => {
      await writeFile(join(root, "services/orders/db/migration/V11__export.sql"), "-- export\nCOPY (SELECT 1) TO PROGRAM 'touch /tmp/civic-never';\n");
    });
    expect(located(result)).toContain("migrations/server-side-io error orders services/orders/db/migration/V11__export.sql:2");
  });

  it("env-files-roles: sequelize-cli (JavaScript) migrations are migrations/no-migrations naming --migrate-command, and the check is not pass", async () => {
    const result = await runMigrations("env-files-roles");
    const finding = result.findings.find((f) => f.rule === "migrations/no-migrations");
    expect(finding?.service).toBe("inventory");
    expect(finding?.message).toMatch(/sequelize-cli/);
    expect(`${finding?.message} ${finding?.fix}`).toMatch(/--migrate-command/);
    expect(`${finding?.message} ${finding?.fix}`).toMatch(/npx sequelize-cli db:migrate/);
    expect(finding?.file).toBe("docker-compose.yml");
    expect(finding?.line).toBeGreaterThan(0);
    // Zero-config is the portable profile: the rule warns there, and the check, which could not look at inventory, is error.
    expect(finding?.severity).toBe("warning");
    expect(result.status).toBe("error");
    expect(result.reason).toMatch(/could not look at: .*inventory/);
    expect(result.coverage?.complete).toBe(false);
    expect(result.coverage?.uncovered.map((item) => item.service)).toEqual(["inventory"]);
    expect(result.coverage?.covered.map((item) => item.service).sort()).toEqual(["accounts", "shipping"]);
  });

  it("env-files-roles under the civic profile (a TypeScript registry): migrations/no-migrations is an error and fails the check", async () => {
    await using layout = await copyWithHandRegistry("env-files-roles", REAL_LAYOUTS["env-files-roles"]);
    const copy: AdoptCopy = { root: layout.root, read: async () => "", [Symbol.asyncDispose]: async () => {} };
    const result = migrationsOf(await checkCopy(copy, { only: ["migrations"] }));
    expect(result.findings.filter((f) => f.rule === "migrations/no-migrations").map((f) => `${f.severity} ${f.service} ${f.file}`)).toEqual([
      "error inventory infra/service-registry.ts",
    ]);
    expect(result.status).toBe("fail");
  });

  it("multiple-databases: a role that cannot log in (no password) leaves only its own set uncovered, with a reason a person acts on; the others are applied", async () => {
    const result = await runMigrations("multiple-databases");
    expect(result.status).not.toBe("pass");
    expect(result.coverage?.uncovered.map((item) => `${item.service} ${item.reason}`)).toEqual([expect.stringMatching(/^notifications .*no password/)]);
    expect(result.coverage?.covered.map((item) => item.service).sort()).toEqual(["billing", "shipping"]);
    expect(JSON.stringify(result)).not.toMatch(/SASL|client password must be a string/);
  });

  it("multiple-databases: the scratch databases are made like the real ones (owned by the superuser, CONNECT only): permission denied for schema public, at the file and line", async () => {
    const result = await runMigrations("multiple-databases");
    expect(result.status).toBe("fail");
    expect(located(result)).toEqual([
      "migrations/apply-failed error billing billing/migrations/001_create_invoices.sql:1",
      "migrations/apply-failed error shipping shipping/migrations/001_create_shipments.sql:1",
    ]);
    for (const finding of result.findings) expect(finding.message).toMatch(/permission denied for schema public/);
  });

  it("multiple-databases with a Prisma set: Prisma's history table cannot be created either, and the finding names the migration's line the role may not run", async () => {
    const result = await runMigrations("multiple-databases", async (root) => {
      await rm(join(root, "billing/migrations"), { recursive: true });
      await mkdir(join(root, "billing/prisma/migrations/20240101000000_init"), { recursive: true });
      await writeFile(join(root, "billing/prisma/migrations/20240101000000_init/migration.sql"), "-- CreateTable\nCREATE TABLE invoices (id integer PRIMARY KEY);\n");
    });
    const billing = result.findings.filter((f) => f.service === "billing");
    expect(billing.map((f) => `${f.rule} ${f.file}:${f.line}`)).toEqual(["migrations/apply-failed billing/prisma/migrations/20240101000000_init/migration.sql:2"]);
    expect(billing[0]!.message).toMatch(/_prisma_migrations cannot be created: permission denied for schema public/);
  });

  it("custom-db-image: the image-only notes service has no migration set: migrations/no-migrations with the reason, never covered", async () => {
    const result = await runMigrations("custom-db-image");
    const finding = result.findings.find((f) => f.rule === "migrations/no-migrations");
    expect(finding?.service).toBe("notes");
    expect(finding?.message).toMatch(/no migration set/);
    expect(result.status).not.toBe("pass");
    expect(result.coverage?.uncovered.map((item) => item.service)).toEqual(["notes"]);
    expect(result.coverage?.covered.map((item) => `${item.service} ${item.name}`)).toEqual(["api api/migrations"]);
    // api's first migration needs citext, which the init script creates in the real database: the scratch one has it too.
    expect(result.findings.filter((f) => f.rule === "migrations/apply-failed")).toEqual([]);
  });
});
