import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadCompose } from "../../compose-file/load-compose-file.js";
import { type ComposeProject, isStartedByDefault } from "../../compose-file/model.js";
import { findPostgresInstances, type PostgresInstance } from "../../compose-file/postgres-instances.js";
import { registerCleanup } from "../../core/cleanup-registry.js";
import { EnvironmentError, UsageError } from "../../core/errors.js";
import type { Logger } from "../../core/logger.js";
import { maskedMessage } from "../../core/secrets.js";
import type { RequestedCompose } from "../../core/settings.js";
import { resolveComposeCommand, type ComposeCommand } from "../../docker/compose-cli.js";
import { writeComposeCopy } from "../../docker/compose-file-copy.js";
import type { ProcessEnv } from "../../docker/docker-cli.js";
import { defaultProjectNames, runProjectName } from "../../docker/project-name.js";
import { removeRunResources, settleRunResources } from "../../docker/run-resources.js";
import { projectContainers, type ServiceContainer } from "../../docker/stack-state.js";
import type { Product, ProductPlace } from "../../product/product.js";
import type { RunFolder } from "../../sandbox/run-folder.js";
import { productPostgres } from "../../product/product-postgres.js";
import { type InstanceFailure, instancesStartError } from "../instance-start-error.js";
import { asServerOption, commandSettings } from "../command-settings.js";
import type { LiveEnvironment, Runtime, StartHooks } from "../runtime.js";
import { composeLiveEnvironment, composePostgresEnvironment, instanceAdminUrl } from "./compose-live-environment.js";
import { ComposeProjectCommands } from "./compose-project-commands.js";
import { initScriptFailures, notReadyInstances, withInitScriptFailures } from "./instance-init-failure.js";
import { InstanceScratchServers } from "./instance-scratch-servers.js";
import { PostgresReadyWatch } from "./postgres-ready-watch.js";
import { describePublishedPorts, publishedPostgresPorts } from "./published-ports.js";
import { servicesNeeding, StackNotReadyError, waitUntilReady } from "./stack-readiness.js";
import { warnAboutStaleVolumes } from "./stale-volumes.js";

/** `--ready-timeout`'s default: a stack that builds its images on a slow runner needs minutes. */
export const DEFAULT_READY_TIMEOUT_MS = 240_000;

export interface ComposeRuntimeOptions {
  /**
   * The product; a promise while its registry is still evaluated: `up` starts from `compose` and
   * `location` alone, and the product is awaited only for the live environments (which credential
   * reaches which database). A product that fails to load fails `start` (the caller calls `stop`,
   * which interrupts `up`).
   */
  readonly product: Product | Promise<Product>;
  /** The product's compose project, read before the product is (with `product` a promise). */
  readonly compose?: ComposeProject;
  /** The product's name, folder and repository root, known before it is loaded (with `product` a promise). */
  readonly location?: ProductPlace;
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
  /**
   * That Compose CLI, already being found (`createRuntime` asks its version beside the engine's);
   * without it, `start` finds it.
   */
  readonly resolvingComposeCommand?: Promise<ComposeCommand>;
  /**
   * The run's folder: the compose file copy goes inside it and the project is named in its record
   * before `up`, so the next run reaps the stack if this one is killed (SIGKILL: no teardown runs).
   * Without it, the copy goes to a temp dir of its own.
   */
  readonly runFolder?: RunFolder;
}

