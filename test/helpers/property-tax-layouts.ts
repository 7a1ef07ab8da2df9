/**
 * Scripted rewrites of a copy of `fixtures/property-tax` into the layouts real repositories use
 * (issue 8): credentials in other variables than DATABASE_URL, init scripts elsewhere, migrations
 * that are not Prisma's. Every rewrite checks that it changed what it meant to change
 * (`FixtureCopy.edit` throws otherwise), so a test cannot silently run on the unchanged fixture.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { FixtureCopy } from "./fixtures.js";

export const PRODUCT = "products/property-tax";
export const COMPOSE = `${PRODUCT}/docker-compose.yml`;
export const INIT_SQL = `${PRODUCT}/infra/init-databases.sql`;
export const REGISTRY = `${PRODUCT}/infra/service-registry.ts`;

export interface StatefulService {
  readonly key: string;
  readonly database: string;
  /** The module folder (the registry's dockerfile's folder), repo-relative. */
  readonly module: string;
  /** The variable holding its password in the compose file / .env. */
  readonly passwordVariable: string;
}

const MODULES: Record<string, string> = {
  "auth-gateway": "modules/platform/auth-gateway",
  "notification-engine": "modules/platform/notification-engine",
  "audit-logging": "modules/platform/audit-logging",
  "billing-invoicing": "modules/shared/billing-invoicing",
  "assessment-roll": "modules/domain/revenue/assessment-roll",
  "tax-billing-instalment": "modules/domain/revenue/tax-billing-instalment",
  "tax-levy-rate": "modules/domain/revenue/tax-levy-rate",
  "payment-processing": "modules/domain/revenue/payment-processing",
  "tax-certificates": "modules/domain/revenue/tax-certificates",
  "tax-sale-proceedings": "modules/domain/revenue/tax-sale-proceedings",
};

/** The ten stateful services of the fixture, in registry order. */
export const STATEFUL: readonly StatefulService[] = Object.entries(MODULES).map(([key, module]) => ({
  key,
  database: key.replaceAll("-", "_"),
  module,
  passwordVariable: `${key.replaceAll("-", "_").toUpperCase()}_DB_PASSWORD`,
}));

export function service(key: string): StatefulService {
  const found = STATEFUL.find((s) => s.key === key);
  if (!found) throw new Error(`no stateful service ${key} in the fixture`);
  return found;
}

/**
 * Distinct, greppable passwords for POSTGRES_PASSWORD and every service, random per run (so a match
 * in an output is this run's leak, never a coincidence). `overrides` sets chosen ones (e.g. with `@`).
 */
export function knownPasswords(overrides: Readonly<Record<string, string>> = {}): Record<string, string> {
  const passwords: Record<string, string> = { POSTGRES_PASSWORD: `Pg-${randomBytes(6).toString("hex")}-Q` };
  for (const s of STATEFUL) passwords[s.passwordVariable] = `Pw-${s.database.slice(0, 6)}-${randomBytes(6).toString("hex")}-Q`;
  return { ...passwords, ...overrides };
}

/** Writes `.env` beside the compose file, as a developer does (compose reads it for interpolation). */
export async function writeDotenv(copy: FixtureCopy, passwords: Readonly<Record<string, string>>): Promise<void> {
  const lines = Object.entries(passwords).map(([name, value]) => `${name}='${value}'`);
  await copy.write(`${PRODUCT}/.env`, `${lines.join("\n")}\n`);
}

/** The generated `DATABASE_URL:` line of a service in the fixture's compose file. */
export function databaseUrlLine(s: StatefulService): string {
  return `      DATABASE_URL: postgresql://${s.database}:\${${s.passwordVariable}}@postgres:5432/${s.database}\n`;
}

/** Replaces the service's generated DATABASE_URL line with `lines` (each indented 6, as environment entries). */
export async function replaceDatabaseUrl(copy: FixtureCopy, key: string, lines: readonly string[]): Promise<void> {
  const s = service(key);
  await copy.edit(COMPOSE, (text) => text.replace(databaseUrlLine(s), lines.map((line) => `      ${line}\n`).join("")));
}

