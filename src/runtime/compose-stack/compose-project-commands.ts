import type { ResultPromise } from "execa";
import { EnvironmentError } from "../../core/errors.js";
import type { Logger } from "../../core/logger.js";
import { maskSecrets } from "../../core/secrets.js";
import { projectArgs, type ComposeCommand } from "../../docker/compose-cli.js";
import { lastLines, settle, spawnTool, type ProcessEnv } from "../../docker/docker-cli.js";
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

/** `up` and `down` of one run's compose project, through the Compose CLI. */
export class ComposeProjectCommands {
  private upProcess: ResultPromise | undefined;

  constructor(private readonly setup: ComposeProjectSetup) {}

  get project(): string {
    return this.setup.project;
  }

  /**
   * `up -d --build`; returns its duration. A failure names the services that did not come up, with
   * their logs. Images are pulled only when missing, by v1 and v2 alike: on a fresh CI runner the
   * stack's images are not there yet (v2's `--pull never` would fail there).
   *
   * @param stopped the runtime was stopped meanwhile (its teardown killed this `up`)
   */
  async up(options: { readonly signal: AbortSignal; readonly timeoutMs: number; readonly stopped: () => boolean }): Promise<number> {
    const { env, logger, productName, project, variables } = this.setup;
    const started = performance.now();
    this.upProcess = spawnTool(this.setup.command.command, [...this.args(), "up", "-d", "--build"], { env, extraEnv: variables, timeoutMs: options.timeoutMs, signal: options.signal });
    const result = await settle(this.upProcess);
    this.upProcess = undefined;
    options.signal.throwIfAborted();
    if (options.stopped()) throw new EnvironmentError("the compose runtime was stopped while starting");
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
    logger.debug(`compose: up finished in ${Math.round(performance.now() - started)} ms`);
    return Math.round(performance.now() - started);
  }

  /** A running `up` would go on creating containers behind `down`'s back: stops it and waits until it has exited. */
  async stopUp(): Promise<void> {
    const up = this.upProcess;
    if (!up) return;
    up.kill("SIGTERM");
    await up.catch(() => undefined);
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
