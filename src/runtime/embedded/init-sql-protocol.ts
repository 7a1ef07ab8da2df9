/**
 * A plain SQL init script run the way psql runs it, over the protocol instead of through psql: a
 * psql process costs tens of milliseconds per script to start (measured about 200 ms against 20 ms
 * over a socket connection on the loaded 2-core machine), and an instance whose scripts need no
 * psql needs no restart on the image's port either (embedded-server.ts).
 *
 * Only a script psql would send as is qualifies (`plainSqlScript`): no meta-command, no
 * `:variable`, no COPY from or to the client, every `;` at the top level (psql keeps `;` inside
 * parentheses and `BEGIN ATOMIC` bodies in one statement), everything terminated, valid UTF-8, no
 * setting that changes how psql reads what follows. Each statement goes as its own simple query in
 * autocommit, as psql sends it, stopping at the first error (`ON_ERROR_STOP=1`) with the line
 * psql names: the one holding the statement's `;` (its last line at the end of the file).
 */
import { UsageError } from "../../core/errors.js";
import { maskSecrets } from "../../core/secrets.js";
import { connectTo, type PostgresClient } from "../../postgres/connect.js";
import { lexSql } from "../../postgres/sql-lexer.js";

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
export function plainSqlScript(bytes: Uint8Array): PlainStatement[] | undefined {
  let sql: string;
  try {
    sql = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
  if (sql.startsWith("\uFEFF")) return undefined;
  const statements: PlainStatement[] = [];
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
      case "psql-variable":
        return undefined;
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
          if (hasCode) statements.push({ text: sql.slice(start, token.start), line: lineAt(token.start) });
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
  if (hasCode) statements.push({ text: sql.slice(start), line: sql.replace(/\n$/, "").split("\n").length });
  return statements;
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
        await client.query(statement.text);
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
