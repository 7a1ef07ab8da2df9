import type { ResultPromise } from "execa";
import { EnvironmentError } from "../../core/errors.js";
import type { Logger } from "../../core/logger.js";
import { maskSecrets } from "../../core/secrets.js";
import { isComposeV1, projectArgs, type ComposeCommand } from "../../docker/compose-cli.js";
import { type DockerResult, lastLines, settle, spawnTool, type ProcessEnv } from "../../docker/docker-cli.js";
import { isReady, projectContainers } from "../../docker/stack-state.js";
import { indent, notReadyReport, StackNotReadyError } from "./stack-readiness.js";

/** One run's compose project: which CLI drives it, under what name, from which file copy. */
export interface ComposeProjectSetup {
  /** The product's name, for messages. */
  readonly productName: string;
  readonly command: ComposeCommand;
  /** The run's own project name (`runProjectName`). */
  readonly project: string;
  /** The rewritten copy of the compose file (`writeComposeCopy`). */
  readonly file: string;
  /** The product folder: relative paths of the compose file resolve from there. */
  readonly directory: string;
  /** The compose file's variables, given to the CLI so the copy interpolates as the original would. */
  readonly variables: Readonly<Record<string, string>>;
  readonly env: ProcessEnv;
  readonly logger: Logger;
}

/** `build`, `up` and `down` of one run's compose project, through the Compose CLI. */
export class ComposeProjectCommands {
  /** The `build` or `up` running now, for `stopUp`. */
  private startProcess: ResultPromise | undefined;
  /** A `build` or `up` was started and has not finished on its own (killed by an abort, a stop or a timeout, or still running). */
  private startUnfinished = false;

  constructor(private readonly setup: ComposeProjectSetup) {}

  get project(): string {
    return this.setup.project;
  }

  /**
   * `build`, then `up -d` (of `services` only, when given); returns their duration. The images are
   * built first, on their own, so that a failing build leaves nothing: v1's legacy builder keeps
   * the container of a failed step unless told `--force-rm`, which `up` does not take (v2 builds
   * with BuildKit, which makes no such container, and only accepts the flag as a no-op). A failure
   * names the services that did not come up, with their logs. Images are pulled only when missing,
   * by v1 and v2 alike: on a fresh CI runner the stack's images are not there yet (v2's
   * `--pull never` would fail there).
   *
   * @param stopped the runtime was stopped meanwhile (its teardown killed this `up`)
   */
  async up(options: { readonly signal: AbortSignal; readonly timeoutMs: number; readonly stopped: () => boolean; readonly services?: readonly string[] }): Promise<number> {
    const { env, logger, productName, project } = this.setup;
    const started = performance.now();
    const remaining = () => Math.max(1_000, options.timeoutMs - (performance.now() - started));
    if (!options.services) {
      const forceRm = isComposeV1(this.setup.command) ? ["--force-rm"] : [];
      const built = await this.run(["build", ...forceRm], { ...options, timeoutMs: remaining() });
      if (built.exitCode !== 0) {
        const why = built.timedOut ? "timed out" : `failed (exit code ${built.exitCode})`;
        throw new EnvironmentError(`compose build of ${productName} ${why}:\n${indent(maskSecrets(lastLines(`${built.stdout}\n${built.stderr}`, 20)))}`);
      }
    }
    const result = await this.run(["up", "-d", ...(options.services ?? [])], { ...options, timeoutMs: remaining() });
    if (result.exitCode !== 0) {
      const why = result.timedOut ? "timed out" : `failed (exit code ${result.exitCode})`;
      const containers = await projectContainers(project, env);
      const states = await notReadyReport(containers, undefined, env);
      throw new StackNotReadyError(
        `compose up of ${productName} ${why}:\n${indent(maskSecrets(lastLines(`${result.stdout}\n${result.stderr}`, 20)))}${states ? `\n${states}` : ""}`,
        containers.filter((container) => !isReady(container)).map((container) => container.service),
        containers,
      );
    }
    logger.debug(`compose: build and up finished in ${Math.round(performance.now() - started)} ms`);
    return Math.round(performance.now() - started);
  }

  /** One compose command of the run's project, killed by `stopUp`; throws when the runtime was stopped meanwhile. */
  private async run(args: readonly string[], options: { readonly signal: AbortSignal; readonly timeoutMs: number; readonly stopped: () => boolean }): Promise<DockerResult> {
    const { env, variables } = this.setup;
    this.startUnfinished = true;
    this.startProcess = spawnTool(this.setup.command.command, [...this.args(), ...args], { env, extraEnv: variables, timeoutMs: options.timeoutMs, signal: options.signal });
    const result = await settle(this.startProcess);
    this.startProcess = undefined;
    this.startUnfinished = result.timedOut || options.signal.aborted || options.stopped();
    options.signal.throwIfAborted();
    if (options.stopped()) throw new EnvironmentError("the compose runtime was stopped while starting");
    return result;
  }

  /**
   * A running `up` (or `build`) would go on creating containers behind `down`'s back: stops it and
   * waits until it has exited. True when a `build` or `up` did not finish on its own (still running
   * here, or already killed by the run's abort or a timeout): the engine may still finish what it
   * had been asked for.
   */
  async stopUp(): Promise<boolean> {
    const up = this.startProcess;
    if (up) {
      up.kill("SIGTERM");
      await up.catch(() => undefined);
    }
    return this.startUnfinished;
  }

  /** `down -v --remove-orphans --rmi local`: containers, networks, volumes and the images built for the run. */
  async down(): Promise<void> {
    const result = await settle(
      spawnTool(this.setup.command.command, [...this.args(), "down", "-v", "--remove-orphans", "--rmi", "local", "-t", "5"], {
        env: this.setup.env,
        extraEnv: this.setup.variables,
        timeoutMs: 180_000,
      }),
    );
    if (result.exitCode !== 0) throw new Error(maskSecrets(lastLines(result.stderr, 10)));
  }

  private args(): string[] {
    return projectArgs(this.setup.command, { name: this.setup.project, file: this.setup.file, directory: this.setup.directory });
  }
}
