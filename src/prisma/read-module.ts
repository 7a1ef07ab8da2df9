import { readdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { readInputText } from "../core/input-files.js";
import { pathKind } from "../core/path-probe.js";
import { repoRelative } from "../core/repo-path.js";
import type { Service } from "../registry/model.js";
import { readPrismaConfig, type DatasourceUrl, type PrismaConfigFacts } from "./read-config.js";
import { readSchemaDatasource } from "./read-schema.js";

export interface PrismaMigration {
  /** Folder name, e.g. `20240101000000_init`. */
  name: string;
  /** Absolute path of the migration folder. */
  dir: string;
  /** Absolute path of `migration.sql`. */
  sqlPath: string;
  /** `sqlPath` relative to the repository root, forward slashes. */
  file: string;
}

export interface PrismaModule {
  /** Absolute: the folder of the service's Dockerfile, i.e. the module; absent for a service with no Dockerfile (an image). */
  moduleDir?: string;
  /** Absolute path of `prisma/schema.prisma`, or of the schema-folder file holding the datasource. */
  schemaPath?: string;
  /** `schemaPath` relative to the repository root, forward slashes. */
  schemaFile?: string;
  /**
   * Where the datasource URL comes from: `url = env("X")` in the schema (Prisma ≤ 6), or
   * `datasource.url` in `prisma.config.ts` (Prisma 7). Absent when there is no schema.
   */
  datasourceUrl?: DatasourceUrl;
  /** `migrations/<ts>_<name>/migration.sql`, sorted by folder name as `prisma migrate` applies them. */
  migrations: PrismaMigration[];
}

/**
 * Reads what the checks need from one service's Prisma module, from files only: nothing in the
 * user's repository is executed or required to be installed.
 */
export async function readPrismaModule(repoRoot: string, service: Service): Promise<PrismaModule> {
  if (service.dockerfile === undefined || service.dockerfile.trim() === "") return { migrations: [] };
  const moduleDir = dirname(resolve(repoRoot, service.dockerfile));
  const toRepoFile = (path: string) => repoRelative(repoRoot, path);
  const config = await readPrismaConfig(moduleDir, toRepoFile);
  const schemaFiles = await findSchemaFiles(moduleDir, config);
  if (schemaFiles.length === 0) return { moduleDir, migrations: [] };

  const schemas = await Promise.all(
    schemaFiles.map(async (path) => ({ path, facts: readSchemaDatasource(await readInputText(path, "Prisma schema", { shown: toRepoFile(path) })) })),
  );
  // In a schema folder the datasource lives in one file; that file anchors the migrations folder.
  const withDatasource = schemas.find((schema) => schema.facts.datasourceLine !== undefined);
  const schema = withDatasource ?? schemas[0]!;
  const schemaFile = toRepoFile(schema.path);

  const datasourceUrl = pickDatasourceUrl(schema.facts, schemaFile, config);
  const migrations = await readPrismaMigrations(await findMigrationsDir(moduleDir, schema.path, config), toRepoFile);
  return { moduleDir, schemaPath: schema.path, schemaFile, datasourceUrl, migrations };
}

function pickDatasourceUrl(
  facts: ReturnType<typeof readSchemaDatasource>,
  schemaFile: string,
  config: PrismaConfigFacts | undefined,
): DatasourceUrl {
  // Prisma ≤ 6: `url` in the schema's datasource block wins; Prisma 7 rejects it there and reads the config.
  if (facts.url) return { ...facts.url, file: schemaFile };
  if (config?.datasourceUrl) return config.datasourceUrl;
  return { kind: "missing", file: schemaFile, line: facts.datasourceLine ?? 1 };
}

async function findSchemaFiles(moduleDir: string, config: PrismaConfigFacts | undefined): Promise<string[]> {
  const candidates = [
    ...(config?.schemaPath ? [config.schemaPath] : []),
    join(moduleDir, "prisma", "schema.prisma"),
    join(moduleDir, "prisma", "schema"),
  ];
  for (const candidate of candidates) {
    const kind = await pathKind(candidate);
    if (kind === "file") return [candidate];
    if (kind === "dir") {
      const files = await prismaFilesUnder(candidate);
      if (files.length > 0) return files;
    }
  }
  return [];
}

/** `*.prisma` files of a schema folder (Prisma reads it recursively), sorted for a stable "first". */
async function prismaFilesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith(".prisma"))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort(byCodePoint);
}

async function findMigrationsDir(
  moduleDir: string,
  schemaPath: string,
  config: PrismaConfigFacts | undefined,
): Promise<string | undefined> {
  // Prisma looks beside the schema (beside the datasource file for a schema folder) unless the config says otherwise.
  const candidates = [
    ...(config?.migrationsPath ? [config.migrationsPath] : []),
    join(dirname(schemaPath), "migrations"),
    join(moduleDir, "prisma", "migrations"),
  ];
  for (const candidate of candidates) {
    if ((await pathKind(candidate)) === "dir") return candidate;
  }
  return undefined;
}

/** The migrations of a Prisma migrations folder, in the order `prisma migrate deploy` applies them. */
export async function readPrismaMigrations(
  migrationsDir: string | undefined,
  toRepoFile: (path: string) => string,
): Promise<PrismaMigration[]> {
  if (!migrationsDir) return [];
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  const folders = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  // Prisma orders migrations by folder name, byte for byte (not locale order).
  folders.sort(byCodePoint);
  const migrations: PrismaMigration[] = [];
  for (const name of folders) {
    const dir = join(migrationsDir, name);
    const sqlPath = join(dir, "migration.sql");
    // Only folders holding a migration.sql are migrations; anything else there is not ours to apply.
    if ((await pathKind(sqlPath)) !== "file") continue;
    migrations.push({ name, dir, sqlPath, file: toRepoFile(sqlPath) });
  }
  return migrations;
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