/** Milliseconds spent in each phase of the last `start`. */
export interface ComposeTimings {
  readonly up: number;
  readonly ready: number;
  readonly total: number;
}

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
  /** `up` and `down` of the run's project, once its file copy is written. */
  private commands: ComposeProjectCommands | undefined;
  private scratchServers: InstanceScratchServers | undefined;
  /** Watches for the PostgreSQL instances' readiness while `up` runs (`StartHooks.onPostgresReady`). */
  private readyWatch: PostgresReadyWatch | undefined;
  private stopping: Promise<void> | undefined;
  private unregisterCleanup: (() => void) | undefined;

  constructor(private readonly options: ComposeRuntimeOptions) {}

  /** How long `start` waits for every service to be running and healthy (`--ready-timeout`). */
  get readyTimeoutMs(): number {
    return this.options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  }

  /** The run's compose project name, once `start` chose it. */
  get project(): string | undefined {
    return this.projectName;
  }

  async start(signal: AbortSignal, hooks: StartHooks = {}): Promise<LiveEnvironment> {
    this.stopping = undefined;
    this.unregisterCleanup = registerCleanup(() => this.stop());
    const { env, logger } = this.options;
    const started = performance.now();
    const stopped = () => this.stopping !== undefined;
    const checkpoint = () => {
      signal.throwIfAborted();
      if (stopped()) throw new EnvironmentError("the compose runtime was stopped while starting");
    };
    try {
      const { place, compose, instances, command, commands } = await this.prepareProject();
      const { project } = commands;
      checkpoint();

      // The product's model (which credential reaches which database) once its registry is read:
      // `up` does not wait for it. When the registry is refused, its error is all the user sees.
      const productModel = Promise.resolve(this.options.product).then((product) => productPostgres(product, compose));
      productModel.catch(() => undefined);
      logger.debug(`compose: starting project ${project}`);
      void productModel.then(
        () => logger.info(`compose: booting project ${project} with ${command.command} ${command.prefix.join(" ")} ${command.version}`.replace(/ {2,}/g, " ")),
        () => undefined,
      );
      const settings = new Map(instances.map((instance) => [instance.name, scratchServerSettings(instance, logger)]));
      const scratchServers = (this.scratchServers = new InstanceScratchServers({ env, project, signal, logger, settings }));
      // How both live environments (the instances-only one and the whole stack's) reach the scratch servers.
      const scratch = {
        scratchAdminUrl: (instance: string, image: string) => scratchServers.adminUrlOf(instance, image),
        releaseScratch: (instance: string) => scratchServers.release(instance),
      };
      if (this.options.startScratchServerEarly) scratchServers.startEarly(instances);
      const explainFailure = (error: unknown) => withInitScriptFailures(error, instances, place.repoRoot, env);
      const watch = { project, env, readyTimeoutMs: this.readyTimeoutMs, signal, stopped };
      const initFailures = (among: readonly PostgresInstance[], containers: readonly ServiceContainer[]) => initScriptFailures(among, containers, place.repoRoot, env);
      /** Instances whose init script failed, by name: the rest of the stack is still brought up and checked. */
      const failed = new Map<string, InstanceFailure>();
      const giveUpWhenNoneLeft = () => {
        if (failed.size === instances.length) throw instancesStartError([...failed.values()], [], instances.length);
      };

      const upTimeoutMs = this.options.upTimeoutMs ?? 600_000;
      // The instances may be ready long before the rest of the stack: a check that looks only at them starts then.
      const { onPostgresReady } = hooks;
      const readyWatch = onPostgresReady
        ? new PostgresReadyWatch(
            { project, env, instances, adminUrlAt: instanceAdminUrl, ...(this.tempDir !== undefined && { cwd: this.tempDir }), maxMs: upTimeoutMs + this.readyTimeoutMs, signal, logger },
            ({ containers, ports }) => {
              void productModel.then(
                (postgres) => {
                  if (!stopped()) onPostgresReady(composePostgresEnvironment(postgres, { project, env, containers, running: instances, ports, ...scratch }));
                },
                () => undefined,
              );
            },
          )
        : undefined;
      this.readyWatch = readyWatch;
      let up = 0;
      try {
        up = await commands.up({ signal, timeoutMs: upTimeoutMs, stopped });
      } catch (error) {
        checkpoint();
        // `up` gives up on everything once one instance it waits for fails (a `depends_on`
        // condition): when that is an init script, start what does not need that instance.
        if (!(error instanceof StackNotReadyError)) throw error;
        for (const failure of await initFailures(instances, await projectContainers(project, env))) failed.set(failure.instance, failure);
        if (failed.size === 0) throw await explainFailure(error);
        giveUpWhenNoneLeft();
        const unaffected = startedServices(compose).filter((service) => !servicesNeeding(compose, failed.keys()).has(service));
        up = await commands.up({ signal, timeoutMs: upTimeoutMs, stopped, services: unaffected }).catch(async (again: unknown) => {
          throw await explainFailure(again);
        });
      }
      checkpoint();
      const upDone = performance.now();
      let containers: ServiceContainer[];
      for (;;) {
        try {
          containers = await waitUntilReady(compose, { ...watch, skip: servicesNeeding(compose, failed.keys()) });
          break;
        } catch (error) {
          const more = error instanceof StackNotReadyError ? await initFailures(notReadyInstances(error, instances), error.containers) : [];
          if (more.length === 0) throw await explainFailure(error);
          for (const failure of more) failed.set(failure.instance, failure);
          giveUpWhenNoneLeft();
        }
      }
      // A restart policy brings a container whose init script failed back up, half provisioned:
      // its log still tells.
      for (const failure of await initFailures(instances.filter((instance) => !failed.has(instance.name)), containers)) failed.set(failure.instance, failure);
      giveUpWhenNoneLeft();
      const ready = Math.round(performance.now() - upDone);
      await this.stopReadyWatch();

      const running = instances.filter((instance) => !failed.has(instance.name));
      const ports = await publishedPostgresPorts(containers, running, env);
      this.timings = { up, ready, total: Math.round(performance.now() - started) };
      logger.info(`compose: ${containers.length} containers ready (up ${up} ms, healthy ${ready} ms later, ${this.timings.total} ms in all); PostgreSQL published on ${describePublishedPorts(running, ports)}`);
      const unstarted = failed.size > 0 ? unstartedInstances([...failed.values()], running, instances.length) : undefined;
      if (unstarted) logger.debug(`compose: instance(s) ${[...unstarted.causes.keys()].join(", ")} did not start; checking ${running.map((instance) => instance.name).join(", ")}`);
      return composeLiveEnvironment(await productModel, {
        project,
        env,
        containers,
        running,
        ports,
        ...scratch,
        ...(unstarted && { unstarted }),
      });
    } catch (error) {
      await this.stopReadyWatch();
      await this.stop().catch((cleanupError: unknown) => logger.warn(`compose: cleanup after a failed start failed: ${maskedMessage(cleanupError)}`));
      throw error;
    }
  }

  /**
   * Everything before `up`, none of it waiting for the registry: the compose file and its
   * PostgreSQL instances, the Compose CLI, the run's project name and its rewritten copy of the
   * file (in a temp dir `stop` removes).
   */
  private async prepareProject(): Promise<{ place: ProductPlace; compose: ComposeProject; instances: readonly PostgresInstance[]; command: ComposeCommand; commands: ComposeProjectCommands }> {
    const { env, logger } = this.options;
    const place = this.options.location ?? (await this.options.product);
    const compose = this.options.compose ?? (await this.options.product).compose ?? (await loadCompose(place.dir, place.repoRoot, env));
    // The same objects as the product's model holds (findPostgresInstances reads once per project).
    const instances = await findPostgresInstances(compose);
    if (instances.length === 0) {
      throw new UsageError(
        "the compose file has no PostgreSQL service (an image of the postgres family, a build FROM one, or a service mounting /docker-entrypoint-initdb.d) to check",
        { file: compose.file },
      );
    }
    // Asked of the engine while the file's copy is written and beside the stale volumes' listing (or already, beside `docker version`, by createRuntime).
    const resolving = this.options.resolvingComposeCommand ?? resolveComposeCommand(this.options.composeCommand, env);
    resolving.catch(() => undefined);
    const project = (this.projectName = runProjectName(place.name));
    const { runFolder } = this.options;
    this.tempDir = runFolder ? await runFolder.subfolder("compose") : await mkdtemp(join(tmpdir(), "civic-compose-"));
    const inactiveServices = [...compose.services.values()].filter((service) => !isStartedByDefault(service, compose)).map((service) => service.name);
    if (inactiveServices.length > 0) logger.info(`compose: not starting ${inactiveServices.join(", ")} (under a profile not activated with --profile)`);
    const copy = await writeComposeCopy(
      { path: compose.path, document: compose.document, inactiveServices },
      new Map(instances.map((instance) => [instance.name, instance.networkPort])),
      this.tempDir,
    );
    const variables = Object.fromEntries(compose.variables);
    await runFolder?.noteComposeProject(project);
    const ownProjects = defaultProjectNames(compose.path, copy.topLevelName, env);
    const [command] = await Promise.all([resolving, ...instances.map((instance) => warnAboutStaleVolumes(instance, ownProjects, env, logger))]);
    const commands = (this.commands = new ComposeProjectCommands({ productName: place.name, command, project, file: copy.file, directory: place.dir, variables, env, logger }));
    return { place, compose, instances, command, commands };
  }

  private async stopReadyWatch(): Promise<void> {
    const watch = this.readyWatch;
    this.readyWatch = undefined;
    await watch?.stop();
  }

  /** Tears the stack down; safe to call again and concurrently (the signal handler and `finally` both call it). */
  stop(): Promise<void> {
    this.stopping ??= this.teardown();
    return this.stopping;
  }

  private async teardown(): Promise<void> {
    // The cleanup stays registered until the teardown has finished: a door that forces its cleanups
    // (a second Ctrl-C, its deadline) then waits for this same teardown instead of exiting under it
    // (on vfs, `down` of a half-booted stack takes tens of seconds; an exit under it leaves images).
    try {
      await this.tearDownOnce();
    } finally {
      this.unregisterCleanup?.();
      this.unregisterCleanup = undefined;
    }
  }

  private async tearDownOnce(): Promise<void> {
    const failures: string[] = [];
    const attempt = async (what: string, work: () => Promise<unknown>) => {
      try {
        await work();
      } catch (error) {
        failures.push(`${what}: ${maskedMessage(error)}`);
      }
    };
    await this.stopReadyWatch();
    const { commands, scratchServers } = this;
    this.scratchServers = undefined;
    const started = performance.now();
    const since = (from: number) => Math.round(performance.now() - from);
    const interrupted = (await commands?.stopUp()) ?? false;
    // The scratch servers and the stack are independent: take them down together.
    let scratchMs = 0;
    let downMs = 0;
    const stopScratch = async () => {
      for (const failure of (await scratchServers?.stopAll()) ?? []) failures.push(`stopping a scratch PostgreSQL: ${failure}`);
      scratchMs = since(started);
    };
    const down = async () => {
      if (commands) await attempt("compose down", () => commands.down());
      downMs = since(started);
    };
    await Promise.all([stopScratch(), down()]);
    if (commands) {
      const leftovers = performance.now();
      await attempt("removing what compose down left", () => removeRunResources(commands.project, this.options.env));
      // A build or up killed part-way: what the engine still finishes for it appears after `down`.
      let settled = "";
      if (interrupted) {
        const settling = performance.now();
        await attempt("removing what the interrupted build or up made after down", async () => {
          const late = await settleRunResources(commands.project, this.options.env);
          settled = `, ${late} made after down removed while settling for ${since(settling)} ms`;
        });
      }
      this.options.logger.debug(
        `compose: project ${commands.project} torn down in ${since(started)} ms (down ${downMs} ms, the scratch servers removed beside it in ${scratchMs} ms, leftovers ${since(leftovers)} ms${settled})`,
      );
    }
    const dir = this.tempDir;
    this.tempDir = undefined;
    if (dir) await attempt("removing the temp dir", () => rm(dir, { recursive: true, force: true }));
    if (failures.length > 0) throw new Error(`teardown of compose project ${this.projectName ?? "(none)"} was incomplete: ${failures.join("; ")}`);
  }
}

