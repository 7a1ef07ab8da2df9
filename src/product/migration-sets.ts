import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { UsageError } from "../core/errors.js";
import { readInputText } from "../core/input-files.js";
import { pathKind } from "../core/path-probe.js";
import { repoRelative } from "../core/repo-path.js";
import type { MigrationTool } from "../registry/model.js";

/** A service's migrations as found by convention in its module folder. */
export interface FoundMigrations {
  /** `undefined` for a set no built-in applier reads (JavaScript migrations): a command is needed. */
  readonly tool: MigrationTool | undefined;
  /** Repo-relative folder. */
  readonly dir: string;
  readonly files: number;
  /** What was recognised, for the report: "Prisma", "plain SQL", "golang-migrate (*.up.sql)", … */
  readonly kind: string;
  /** How to apply a set the built-in appliers cannot (e.g. `npx sequelize-cli db:migrate`). */
  readonly suggestedCommand?: string;
}

/** Folders real repositories keep SQL migrations in, relative to the module, in the order they are tried (`db/migration` and `src/main/resources/db/migration` are Flyway's defaults). */
const SQL_FOLDERS = ["migrations", "db/migrations", "db/migrate", "db/migration", "src/main/resources/db/migration", "sql", "sql/migrations", "database/migrations", "src/migrations"];

/**
 * The migration set of a module folder, by the conventions of the common tools: Prisma
 * (`prisma/migrations/<ts>_<name>/migration.sql`), sequelize-cli (`.sequelizerc`'s
 * `migrations-path`, JavaScript), golang-migrate (`*.up.sql`), dbmate (`-- migrate:up`), Flyway
 * (`V<version>__<name>.sql`), and plain numbered SQL files. Reads files only; `undefined` when the
 * module has none of them.
 */
export async function findMigrations(moduleDir: string, repoRoot: string): Promise<FoundMigrations | undefined> {
  const relative = (path: string) => repoRelative(repoRoot, path);
  const prisma = join(moduleDir, "prisma", "migrations");
  if ((await pathKind(prisma)) === "dir") {
    const folders = (await readdir(prisma, { withFileTypes: true })).filter((entry) => entry.isDirectory());
    return { tool: "prisma", dir: relative(prisma), files: folders.length, kind: "Prisma" };
  }
  const sequelize = await sequelizeMigrations(moduleDir, relative);
  if (sequelize) {
    const files = (await readdir(sequelize)).filter((name) => /\.(c|m)?js$/.test(name)).length;
    return { tool: undefined, dir: relative(sequelize), files, kind: "sequelize-cli (JavaScript)", suggestedCommand: "npx sequelize-cli db:migrate" };
  }
  for (const folder of SQL_FOLDERS) {
    const found = await classifySqlFolder(join(moduleDir, folder), repoRoot);
    if (found) return found;
  }
  return undefined;
}

/** Flyway's file names: versioned `V<version>__`, repeatable `R__`, undo `U<version>__` (never applied). */
const FLYWAY_NAME = /^(?:[VU]\d+(?:[._]\d+)*|R)__.+\.sql$/;

/**
 * The SQL migration set a folder holds, told by its files: golang-migrate (`*.up.sql` beside
 * `*.down.sql`), Flyway (every file named `V<n>__`/`R__`/`U<n>__`, at least one `V`), dbmate
 * (`-- migrate:up` in its first file), else plain SQL. `undefined` when it is not a folder or holds
 * no `.sql` file.
 */
export async function classifySqlFolder(dir: string, repoRoot: string): Promise<FoundMigrations | undefined> {
  if ((await pathKind(dir)) !== "dir") return undefined;
  const relative = repoRelative(repoRoot, dir);
  const sql = (await readdir(dir)).filter((name) => name.endsWith(".sql")).sort();
  if (sql.length === 0) return undefined;
  if (sql.some((name) => name.endsWith(".up.sql"))) {
    return { tool: "golang-migrate", dir: relative, files: sql.filter((name) => name.endsWith(".up.sql")).length, kind: "golang-migrate (*.up.sql)" };
  }
  if (sql.every((name) => FLYWAY_NAME.test(name)) && sql.some((name) => name.startsWith("V"))) {
    return { tool: "flyway", dir: relative, files: sql.filter((name) => !name.startsWith("U")).length, kind: "Flyway (V<n>__*.sql)" };
  }
  const first = await readInputText(join(dir, sql[0]!), "migration", { shown: repoRelative(repoRoot, join(dir, sql[0]!)) });
  if (/^--\s*migrate:up\b/m.test(first)) return { tool: "dbmate", dir: relative, files: sql.length, kind: "dbmate (-- migrate:up)" };
  return { tool: "sql", dir: relative, files: sql.length, kind: "plain SQL" };
}

/** The folder `.sequelizerc` names as `migrations-path` (read, never run), else sequelize-cli's default `migrations/` holding `.js` files. */
async function sequelizeMigrations(moduleDir: string, relative: (path: string) => string): Promise<string | undefined> {
  let rc: string;
  try {
    rc = await readInputText(join(moduleDir, ".sequelizerc"), "configuration file", { shown: relative(join(moduleDir, ".sequelizerc")) });
  } catch (error) {
    // Absent is the common case; a file that is there but refused (too large, not a regular file) says so.
    if (error instanceof UsageError) throw error;
    return undefined;
  }
  const named = /['"]migrations-path['"]\s*:\s*(?:path\.(?:resolve|join)\(\s*)?((?:['"][^'"]+['"]\s*,?\s*)+)/.exec(rc);
  const parts = named ? [...named[1]!.matchAll(/['"]([^'"]+)['"]/g)].map((match) => match[1]!) : ["migrations"];
  const dir = join(moduleDir, ...parts.filter((part) => part !== "__dirname"));
  return (await pathKind(dir)) === "dir" ? dir : undefined;
}
