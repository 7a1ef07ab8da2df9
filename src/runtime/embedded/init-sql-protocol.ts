/**
 * A plain SQL init script run the way psql runs it, over the protocol instead of through psql: a
 * psql process costs tens of milliseconds per script to start (measured about 200 ms against 20 ms
 * over a socket connection on the loaded 2-core machine), and an instance whose scripts need no
 * psql needs no restart on the image's port either (embedded-server.ts).
 *
 * Only a script whose statements this module knows psql would send qualifies (`plainSqlScript`):
 * no COPY from or to the client, every `;` at the top level (psql keeps `;` inside parentheses and
 * `BEGIN ATOMIC` bodies in one statement), everything terminated, valid UTF-8, no setting that
 * changes how psql reads what follows, and of psql's own language only what civic-conformance's
 * generator writes to keep passwords out of the file: `\set name 'value'`, `\getenv name VARIABLE`
 * and `\unset name` on lines of their own between statements, for lower-case names (psql's own
 * variables are upper-case), and `:'name'` / `:"name"` of a variable set so, put in as psql quotes
 * them (libpq's PQescapeLiteral and PQescapeIdentifier). Anything else of psql's (`\gexec`, `\c`,
 * a raw `:name`, a backquoted value, a variable psql sets itself) runs through psql. Each statement goes as its own simple query in
 * autocommit, as psql sends it, stopping at the first error (`ON_ERROR_STOP=1`) with the line
 * psql names: the one holding the statement's `;` (its last line at the end of the file).
 */
import { UsageError } from "../../core/errors.js";
import { maskSecrets } from "../../core/secrets.js";
import { connectTo, type PostgresClient } from "../../postgres/connect.js";
import { lexSql, type SqlToken } from "../../postgres/sql-lexer.js";

/** One statement of a plain script, and the line psql would name for it. */
interface PlainStatement {
  readonly text: string;
  readonly line: number;
}

/** libpq variables that change nothing here: where the init server is (the session says it), the data folder. */
const NEUTRAL_LIBPQ_VARIABLES = new Set(["PGHOST", "PGPORT", "PGDATA", "PGPASSWORD"]);

/**
 * Whether psql, started with `env`, would talk to the server exactly as this module does: no libpq
 * variable that sets a session parameter (PGOPTIONS, PGTZ, PGCLIENTENCODING, PGAPPNAME…), a
 * PGPASSWORD that is the superuser's own, and a UTF-8 locale (psql's client encoding follows it).
 */
export function psqlEnvironmentIsPlain(env: Readonly<Record<string, string>>, password: string | undefined): boolean {
  for (const [name, value] of Object.entries(env)) {
    // libpq's variables are PG and capitals (PGOPTIONS); the image's PG_MAJOR is not one.
    if (/^PG[A-Z]+$/.test(name) && !NEUTRAL_LIBPQ_VARIABLES.has(name)) return false;
    if (name === "PGPASSWORD" && value !== password) return false;
    if ((name === "LANG" || name === "LC_ALL" || name === "LC_CTYPE") && value !== "" && !/utf-?8/i.test(value)) return false;
  }
  return true;
}

/** Words that make psql read the script differently from the server, or stream data with it. */
const PSQL_SENSITIVE_WORDS = new Set(["stdin", "stdout", "pstdin", "pstdout", "atomic", "standard_conforming_strings"]);

/**
 * The statements psql would send for `bytes`, or undefined when the script needs psql itself (or
 * might: anything this reader is not sure psql would send unchanged).
 */
