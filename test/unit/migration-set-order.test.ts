/**
 * Non-Prisma migration sets read from real files, in the order their tool applies them (issue 8,
 * design (e)): plain SQL by numeric prefix, Flyway by version (V2 before V10, repeatables after,
 * undo never), golang-migrate `*.up.sql` only, dbmate only the `-- migrate:up` part with the file's
 * own line numbers kept.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readMigrationSet } from "../../src/checks/migrations/migration-set.js";
import { lineAt } from "../../src/checks/migrations/sql-statements.js";
import { findMigrations } from "../../src/product/migration-sets.js";

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "civic-migration-set-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function files(dir: string, entries: Record<string, string>): Promise<string> {
  const folder = join(root, dir);
  await mkdir(folder, { recursive: true });
  for (const [name, text] of Object.entries(entries)) await writeFile(join(folder, name), text);
  return folder;
}

describe("migration sets in their tool's order", () => {
  it("Flyway: versions compare numerically part by part, repeatables come after by description, undo files never", async () => {
    const dir = await files("svc/db/migration", {
      "V10__ten.sql": "select 10;",
      "V2__two.sql": "select 2;",
      "V1.10__one_ten.sql": "select 110;",
      "V1.9__one_nine.sql": "select 19;",
      "V1__one.sql": "select 1;",
      "R__b_view.sql": "select 'rb';",
      "R__a_view.sql": "select 'ra';",
      "U2__undo_two.sql": "drop table never;",
    });
    const set = await readMigrationSet(dir, "flyway", root);
    expect(set.scripts.map((script) => script.migration.name)).toEqual([
      "V1__one.sql",
      "V1.9__one_nine.sql",
      "V1.10__one_ten.sql",
      "V2__two.sql",
      "V10__ten.sql",
      "R__a_view.sql",
      "R__b_view.sql",
    ]);
    expect(set.scripts[0]!.migration.file).toBe("svc/db/migration/V1__one.sql");
  });

  it("Flyway with repeatable and undo files is still recognised as Flyway", async () => {
    await files("svc/db/migration", { "V1__one.sql": "select 1;", "R__view.sql": "select 2;", "U1__undo.sql": "select 3;" });
    expect((await findMigrations(join(root, "svc"), root))?.tool).toBe("flyway");
  });

  it("golang-migrate: only *.up.sql, by numeric version", async () => {
    const dir = await files("svc/migrations", {
      "10_ten.up.sql": "select 10;",
      "10_ten.down.sql": "drop table never;",
      "2_two.up.sql": "select 2;",
      "2_two.down.sql": "drop table never;",
    });
    const set = await readMigrationSet(dir, "golang-migrate", root);
    expect(set.scripts.map((script) => script.migration.name)).toEqual(["2_two.up.sql", "10_ten.up.sql"]);
  });

  it("dbmate: only the -- migrate:up part runs, and lines stay those of the file", async () => {
    const dir = await files("svc/db/migrations", {
      "20240212150000_second.sql": "-- migrate:up\nselect 2;\n\n-- migrate:down\ndrop table never;\n",
      "3_first.sql": "-- a comment\n-- migrate:up\ncreate table t (i int);\nselect broken from nowhere;\n-- migrate:down\ndrop table t;\n",
    });
    const set = await readMigrationSet(dir, "dbmate", root);
    expect(set.scripts.map((script) => script.migration.name)).toEqual(["3_first.sql", "20240212150000_second.sql"]);
    const [first, second] = set.scripts;
    expect(first!.text).not.toMatch(/drop table/i);
    expect(second!.text).not.toMatch(/drop table/i);
    const broken = first!.text.indexOf("select broken");
    expect(lineAt(first!.text, broken)).toBe(4);
    expect(first!.statements.map((statement) => statement.text.trim())).toEqual(["create table t (i int)", "select broken from nowhere"]);
  });

  it("plain SQL: numeric prefix first (2 before 10), then by name", async () => {
    const dir = await files("svc/migrations", { "10_ten.sql": "select 10;", "2_two.sql": "select 2;", "2_b.sql": "select 22;", "README.md": "not sql" });
    const set = await readMigrationSet(dir, "sql", root);
    expect(set.scripts.map((script) => script.migration.name)).toEqual(["2_b.sql", "2_two.sql", "10_ten.sql"]);
  });
});
