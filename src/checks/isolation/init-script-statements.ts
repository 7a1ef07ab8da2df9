/**
 * Where the product's own init scripts create a database or a role, or grant what lets a role in:
 * the file and line a fix should change. Read statically from every script the instance runs
 * (`*.sql` through the SQL lexer, `*.sh` line by line, heredocs included), wherever the repository
 * keeps them. A statement whose name comes from a variable (`CREATE DATABASE "$db"` in a loop) stands
 * for every name when no statement names it literally.
 */
import { readFile } from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import type { SourceLine } from "../../compose-file/model.js";
import type { PostgresInstance } from "../../compose-file/postgres-instances.js";
import { repoRelative } from "../../core/repo-path.js";
import { lexSql } from "../../postgres/sql-lexer.js";

interface Statement extends SourceLine {
  /** Whitespace collapsed, comments gone, identifiers as written (quotes kept). */
  readonly text: string;
}

export interface InitScriptStatements {
  /** Repo-relative paths of the scripts read, in the order the image runs them. */
  readonly files: readonly string[];
  /** `CREATE DATABASE <database>` */
  createsDatabase(database: string): SourceLine | undefined;
  /** `CREATE ROLE|USER <role>` */
  createsRole(role: string): SourceLine | undefined;
  /** `GRANT … CONNECT|ALL … ON DATABASE <database> TO … <grantee>` */
  grantsConnect(database: string, grantee: string): SourceLine | undefined;
  /** `GRANT <granted> TO … <member>` (a role membership) */
  grantsRole(granted: string, member: string): SourceLine | undefined;
  /** `CREATE|ALTER ROLE|USER <role> … SUPERUSER` */
  makesSuperuser(role: string): SourceLine | undefined;
}

const NAME = String.raw`(?:"[^"]+"|[\w$:'{}]+)`;

/** Reads the scripts of one instance; unreadable or compressed-other-than-gzip scripts are skipped. */
export async function readInitScriptStatements(instance: PostgresInstance | undefined, repoRoot: string): Promise<InitScriptStatements> {
  const sources: InitScriptSource[] = [];
  for (const script of instance?.initScripts ?? []) {
    if (script.kind !== "sql" && script.kind !== "sql.gz" && script.kind !== "sh") continue;
    let text: string;
    try {
      const bytes = await readFile(script.hostPath);
      text = script.kind === "sql.gz" ? gunzipSync(bytes).toString("utf8") : bytes.toString("utf8");
    } catch {
      continue;
    }
    sources.push({ file: repoRelative(repoRoot, script.hostPath), text, shell: script.kind === "sh" });
  }
  return initScriptStatements(sources);
}

/** One script's text; `shell`: a `*.sh` script. */
export interface InitScriptSource {
  readonly file: string;
  readonly text: string;
  readonly shell: boolean;
}

export function initScriptStatements(sources: readonly InitScriptSource[]): InitScriptStatements {
  const statements = sources.flatMap((source) => (source.shell ? shellStatements(source.text, source.file) : sqlStatements(source.text, source.file)));
  return locator(statements, sources.map((source) => source.file));
}

