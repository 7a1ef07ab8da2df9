import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/core/errors.js";
import { readPrismaModule } from "../../src/prisma/read-module.js";
import type { Service } from "../../src/registry/model.js";
import { copyFixture, fixture, type FixtureCopy } from "../helpers/fixtures.js";

/** A registry entry whose module is the folder of `dockerfile`: all the reader looks at. */
function serviceAt(dockerfile: string): Service {
  return {
    key: "module-under-test",
    hostname: "module-under-test",
    port: 4999,
    database: "module_under_test",
    dockerfile,
    routes: [],
    layer: "domain",
    label: "Module under test",
    line: 1,
    fieldLines: {},
  };
}

const MODULE = "modules/domain/test/module-under-test";
const SERVICE = serviceAt(`${MODULE}/Dockerfile`);

async function writeModule(copy: FixtureCopy, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries({ Dockerfile: "FROM node:20-alpine\n", ...files })) {
    const full = join(copy.root, MODULE, path);
    await mkdir(dirname(full), { recursive: true });
    await writeFile(full, text);
  }
}

const DATASOURCE_WITHOUT_URL = 'datasource db {\n  provider = "postgresql"\n}\n';

describe("readPrismaModule", () => {
  it("reads the fixture's assessment-roll schema, its env(\"DATABASE_URL\") line and its migrations in order", async () => {
    const root = fixture("property-tax");
    const dockerfile = "modules/domain/revenue/assessment-roll/Dockerfile";
    const module = await readPrismaModule(root, serviceAt(dockerfile));
    const prismaDir = join(root, "modules/domain/revenue/assessment-roll/prisma");
    expect(module.moduleDir).toBe(join(root, "modules/domain/revenue/assessment-roll"));
    expect(module.schemaPath).toBe(join(prismaDir, "schema.prisma"));
    expect(module.schemaFile).toBe("modules/domain/revenue/assessment-roll/prisma/schema.prisma");
    expect(module.datasourceUrl).toEqual({ kind: "env", variable: "DATABASE_URL", file: module.schemaFile, line: 10 });
    expect(module.migrations).toEqual(
      ["20240109143012_init", "20240221101547_add_owner_contact", "20240415090230_add_zoning_and_effective_date"].map((name) => ({
        name,
        dir: join(prismaDir, "migrations", name),
        sqlPath: join(prismaDir, "migrations", name, "migration.sql"),
        file: `modules/domain/revenue/assessment-roll/prisma/migrations/${name}/migration.sql`,
      })),
    );
  });

  it("reads a Prisma 7 module's URL from prisma.config.ts (the fixture's audit-logging)", async () => {
    const module = await readPrismaModule(fixture("property-tax"), serviceAt("modules/platform/audit-logging/Dockerfile"));
    expect(module.schemaFile).toBe("modules/platform/audit-logging/prisma/schema.prisma");
    expect(module.datasourceUrl).toEqual({ kind: "env", variable: "DATABASE_URL", file: "modules/platform/audit-logging/prisma.config.ts", line: 7 });
  });

  it("returns no schema and no migrations for a module without Prisma", async () => {
    const root = fixture("property-tax");
    const module = await readPrismaModule(root, serviceAt("modules/shared/api-gateway/Dockerfile"));
    expect(module).toEqual({ moduleDir: join(root, "modules/shared/api-gateway"), migrations: [] });
  });

  it("orders migrations by folder name byte for byte and skips folders without migration.sql", async () => {
    await using copy = await copyFixture("property-tax");
    await writeModule(copy, {
      "prisma/schema.prisma": 'datasource db {\n  provider = "postgresql"\n  url = env("DATABASE_URL")\n}\n',
      "prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n',
      "prisma/migrations/20240102000000_b/migration.sql": "SELECT 2;\n",
      "prisma/migrations/20240101000000_a/migration.sql": "SELECT 1;\n",
      "prisma/migrations/20240101000000_B/migration.sql": "SELECT 0;\n",
      "prisma/migrations/20240103000000_notes/README.md": "not a migration\n",
    });
    const module = await readPrismaModule(copy.root, SERVICE);
    expect(module.migrations.map((m) => m.name)).toEqual(["20240101000000_B", "20240101000000_a", "20240102000000_b"]);
  });

  it("reads a multi-file schema folder: the datasource file anchors the schema and its migrations", async () => {
    await using copy = await copyFixture("property-tax");
    await writeModule(copy, {
      "prisma/schema/a-models.prisma": "model Parcel {\n  id Int @id\n}\n",
      "prisma/schema/schema.prisma": '// main\ndatasource db {\n  provider = "postgresql"\n  url      = env("DATABASE_URL")\n}\n',
      "prisma/schema/migrations/20240101000000_init/migration.sql": "CREATE TABLE parcel (id int);\n",
    });
    const module = await readPrismaModule(copy.root, SERVICE);
    expect(module.schemaFile).toBe(`${MODULE}/prisma/schema/schema.prisma`);
    expect(module.datasourceUrl).toEqual({ kind: "env", variable: "DATABASE_URL", file: module.schemaFile, line: 4 });
    expect(module.migrations.map((m) => m.file)).toEqual([`${MODULE}/prisma/schema/migrations/20240101000000_init/migration.sql`]);
  });

  it.each([
    ['  url = env("OTHER_URL")', { kind: "env", variable: "OTHER_URL" }],
    ['  url = "postgresql://civic:pw@postgres:5432/x" // pinned', { kind: "literal" }],
    ["  url = env(SOMETHING)", { kind: "other" }],
  ])("classifies the schema url line %s", async (urlLine, expected) => {
    await using copy = await copyFixture("property-tax");
    await writeModule(copy, { "prisma/schema.prisma": `datasource db {\n  provider = "postgresql"\n  // url = env("DATABASE_URL")\n${urlLine}\n}\n` });
    const module = await readPrismaModule(copy.root, SERVICE);
    expect(module.datasourceUrl).toEqual({ ...expected, file: `${MODULE}/prisma/schema.prisma`, line: 4 });
  });

  it("reports a datasource without a URL (and no config) as missing, at the datasource line", async () => {
    await using copy = await copyFixture("property-tax");
    await writeModule(copy, { "prisma/schema.prisma": `generator client {\n  provider = "prisma-client"\n}\n\n${DATASOURCE_WITHOUT_URL}` });
    const module = await readPrismaModule(copy.root, SERVICE);
    expect(module.datasourceUrl).toEqual({ kind: "missing", file: `${MODULE}/prisma/schema.prisma`, line: 5 });
  });

  it.each([
    ['url: env("DATABASE_URL")', { kind: "env", variable: "DATABASE_URL" }],
    ["url: process.env.DATABASE_URL!", { kind: "env", variable: "DATABASE_URL" }],
    ['url: process.env["DATABASE_URL"] as string', { kind: "env", variable: "DATABASE_URL" }],
    ["url: databaseUrl", { kind: "env", variable: "DATABASE_URL" }],
    ['url: "postgresql://civic:pw@postgres:5432/x"', { kind: "literal" }],
    ['url: process.env.DATABASE_URL ?? "postgresql://localhost/x"', { kind: "other" }],
    ['url: env("AUDIT_URL")', { kind: "env", variable: "AUDIT_URL" }],
  ])("reads prisma.config.ts datasource %s without executing it", async (urlProperty, expected) => {
    await using copy = await copyFixture("property-tax");
    await writeModule(copy, {
      "prisma/schema.prisma": DATASOURCE_WITHOUT_URL,
      "prisma.config.ts": [
        'import { defineConfig, env } from "prisma/config";',
        'const databaseUrl = env("DATABASE_URL");',
        "export default defineConfig({",
        '  schema: "prisma/schema.prisma",',
        "  datasource: {",
        `    ${urlProperty},`,
        "  },",
        "});",
        "",
      ].join("\n"),
    });
    const module = await readPrismaModule(copy.root, SERVICE);
    expect(module.datasourceUrl).toEqual({ ...expected, file: `${MODULE}/prisma.config.ts`, line: 6 });
  });

  it("follows schema and migrations paths given in prisma.config.ts", async () => {
    await using copy = await copyFixture("property-tax");
    await writeModule(copy, {
      "db/main.prisma": DATASOURCE_WITHOUT_URL,
      "db/history/20240101000000_init/migration.sql": "SELECT 1;\n",
      "prisma.config.ts": 'export default {\n  schema: "db/main.prisma",\n  migrations: { path: "db/history" },\n  datasource: { url: process.env.DATABASE_URL },\n};\n',
    });
    const module = await readPrismaModule(copy.root, SERVICE);
    expect(module.schemaFile).toBe(`${MODULE}/db/main.prisma`);
    expect(module.datasourceUrl).toEqual({ kind: "env", variable: "DATABASE_URL", file: `${MODULE}/prisma.config.ts`, line: 4 });
    expect(module.migrations.map((m) => m.file)).toEqual([`${MODULE}/db/history/20240101000000_init/migration.sql`]);
  });

  it("finds .config/prisma.ts, and prefers prisma.config.mjs over it as Prisma does", async () => {
    const config = (variable: string) => `export default { datasource: { url: env("${variable}") } };\n`;
    await using copy = await copyFixture("property-tax");
    await writeModule(copy, { "prisma/schema.prisma": DATASOURCE_WITHOUT_URL, ".config/prisma.ts": config("FROM_DOT_CONFIG") });
    expect((await readPrismaModule(copy.root, SERVICE)).datasourceUrl).toEqual({ kind: "env", variable: "FROM_DOT_CONFIG", file: `${MODULE}/.config/prisma.ts`, line: 1 });
    await writeModule(copy, { "prisma.config.mjs": config("FROM_MJS") });
    expect((await readPrismaModule(copy.root, SERVICE)).datasourceUrl).toEqual({ kind: "env", variable: "FROM_MJS", file: `${MODULE}/prisma.config.mjs`, line: 1 });
  });

  it("throws a UsageError at the line of a syntax error in prisma.config.ts", async () => {
    await using copy = await copyFixture("property-tax");
    await writeModule(copy, {
      "prisma/schema.prisma": DATASOURCE_WITHOUT_URL,
      "prisma.config.ts": "export default {\n  datasource: { url: env(\"DATABASE_URL\") \n  schema: 1,\n};\n",
    });
    const error = await readPrismaModule(copy.root, SERVICE).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).location).toMatchObject({ file: join(copy.root, MODULE, "prisma.config.ts"), line: 3 });
  });
});
