import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import type { ResultPromise } from "execa";
import { formatDatabaseUrl } from "../compose/database-url.js";
import { loadCompose } from "../compose/load-compose.js";
import type { ComposeProject } from "../compose/model.js";
import { resolvePostgresService, type PostgresService } from "../compose/postgres-service.js";
import { EnvironmentError, UsageError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import type { Product } from "../core/product.js";
import { maskSecrets } from "../core/secrets.js";
import type { RequestedCompose } from "../core/settings.js";
import { projectArgs, resolveComposeCommand, type ComposeCommand } from "../docker/compose-command.js";
import { writeComposeCopy } from "../docker/compose-copy.js";
import { docker, lastLines, settle, spawnTool, type ProcessEnv } from "../docker/docker-cli.js";
import { defaultProjectNames, runProjectName } from "../docker/project-name.js";
import { describeState, hasFailed, isReady, lastLogLines, projectContainers, PROJECT_LABEL, settledReadiness, type ServiceContainer } from "../docker/stack-state.js";
import { registerCleanup } from "./cleanup.js";
import { startScratchPostgres, type ScratchPostgres } from "./compose-scratch.js";
import { publishedServiceUrl } from "./published-service-url.js";
import type { LiveEnvironment, Runtime, RunningStack } from "./runtime.js";

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
  readonly startScratchEarly?: boolean;
  /** The Compose CLI the user asked for (`--compose-command`, `CIVIC_COMPOSE_COMMAND`); without it, the first that answers. */
  readonly composeCommand?: RequestedCompose;
}

/** Milliseconds spent in each phase of the last `start`. */
export interface ComposeTimings {
  readonly up: number;
  readonly ready: number;
  readonly total: number;
}