export function plainSqlScript(bytes: Uint8Array, env: Readonly<Record<string, string | undefined>> = {}): PlainStatement[] | undefined {
  let sql: string;
  try {
    sql = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
  if (sql.startsWith("\uFEFF")) return undefined;
  const statements: PlainStatement[] = [];
  const variables = new Map<string, string>();
  /** The current statement's `:'name'` / `:"name"`, to be replaced by their quoted values. */
  let substitutions: Array<{ start: number; end: number; text: string }> = [];
  const statementText = (from: number, to: number) => {
    let text = "";
    let at = from;
    for (const substitution of substitutions) {
      text += sql.slice(at, substitution.start) + substitution.text;
      at = substitution.end;
    }
    substitutions = [];
    return text + sql.slice(at, to);
  };
  let depth = 0;
  let start = 0;
  let hasCode = false;
  let line = 1;
  let lineCountedTo = 0;
  const lineAt = (offset: number) => {
    for (; lineCountedTo < offset; lineCountedTo++) if (sql.charCodeAt(lineCountedTo) === 10) line++;
    return line;
  };
  for (const token of lexSql(sql)) {
    switch (token.kind) {
      case "psql-meta":
        // Only on a line of its own between statements: psql would otherwise run it mid-statement.
        if (hasCode || !runVariableCommand(token.text, variables, env)) return undefined;
        start = token.end;
        break;
      case "psql-variable": {
        const quoted = quotedVariable(token.text, variables);
        if (quoted === undefined) return undefined;
        substitutions.push({ start: token.start, end: token.end, text: quoted });
        hasCode = true;
        break;
      }
      case "string":
      case "quoted-identifier":
        if (token.contentEnd === sql.length || token.text.length < 2) return undefined; // unterminated
        hasCode = true;
        break;
      case "dollar-quoted":
        if (!terminatedDollarQuote(token.text)) return undefined;
        hasCode = true;
        break;
      case "block-comment":
        if (!token.text.endsWith("*/") || token.text.length < 4) return undefined;
        break;
      case "word":
        if (PSQL_SENSITIVE_WORDS.has(token.text.toLowerCase())) return undefined;
        hasCode = true;
        break;
      case "symbol":
        if (token.text === "(") depth++;
        else if (token.text === ")") depth--;
        else if (token.text === ";") {
          if (depth !== 0) return undefined;
          if (hasCode) statements.push({ text: statementText(start, token.start), line: lineAt(token.start) });
          start = token.end;
          hasCode = false;
          break;
        }
        hasCode = true;
        break;
      default:
        break;
    }
  }
  if (depth !== 0) return undefined;
  // At the end of the file psql sends what is left, naming the file's last line.
  if (hasCode) statements.push({ text: statementText(start, sql.length), line: sql.replace(/\n$/, "").split("\n").length });
  return statements;
}

/** A name psql leaves to the script: psql's own variables (ON_ERROR_STOP, AUTOCOMMIT, DBNAME…) are upper-case. */
const SCRIPT_VARIABLE = /^[a-z_][a-z0-9_]*$/;
const ENVIRONMENT_VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A value psql takes as written: a bare word, or single-quoted text without escapes, quotes, backquotes or colons. */
const PLAIN_VALUE = /^(?:[A-Za-z0-9_.-]+|'[^'\\`:]*')$/;

/**
 * Runs `\set name value`, `\getenv name VARIABLE` or `\unset name` as psql would; false for any
 * other meta-command, or a form psql would read differently (several values, escapes, a shell command).
 */
function runVariableCommand(line: string, variables: Map<string, string>, env: Readonly<Record<string, string | undefined>>): boolean {
  const words = line.trim().split(/[ \t]+/);
  const [command, name, value, ...rest] = words;
  if (rest.length > 0 || name === undefined || !SCRIPT_VARIABLE.test(name)) return false;
  if (command === "\\set") {
    if (value !== undefined && !PLAIN_VALUE.test(value)) return false;
    variables.set(name, value === undefined ? "" : value.startsWith("'") ? value.slice(1, -1) : value);
    return true;
  }
  if (command === "\\getenv") {
    if (value === undefined || !ENVIRONMENT_VARIABLE.test(value)) return false;
    // psql leaves the variable as it was when the environment does not have it.
    const found = env[value];
    if (found !== undefined) variables.set(name, found);
    return true;
  }
  if (command === "\\unset") {
    if (value !== undefined) return false;
    variables.delete(name);
    return true;
  }
  return false;
}

/** `:'name'` or `:"name"` of a variable the script set, quoted as psql quotes it; undefined for anything else. */
function quotedVariable(token: string, variables: ReadonlyMap<string, string>): string | undefined {
  const quote = token[1];
  if (quote !== "'" && quote !== '"') return undefined;
  const value = variables.get(token.slice(2, -1));
  if (value === undefined) return undefined;
  if (quote === '"') return `"${value.replaceAll('"', '""')}"`;
  // PQescapeLiteral: with a backslash in the value, an E'' literal after a space, backslashes doubled.
  const escaped = value.replaceAll("'", "''");
  return value.includes("\\") ? ` E'${escaped.replaceAll("\\", "\\\\")}'` : `'${escaped}'`;
}

function terminatedDollarQuote(text: string): boolean {
  const tag = /^\$[A-Za-z0-9_]*\$/.exec(text)?.[0];
  return tag !== undefined && text.length >= tag.length * 2 && text.endsWith(tag);
}

/** After the statement timeout, the client waits this much longer, so the server's cancellation (naming the line) is what is reported. */
const CLIENT_MARGIN_MS = 3_000;

/** Where and as whom the statements run: the init server's socket, as psql would log in. */
export interface ProtocolSession {
  readonly socketDir: string;
  readonly port: number;
  readonly superuser: string;
  readonly database: string;
  readonly password: string | undefined;
  /** Each statement's limit (`--timeout`), as the server's statement_timeout. */
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
}

/**
 * Runs the statements one by one in autocommit, stopping at the first error; throws the
 * `UsageError` psql's failure would have become (script:line, the server's message).
 */
export async function runPlainSql(
  statements: readonly PlainStatement[],
  session: ProtocolSession,
  script: { readonly containerName: string; readonly shown: string },
): Promise<void> {
  session.signal.throwIfAborted();
  const client: PostgresClient = await connectTo(
    { host: session.socketDir, port: session.port, user: session.superuser, password: session.password, database: session.database },
    // What psql would show the server as: its application name. The limit is the server's statement_timeout, as psql's PGOPTIONS sets it.
    { applicationName: "psql", statementTimeoutMs: session.timeoutMs, queryTimeoutMs: session.timeoutMs + CLIENT_MARGIN_MS },
  );
  const abort = () => void client.end().catch(() => undefined);
  session.signal.addEventListener("abort", abort, { once: true });
  try {
    for (const statement of statements) {
      session.signal.throwIfAborted();
      try {
        await client.query(withFileCopyStrategy(statement.text));
      } catch (error) {
        session.signal.throwIfAborted();
        throw statementFailure(error, statement, session, script);
      }
    }
  } finally {
    session.signal.removeEventListener("abort", abort);
    await client.end().catch(() => undefined);
  }
}

/**
 * `statement` with ` STRATEGY FILE_COPY` after its last token when it is a `CREATE DATABASE` that
 * names no strategy; any other statement as it is. PostgreSQL 15+ copies the template block by block
 * through the WAL by default (`WAL_LOG`, about 7 MB for template1); `FILE_COPY` copies its files
 * between two checkpoints, which cost next to nothing on the embedded server (`fsync` off, its
 * binaries PostgreSQL 16). The database made is the same either way. Measured on the 6-service
 * product (2-core machine, three runs each): its init script 177–194 ms → 131–136 ms, and the
 * migrations check's first `CREATE DATABASE`, whose checkpoint wrote out the buffers the init
 * script's copies left dirty, made its 10 scratch databases in 153–163 ms instead of 200–258 ms.
 */
export function withFileCopyStrategy(statement: string): string {
  const tokens = lexSql(statement).filter((token) => token.kind !== "space" && token.kind !== "line-comment" && token.kind !== "block-comment");
  const isWord = (token: SqlToken | undefined, word: string) => token?.kind === "word" && token.text.toUpperCase() === word;
  if (!isWord(tokens[0], "CREATE") || !isWord(tokens[1], "DATABASE")) return statement;
  if (tokens.slice(2).some((token) => isWord(token, "STRATEGY"))) return statement;
  const end = tokens.at(-1)!.end;
  return `${statement.slice(0, end)} STRATEGY FILE_COPY${statement.slice(end)}`;
}

function statementFailure(error: unknown, statement: PlainStatement, session: ProtocolSession, script: { containerName: string; shown: string }): Error {
  const severity = (error as { severity?: string }).severity;
  const message = error instanceof Error ? error.message : String(error);
  if (severity === undefined) {
    // No server answer (connection lost, client timeout): not a statement of the script failing.
    if (/timeout/i.test(message)) {
      return new UsageError(`init script ${script.containerName} did not finish within ${Math.round(session.timeoutMs / 100) / 10} s (--timeout), so it was stopped`, {
        file: script.shown,
      });
    }
    return error instanceof Error ? error : new Error(message);
  }
  const detail = maskSecrets(`${severity}: ${message}`.replace(/\s+/g, " "));
  const what = /statement timeout/.test(detail)
    ? `did not finish within ${Math.round(session.timeoutMs / 100) / 10} s (--timeout): the server cancelled its statement`
    : `failed, as it would in the postgres container's first start: ${detail}`;
  return new UsageError(`init script ${script.containerName} ${what}`, { file: script.shown, line: statement.line });
}