/** The `environment:` block of one compose service (from its key line to `healthcheck:`), rewritten. */
export async function rewriteServiceBlock(copy: FixtureCopy, composeService: string, change: (block: string) => string): Promise<void> {
  await copy.edit(COMPOSE, (text) => {
    const start = text.indexOf(`\n  ${composeService}:\n`);
    if (start < 0) throw new Error(`compose service ${composeService} not found`);
    const end = text.indexOf("\n    healthcheck:", start);
    return text.slice(0, start) + change(text.slice(start, end)) + text.slice(end);
  });
}

/** Lines (1-based) of `file` that contain `needle`. */
export async function linesContaining(copy: FixtureCopy, file: string, needle: string): Promise<number[]> {
  const lines = (await copy.read(file)).split("\n");
  return lines.flatMap((line, index) => (line.includes(needle) ? [index + 1] : []));
}

/** The Prisma migrations of a module, in the order Prisma applies them: folder name and SQL. */
export async function prismaMigrations(copy: FixtureCopy, module: string): Promise<Array<{ folder: string; name: string; sql: string }>> {
  const dir = join(copy.root, module, "prisma", "migrations");
  const folders = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  return Promise.all(
    folders.map(async (folder) => ({
      folder,
      name: folder.replace(/^\d+_/, ""),
      sql: await readFile(join(dir, folder, "migration.sql"), "utf8"),
    })),
  );
}

/** Removes everything Prisma from a module (schema, migrations, prisma.config.ts). */
export async function removePrisma(copy: FixtureCopy, module: string): Promise<void> {
  await rm(join(copy.root, module, "prisma"), { recursive: true, force: true });
  await rm(join(copy.root, module, "prisma.config.ts"), { force: true });
}

export async function writeFileIn(copy: FixtureCopy, path: string, text: string): Promise<void> {
  await mkdir(dirname(join(copy.root, path)), { recursive: true });
  await writeFile(join(copy.root, path), text);
}

/** A down migration that must never be applied when checking that migrations apply: it fails if it runs. */
export const DOWN_MUST_NOT_RUN = "DROP TABLE civic_truth_down_section_must_not_run;\n";

export type MigrationTool = "plain" | "flyway" | "golang-migrate" | "dbmate";

/**
 * Rewrites a module's Prisma migrations into another tool's layout, same SQL, same order:
 * - plain: `migrations/001_init.sql`, `002_…` (a folder of SQL files, applied in name order);
 * - flyway: `src/main/resources/db/migration/V1__init.sql` (Spring Boot's default location);
 * - golang-migrate: `migrations/000001_init.up.sql` + `.down.sql`;
 * - dbmate: `db/migrations/<timestamp>_init.sql` with `-- migrate:up` / `-- migrate:down` sections.
 * Down parts drop a table that does not exist, so applying them is an apply failure.
 * Returns the folder (repo-relative) holding the set.
 */
export async function convertMigrations(copy: FixtureCopy, module: string, tool: MigrationTool): Promise<string> {
  const migrations = await prismaMigrations(copy, module);
  await removePrisma(copy, module);
  const pad = (n: number, width: number) => String(n).padStart(width, "0");
  switch (tool) {
    case "plain": {
      const dir = `${module}/migrations`;
      for (const [i, m] of migrations.entries()) await writeFileIn(copy, `${dir}/${pad(i + 1, 3)}_${m.name}.sql`, m.sql);
      return dir;
    }
    case "flyway": {
      const dir = `${module}/src/main/resources/db/migration`;
      for (const [i, m] of migrations.entries()) await writeFileIn(copy, `${dir}/V${i + 1}__${m.name}.sql`, m.sql);
      return dir;
    }
    case "golang-migrate": {
      const dir = `${module}/migrations`;
      for (const [i, m] of migrations.entries()) {
        await writeFileIn(copy, `${dir}/${pad(i + 1, 6)}_${m.name}.up.sql`, m.sql);
        await writeFileIn(copy, `${dir}/${pad(i + 1, 6)}_${m.name}.down.sql`, DOWN_MUST_NOT_RUN);
      }
      return dir;
    }
    case "dbmate": {
      const dir = `${module}/db/migrations`;
      for (const m of migrations) {
        const timestamp = m.folder.split("_")[0]!;
        await writeFileIn(copy, `${dir}/${timestamp}_${m.name}.sql`, `-- migrate:up\n${m.sql}\n-- migrate:down\n${DOWN_MUST_NOT_RUN}`);
      }
      return dir;
    }
  }
}