/** Labels the scratch server so a teardown after a crash can still find it. */
export const RUN_LABEL = "civic.conformance.run";
const LOOPBACK = "127.0.0.1";
const POSTGRES_PORT = 5432;
const POLL_MS = 1_000;
const LOG_LINES = 15;

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
  private scratch: Promise<ScratchPostgres> | undefined;
  private stopping: Promise<void> | undefined;
  private unregisterCleanup: (() => void) | undefined;

  constructor(private readonly options: ComposeRuntimeOptions) {}

  /** The run's compose project name, once `start` chose it. */
  get project(): string | undefined {
    return this.projectName;
  }

  async start(signal: AbortSignal): Promise<LiveEnvironment> {
    this.stopping = undefined;
    this.unregisterCleanup = registerCleanup(() => this.stop());
    const { logger, product } = this.options;
    const started = performance.now();
    const checkpoint = () => {
      signal.throwIfAborted();
      if (this.stopping) throw new EnvironmentError("the compose runtime was stopped while starting");
    };
    try {
      const compose = product.compose ?? (await loadCompose(product.dir, product.repoRoot, this.options.env));
      const postgres = await resolvePostgresService(compose);
      if (!postgres) {
        throw new UsageError("the compose file has no PostgreSQL service (a service running a postgres image or mounting /docker-entrypoint-initdb.d) to check", { file: compose.file });
      }
      this.composeCommand = await resolveComposeCommand(this.options.composeCommand, this.options.env);
      this.variables = Object.fromEntries(compose.variables);
      this.projectName = runProjectName(product.name);
      this.tempDir = await mkdtemp(join(tmpdir(), "civic-compose-"));
      const copy = await writeComposeCopy(compose.path, postgres.service.name, this.tempDir);
      this.copyFile = copy.file;
      await this.warnAboutStaleVolumes(compose, postgres, defaultProjectNames(compose.path, copy.topLevelName, this.options.env));
      checkpoint();

      logger.info(`compose: booting project ${this.projectName} with ${this.composeCommand.command} ${this.composeCommand.prefix.join(" ")} ${this.composeCommand.version}`.replace(/ {2,}/g, " "));
      const declaredImage = postgres.service.image?.value;
      if (this.options.startScratchEarly && declaredImage) {
        // May fail where `up` is about to pull the image: `scratchAdminUrl` then starts it again.
        this.scratch = startScratchPostgres(declaredImage, { [RUN_LABEL]: this.projectName });
        this.scratch.catch((error: unknown) => logger.debug(`compose: early scratch server did not start: ${messageOf(error)}`));
      }
      const up = await this.up(signal);
      checkpoint();
      const upDone = performance.now();
      const containers = await this.waitUntilReady(compose, signal);
      const ready = Math.round(performance.now() - upDone);
      const port = await this.publishedPostgresPort(containers, postgres);
      this.timings = { up, ready, total: Math.round(performance.now() - started) };
      logger.info(`compose: ${containers.length} containers ready (up ${up} ms, healthy ${ready} ms later, ${this.timings.total} ms in all); PostgreSQL published on ${LOOPBACK}:${port}`);
      return this.liveEnvironment(compose, postgres, port, containers);
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
    const scratch = this.scratch;
    this.scratch = undefined;
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
      await attempt("removing what compose down left", () => removeLeftovers(project, this.options.env));
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
      const states = await this.notReadyReport(await projectContainers(this.projectName!, this.options.env), undefined);
      throw new EnvironmentError(
        `compose up of ${this.options.product.name} ${why}:\n${indent(maskSecrets(lastLines(`${result.stdout}\n${result.stderr}`, 20)))}${states ? `\n${states}` : ""}`,
      );
    }
    this.options.logger.debug(`compose: up finished in ${Math.round(performance.now() - started)} ms`);
    return Math.round(performance.now() - started);
  }

  /**
   * Polls until every compose service is ready (a service without a healthcheck once it has stayed
   * up for a few seconds, see `settledReadiness`); fails early when one exited for good. Polling,
   * not `up --wait`: v1 has no `--wait`, and this reports which service failed and why.
   */
  private async waitUntilReady(compose: ComposeProject, signal: AbortSignal): Promise<ServiceContainer[]> {
    const deadline = performance.now() + (this.options.readyTimeoutMs ?? 240_000);
    const expected = [...compose.services.keys()];
    const settled = settledReadiness();
    for (;;) {
      const containers = await projectContainers(this.projectName!, this.options.env);
      const byService = new Map(containers.map((container) => [container.service, container]));
      const now = performance.now();
      const waiting = expected.filter((service) => {
        const container = byService.get(service);
        return !container || !settled(container, now);
      });
      if (waiting.length === 0) return containers;
      const failed = waiting.filter((service) => {
        const container = byService.get(service);
        return container !== undefined && hasFailed(container);
      });
      if (failed.length > 0 || performance.now() > deadline) {
        const names = failed.length > 0 ? failed : waiting;
        const what = failed.length > 0 ? "exited" : `did not become ready within ${Math.round((this.options.readyTimeoutMs ?? 240_000) / 1000)} s`;
        throw new EnvironmentError(
          `compose: ${names.map((name) => `"${name}"`).join(", ")} of ${compose.file} ${what}:\n${await this.notReadyReport(containers, names)}`,
        );
      }
      await delay(POLL_MS, undefined, { signal });
      if (this.stopping) throw new EnvironmentError("the compose runtime was stopped while starting");
    }
  }

  /** For each service not ready (or each of `only`): its state and last log lines, masked. */
  private async notReadyReport(containers: readonly ServiceContainer[], only: readonly string[] | undefined): Promise<string> {
    const byService = new Map(containers.map((container) => [container.service, container]));
    const names = only ?? containers.filter((container) => !isReady(container)).map((container) => container.service);
    const parts: string[] = [];
    for (const name of names) {
      const container = byService.get(name);
      const logs = container ? `\n${indent(await lastLogLines(container.id, this.options.env, LOG_LINES).catch(() => "(logs unavailable)"))}` : "";
      parts.push(`  ${name}: ${describeState(container)}${logs}`);
    }
    return parts.join("\n");
  }

  private async publishedPostgresPort(containers: readonly ServiceContainer[], postgres: PostgresService): Promise<number> {
    const container = containers.find((candidate) => candidate.service === postgres.service.name);
    if (!container) throw new EnvironmentError(`compose: the postgres service "${postgres.service.name}" has no container`);
    const result = await docker(["port", container.id, `${POSTGRES_PORT}/tcp`], { env: this.options.env, timeoutMs: 15_000 });
    const ipv4 = result.stdout.split("\n").map((line) => /^127\.0\.0\.1:(\d+)$/.exec(line.trim())?.[1]).find(Boolean);
    if (result.exitCode !== 0 || !ipv4) {
      throw new EnvironmentError(`compose: the postgres service "${postgres.service.name}" publishes no port for ${POSTGRES_PORT} on ${LOOPBACK}: ${lastLines(result.stderr || result.stdout, 3)}`);
    }
    return Number(ipv4);
  }

  /**
   * The developer's own project (default project name, as v1 or v2 derives it) may hold the postgres
   * service's named volume from an earlier boot; the image runs init scripts only on an empty data
   * dir, so that stack does not show what `init-databases.sql` says today. This run uses a fresh
   * volume of its own.
   */
  private async warnAboutStaleVolumes(compose: ComposeProject, postgres: PostgresService, ownProjects: readonly string[]): Promise<void> {
    const named = postgres.service.volumes.filter((volume) => volume.type === "volume" && volume.source !== "");
    for (const [volume, ownProject] of named.flatMap((volume) => ownProjects.map((project) => [volume, project] as const))) {
      const result = await docker(["volume", "ls", "-q", "--filter", `label=${PROJECT_LABEL}=${ownProject}`, "--filter", `label=com.docker.compose.volume=${volume.source}`], {
        env: this.options.env,
        timeoutMs: 15_000,
      });
      const existing = result.stdout.split("\n").map((line) => line.trim()).filter(Boolean);
      for (const name of existing) {
        this.options.logger.warn(
          `compose: the named volume ${name} of the postgres service "${postgres.service.name}" (${compose.file}:${volume.line}) already exists from an earlier boot of project ${ownProject}: ` +
            `the image runs init scripts only on an empty data directory, so that stack still has the databases and roles of its first boot. ` +
            `This run uses a fresh volume of its own; run \`docker compose down -v\` in the product folder to make yours match.`,
        );
      }
    }
  }

  private liveEnvironment(compose: ComposeProject, postgres: PostgresService, port: number, containers: readonly ServiceContainer[]): LiveEnvironment {
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
    return {
      runtime: "compose",
      adminUrl,
      serviceUrl: publishedServiceUrl(registry, compose, { serviceName: postgres.service.name, networkPort: POSTGRES_PORT, host: LOOPBACK, port }),
      servicesRunning: true,
      readOnly: false,
      stack,
      scratchAdminUrl: async () => {
        const early = await this.scratch?.catch(() => undefined);
        if (early) return early.adminUrl;
        this.scratch = startScratchPostgres(postgresImage, { [RUN_LABEL]: project });
        return (await this.scratch).adminUrl;
      },
    };
  }
}

