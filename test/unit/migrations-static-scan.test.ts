import { describe, expect, it } from "vitest";
import { splitSqlStatements } from "../../src/checks/migrations/sql-statements.js";
import { createdTables, scanStatements, type ForeignNames } from "../../src/checks/migrations/static-scan.js";

const ASSESSMENT_ROLL: ForeignNames = {
  service: "assessment-roll",
  database: "assessment_roll",
  role: "assessment_roll",
  tables: new Set(["properties"]),
};

function scan(sql: string) {
  return scanStatements(splitSqlStatements(sql), [ASSESSMENT_ROLL]).map(({ kind, line, what }) => ({ kind, line, what }));
}

describe("the migrations static scan", () => {
  it("splits statements at semicolons outside strings, comments and dollar-quoted bodies, with their first line", () => {
    const sql = [
      "-- a comment; not a statement end",
      "CREATE TABLE a (note text DEFAULT 'x;y');",
      "",
      "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;",
      "/* block; /* nested; */ still comment */ SELECT 2;",
    ].join("\n");
    expect(splitSqlStatements(sql).map((s) => [s.line, s.text])).toEqual([
      [2, "CREATE TABLE a (note text DEFAULT 'x;y')"],
      [4, "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$"],
      [5, "SELECT 2"],
    ]);
  });

  it("finds a three-part name in another service's database on its line", () => {
    expect(scan(`SELECT 1;\nINSERT INTO local_copy\nSELECT * FROM assessment_roll.public.properties;`)).toEqual([
      { kind: "foreign-reference", line: 3, what: "names an object in assessment-roll's database assessment_roll" },
    ]);
  });

  it("finds grants to another service's role and on its database, once each", () => {
    expect(scan(`GRANT SELECT ON "bills" TO assessment_roll;\nGRANT CONNECT ON DATABASE "assessment_roll" TO billing;`)).toEqual([
      { kind: "foreign-reference", line: 1, what: "names assessment-roll's role assessment_roll" },
      { kind: "foreign-reference", line: 2, what: "names assessment-roll's database assessment_roll" },
    ]);
  });

  it("finds links: dblink calls, foreign servers and user mappings", () => {
    expect(
      scan(
        [
          "CREATE SERVER other FOREIGN DATA WRAPPER postgres_fdw;",
          "CREATE USER MAPPING FOR CURRENT_USER SERVER other;",
          "SELECT * FROM dblink('dbname=x', 'select 1') AS t(a int);",
        ].join("\n"),
      ),
    ).toEqual([
      { kind: "cross-database-link", line: 1, what: "creates a foreign server" },
      { kind: "cross-database-link", line: 2, what: "creates a user mapping" },
      { kind: "cross-database-link", line: 3, what: "calls dblink()" },
    ]);
  });

  it("finds cluster-wide statements: roles, memberships, database grants, server settings", () => {
    expect(scan(`CREATE USER "Reporter";\nGRANT reporter TO billing;\nGRANT CONNECT ON DATABASE billing TO PUBLIC;\nALTER SYSTEM SET work_mem = '8MB';`)).toEqual([
      { kind: "outside-effect", line: 1, what: `creates role "Reporter"` },
      { kind: "outside-effect", line: 2, what: "grants membership in role reporter" },
      { kind: "outside-effect", line: 3, what: "grants privileges on database billing" },
      { kind: "outside-effect", line: 4, what: "changes server settings (ALTER SYSTEM)" },
    ]);
  });

  it("ignores names and links inside comments and string literals, and the service's own tables", () => {
    const sql = [
      "-- used to read assessment_roll.public.properties through dblink(",
      "COMMENT ON TABLE bills IS 'copied from assessment_roll.public.properties via dblink()';",
      `CREATE TABLE "properties" (id uuid PRIMARY KEY);`,
      `ALTER TABLE bills ADD FOREIGN KEY (property_id) REFERENCES "properties"(id);`,
    ].join("\n");
    const statements = splitSqlStatements(sql);
    const own = createdTables(statements);
    const foreign = { ...ASSESSMENT_ROLL, tables: new Set([...ASSESSMENT_ROLL.tables].filter((t) => !own.has(t))) };
    expect(scanStatements(statements, [foreign])).toEqual([]);
  });
});
