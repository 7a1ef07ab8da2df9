/**
 * The one place a PostgreSQL client is built: from a URL (a service's, the admin's) or from a
 * target (the embedded server's socket), with sslmode mapped once and an upper bound on how long
 * connecting and each statement may take. Every connection is a fresh `pg.Client` (never a pool):
 * a live check proves what one credential can do, and a pooled session could carry another
 * credential's state.
 */
import pg from "pg";
import { registerSecret } from "../core/secrets.js";
import { parseDatabaseUrl } from "./database-url.js";
import { CLIENT_HAS_NO_PASSWORD, classifyConnectError, NO_PASSWORD, NO_PASSWORD_REASON, type ConnectFailure } from "./sqlstate.js";

/** A connected client; the caller ends it. Outside this folder only the type is used. */
export type PostgresClient = pg.Client;

/** Where to connect, decoded: what a URL names, or a server's socket folder as `host`. */
export interface ConnectTarget {
  readonly host: string;
  readonly port: number;
  /** `""`: libpq's default (the OS user). */
  readonly user: string;
  readonly password?: string | undefined;
  /** `""`: libpq's default (the user name). */
  readonly database: string;
  /** libpq's `sslmode`; absent means no TLS. */
  readonly sslmode?: string | undefined;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_QUERY_TIMEOUT_MS = 30_000;

export interface ConnectOptions {
  /** Connect to this database instead of the one the URL names (the isolation probe's swap). */
  readonly database?: string;
  /** Upper bound for TCP connect + authentication + startup. */
  readonly connectTimeoutMs?: number;
  /** Upper bound for each statement on the connection (client and server side). */
  readonly queryTimeoutMs?: number;
  /** The server's own limit (`statement_timeout`) when it must cancel first and report the statement; default `queryTimeoutMs`. */
  readonly statementTimeoutMs?: number;
  /** Shown in `pg_stat_activity`, so a stuck probe is easy to spot. */
  readonly applicationName?: string;
}

/** The server did not answer usefully (nothing listening, timeout, shutdown): a check cannot look. */
export class PostgresUnreachableError extends Error {
  override readonly name = "PostgresUnreachableError";
  constructor(
    message: string,
    readonly failure: ConnectFailure,
  ) {
    super(message);
  }
}

/** The database and role a URL names, decoded; for messages and grouping. Never the password. */
export function describeUrl(url: string): { user: string; database: string; host: string; port: number } | undefined {
  const parsed = parseDatabaseUrl(url);
  return parsed && { user: parsed.user, database: parsed.database, host: parsed.host, port: parsed.port };
}

/**
 * The target a URL names. Parsed by hand (`parseDatabaseUrl`) rather than handed to pg as a
 * `connectionString`: a password with an unencoded `#` or `/` must still work, and query
 * parameters pg does not know (Prisma's `schema`) cannot leak in.
 */
export function targetOf(url: string): ConnectTarget {
  const parsed = parseDatabaseUrl(url);
  if (!parsed) throw new Error("not a postgres:// or postgresql:// URL");
  return { host: parsed.host, port: parsed.port, user: parsed.user, password: parsed.password, database: parsed.database, sslmode: parsed.params.get("sslmode") };
}

/** The `pg` client configuration for a target; the password is registered as a secret first. */
export function clientConfig(target: ConnectTarget, options: ConnectOptions = {}): pg.ClientConfig {
  registerSecret(target.password);
  const queryTimeout = options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  return {
    host: target.host,
    port: target.port,
    user: target.user,
    ...(target.password !== undefined && { password: target.password }),
    database: options.database ?? target.database,
    ssl: sslFromMode(target.sslmode),
    connectionTimeoutMillis: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    query_timeout: queryTimeout,
    statement_timeout: options.statementTimeoutMs ?? queryTimeout,
    application_name: options.applicationName ?? "civic-conformance",
  };
}

// libpq's sslmode for pg: production servers usually require TLS; only `verify-*` checks the
// certificate. pg has no `prefer`: it either speaks TLS or it does not. Local and compose servers do not.
function sslFromMode(mode: string | undefined): pg.ClientConfig["ssl"] {
  switch (mode) {
    case "require":
    case "no-verify":
      return { rejectUnauthorized: false };
    case "verify-ca":
    case "verify-full":
      return true;
    default:
      return false;
  }
}

/** Connects to the server a URL names, or throws pg's own error. The caller ends the client. */
export async function connect(url: string, options: ConnectOptions = {}): Promise<pg.Client> {
  return connectTo(targetOf(url), options);
}

/** Connects to a target, or throws pg's own error. The caller ends the client. */
export async function connectTo(target: ConnectTarget, options: ConnectOptions = {}): Promise<pg.Client> {
  const client = new pg.Client(clientConfig(target, options));
  // An idle client whose server goes away emits `error`; unhandled, that would crash the process.
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw plainDriverError(error);
  }
  return client;
}

/**
 * pg's client-side refusal of a password request it cannot answer reads
 * `SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string`: whoever prints the error
 * (a check's reason, a runtime's message) says what it means instead.
 */
function plainDriverError(error: unknown): unknown {
  if (!(error instanceof Error) || !CLIENT_HAS_NO_PASSWORD.test(error.message)) return error;
  return Object.assign(new Error(NO_PASSWORD_REASON), { code: NO_PASSWORD });
}

export type ConnectAttempt =
  | { readonly connected: true; readonly client: pg.Client }
  | { readonly connected: false; readonly failure: ConnectFailure };

const BUSY_RETRIES = 5;
const BUSY_BACKOFF_MS = 200;

/**
 * One connection attempt whose refusal is an answer, not an exception: `refused` comes back with its
 * SQLSTATE; `busy` (too many connections, starting up) is retried a few times; `unreachable` throws
 * `PostgresUnreachableError`, because "no answer" must never be read as "refused".
 */
export async function attemptConnect(url: string, options: ConnectOptions = {}): Promise<ConnectAttempt> {
  for (let attempt = 0; ; attempt++) {
    try {
      return { connected: true, client: await connect(url, options) };
    } catch (error) {
      const failure = classifyConnectError(error);
      if (failure.kind === "refused") return { connected: false, failure };
      if (failure.kind === "busy" && attempt < BUSY_RETRIES) {
        await new Promise((resolve) => setTimeout(resolve, BUSY_BACKOFF_MS * (attempt + 1)));
        continue;
      }
      const target = describeUrl(url);
      const where = target ? `${target.host}:${target.port}` : "the server";
      throw new PostgresUnreachableError(`PostgreSQL at ${where} did not answer: ${failure.reason}`, failure);
    }
  }
}

/** Runs `use` on a fresh connection and always ends it. Unreachable → `PostgresUnreachableError`; refused → thrown as pg raised it. */
export async function withConnection<T>(url: string, options: ConnectOptions, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const attempt = await attemptConnect(url, options);
  if (!attempt.connected) {
    throw Object.assign(new Error(`connection refused: ${attempt.failure.reason}`), { code: attempt.failure.code });
  }
  try {
    return await use(attempt.client);
  } finally {
    await attempt.client.end().catch(() => {});
  }
}
