/**
 * The official `postgres` image's entrypoint (docker-library/postgres, `docker-entrypoint.sh`),
 * emulated step by step for the embedded runtime: POSTGRES_PASSWORD (or a random one), initdb as
 * the image runs it with the image's `pg_hba.conf` rule, POSTGRES_DB created, then the mounted init
 * scripts run in the image's order on the socket-only init server, with the environment the image
 * gives them. The runtime (embedded-runtime.ts) owns the server's lifecycle; this is what it runs.
 */
import { randomBytes } from "node:crypto";
import { appendFile, chown, cp, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { InitScript } from "../../compose-file/init-scripts.js";
import type { PostgresInstance } from "../../compose-file/postgres-instances.js";
import { UsageError } from "../../core/errors.js";
import { assertInsideRepository, assertWithinLimit, type RepositoryBoundary } from "../../core/input-files.js";
import type { Logger } from "../../core/logger.js";
import { repoRelative } from "../../core/repo-path.js";
import { registerSecret } from "../../core/secrets.js";
import { connectTo } from "../../postgres/connect.js";
import { quoteIdentifier, quoteLiteral } from "../../postgres/quoting.js";
import { ClusterCache, type ClusterSource } from "./cluster-cache.js";
import { containerHba } from "./pg-hba.js";
import type { PostgresBinaries } from "./postgres-binaries.js";
import { InitdbFailure, runInitdb } from "./postgres-process.js";
import { plainSqlScript, psqlEnvironmentIsPlain, runPlainSql } from "./init-sql-protocol.js";
import { runInitScripts } from "./run-init-scripts.js";
import type { OsUser } from "../../sandbox/os-user.js";

/** The port the image's temporary init server uses; on our private socket directory it can clash with nothing. */
export const INIT_PORT = 5432;
/** The image's `password_encryption` default, hence its default POSTGRES_HOST_AUTH_METHOD. */
export const DEFAULT_HOST_AUTH = "scram-sha-256";

/**
 * The bootstrap superuser's password as the service gets it. The official image refuses to
 * initialise without one (unless POSTGRES_HOST_AUTH_METHOD=trust), bitnami's without
 * ALLOW_EMPTY_PASSWORD; the compose check reports that, so here a random one keeps the live checks
 * running (the admin URL is this tool's own account, never a service's).
 */
export function bootstrapPassword(postgres: PostgresInstance, logger: Logger): string | undefined {
  if (postgres.password !== undefined || postgres.hostAuthMethod === "trust") return postgres.password;
  const variable = postgres.flavor === "bitnami" ? (postgres.bitnamiUser ? "POSTGRESQL_POSTGRES_PASSWORD" : "POSTGRESQL_PASSWORD") : "POSTGRES_PASSWORD";
  logger.warn(
    `the postgres service "${postgres.service.name}" (${postgres.service.file}:${postgres.service.line}) sets no ${variable}, ` +
      `so its superuser has no password; the embedded runtime uses a random one for this run`,
  );
  const generated = randomBytes(18).toString("base64url");
  registerSecret(generated);
  return generated;
}

/** How a server's cluster came to be, and whether the bootstrap password is still to be set on first start. */
export interface InitialisedCluster {
  readonly source: ClusterSource;
  readonly passwordPending: boolean;
}

/**
 * initdb as the image runs it, then the image's `host all all all <method>` rule (see pg-hba.ts).
 * With a `cache`, the pristine cluster for the same binaries, superuser and initdb arguments is
 * copied from it instead (made and kept there on the first run), and the bootstrap password is left
 * for `createPostgresDb` to set as initdb's `--pwfile` would have. initdb failing on the service's
 * own POSTGRES_INITDB_ARGS (an unknown locale, a bad flag) is the product's mistake, a `UsageError`
 * at that line of the compose file, as the image fails the same way.
 */
export async function initialiseCluster(
  binaries: PostgresBinaries,
  user: OsUser,
  dir: string,
  dataDir: string,
  postgres: PostgresInstance,
  password: string | undefined,
  hostAuthMethod: string,
  { signal, cache }: { signal: AbortSignal; cache?: ClusterCache | undefined },
): Promise<InitialisedCluster> {
  // The image word-splits POSTGRES_INITDB_ARGS through `eval`; plain word splitting covers the flags people pass.
  const extraArgs = postgres.initdbArgs?.split(/\s+/).filter(Boolean) ?? [];
  // initdb takes the first line of its password file and refuses an empty one: such a password keeps the plain path.
  const usable = cache && (password === undefined || (password !== "" && initdbPassword(password) === password)) ? cache : undefined;
  const key = usable && (await ClusterCache.keyOf(binaries, { superuser: postgres.user, initdbArgs: extraArgs }));
  let source: ClusterSource = "initdb";
  if (usable && key && (await usable.copyTo(key, dataDir, user))) source = "cache";
  else {
    // A cluster that goes into the cache holds no password: each run sets its own on first start.
    await runImageInitdb(binaries, user, dir, dataDir, postgres, usable ? undefined : password, extraArgs, signal);
    if (usable && key) await usable.store(key, dataDir);
  }
  const hbaPath = join(dataDir, "pg_hba.conf");
  await writeFile(hbaPath, containerHba(await readFile(hbaPath, "utf8"), hostAuthMethod));
  await appendFile(join(dataDir, "postgresql.conf"), CONNECTION_SLOTS);
  return { source, passwordPending: usable !== undefined && password !== undefined };
}

/**
 * Appended to initdb's postgresql.conf: 300 connections where initdb chose 100. The migrations
 * check keeps a connection into each scratch database, two per stateful service when its two passes
 * run together; with 100 slots a product of more than about 40 stateful services had its passes
 * run one after the other (the 100-service benchmark: migrations 21 s → 13 s). In the file, not on
 * the command line: the product's own setting (an init script's `ALTER SYSTEM`, which the restart
 * after the init scripts reads) still wins, as it would in the image.
 */
const CONNECTION_SLOTS = "\n# civic-conformance: room for the migrations check's connections (initdb chose 100)\nmax_connections = 300\n";

/** The password initdb would read from a `--pwfile` holding `password`: its first line, without a trailing CR. */
function initdbPassword(password: string): string {
  return password.split("\n")[0]!.replace(/\r+$/, "");
}

async function runImageInitdb(
  binaries: PostgresBinaries,
  user: OsUser,
  dir: string,
  dataDir: string,
  postgres: PostgresInstance,
  password: string | undefined,
  extraArgs: readonly string[],
  signal: AbortSignal,
): Promise<void> {
  // Inside the cluster's own folder (0700, the server user's): only initdb, run as that user, reads it.
  const pwfile = join(dir, "pwfile");
  if (password !== undefined) {
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    if (user.uid !== undefined) await chown(pwfile, user.uid, user.gid ?? user.uid);
  }
  try {
    await runInitdb(binaries, { dataDir, superuser: postgres.user, ...(password !== undefined && { pwfile }), extraArgs, user, cwd: dir, signal });
  } catch (error) {
    if (!(error instanceof InitdbFailure)) throw error;
    const { output } = error;
    if (!extraArgs.some((arg) => output.includes(arg.replace(/^--?[^=]+=/, "")))) throw error;
    const setting = postgres.service.environment.get("POSTGRES_INITDB_ARGS");
    const reason = output.split("\n").find((line) => /error|invalid/i.test(line))?.trim() ?? `initdb exited with code ${error.exitCode}`;
    // The reason names the offending value; the arguments are not repeated.
    throw new UsageError(`initdb fails on the service's POSTGRES_INITDB_ARGS, as it would in the postgres container's first start: ${reason}`, {
      file: setting?.file ?? postgres.service.file,
      line: setting?.line ?? postgres.service.line,
    });
  } finally {
    await rm(pwfile, { force: true });
  }
}

/** Where the init phase runs and what it may see. */
export interface InitPhase {
  /** The run's temp dir: the init server's socket, HOME, and the copies of the scripts. */
  readonly dir: string;
  readonly dataDir: string;
  readonly binaries: PostgresBinaries;
  readonly postgres: PostgresInstance;
  readonly password: string | undefined;
  readonly user: OsUser;
  /** The process environment (PATH for psql). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Error paths are shown relative to this. */
  readonly repoRoot: string;
  /** The scripts and everything they are copied with must stay inside it (`--allow-outside-links`). */
  readonly boundary: RepositoryBoundary;
  /** Limit for each script (`--timeout`). */
  readonly scriptTimeoutMs: number;
  readonly logger: Logger;
  readonly signal: AbortSignal;
}

/** The init scripts copied where the server user reads them, and whether psql can be left out. */
export interface PreparedInitScripts {
  readonly scripts: readonly InitScript[];
  /** Each script's copy, by container name. */
  readonly copies: ReadonlyMap<string, string>;
  /**
   * Every script that runs is plain SQL psql would send unchanged, in an environment where psql
   * would talk to the server as this tool does (init-sql-protocol.ts): the statements of each.
   * Undefined when any script needs psql or a shell, or the image is bitnami's.
   */
  readonly plain: ReadonlyMap<string, ReturnType<typeof plainSqlScript> & object> | undefined;
}

/** Copies every script mounted or copied in (`copyInitScripts`) and decides whether they all run over the protocol. */
export async function prepareImageInitScripts(scripts: readonly InitScript[], phase: InitPhase): Promise<PreparedInitScripts> {
  const copies = await copyInitScripts(scripts, join(phase.dir, "docker-entrypoint-initdb.d"), phase);
  return { scripts, copies, plain: await plainScripts(scripts, copies, phase) };
}

async function plainScripts(scripts: readonly InitScript[], copies: ReadonlyMap<string, string>, phase: InitPhase): Promise<PreparedInitScripts["plain"]> {
  if (phase.postgres.flavor === "bitnami" || phase.postgres.bitnamiUser) return undefined;
  const env = scriptEnvironment(phase.env, phase.binaries, phase.dir, phase.dataDir, phase.postgres, phase.password);
  if (!psqlEnvironmentIsPlain(env, phase.password)) return undefined;
  const plain = new Map<string, NonNullable<ReturnType<typeof plainSqlScript>>>();
  for (const script of scripts) {
    if (script.kind === "ignored") continue;
    if (script.kind !== "sql") return undefined;
    const statements = plainSqlScript(await readFile(copies.get(script.containerName) ?? script.hostPath), env);
    if (!statements) return undefined;
    plain.set(script.containerName, statements);
  }
  return plain;
}

/**
 * The entrypoint's `docker_process_init_files`: every script mounted or copied in, in the image's
 * order, as the image runs it, on the init server at `port` (its socket in `phase.dir`). Bitnami's
 * scripts run them as its application user (its POSTGRESQL_INITSCRIPTS_USERNAME default) into its
 * database. With `prepared.plain`, the statements go over the protocol instead of through psql.
 */
export async function runImageInitScripts(prepared: PreparedInitScripts, phase: InitPhase, port: number): Promise<void> {
  const { scripts, copies, plain } = prepared;
  const superuser = phase.postgres.bitnamiUser?.user ?? phase.postgres.user;
  const displayPath = (script: InitScript) => repoRelative(phase.repoRoot, script.hostPath);
  if (plain) {
    phase.logger.debug(`init: ${plain.size} plain SQL script${plain.size === 1 ? "" : "s"}, sent over the protocol as psql would send them`);
    for (const script of scripts) {
      const statements = plain.get(script.containerName);
      if (!statements) {
        phase.logger.debug(`init: ignoring ${script.containerName} (the image only runs *.sh, *.sql and compressed *.sql)`);
        continue;
      }
      phase.logger.debug(`init: running ${script.containerName}`);
      await runPlainSql(
        statements,
        { socketDir: phase.dir, port, superuser, database: phase.postgres.database, password: phase.password, timeoutMs: phase.scriptTimeoutMs, signal: phase.signal },
        { containerName: script.containerName, shown: displayPath(script) },
      );
    }
    return;
  }
  await runInitScripts(scripts, {
    env: { ...scriptEnvironment(phase.env, phase.binaries, phase.dir, phase.dataDir, phase.postgres, phase.password), PGPORT: String(port) },
    superuser,
    database: phase.postgres.database,
    user: phase.user,
    cwd: phase.dir,
    timeoutMs: phase.scriptTimeoutMs,
    logger: phase.logger,
    signal: phase.signal,
    displayPath,
    runPath: (script) => copies.get(script.containerName) ?? script.hostPath,
  });
}

/** The configuration files a restart reads again: when init scripts changed none, the restart changes nothing. */
const RESTART_READS = ["postgresql.conf", "postgresql.auto.conf", "pg_hba.conf", "pg_ident.conf"];

/** The contents of the files a restart would read again, to compare before and after the init scripts. */
export async function restartInputs(dataDir: string): Promise<string> {
  const contents = await Promise.all(RESTART_READS.map((name) => readFile(join(dataDir, name), "utf8").catch(() => "")));
  return contents.join("\0");
}

/**
 * The image's `docker_setup_db`: create POSTGRES_DB unless it already exists (as `postgres` always
 * does). Bitnami's scripts also create their application user `WITH LOGIN CREATEDB`, grant it the
 * database and make it the owner of the database and of its `public` schema.
 *
 * `setPassword` (a cluster copied from the cache): first the bootstrap superuser's password, as
 * initdb's `--pwfile` sets it (`ALTER USER … WITH PASSWORD`, hashed by the server under its
 * `password_encryption`, SCRAM by default), over the local socket where `pg_hba.conf` trusts it.
 */
export async function createPostgresDb(
  socketDir: string,
  port: number,
  postgres: PostgresInstance,
  password: string | undefined,
  { setPassword = false }: { setPassword?: boolean } = {},
): Promise<void> {
  const target = { host: socketDir, port, user: postgres.user, password };
  const options = { applicationName: "civic-conformance init", queryTimeoutMs: 120_000 };
  const client = await connectTo({ ...target, database: "postgres" }, options);
  const database = quoteIdentifier(postgres.database);
  try {
    if (setPassword && password !== undefined) {
      // Hashed as initdb hashes it: under postgresql.conf's password_encryption (initdb's default),
      // not one the service's command line passes to the server (`-c password_encryption=md5`),
      // which the image never gives initdb. One simple query, no extra round trip.
      await client.query(
        `SELECT set_config('password_encryption', coalesce((SELECT setting FROM pg_file_settings WHERE name = 'password_encryption' AND error IS NULL ORDER BY seqno DESC LIMIT 1), ` +
          `(SELECT boot_val FROM pg_settings WHERE name = 'password_encryption')), false); ` +
          `ALTER USER ${quoteIdentifier(postgres.user)} WITH PASSWORD ${quoteLiteral(password)}`,
      );
    }
    const existing = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [postgres.database]);
    // The image's `CREATE DATABASE`, copied file by file as the init scripts' are (init-sql-protocol.ts, `withFileCopyStrategy`).
    if (existing.rowCount === 0) await client.query(`CREATE DATABASE ${database} STRATEGY FILE_COPY`);
    const app = postgres.bitnamiUser;
    if (!app) return;
    registerSecret(app.password);
    const role = quoteIdentifier(app.user);
    await client.query(`CREATE ROLE ${role} WITH LOGIN CREATEDB${app.password === undefined ? "" : ` PASSWORD ${quoteLiteral(app.password)}`}`);
    await client.query(`GRANT ALL PRIVILEGES ON DATABASE ${database} TO ${role}`);
    await client.query(`ALTER DATABASE ${database} OWNER TO ${role}`);
  } finally {
    await client.end();
  }
  if (!postgres.bitnamiUser) return;
  const inDatabase = await connectTo({ ...target, database: postgres.database }, options);
  try {
    await inDatabase.query(`ALTER SCHEMA public OWNER TO ${quoteIdentifier(postgres.bitnamiUser.user)}`);
  } finally {
    await inDatabase.end();
  }
}

