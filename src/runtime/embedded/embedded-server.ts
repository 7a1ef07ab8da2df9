import { chmod, chown, mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import type { PostgresInstance } from "../../compose-file/postgres-instances.js";
import type { RepositoryBoundary } from "../../core/input-files.js";
import type { Logger } from "../../core/logger.js";
import type { OsUser } from "../../sandbox/os-user.js";
import { releaseOrphanedSegment } from "../../sandbox/postmaster-memory.js";
import { removeTree } from "../../sandbox/remove-tree.js";
import type { RunFolder } from "../../sandbox/run-folder.js";
import type { ClusterCache } from "./cluster-cache.js";
import {
  bootstrapPassword,
  createPostgresDb,
  DEFAULT_HOST_AUTH,
  INIT_PORT,
  initialiseCluster,
  prepareImageInitScripts,
  restartInputs,
  runImageInitScripts,
} from "./image-entrypoint.js";
import { findFreePort } from "./free-port.js";
import type { PostgresBinaries } from "./postgres-binaries.js";
import { PortTakenError, PostgresProcess } from "./postgres-process.js";
import { asServerOption, commandSettings } from "../command-settings.js";
import { UsageError } from "../../core/errors.js";

/** Milliseconds spent in each phase of one server's start. */
export interface EmbeddedTimings {
  readonly prepare: number;
  readonly initdb: number;
  readonly initServer: number;
  readonly initScripts: number;
  readonly restart: number;
  readonly total: number;
}

/** One server's phases, and when it began and became ready (`performance.now()` of this process). */
export interface ServerTimings extends EmbeddedTimings {
  readonly startedAt: number;
  readonly readyAt: number;
}

/** What every server of one run shares. */
export interface EmbeddedServerContext {
  readonly binaries: PostgresBinaries;
  readonly user: OsUser;
  /** The run's folder: each cluster gets a subfolder of it, and each postmaster is noted in its run record. */
  readonly runFolder?: RunFolder;
  /** Without a run folder (tests), where temp dirs go (see `chooseTempRoot`). */
  readonly tempRoot: string | undefined;
  /** The process environment (PATH for psql). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly repoRoot: string;
  /** The init scripts and everything copied with them must stay inside it (`--allow-outside-links`). */
  readonly boundary: RepositoryBoundary;
  /** Limit for each init script (`--timeout`). */
  readonly scriptTimeoutMs: number;
  /** Pristine clusters initialised once (cluster-cache.ts); without it every server runs initdb. */
  readonly clusterCache?: ClusterCache | undefined;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** The runtime was stopped meanwhile: give up at the next step. */
  readonly stopped: () => boolean;
}

export const LOOPBACK = "127.0.0.1";
const PORT_ATTEMPTS = 3;

/**
 * One PostgreSQL 16 server provisioned the way the instance's image provisions its compose service
 * on first start: bootstrap superuser and database, the init scripts (mounted or copied in by its
 * build) in the image's order on a socket-only server, then a restart listening on 127.0.0.1. An
 * instance whose init scripts are all plain SQL (or that has none) starts once, on 127.0.0.1, its
 * scripts sent over the protocol, and restarts only when they changed what a restart reads. Its cluster comes from the pristine-cluster cache when there is one
 * (cluster-cache.ts). It lives in a folder of its own (inside the run folder when there is one),
 * gone after `stop()`.
 */
export class EmbeddedServer {
  /** The superuser's password for this run (the instance's, or a generated one). */
  password: string | undefined;
  port: number | undefined;
  timings: ServerTimings | undefined;
  private tempDir: string | undefined;
  private process: PostgresProcess | undefined;
  /** The settings of the service's command line the server takes (`name=value`). */
  private productSettings: readonly string[] = [];

  constructor(readonly instance: PostgresInstance) {}

  /** Where the running server lives; `undefined` when none runs. */
  get location(): { readonly tempDir: string; readonly pid: number | undefined; readonly port: number } | undefined {
    if (!this.tempDir || !this.process || this.port === undefined) return undefined;
    return { tempDir: this.tempDir, pid: this.process.pid, port: this.port };
  }

  async start(context: EmbeddedServerContext, prepareMs: number): Promise<void> {
    const { instance } = this;
    const started = performance.now();
    let mark = started;
    const lap = () => {
      const now = performance.now();
      const elapsed = Math.round(now - mark);
      mark = now;
      return elapsed;
    };
    const checkpoint = () => {
      context.signal.throwIfAborted();
      if (context.stopped()) throw new Error("the embedded runtime was stopped while starting");
    };
    const password = bootstrapPassword(instance, context.logger);
    this.password = password;
    for (const problem of instance.initProblems) {
      context.logger.warn(
        `init of "${instance.name}": ${problem.source} into ${problem.target} (${problem.origin.file}:${problem.origin.line}) provides no script (${problem.reason}); the image would run nothing from it`,
      );
    }
    this.productSettings = this.readCommandSettings(context);
    const dir = await this.createTempDir(context);
    context.logger.debug(`embedded PostgreSQL "${instance.name}": cluster and socket in ${dir}, running as ${context.user.name}`);
    checkpoint();

    const dataDir = join(dir, "data");
    const cluster = await initialiseCluster(context.binaries, context.user, dir, dataDir, instance, password, instance.hostAuthMethod ?? DEFAULT_HOST_AUTH, {
      signal: context.signal,
      cache: context.clusterCache,
    });
    const initdb = lap();
    checkpoint();

    let initServer: number;
    let initScripts = 0;
    let restart = 0;
    const phase = {
      dir,
      dataDir,
      binaries: context.binaries,
      postgres: instance,
      password,
      user: context.user,
      env: context.env,
      repoRoot: context.repoRoot,
      boundary: context.boundary,
      scriptTimeoutMs: context.scriptTimeoutMs,
      logger: context.logger,
      signal: context.signal,
    };
    const runnable = instance.initScripts.some((script) => script.kind !== "ignored");
    const prepared = runnable ? await prepareImageInitScripts(instance.initScripts, phase) : undefined;
    checkpoint();
    if (!prepared || prepared.plain) {
      // No psql and no shell: nothing of the product runs in the image's init phase but SQL sent
      // by this tool, so the server starts once, on loopback, and is restarted only when a script
      // changed what a restart reads (ALTER SYSTEM, a configuration file).
      this.port = await this.listenOnLoopback(context, dataDir, dir);
      checkpoint();
      await createPostgresDb(dir, this.port, instance, password, { setPassword: cluster.passwordPending });
      initServer = lap();
      if (prepared) {
        const before = await restartInputs(dataDir);
        await runImageInitScripts(prepared, phase, this.port);
        initScripts = lap();
        checkpoint();
        if ((await restartInputs(dataDir)) !== before) {
          await this.process!.stop();
          this.process = undefined;
          this.port = await this.listenOnLoopback(context, dataDir, dir);
          checkpoint();
          restart = lap();
        }
      }
    } else {
      this.process = await this.startProcess(context, dataDir, { listenAddresses: "", port: INIT_PORT, socketDir: dir });
      await context.runFolder?.noteServer(this.process.pid, dataDir);
      checkpoint();
      await createPostgresDb(dir, INIT_PORT, instance, password, { setPassword: cluster.passwordPending });
      initServer = lap();

      await runImageInitScripts(prepared, phase, INIT_PORT);
      initScripts = lap();
      checkpoint();

      // The image's restart: what the scripts changed in the configuration (ALTER SYSTEM, an edited
      // postgresql.conf or pg_hba.conf) takes effect, and the server listens on TCP.
      await this.process.stop();
      this.process = undefined;
      this.port = await this.listenOnLoopback(context, dataDir, dir);
      checkpoint();
      restart = lap();
    }
    const readyAt = performance.now();
    this.timings = { prepare: prepareMs, initdb, initServer, initScripts, restart, total: prepareMs + Math.round(readyAt - started), startedAt: started, readyAt };
    context.logger.debug(
      `embedded PostgreSQL "${instance.name}" ready on ${LOOPBACK}:${this.port} in ${this.timings.total} ms ` +
        `(prepare ${prepareMs}, ${cluster.source === "cache" ? "cluster copied from the cache" : "initdb"} ${initdb}, init server ${initServer}, ${instance.initScripts.filter((script) => script.kind !== "ignored").length} init scripts ${initScripts}, restart ${restart})`,
    );
  }

  /** Stops the server and removes the temp dir, whichever exist; safe to call again at any point. */
  async stop(): Promise<void> {
    const server = this.process;
    this.process = undefined;
    this.port = undefined;
    try {
      // The cluster goes with the folder: no shutdown checkpoint.
      await server?.stop({ discard: true });
    } finally {
      const dir = this.tempDir;
      this.tempDir = undefined;
      if (dir) {
        // A postmaster killed with SIGKILL could not remove its System V segment; the folder names it.
        await releaseOrphanedSegment(join(dir, "data"));
        await removeTree(dir);
      }
    }
  }

  /** Why the running server is gone (it exited, was killed), or undefined while it runs or after `stop()`. */
  fault(): string | undefined {
    return this.process?.unexpectedExit();
  }

  private async createTempDir(context: EmbeddedServerContext): Promise<string> {
    if (context.runFolder) {
      // A short name: the server's socket lives in it, and a socket path has at most 107 bytes.
      this.tempDir = await context.runFolder.subfolder("pg");
      return this.tempDir;
    }
    if (context.tempRoot === undefined) throw new Error("an embedded server needs a run folder or a temp root");
    const dir = await mkdtemp(join(context.tempRoot, "civic-conformance-pg-"));
    this.tempDir = dir;
    await chmod(dir, 0o700);
    if (context.user.uid !== undefined) await chown(dir, context.user.uid, context.user.gid ?? context.user.uid);
    return dir;
  }

  /**
   * The settings of the service's command line the server takes, as the image's takes them; logs
   * what is not taken and why (a command that is not postgres's, a container path, a library).
   */
  private readCommandSettings(context: EmbeddedServerContext): string[] {
    const command = this.instance.serverCommand;
    if (!command) return [];
    const where = `${command.file}:${command.line}`;
    if (command.unread !== undefined) {
      context.logger.warn(`the command of "${this.instance.name}" (${where}) is not read: ${command.unread}; the embedded server runs with the image's defaults`);
      return [];
    }
    const { applied, skipped } = commandSettings(command.settings, context.binaries);
    for (const { setting, reason } of skipped) {
      const message = `the command of "${this.instance.name}" (${where}) sets ${setting.name}; not applied by the embedded runtime: ${reason}`;
      // A configuration file the server would read instead of its own is a lot not applied: a warning.
      if (setting.name === "config_file" || setting.name === "hba_file") context.logger.warn(message);
      else context.logger.info(message);
    }
    if (applied.length > 0) context.logger.debug(`embedded PostgreSQL "${this.instance.name}": ${applied.map((setting) => setting.name).join(", ")} from the command (${where})`);
    return applied.map(asServerOption);
  }

  /**
   * Starts the postmaster with the product's settings; one the server refuses (an unknown name, a
   * bad value) is the product's mistake at its command line, as the image's container would exit.
   */
  private async startProcess(context: EmbeddedServerContext, dataDir: string, listen: { listenAddresses: string; port: number; socketDir: string }): Promise<PostgresProcess> {
    try {
      return await PostgresProcess.start(context.binaries, dataDir, { ...listen, productSettings: this.productSettings }, context.user);
    } catch (error) {
      const command = this.instance.serverCommand;
      if (!command || this.productSettings.length === 0 || error instanceof PortTakenError || !(error instanceof Error)) throw error;
      const refused = command.settings.find((setting) => error.message.includes(`parameter "${setting.name}"`));
      if (!refused) throw error;
      const line = error.message.split("\n").find((text) => text.includes(`"${refused.name}"`))?.replace(/^.*?(FATAL|LOG|ERROR):\s*/, "").trim();
      throw new UsageError(`the command of "${this.instance.name}" sets ${refused.name}, which PostgreSQL refuses: ${line ?? "the server did not start"}`, {
        file: command.file,
        line: command.line,
      });
    }
  }

  /** Restarts the initialised cluster on 127.0.0.1 at a free port, retrying when another process takes the port first. */
  private async listenOnLoopback(context: EmbeddedServerContext, dataDir: string, socketDir: string): Promise<number> {
    for (let attempt = 1; ; attempt += 1) {
      const port = await findFreePort();
      try {
        this.process = await this.startProcess(context, dataDir, { listenAddresses: LOOPBACK, port, socketDir });
        await context.runFolder?.noteServer(this.process.pid, dataDir);
        return port;
      } catch (error) {
        if (!(error instanceof PortTakenError) || attempt >= PORT_ATTEMPTS) throw error;
        context.logger.debug(`port ${port} was taken before the embedded server "${this.instance.name}" bound it; trying another`);
      }
    }
  }
}
