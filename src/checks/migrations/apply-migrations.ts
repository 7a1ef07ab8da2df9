import { createHash, randomUUID } from "node:crypto";
import type { PostgresClient } from "../../postgres/connect.js";
import { maskSecrets } from "../../core/secrets.js";
import { runBounded } from "../../sandbox/bounded-process.js";
import { minimalEnvironment } from "../../sandbox/minimal-environment.js";
import type { RunFolder } from "../../sandbox/run-folder.js";
import type { PrismaMigration } from "../../prisma/read-module.js";
import { quoteIdentifier } from "../../postgres/quoting.js";
import { lineAt, offsetOfServerPosition, type SqlStatement } from "./sql-statements.js";

/** One migration as read from disk. */
export interface MigrationScript {
  readonly migration: PrismaMigration;
  readonly bytes: Buffer;
  readonly text: string;
  readonly statements: readonly SqlStatement[];
}

/** Why a migration (or a migrate command) did not apply. */
export interface ApplyFailure {
  /** Absent when a migrate command failed: it does not say which migration. */
  readonly migration?: PrismaMigration;
  /** The server's message, or the command's exit and last output lines. Masked. */
  readonly message: string;
  readonly sqlstate?: string;
  /** The failing statement, squashed to one line, when it can be told. */
  readonly statement?: string;
  /** 1-based line in `migration.file`. */
  readonly line?: number;
}

// Prisma's own DDL for its history table (prisma-engines, PostgreSQL flavour), so a schema built here
// looks exactly like one `prisma migrate deploy` builds.
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

/**
 * Applies migrations on a connection as the service's role, each file (dbmate: its up part) as ONE
 * simple query — one implicit transaction, never split — in the order the set lists them, which is
 * how `prisma migrate deploy`, Flyway, golang-migrate and dbmate run a file. With `prismaHistory`,
 * Prisma's history table comes first and records each migration, as `prisma migrate deploy` does.
 * Stops at the first failure, as the tools do. `afterEach` runs after every applied migration (the
 * check fingerprints the cluster there).
 */