/**
 * Copies everything mounted into the init directory to `<dir>` under its container name, owned by the
 * server user: scripts run as that user (as in the image) and may read their siblings. Links are
 * followed, but only inside the repository, and no file over the init script cap is copied: a
 * mounted folder holding a link to `/` must not become a copy of the machine. Returns the copy of
 * each name.
 */
async function copyInitScripts(scripts: readonly InitScript[], dir: string, phase: InitPhase): Promise<Map<string, string>> {
  const { user, boundary, repoRoot } = phase;
  const copies = new Map<string, string>();
  await mkdir(dir, { recursive: true });
  const admit = async (source: string) => {
    const reference = { shown: repoRelative(repoRoot, source) };
    await assertInsideRepository(source, boundary, reference);
    const info = await stat(source);
    if (info.isFile()) assertWithinLimit(info.size, "init script", reference);
    return true;
  };
  for (const script of scripts) {
    const copy = join(dir, script.containerName);
    await cp(script.hostPath, copy, { recursive: true, dereference: true, filter: admit });
    copies.set(script.containerName, copy);
  }
  if (user.uid !== undefined) {
    const gid = user.gid ?? user.uid;
    await chown(dir, user.uid, gid);
    for (const entry of await readdir(dir, { recursive: true })) await chown(join(dir, entry), user.uid, gid);
  }
  return copies;
}

