/**
 * A migration set read from disk in the order its tool applies it, for the built-in applier:
 * Prisma (`<ts>_<name>/migration.sql`, folder name byte order), Flyway (`V<version>__*.sql` by
 * version compared part by part as numbers, then `R__*.sql` by description; `U…` undo files never),
 * golang-migrate (`<version>_*.up.sql` by version; `.down.sql` never), dbmate (`<version>_*.sql` by
 * version, only the `-- migrate:up` part) and plain SQL (`*.sql` by leading number, then name).
 * Files are read, never run here.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { readInputFile } from "../../core/input-files.js";
import { repoRelative } from "../../core/repo-path.js";
import { readPrismaMigrations, type PrismaMigration } from "../../prisma/read-module.js";
import type { MigrationTool } from "../../registry/model.js";
import type { MigrationScript } from "./apply-migrations.js";
import { splitSqlStatements } from "./sql-statements.js";

export interface MigrationSet {
  readonly tool: MigrationTool;
  /** Absolute folder. */
  readonly dir: string;
  readonly scripts: readonly MigrationScript[];
  /** What the applier leaves out and why (e.g. a dbmate file without `-- migrate:up`), for the report's notes. */
  readonly notes: readonly string[];
}

/** One file of a set with its sort key: numbers compared as numbers, then the name byte for byte. */
interface Ordered {
  readonly name: string;
  readonly key: readonly bigint[];
}

export async function readMigrationSet(dir: string, tool: MigrationTool, repoRoot: string): Promise<MigrationSet> {
  const toRepoFile = (path: string) => repoRelative(repoRoot, path);
  if (tool === "prisma") {
    const migrations = await readPrismaMigrations(dir, toRepoFile);
    return { tool, dir, scripts: await Promise.all(migrations.map((migration) => readScript(migration, tool, toRepoFile))), notes: [] };
  }
  const names = (await readdir(dir, { withFileTypes: true })).filter((entry) => entry.isFile() && entry.name.endsWith(".sql")).map((entry) => entry.name);
  const migrations = orderFor(tool, names).map((name): PrismaMigration => ({ name, dir, sqlPath: join(dir, name), file: toRepoFile(join(dir, name)) }));
  const scripts = await Promise.all(migrations.map((migration) => readScript(migration, tool, toRepoFile)));
  const notes =
    tool === "dbmate"
      ? scripts.filter((script) => !UP_MARKER.test(script.text)).map((script) => `${script.migration.file} has no "-- migrate:up" section: dbmate refuses it, and nothing of it was applied`)
      : [];
  return { tool, dir, scripts, notes };
}

/** The files a tool applies, in its order. */
function orderFor(tool: Exclude<MigrationTool, "prisma">, names: readonly string[]): string[] {
  switch (tool) {
    case "flyway": {
      const versioned = names.flatMap((name) => {
        const match = /^V(\d+(?:[._]\d+)*)__.+\.sql$/.exec(name);
        return match ? [{ name, key: match[1]!.split(/[._]/).map(BigInt) }] : [];
      });
      // Repeatables run after every versioned migration, ordered by description.
      const repeatable = names.filter((name) => /^R__.+\.sql$/.test(name)).sort(byCodePoint);
      return [...sortOrdered(versioned), ...repeatable];
    }
    case "golang-migrate":
      return sortOrdered(names.flatMap((name) => withLeadingNumber(name, /^(\d+)_.*\.up\.sql$/)));
    case "dbmate":
      return sortOrdered(names.flatMap((name) => withLeadingNumber(name, /^(\d+).*\.sql$/)));
    case "sql": {
      const numbered = names.flatMap((name) => withLeadingNumber(name, /^(\d+)/));
      const rest = names.filter((name) => !/^\d/.test(name)).sort(byCodePoint);
      return [...sortOrdered(numbered), ...rest];
    }
  }
}

function withLeadingNumber(name: string, pattern: RegExp): Ordered[] {
  const match = pattern.exec(name);
  return match ? [{ name, key: [BigInt(match[1]!)] }] : [];
}

function sortOrdered(files: readonly Ordered[]): string[] {
  return [...files].sort((a, b) => compareKeys(a.key, b.key) || byCodePoint(a.name, b.name)).map((file) => file.name);
}

/** Version parts as numbers, part by part; a missing part counts as 0 (Flyway: `1` = `1.0`). */
function compareKeys(a: readonly bigint[], b: readonly bigint[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0n;
    const y = b[i] ?? 0n;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const UP_MARKER = /^--\s*migrate:up\b/m;

async function readScript(migration: PrismaMigration, tool: MigrationTool, toRepoFile: (path: string) => string): Promise<MigrationScript> {
  const bytes = await readInputFile(migration.sqlPath, "migration", { shown: toRepoFile(migration.sqlPath) });
  const whole = bytes.toString("utf8");
  const text = tool === "dbmate" ? upPartOf(whole) : whole;
  return { migration, bytes, text, statements: splitSqlStatements(text) };
}

/**
 * dbmate's up part of a file: the lines from `-- migrate:up` to `-- migrate:down` (or the end); every
 * other line is emptied, not removed, so lines and offsets in errors stay those of the file.
 */
export function upPartOf(text: string): string {
  const lines = text.split("\n");
  let inUp = false;
  return lines
    .map((line) => {
      if (/^--\s*migrate:up\b/.test(line)) inUp = true;
      else if (/^--\s*migrate:down\b/.test(line)) inUp = false;
      return inUp ? line : "";
    })
    .join("\n");
}