function locator(statements: readonly Statement[], files: readonly string[]): InitScriptStatements {
  const find = (pattern: (name: (value: string) => string) => RegExp, ...names: string[]) => {
    const literal = pattern((value) => quotedOrPlain(value));
    const exact = statements.find((statement) => literal.test(statement.text));
    if (exact || names.length === 0) return exact && at(exact);
    const dynamic = pattern(() => String.raw`(?:\\?"?[$:%{][^\s;]*)`);
    const templated = statements.find((statement) => dynamic.test(statement.text));
    return templated && at(templated);
  };
  return {
    files,
    createsDatabase: (database) => find((n) => new RegExp(String.raw`\bCREATE\s+DATABASE\s+(?:IF\s+NOT\s+EXISTS\s+)?${n(database)}(?![\w"])`, "i"), database),
    createsRole: (role) => find((n) => new RegExp(String.raw`\bCREATE\s+(?:ROLE|USER)\s+${n(role)}(?![\w"])`, "i"), role),
    grantsConnect: (database, grantee) =>
      find(
        (n) => new RegExp(String.raw`\bGRANT\b[^;]*\b(?:CONNECT|ALL)\b[^;]*\bON\s+DATABASE\s+(?:${NAME}\s*,\s*)*${n(database)}\b[^;]*\bTO\s+(?:${NAME}\s*,\s*)*${n(grantee)}(?![\w"])`, "i"),
        database,
        grantee,
      ),
    grantsRole: (granted, member) =>
      find((n) => new RegExp(String.raw`\bGRANT\s+(?:${NAME}\s*,\s*)*${n(granted)}\s*(?:,\s*${NAME}\s*)*\bTO\s+(?:${NAME}\s*,\s*)*${n(member)}(?![\w"])`, "i"), granted, member),
    makesSuperuser: (role) => find((n) => new RegExp(String.raw`\b(?:CREATE|ALTER)\s+(?:ROLE|USER)\s+${n(role)}\b[^;]*(?<!NO)SUPERUSER\b`, "i")),
  };
}

const at = (statement: Statement): SourceLine => ({ file: statement.file, line: statement.line });

/** A name as it may be written: plain (any case) or double-quoted. */
function quotedOrPlain(name: string): string {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return String.raw`(?:"${escaped}"|${escaped})`;
}

/** SQL statements with the line each starts on; psql meta-commands end a statement as `;` does. */
function sqlStatements(sql: string, file: string): Statement[] {
  const lineAt = lineIndex(sql);
  const statements: Statement[] = [];
  let parts: string[] = [];
  let start: number | undefined;
  const flush = () => {
    if (start !== undefined && parts.length > 0) statements.push({ file, line: lineAt(start), text: parts.join(" ").replace(/\s+/g, " ").trim() });
    parts = [];
    start = undefined;
  };
  for (const token of lexSql(sql)) {
    if (token.kind === "line-comment" || token.kind === "block-comment") continue;
    if (token.kind === "psql-meta" || (token.kind === "symbol" && token.text === ";")) {
      flush();
      continue;
    }
    if (token.kind === "space") {
      if (start !== undefined) parts.push(" ");
      continue;
    }
    start ??= token.start;
    // A string may hold a whole statement (`\gexec`, `EXECUTE format('GRANT …')`): kept as text, so it is searched too.
    parts.push(token.kind === "string" ? ` ${token.value ?? ""} ` : token.text);
  }
  flush();
  return statements;
}

const SQL_START = /^\s*(CREATE|GRANT|ALTER|REVOKE|DROP|SELECT|COMMENT)\b/i;

/**
 * Shell scripts: a line that starts a SQL statement (inside a heredoc) runs on to its `;`; any other
 * line stands alone (`psql -c "CREATE DATABASE …"`), split on `;`.
 */
function shellStatements(script: string, file: string): Statement[] {
  const statements: Statement[] = [];
  let open: { line: number; parts: string[] } | undefined;
  const push = (line: number, text: string) => {
    if (text.trim()) statements.push({ file, line, text: text.replace(/\s+/g, " ").trim() });
  };
  script.split("\n").forEach((raw, index) => {
    const line = raw.replace(/^\s*(#|--).*$/, "");
    if (!open && SQL_START.test(line)) open = { line: index + 1, parts: [] };
    if (!open) {
      for (const piece of line.split(";")) push(index + 1, piece);
      return;
    }
    const semicolon = line.indexOf(";");
    open.parts.push(semicolon < 0 ? line : line.slice(0, semicolon));
    if (semicolon < 0) return;
    push(open.line, open.parts.join(" "));
    open = undefined;
    for (const piece of line.slice(semicolon + 1).split(";")) push(index + 1, piece);
  });
  if (open) push(open.line, open.parts.join(" "));
  return statements;
}

function lineIndex(text: string): (offset: number) => number {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === "\n") starts.push(i + 1);
  return (offset) => {
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (starts[mid]! <= offset) low = mid;
      else high = mid - 1;
    }
    return low + 1;
  };
}
