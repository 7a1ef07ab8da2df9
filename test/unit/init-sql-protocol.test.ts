/**
 * Which init scripts go over the protocol instead of through psql (runtime/embedded/init-sql-protocol.ts):
 * only what psql would send unchanged, split where psql splits it, each statement with the line psql names.
 */
import { describe, expect, it } from "vitest";
import { plainSqlScript, psqlEnvironmentIsPlain } from "../../src/runtime/embedded/init-sql-protocol.js";

const plain = (sql: string) => plainSqlScript(new TextEncoder().encode(sql));

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
    ["a psql variable", "CREATE ROLE :role;\n"],
    ["a quoted psql variable", "ALTER ROLE a PASSWORD :'pw';\n"],
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