/**
 * The settings of the instance's command line its scratch server takes (the migrations check's
 * server runs the same image, so the same libraries; not the service's mounts or its port).
 */
function scratchServerSettings(instance: PostgresInstance, logger: Logger): string[] {
  const command = instance.serverCommand;
  if (!command || command.unread !== undefined) return [];
  const { applied, skipped } = commandSettings(command.settings);
  if (skipped.length > 0) {
    logger.debug(`compose: the scratch server for "${instance.name}" does not take ${skipped.map(({ setting, reason }) => `${setting.name} (${reason})`).join(", ")} from its command (${command.file}:${command.line})`);
  }
  return applied.map(asServerOption);
}

/** The services `up` starts: those under no profile that was not activated. */
function startedServices(compose: ComposeProject): string[] {
  return [...compose.services.values()].filter((service) => isStartedByDefault(service, compose)).map((service) => service.name);
}

/** What the live checks are told of instances whose init script failed, as the embedded runtime tells it. */
function unstartedInstances(failures: readonly InstanceFailure[], running: readonly PostgresInstance[], instanceCount: number): NonNullable<LiveEnvironment["unstarted"]> {
  const error = instancesStartError(failures, running.map((instance) => instance.name), instanceCount);
  const causes = new Map(failures.map((failure) => [failure.instance, failure.error instanceof UsageError ? failure.error.format() : failure.error.message]));
  return { causes, error };
}
