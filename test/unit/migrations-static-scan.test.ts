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

  it("finds links: dblink calls, foreign servers, user mappings and subscriptions", () => {
    expect(
      scan(
        [
          "CREATE SERVER other FOREIGN DATA WRAPPER postgres_fdw;",
          "CREATE USER MAPPING FOR CURRENT_USER SERVER other;",
          "SELECT * FROM dblink('dbname=x', 'select 1') AS t(a int);",
          // Logical replication: the subscription's worker connects to the publisher's database.
          "CREATE SUBSCRIPTION bills_feed CONNECTION 'dbname=billing' PUBLICATION bills;",
          "ALTER SUBSCRIPTION bills_feed CONNECTION 'host=10.0.0.5 dbname=billing';",
        ].join("\n"),
      ),
    ).toEqual([
      { kind: "cross-database-link", line: 1, what: "creates a foreign server" },
      { kind: "cross-database-link", line: 2, what: "creates a user mapping" },
      { kind: "cross-database-link", line: 3, what: "calls dblink()" },
      { kind: "cross-database-link", line: 4, what: "creates a subscription (logical replication, which connects to another database)" },
      { kind: "cross-database-link", line: 5, what: "points a subscription at another connection" },
    ]);
  });

  it("finds cluster-wide statements: roles, memberships, database grants", () => {
    expect(scan(`CREATE USER "Reporter";\nGRANT reporter TO billing;\nGRANT CONNECT ON DATABASE billing TO PUBLIC;`)).toEqual([
      { kind: "outside-effect", line: 1, what: `creates role "Reporter"` },
      { kind: "outside-effect", line: 2, what: "grants membership in role reporter" },
      { kind: "outside-effect", line: 3, what: "grants privileges on database billing" },
    ]);
  });

  it("finds server-side I/O: programs, server files, ALTER SYSTEM, untrusted languages, each at its line", () => {
    const sql = [
      "COPY (SELECT 1) TO PROGRAM 'id';",
      "COPY bills FROM PROGRAM 'cat /etc/passwd';",
      "COPY bills TO '/tmp/bills.csv';",
      "SELECT lo_import('/etc/passwd'), lo_export(1, '/tmp/x');",
      "SELECT pg_read_file('/etc/passwd');",
      "SELECT pg_read_binary_file('/etc/passwd');",
      "GRANT pg_execute_server_program TO CURRENT_USER;",
      "ALTER SYSTEM SET work_mem = '8MB';",
      "CREATE EXTENSION IF NOT EXISTS plpython3u;",
      "CREATE FUNCTION f() RETURNS int LANGUAGE plperlu AS 'return 1;';",
      "CREATE LANGUAGE pltclu;",
    ].join("\n");
    const serverIo = scan(sql).filter((hit) => hit.kind === "server-side-io");
    expect(serverIo.map((hit) => hit.line)).toEqual([1, 2, 3, 4, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(serverIo[0]!.what).toBe("runs a program on the server host (COPY … TO PROGRAM)");
    expect(serverIo[2]!.what).toBe("writes a file on the server host (COPY … TO 'file')");
    expect(serverIo[8]!.what).toBe("changes the server's configuration file (ALTER SYSTEM)");
  });

  it("leaves ordinary COPY, trusted languages and server-side I/O words in strings and comments alone", () => {
    const sql = [
      "COPY bills FROM STDIN;",
      "COPY (SELECT * FROM bills WHERE note = 'to program') TO STDOUT;",
      "CREATE FUNCTION g() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$;",
      "-- SELECT pg_read_file('/etc/passwd');",
      "COMMENT ON TABLE bills IS 'COPY x TO PROGRAM and lo_import()';",
    ].join("\n");
    expect(scan(sql)).toEqual([]);
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
