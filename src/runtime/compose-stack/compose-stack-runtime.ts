import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ResultPromise } from "execa";
import { loadCompose } from "../../compose-file/load-compose-file.js";
import { isStartedByDefault } from "../../compose-file/model.js";
import type { PostgresInstance } from "../../compose-file/postgres-instances.js";
import { registerCleanup } from "../../core/cleanup-registry.js";
import { EnvironmentError, UsageError } from "../../core/errors.js";
import type { Logger } from "../../core/logger.js";
import { maskSecrets } from "../../core/secrets.js";
import type { RequestedCompose } from "../../core/settings.js";
import { projectArgs, resolveComposeCommand, type ComposeCommand } from "../../docker/compose-cli.js";
import { writeComposeCopy } from "../../docker/compose-file-copy.js";
import { lastLines, settle, spawnTool, type ProcessEnv } from "../../docker/docker-cli.js";
import { defaultProjectNames, runProjectName } from "../../docker/project-name.js";
import { removeRunResources, RUN_LABEL } from "../../docker/run-resources.js";
import { isReady, projectContainers, type ServiceContainer } from "../../docker/stack-state.js";
import { formatDatabaseUrl } from "../../postgres/database-url.js";
import type { Product } from "../../product/product.js";
import { productPostgres, type ProductPostgres } from "../../product/product-postgres.js";
import { instancesStartError } from "../instance-start-error.js";
import type { LiveEnvironment, LiveInstance, Runtime, RunningStack } from "../runtime.js";
import { reachThrough } from "../credential-url.js";
import { startScratchServerContainer, type ScratchServerContainer } from "./scratch-server-container.js";
import { instanceInitFailures } from "./instance-init-failure.js";
import { indent, notReadyReport, publishedPostgresPort, StackNotReadyError, waitUntilReady } from "./stack-readiness.js";
import { warnAboutStaleVolumes } from "./stale-volumes.js";

export interface ComposeRuntimeOptions {
  readonly product: Product;
  /** The process environment: PATH and DOCKER_HOST for the docker CLI; compose variables come from the loaded file. */
  readonly env: ProcessEnv;
  readonly logger: Logger;
  /** How long every service may take to be running and healthy after `up`. */
  readonly readyTimeoutMs?: number;
  /** How long `up -d --build` itself may take (image builds included). */
  readonly upTimeoutMs?: number;
  /**
   * A check will ask for a scratch server: start it while the stack boots (it is independent of
   * the stack and takes seconds to initialise), not after.
   */
  readonly startScratchServerEarly?: boolean;
  /** The Compose CLI the user asked for (`--compose-command`, `CIVIC_COMPOSE_COMMAND`); without it, the first that answers. */
  readonly composeCommand?: RequestedCompose;
}

/** Milliseconds spent in each phase of the last `start`. */
export interface ComposeTimings {
  readonly up: number;
  readonly ready: number;
  readonly total: number;
}

const LOOPBACK = "127.0.0.1";

/**
 * The product's own compose stack, booted for one run: a rewritten copy of the compose file (see
 * `writeComposeCopy`) under a project name of its own, `up -d --build`, then every service running
 * and healthy. PostgreSQL is reached over TCP at the port Docker published on 127.0.0.1, never
 * through the container's socket (local connections there are `trust` and prove nothing).
 *
 * `stop()` runs `down -v --remove-orphans --rmi local` — always: from `finally`, and on
 * SIGINT/SIGTERM through the cleanup registry — so the volume is gone and the next run's init scripts
 * really run; whatever `down` leaves (a container created while it ran) is removed by label.
 */
export class ComposeRuntime implements Runtime {
  readonly name = "compose" as const;
  timings: ComposeTimings | undefined;

  private projectName: string | undefined;
  private tempDir: string | undefined;
  private copyFile: string | undefined;
  private composeCommand: ComposeCommand | undefined;
  private variables: Record<string, string> = {};
  private upProcess: ResultPromise | undefined;
  /** Per instance name: its scratch server, once asked for (or started early). */
  private readonly scratchServers = new Map<string, Promise<ScratchServerContainer>>();
  /** Aborted by the teardown: a scratch server still waiting for readiness stops waiting and is removed. */
  private scratchAbort = new AbortController();
  private stopping: Promise<void> | undefined;
  private unregisterCleanup: (() => void) | undefined;

  constructor(private readonly options: ComposeRuntimeOptions) {}

  /** The run's compose project name, once `start` chose it. */
  get project(): string | undefined {
    return this.projectName;
  }

