/**
 * Which init scripts go over the protocol instead of through psql (runtime/embedded/init-sql-protocol.ts):
 * only what psql would send unchanged, split where psql splits it, each statement with the line psql names.
 */
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { plainSqlScript, psqlEnvironmentIsPlain, withFileCopyStrategy } from "../../src/runtime/embedded/init-sql-protocol.js";

const plain = (sql: string, env: Record<string, string> = {}) => plainSqlScript(new TextEncoder().encode(sql), env);

describe("plain SQL init scripts", () => {
  it("splits at top-level semicolons, naming the line of each statement's semicolon (the last line at the end)", () => {
    const statements = plain("-- roles\nCREATE ROLE a LOGIN;\nCREATE DATABASE a\n  OWNER a;\nSELECT ';', $$ ; $$, \"x;y\" /* ; */;\n\nSELECT 1\n\n");
    expect(statements?.map((statement) => [statement.text.trim(), statement.line])).toEqual([
      ["-- roles\nCREATE ROLE a LOGIN", 2],
      ["CREATE DATABASE a\n  OWNER a", 4],
      ["SELECT ';', $$ ; $$, \"x;y\" /* ; */", 5],
      ["SELECT 1", 8],
    ]);
    expect(plain("-- only a comment\n;\n")).toEqual([]);
  });

  it.each([
    ["a meta-command", "SELECT 1;\n\\gexec\n"],
    ["\\connect", "\\c other\nCREATE TABLE t (id int);\n"],
    ["a psql variable substituted raw", "\\set role a\nCREATE ROLE :role;\n"],
    ["a variable never set (psql would send the text as written, or its own value)", "ALTER ROLE a PASSWORD :'pw';\n"],
    ["a built-in variable", "SELECT :'DBNAME';\n"],
    ["setting one of psql's own variables", "\\set ON_ERROR_STOP 0\nSELECT 1;\n"],
    ["a backquoted (shell) value", "\\set pw `cat /etc/passwd`\nSELECT :'pw';\n"],
    ["a value with escapes", "\\set pw 'a\\nb'\nSELECT :'pw';\n"],
    ["several values (psql joins them)", "\\set pw a b\nSELECT :'pw';\n"],
    ["a variable inside a meta-command", "\\set pw :other\nSELECT 1;\n"],
    ["a meta-command in the middle of a statement", "SELECT\n\\set pw x\n1;\n"],
    ["two meta-commands on one line", "\\set a x \\set b y\nSELECT 1;\n"],
    ["COPY from the client", "COPY t FROM stdin;\n1\n\\.\n"],
    ["a semicolon inside parentheses (psql keeps the statement whole)", "CREATE RULE r AS ON INSERT TO t DO ALSO (SELECT 1; SELECT 2);\n"],
    ["a BEGIN ATOMIC body", "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;\n"],
    ["an unterminated string", "SELECT 'abc;\n"],
    ["an unterminated dollar quote", "DO $$ BEGIN PERFORM 1; END;\n"],
    ["an unterminated comment", "SELECT 1; /* trailing\n"],
    ["a setting that changes how psql reads strings", "SET standard_conforming_strings = off;\nSELECT 'a\\'b';\n"],
    ["a byte-order mark", "\uFEFFSELECT 1;\n"],
  ])("needs psql for %s", (_, sql) => {
    expect(plain(sql)).toBeUndefined();
  });

  it("runs psql's \\set, \\getenv and \\unset, and puts :'name' and :\"name\" in as psql quotes them (PQescapeLiteral, PQescapeIdentifier)", () => {
    const sql = [
      "\\set pw ''",
      "\\getenv pw SVC_PASSWORD",
      "\\set who svc_a",
      "CREATE ROLE :\"who\" LOGIN PASSWORD :'pw';",
      "\\unset pw",
      "\\set missing 'kept'",
      "\\getenv missing NOT_IN_THE_ENVIRONMENT",
      "SELECT :'missing';",
      "",
    ].join("\n");
    expect(plain(sql, { SVC_PASSWORD: "it's" })?.map((statement) => [statement.text.trim(), statement.line])).toEqual([
      [`CREATE ROLE "svc_a" LOGIN PASSWORD 'it''s'`, 4],
      ["SELECT 'kept'", 8],
    ]);
    // A backslash makes libpq write an E'' literal, with a space before it, every backslash doubled.
    expect(plain("\\getenv pw P\nSELECT :'pw';\n", { P: "a\\b'c" })?.[0]?.text.trim()).toBe("SELECT  E'a\\\\b''c'");
    expect(plain('\\set t \'x"y\'\nSELECT 1 FROM :"t";\n')?.[0]?.text.trim()).toBe('SELECT 1 FROM "x""y"');
    // A cast is not a variable: psql's lexer reads `::` as one token, before its `:name` rule.
    expect(plain("\\set n 42\nSELECT :'n'::int, '{1}'::int[], 1::text;\n")?.[0]?.text.trim()).toBe("SELECT '42'::int, '{1}'::int[], 1::text");
    expect(plain("SELECT now()::date;\n")?.[0]?.text.trim()).toBe("SELECT now()::date");
    // After \\unset the variable is gone: psql would send the text as written.
    expect(plain("\\set pw x\n\\unset pw\nSELECT :'pw';\n")).toBeUndefined();
  });

  it("runs the init script civic-conformance's generator writes: every statement, each password put in from the environment", async () => {
    const script = await readFile(new URL("../../fixtures/property-tax/products/property-tax/infra/init-databases.sql", import.meta.url));
    const env = Object.fromEntries([...new TextDecoder().decode(script).matchAll(/\\getenv \w+ (\w+)/g)].map(([, name]) => [name!, `pw-of-${name}`]));
    expect(Object.keys(env).length).toBeGreaterThan(3);
    const statements = plainSqlScript(script, env);
    expect(statements).toBeDefined();
    const roles = statements!.filter((statement) => /CREATE ROLE/.test(statement.text));
    expect(roles).toHaveLength(Object.keys(env).length);
    for (const role of roles) expect(role.text).toMatch(/PASSWORD 'pw-of-\w+'/);
    expect(statements!.some((statement) => statement.text.includes(":'"))).toBe(false);
  });

  it("needs psql for bytes that are not UTF-8 (psql sends them as they are)", () => {
    expect(plainSqlScript(new Uint8Array([0x53, 0x45, 0x4c, 0x45, 0x43, 0x54, 0x20, 0x27, 0xff, 0x27, 0x3b]))).toBeUndefined();
  });

  it("needs psql when libpq variables or a non-UTF-8 locale would change psql's session", () => {
    const base = { PATH: "/bin", PGHOST: "/tmp/x", PGPORT: "5432", PGDATA: "/d", PG_MAJOR: "16", LANG: "C.UTF-8", PGPASSWORD: "pw" };
    expect(psqlEnvironmentIsPlain(base, "pw")).toBe(true);
    expect(psqlEnvironmentIsPlain({ ...base, PGOPTIONS: "-c search_path=x" }, "pw")).toBe(false);
    expect(psqlEnvironmentIsPlain({ ...base, PGTZ: "UTC" }, "pw")).toBe(false);
    expect(psqlEnvironmentIsPlain({ ...base, PGPASSWORD: "other" }, "pw")).toBe(false);
    expect(psqlEnvironmentIsPlain({ ...base, LANG: "C" }, "pw")).toBe(false);
  });
});