export async function applyScripts(
  client: PostgresClient,
  scripts: readonly MigrationScript[],
  options: { readonly schema: string | undefined; readonly prismaHistory: boolean },
  afterEach: (script: MigrationScript) => Promise<void>,
): Promise<ApplyFailure | undefined> {
  const { schema } = options;
  if (schema && schema !== "public") {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(schema)}`);
  }
  if (schema) await client.query(`SET search_path TO ${quoteIdentifier(schema)}`);
  if (!options.prismaHistory) return applyEach(client, scripts, afterEach);
  try {
    await client.query(CREATE_MIGRATIONS_TABLE);
  } catch (error) {
    // `prisma migrate deploy` stops here too, before the first migration (e.g. no CREATE on schema public).
    // The first migration's statement that the role may not run either (replayed and rolled back) is the line to fix.
    const serverError = error as ServerError;
    const first = scripts[0];
    const located = first ? await locateFailingStatement(client, first.statements) : undefined;
    return {
      ...(first && { migration: first.migration }),
      message: maskSecrets(`Prisma's history table _prisma_migrations cannot be created: ${serverError.message ?? String(error)}`),
      ...(typeof serverError.code === "string" && { sqlstate: serverError.code }),
      ...(located && { line: located.line, statement: squash(located.text) }),
    };
  }
  for (const script of scripts) {
    const id = randomUUID();
    const checksum = createHash("sha256").update(script.bytes).digest("hex");
    await client.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)`,
      [id, checksum, script.migration.name],
    );
    try {
      // No parameters: pg sends this as a simple Query message, the whole file in one go.
      await client.query(script.text);
    } catch (error) {
      const failure = await describeFailure(client, script, error);
      await client.query(`UPDATE "_prisma_migrations" SET logs = $2 WHERE id = $1`, [id, failure.message]).catch(() => {});
      return failure;
    }
    await client.query(
      `UPDATE "_prisma_migrations" SET applied_steps_count = applied_steps_count + 1, finished_at = now() WHERE id = $1`,
      [id],
    );
    await afterEach(script);
  }
  return undefined;
}

async function applyEach(client: PostgresClient, scripts: readonly MigrationScript[], afterEach: (script: MigrationScript) => Promise<void>): Promise<ApplyFailure | undefined> {
  for (const script of scripts) {
    try {
      await client.query(script.text);
    } catch (error) {
      return describeFailure(client, script, error);
    }
    await afterEach(script);
  }
  return undefined;
}

interface ServerError {
  message: string;
  code?: string;
  position?: string;
}

async function describeFailure(client: PostgresClient, script: MigrationScript, error: unknown): Promise<ApplyFailure> {
  const serverError = error as ServerError;
  const message = maskSecrets(serverError.message ?? String(error));
  const sqlstate = typeof serverError.code === "string" ? serverError.code : undefined;
  const base = { migration: script.migration, message, ...(sqlstate && { sqlstate }) };
  const position = Number(serverError.position);
  if (Number.isInteger(position) && position > 0) {
    const offset = offsetOfServerPosition(script.text, position);
    const statement = script.statements.find((s) => s.start <= offset && offset <= s.end);
    return { ...base, line: lineAt(script.text, offset), ...(statement && { statement: squash(statement.text) }) };
  }
  // No position (permission errors, missing objects named in DDL): replay statement by statement in a
  // transaction that is rolled back, to learn which statement the server refuses.
  const located = await locateFailingStatement(client, script.statements);
  return located ? { ...base, line: located.line, statement: squash(located.text) } : base;
}

async function locateFailingStatement(client: PostgresClient, statements: readonly SqlStatement[]): Promise<SqlStatement | undefined> {
  try {
    await client.query("BEGIN");
    for (const statement of statements) {
      try {
        await client.query(statement.text);
      } catch {
        return statement;
      }
    }
    return undefined;
  } finally {
    await client.query("ROLLBACK").catch(() => {});
  }
}

/**
 * Runs the user's own migrate command instead (`options.migrateCommand`): a shell command run in the
 * module folder, bounded (sandbox/bounded-process.ts), with the minimal environment plus
 * `DATABASE_URL` (the scratch database, as the service's role), `SERVICE` (the registry key) and
 * `MIGRATIONS_DIR` (absolute) — never the caller's token or secrets; as root, as the unprivileged
 * user. Exit code 0 means applied.
 */
export async function applyWithCommand(options: {
  command: string;
  cwd: string;
  /** The caller's environment: only PATH and the locale pass on. */
  callerEnv: Readonly<Record<string, string | undefined>>;
  runFolder: RunFolder;
  databaseUrl: string;
  service: string;
  migrationsDir: string;
  timeoutMs: number;
  signal: AbortSignal;
}): Promise<ApplyFailure | undefined> {
  const result = await runBounded(options.command, [], {
    shell: true,
    cwd: options.cwd,
    env: minimalEnvironment(options.callerEnv, {
      home: options.runFolder.home,
      tmpdir: options.runFolder.tmp,
      extra: { DATABASE_URL: options.databaseUrl, SERVICE: options.service, MIGRATIONS_DIR: options.migrationsDir },
    }),
    user: options.runFolder.user,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
  });
  if (result.exitCode === 0 && !result.timedOut) return undefined;
  const tail = (result.spawnError ?? result.output).trim().split("\n").slice(-15).join("\n");
  const how = result.timedOut ? `timed out after ${options.timeoutMs} ms` : `exited with code ${result.exitCode ?? "?"}`;
  return { message: maskSecrets(`the migrate command ${how}${tail ? `:\n${tail}` : ""}`) };
}

function squash(text: string): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  return oneLine.length > 240 ? `${oneLine.slice(0, 237)}...` : oneLine;
}