  async start(signal: AbortSignal): Promise<LiveEnvironment> {
    this.stopping = undefined;
    this.scratchAbort = new AbortController();
    this.unregisterCleanup = registerCleanup(() => this.stop());
    const { logger, product } = this.options;
    const started = performance.now();
    const checkpoint = () => {
      signal.throwIfAborted();
      if (this.stopping) throw new EnvironmentError("the compose runtime was stopped while starting");
    };
    try {
      const compose = product.compose ?? (await loadCompose(product.dir, product.repoRoot, this.options.env));
      const postgres = await productPostgres(product, compose);
      const { instances } = postgres;
      if (instances.length === 0) {
        throw new UsageError(
          "the compose file has no PostgreSQL service (an image of the postgres family, a build FROM one, or a service mounting /docker-entrypoint-initdb.d) to check",
          { file: compose.file },
        );
      }
      this.composeCommand = await resolveComposeCommand(this.options.composeCommand, this.options.env);
      this.variables = Object.fromEntries(compose.variables);
      this.projectName = runProjectName(product.name);
      this.tempDir = await mkdtemp(join(tmpdir(), "civic-compose-"));
      const inactiveServices = [...compose.services.values()].filter((service) => !isStartedByDefault(service, compose)).map((service) => service.name);
      if (inactiveServices.length > 0) logger.info(`compose: not starting ${inactiveServices.join(", ")} (under a profile not activated with --profile)`);
      const copy = await writeComposeCopy(
        { path: compose.path, document: compose.document, inactiveServices },
        new Map(instances.map((instance) => [instance.name, instance.networkPort])),
        this.tempDir,
      );
      this.copyFile = copy.file;
      const ownProjects = defaultProjectNames(compose.path, copy.topLevelName, this.options.env);
      for (const instance of instances) await warnAboutStaleVolumes(instance, ownProjects, this.options.env, logger);
      checkpoint();

      logger.info(`compose: booting project ${this.projectName} with ${this.composeCommand.command} ${this.composeCommand.prefix.join(" ")} ${this.composeCommand.version}`.replace(/ {2,}/g, " "));
      if (this.options.startScratchServerEarly) {
        for (const instance of instances) {
          const declaredImage = instance.service.image?.value;
          if (!declaredImage) continue;
          // May fail where `up` is about to pull the image: `scratchAdminUrl` then starts it again.
          const early = this.startScratchServer(declaredImage, this.projectName, signal);
          early.catch((error: unknown) => logger.debug(`compose: early scratch server for "${instance.name}" did not start: ${messageOf(error)}`));
          this.scratchServers.set(instance.name, early);
        }
      }
      const up = await this.up(signal).catch(async (error: unknown) => {
        throw await this.withInitFailures(error, instances);
      });
      checkpoint();
      const upDone = performance.now();
      const containers = await waitUntilReady(compose, {
        project: this.projectName,
        env: this.options.env,
        readyTimeoutMs: this.options.readyTimeoutMs ?? 240_000,
        signal,
        stopped: () => this.stopping !== undefined,
      }).catch(async (error: unknown) => {
        throw await this.withInitFailures(error, instances);
      });
      const ready = Math.round(performance.now() - upDone);
      const ports = await Promise.all(instances.map((instance) => publishedPostgresPort(containers, instance, this.options.env)));
      this.timings = { up, ready, total: Math.round(performance.now() - started) };
      const published = instances.map((instance, index) => `${LOOPBACK}:${ports[index]}${instances.length > 1 ? ` (${instance.name})` : ""}`).join(", ");
      logger.info(`compose: ${containers.length} containers ready (up ${up} ms, healthy ${ready} ms later, ${this.timings.total} ms in all); PostgreSQL published on ${published}`);
      return this.liveEnvironment(postgres, ports, containers, signal);
    } catch (error) {
      await this.stop().catch((cleanupError: unknown) => logger.warn(`compose: cleanup after a failed start failed: ${messageOf(cleanupError)}`));
      throw error;
    }
  }

  /**
   * A stack whose PostgreSQL container failed on an init script's own SQL is the product's bug, at
   * that script's line: the error names each such instance (and keeps the stack report).
   */
  private async withInitFailures(error: unknown, instances: readonly PostgresInstance[]): Promise<unknown> {
    if (!(error instanceof StackNotReadyError)) return error;
    const failures = await instanceInitFailures(error.services, error.containers, instances, this.options.product.repoRoot, this.options.env);
    if (failures.length === 0) return error;
    const started = instances.filter((instance) => !error.services.includes(instance.name)).map((instance) => instance.name);
    return instancesStartError(failures, started, instances.length);
  }

  /** Tears the stack down; safe to call again and concurrently (the signal handler and `finally` both call it). */
  stop(): Promise<void> {
    this.stopping ??= this.teardown();
    return this.stopping;
  }

