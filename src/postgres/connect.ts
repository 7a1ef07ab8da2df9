/**
 * Opening one connection from a service's URL, with an upper bound on how long it may take. Every
 * connection is a fresh `pg.Client` (never a pool): a live check proves what one credential can do,
 * and a pooled session could carry another credential's state.
 */
import pg from "pg";
import { parseDatabaseUrl } from "./database-url.js";
import { registerSecret } from "../core/secrets.js";
import { classifyConnectError, type ConnectFailure } from "./sqlstate.js";

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_QUERY_TIMEOUT_MS = 30_000;

export interface ConnectOptions {
  /** Connect to this database instead of the one the URL names (the isolation probe's swap). */
  readonly database?: string;
  /** Upper bound for TCP connect + authentication + startup. */
  readonly connectTimeoutMs?: number;
  /** Upper bound for each statement on the connection (client and server side). */
  readonly queryTimeoutMs?: number;
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

/** A `pg` client configuration built from the URL's parts, so query parameters pg does not know (Prisma's `schema`) cannot leak in. */
export function clientConfig(url: string, options: ConnectOptions = {}): pg.ClientConfig {
  const parsed = parseDatabaseUrl(url);
  if (!parsed) throw new Error("not a postgres:// or postgresql:// URL");
  registerSecret(parsed.password);
  const queryTimeout = options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  return {
    host: parsed.host,
    port: parsed.port,
    user: parsed.user,
    ...(parsed.password !== undefined && { password: parsed.password }),
    database: options.database ?? parsed.database,
    ssl: sslFromMode(parsed.params.get("sslmode")),
    connectionTimeoutMillis: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    query_timeout: queryTimeout,
    statement_timeout: queryTimeout,
    application_name: options.applicationName ?? "civic-conformance",
  };
}

// pg has no `prefer`: it either speaks TLS or it does not. Local and compose servers do not.
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

/** Connects or throws pg's own error. The caller ends the client. */
export async function connect(url: string, options: ConnectOptions = {}): Promise<pg.Client> {
  const client = new pg.Client(clientConfig(url, options));
  // An idle client whose server goes away emits `error`; unhandled, that would crash the process.
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
  return client;
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