describe("CREATE DATABASE sent over the protocol copies its template file by file (STRATEGY FILE_COPY) where it names no strategy", () => {
  it.each([
    ["CREATE DATABASE a", "CREATE DATABASE a STRATEGY FILE_COPY"],
    ["-- the ledger\ncreate database \"Ledger db\"\n  owner ledger", "-- the ledger\ncreate database \"Ledger db\"\n  owner ledger STRATEGY FILE_COPY"],
    ["CREATE DATABASE a WITH OWNER = a ENCODING 'UTF8' TEMPLATE template0", "CREATE DATABASE a WITH OWNER = a ENCODING 'UTF8' TEMPLATE template0 STRATEGY FILE_COPY"],
    ["CREATE DATABASE a OWNER a -- owned by its service\n", "CREATE DATABASE a OWNER a STRATEGY FILE_COPY -- owned by its service\n"],
    ["CREATE DATABASE a /* ; */", "CREATE DATABASE a STRATEGY FILE_COPY /* ; */"],
    ["CREATE DATABASE a WITH", "CREATE DATABASE a WITH STRATEGY FILE_COPY"],
  ])("%j becomes %j", (statement, sent) => {
    expect(withFileCopyStrategy(statement)).toBe(sent);
  });

  it.each([
    ["a strategy of its own", "CREATE DATABASE a WITH STRATEGY = wal_log"],
    ["a strategy in capitals and quotes", "CREATE DATABASE a STRATEGY 'WAL_LOG'"],
    ["another statement", "CREATE ROLE a LOGIN"],
    ["CREATE DATABASE inside a string", "SELECT 'CREATE DATABASE a'"],
    ["CREATE DATABASE in a comment only", "-- CREATE DATABASE a\nSELECT 1"],
    ["a statement of comments only", "-- nothing here"],
  ])("leaves %s as written", (_what, statement) => {
    expect(withFileCopyStrategy(statement)).toBe(statement);
  });
});