  private async teardown(): Promise<void> {
    this.unregisterCleanup?.();
    this.unregisterCleanup = undefined;
    const { logger } = this.options;
    const failures: string[] = [];
    const attempt = async (what: string, work: () => Promise<unknown>) => {
      try {
        await work();
      } catch (error) {
        failures.push(`${what}: ${messageOf(error)}`);
      }
    };
    // A running `up` would go on creating containers behind `down`'s back: stop it first.
    const up = this.upProcess;
    if (up) {
      up.kill("SIGTERM");
      await up.catch(() => undefined);
    }
    const scratches = [...this.scratchServers.values()];
    this.scratchServers.clear();
    this.scratchAbort.abort(new Error("the compose runtime is stopping"));
    const project = this.projectName;
    // The scratch servers and the stack are independent: take them down together.
    const stopScratch = async () => {
      await Promise.all(scratches.map((scratch) => attempt("stopping a scratch PostgreSQL", async () => (await scratch.catch(() => undefined))?.stop())));
    };
    const downStack = async () => {
      if (!project || !this.copyFile || !this.composeCommand) return;
      await attempt("compose down", async () => {
        const result = await settle(
          spawnTool(this.composeCommand!.command, [...this.composeArgs(), "down", "-v", "--remove-orphans", "--rmi", "local", "-t", "5"], {
            env: this.options.env,
            extraEnv: this.variables,
            timeoutMs: 180_000,
          }),
        );
        if (result.exitCode !== 0) throw new Error(maskSecrets(lastLines(result.stderr, 10)));
      });
    };
    await Promise.all([stopScratch(), downStack()]);
    if (project && this.copyFile && this.composeCommand) {
      await attempt("removing what compose down left", () => removeRunResources(project, this.options.env));
      logger.debug(`compose: project ${project} torn down`);
    }
    const dir = this.tempDir;
    this.tempDir = undefined;
    if (dir) await attempt("removing the temp dir", () => rm(dir, { recursive: true, force: true }));
    if (failures.length > 0) throw new Error(`teardown of compose project ${project ?? "(none)"} was incomplete: ${failures.join("; ")}`);
  }

  private composeArgs(): string[] {
    return projectArgs(this.composeCommand!, { name: this.projectName!, file: this.copyFile!, directory: this.options.product.dir });
  }

  /**
   * `up -d --build`; returns its duration. A failure names the services that did not come up, with
   * their logs. Images are pulled only when missing, by v1 and v2 alike: on a fresh CI runner the
   * stack's images are not there yet (v2's `--pull never` would fail there).
   */
  private async up(signal: AbortSignal): Promise<number> {
    const started = performance.now();
    this.upProcess = spawnTool(this.composeCommand!.command, [...this.composeArgs(), "up", "-d", "--build"], {
      env: this.options.env,
      extraEnv: this.variables,
      timeoutMs: this.options.upTimeoutMs ?? 600_000,
      signal,
    });
    const result = await settle(this.upProcess);
    this.upProcess = undefined;
    signal.throwIfAborted();
    if (this.stopping) throw new EnvironmentError("the compose runtime was stopped while starting");
    if (result.exitCode !== 0) {
      const why = result.timedOut ? "timed out" : `failed (exit code ${result.exitCode})`;
      const containers = await projectContainers(this.projectName!, this.options.env);
      const states = await notReadyReport(containers, undefined, this.options.env);
      throw new StackNotReadyError(
        `compose up of ${this.options.product.name} ${why}:\n${indent(maskSecrets(lastLines(`${result.stdout}\n${result.stderr}`, 20)))}${states ? `\n${states}` : ""}`,
        containers.filter((container) => !isReady(container)).map((container) => container.service),
        containers,
      );
    }
    this.options.logger.debug(`compose: up finished in ${Math.round(performance.now() - started)} ms`);
    return Math.round(performance.now() - started);
  }

  private startScratchServer(image: string, project: string, signal: AbortSignal): Promise<ScratchServerContainer> {
    return startScratchServerContainer(image, { env: this.options.env, labels: { [RUN_LABEL]: project }, signal: AbortSignal.any([signal, this.scratchAbort.signal]) });
  }

  private liveEnvironment(postgres: ProductPostgres, ports: readonly number[], containers: readonly ServiceContainer[], signal: AbortSignal): LiveEnvironment {
    const byService = new Map(containers.map((container) => [container.service, container]));
    const project = this.projectName!;
    const instances = new Map<string, LiveInstance>();
    for (const [index, instance] of postgres.instances.entries()) {
      const port = ports[index]!;
      const adminUrl = formatDatabaseUrl({ user: instance.user, password: instance.password, host: LOOPBACK, port, database: instance.database });
      const image = byService.get(instance.name)?.image ?? instance.image ?? "postgres";
      instances.set(instance.name, {
        name: instance.name,
        adminUrl,
        host: LOOPBACK,
        port,
        // A container of the instance's own image, so the same server version and extensions.
        scratchAdminUrl: async () => {
          const existing = await this.scratchServers.get(instance.name)?.catch(() => undefined);
          if (existing) return existing.adminUrl;
          const starting = this.startScratchServer(image, project, signal);
          this.scratchServers.set(instance.name, starting);
          return (await starting).adminUrl;
        },
      });
    }
    const first = postgres.instances[0]!;
    const stack: RunningStack = {
      project,
      dockerEnv: this.options.env,
      postgresImage: byService.get(first.name)?.image ?? first.image ?? "postgres",
      containerOf: (service) => byService.get(service)?.id,
      imageOf: (service) => byService.get(service)?.image,
      networksOf: (service) => byService.get(service)?.networks ?? [],
    };
    const reach = reachThrough(postgres.instances, instances);
    return {
      runtime: "compose",
      instances,
      reach,
      servicesRunning: true,
      stack,
    };
  }
}

function messageOf(error: unknown): string {
  return maskSecrets(error instanceof Error ? error.message : String(error));
}