/**
 * Whatever carries the run's labels after `down`: containers created while `down` ran, the scratch
 * server, volumes and networks of a half-created project, and images built for the run (v1 names
 * them `<project>_<service>`, v2 `<project>-<service>`).
 */
export async function removeLeftovers(project: string, env: ProcessEnv): Promise<void> {
  const list = async (args: string[]) =>
    (await docker(args, { env, timeoutMs: 30_000 })).stdout
      .split("\n")
      .map((line) => line.trim())
      .filter(Boolean);
  const containers = [
    ...(await list(["ps", "-a", "-q", "--filter", `label=${PROJECT_LABEL}=${project}`])),
    ...(await list(["ps", "-a", "-q", "--filter", `label=${RUN_LABEL}=${project}`])),
  ];
  if (containers.length > 0) await docker(["rm", "-f", "-v", ...new Set(containers)], { env, timeoutMs: 60_000 });
  const volumes = await list(["volume", "ls", "-q", "--filter", `label=${PROJECT_LABEL}=${project}`]);
  if (volumes.length > 0) await docker(["volume", "rm", "-f", ...volumes], { env, timeoutMs: 60_000 });
  const networks = await list(["network", "ls", "-q", "--filter", `label=${PROJECT_LABEL}=${project}`]);
  if (networks.length > 0) await docker(["network", "rm", ...networks], { env, timeoutMs: 60_000 });
  const images = [
    ...(await list(["images", "-q", "--filter", `reference=${project}_*`])),
    ...(await list(["images", "-q", "--filter", `reference=${project}-*`])),
  ];
  if (images.length > 0) await docker(["rmi", "-f", ...new Set(images)], { env, timeoutMs: 120_000 });
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `    ${line}`)
    .join("\n");
}

function messageOf(error: unknown): string {
  return maskSecrets(error instanceof Error ? error.message : String(error));
}