/**
 * The environment the image's entrypoint hands to init scripts: the service's container environment
 * (interpolated compose values, `_FILE` forms resolved — how `\getenv` finds per-service passwords),
 * the image's own variables, and PGHOST/PGPORT pointing at the init server's socket.
 */
function scriptEnvironment(
  processEnv: Readonly<Record<string, string | undefined>>,
  binaries: PostgresBinaries,
  dir: string,
  dataDir: string,
  postgres: PostgresInstance,
  password: string | undefined,
): Record<string, string> {
  const containerEnv = Object.fromEntries(postgres.env);
  if (postgres.flavor === "bitnami") {
    return {
      PATH: [join(binaries.nativeDir, "bin"), processEnv.PATH ?? "/usr/local/bin:/usr/bin:/bin"].join(":"),
      HOME: dir,
      LANG: "C.UTF-8",
      ...containerEnv,
      PGHOST: dir,
      PGPORT: String(INIT_PORT),
    };
  }
  return {
    // psql comes from the machine; the image's PATH starts with its PostgreSQL bin folder.
    PATH: [join(binaries.nativeDir, "bin"), processEnv.PATH ?? "/usr/local/bin:/usr/bin:/bin"].join(":"),
    HOME: dir,
    LANG: "C.UTF-8",
    PG_MAJOR: "16",
    ...containerEnv,
    PGDATA: dataDir,
    POSTGRES_USER: postgres.user,
    POSTGRES_DB: postgres.database,
    ...(password !== undefined && { POSTGRES_PASSWORD: password, PGPASSWORD: containerEnv.PGPASSWORD ?? password }),
    PGHOST: dir,
    PGPORT: String(INIT_PORT),
  };
}
