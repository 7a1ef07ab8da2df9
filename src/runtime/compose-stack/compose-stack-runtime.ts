import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ResultPromise } from "execa";
import { loadCompose } from "../../compose-file/load-compose-file.js";
import { type ComposeProject, isStartedByDefault } from "../../compose-file/model.js";
import { findPostgresInstances, type PostgresInstance } from "../../compose-file/postgres-instances.js";
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
import { projectContainers, type ServiceContainer } from "../../docker/stack-state.js";
import { formatDatabaseUrl } from "../../postgres/database-url.js";
import type { Product } from "../../product/product.js";
import { publishedServiceUrl } from "../published-service-url.js";
import type { LiveEnvironment, LiveInstance, Runtime, RunningStack } from "../runtime.js";
import { reachThrough } from "../credential-url.js";
import { startScratchServerContainer, type ScratchServerContainer } from "./scratch-server-container.js";
import { indent, notReadyReport, publishedPostgresPort, waitUntilReady } from "./stack-readiness.js";
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
const POSTGRES_PORT = 5432;

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
  private scratchServer: Promise<ScratchServerContainer> | undefined;
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
      const instances = await findPostgresInstances(compose);
      const postgres = instances.find((instance) => instance.name === "postgres") ?? instances[0];
      if (!postgres) {
        throw new UsageError("the compose file has no PostgreSQL service (a service running a postgres image or mounting /docker-entrypoint-initdb.d) to check", { file: compose.file });
      }
      this.composeCommand = await resolveComposeCommand(this.options.composeCommand, this.options.env);
      this.variables = Object.fromEntries(compose.variables);
      this.projectName = runProjectName(product.name);
      this.tempDir = await mkdtemp(join(tmpdir(), "civic-compose-"));
      const inactiveServices = [...compose.services.values()].filter((service) => !isStartedByDefault(service, compose)).map((service) => service.name);
      if (inactiveServices.length > 0) logger.info(`compose: not starting ${inactiveServices.join(", ")} (under a profile not activated with --profile)`);
      const copy = await writeComposeCopy({ path: compose.path, document: compose.document, inactiveServices }, postgres.service.name, this.tempDir);
      this.copyFile = copy.file;
      await warnAboutStaleVolumes(postgres, defaultProjectNames(compose.path, copy.topLevelName, this.options.env), this.options.env, logger);
      checkpoint();

      logger.info(`compose: booting project ${this.projectName} with ${this.composeCommand.command} ${this.composeCommand.prefix.join(" ")} ${this.composeCommand.version}`.replace(/ {2,}/g, " "));
      const declaredImage = postgres.service.image?.value;
      if (this.options.startScratchServerEarly && declaredImage) {
        // May fail where `up` is about to pull the image: `scratchAdminUrl` then starts it again.
        this.scratchServer = this.startScratchServer(declaredImage, this.projectName, signal);
        this.scratchServer.catch((error: unknown) => logger.debug(`compose: early scratch server did not start: ${messageOf(error)}`));
      }
      const up = await this.up(signal);
      checkpoint();
      const upDone = performance.now();
      const containers = await waitUntilReady(compose, {
        project: this.projectName,
        env: this.options.env,
        readyTimeoutMs: this.options.readyTimeoutMs ?? 240_000,
        signal,
        stopped: () => this.stopping !== undefined,
      });
      const ready = Math.round(performance.now() - upDone);
      const port = await publishedPostgresPort(containers, postgres, this.options.env);
      this.timings = { up, ready, total: Math.round(performance.now() - started) };
      logger.info(`compose: ${containers.length} containers ready (up ${up} ms, healthy ${ready} ms later, ${this.timings.total} ms in all); PostgreSQL published on ${LOOPBACK}:${port}`);
      return this.liveEnvironment(compose, postgres, port, containers, signal);
    } catch (error) {
      await this.stop().catch((cleanupError: unknown) => logger.warn(`compose: cleanup after a failed start failed: ${messageOf(cleanupError)}`));
      throw error;
    }
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
    const scratch = this.scratchServer;
    this.scratchServer = undefined;
    this.scratchAbort.abort(new Error("the compose runtime is stopping"));
    const project = this.projectName;
    // The scratch server and the stack are independent: take them down together.
    const stopScratch = async () => {
      if (scratch) await attempt("stopping the scratch PostgreSQL", async () => (await scratch.catch(() => undefined))?.stop());
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
      const states = await notReadyReport(await projectContainers(this.projectName!, this.options.env), undefined, this.options.env);
      throw new EnvironmentError(
        `compose up of ${this.options.product.name} ${why}:\n${indent(maskSecrets(lastLines(`${result.stdout}\n${result.stderr}`, 20)))}${states ? `\n${states}` : ""}`,
      );
    }
    this.options.logger.debug(`compose: up finished in ${Math.round(performance.now() - started)} ms`);
    return Math.round(performance.now() - started);
  }

  private startScratchServer(image: string, project: string, signal: AbortSignal): Promise<ScratchServerContainer> {
    return startScratchServerContainer(image, { env: this.options.env, labels: { [RUN_LABEL]: project }, signal: AbortSignal.any([signal, this.scratchAbort.signal]) });
  }

  private liveEnvironment(compose: ComposeProject, postgres: PostgresInstance, port: number, containers: readonly ServiceContainer[], signal: AbortSignal): LiveEnvironment {
    const adminUrl = formatDatabaseUrl({ user: postgres.user, password: postgres.password, host: LOOPBACK, port, database: postgres.database });
    const registry = this.options.product.registry;
    const byService = new Map(containers.map((container) => [container.service, container]));
    const postgresImage = byService.get(postgres.service.name)?.image ?? postgres.service.image?.value ?? "postgres";
    const project = this.projectName!;
    const stack: RunningStack = {
      project,
      dockerEnv: this.options.env,
      postgresImage,
      containerOf: (service) => byService.get(service)?.id,
      imageOf: (service) => byService.get(service)?.image,
      networksOf: (service) => byService.get(service)?.networks ?? [],
    };
    const scratchAdminUrl = async () => {
      const early = await this.scratchServer?.catch(() => undefined);
      if (early) return early.adminUrl;
      this.scratchServer = this.startScratchServer(postgresImage, project, signal);
      return (await this.scratchServer).adminUrl;
    };
    const instances = new Map<string, LiveInstance>([[postgres.name, { name: postgres.name, adminUrl, host: LOOPBACK, port, scratchAdminUrl }]]);
    return {
      runtime: "compose",
      instances,
      reach: reachThrough([postgres], instances),
      adminUrl,
      serviceUrl: publishedServiceUrl(registry, compose, { serviceName: postgres.service.name, networkPort: POSTGRES_PORT, host: LOOPBACK, port }),
      servicesRunning: true,
      stack,
      scratchAdminUrl,
    };
  }
}

function messageOf(error: unknown): string {
  return maskSecrets(error instanceof Error ? error.message : String(error));
}

