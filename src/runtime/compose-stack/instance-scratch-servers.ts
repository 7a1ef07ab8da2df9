import type { PostgresInstance } from "../../compose-file/postgres-instances.js";
import type { Logger } from "../../core/logger.js";
import { maskedMessage } from "../../core/secrets.js";
import type { ProcessEnv } from "../../docker/docker-cli.js";
import { RUN_LABEL } from "../../docker/run-resources.js";
import { startScratchServerContainer, type ScratchServerContainer } from "./scratch-server-container.js";

export interface InstanceScratchServersOptions {
  /** The docker CLI's environment: the engine the stack runs on. */
  readonly env: ProcessEnv;
  /** The run's compose project: its label lets the one teardown find the containers. */
  readonly project: string;
  /** The run's signal: a cancelled run stops waiting for a server's readiness. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /** Per instance name: the settings of its service's command line the scratch server takes (`name=value`). */
  readonly settings?: ReadonlyMap<string, readonly string[]>;
}

/**
 * The scratch servers of one compose run, one per instance at most: a container of the instance's
 * own image (so the same server version and extensions), started while the stack boots or on the
 * first ask, and removed together by `stopAll`.
 */
export class InstanceScratchServers {
  /** Per instance name: its scratch server, once asked for (or started early). */
  private readonly servers = new Map<string, Promise<ScratchServerContainer>>();
  /** Removals `release` started, each resolving to why it failed (masked) or undefined; `stopAll` waits for them. */
  private readonly removals = new Set<Promise<string | undefined>>();
  /** Aborted by `stopAll`: a server still waiting for readiness stops waiting and is removed. */
  private readonly stopping = new AbortController();

  constructor(private readonly options: InstanceScratchServersOptions) {}

  /**
   * Starts a server for each instance that names its image, without waiting: a check will ask for
   * one, and it is independent of the stack and takes seconds to initialise.
   */
  startEarly(instances: readonly PostgresInstance[]): void {
    for (const instance of instances) {
      const declaredImage = instance.service.image?.value;
      if (!declaredImage) continue;
      // May fail where `up` is about to pull the image: `adminUrlOf` then starts it again.
      const early = this.start(instance.name, declaredImage);
      early.catch((error: unknown) => this.options.logger.debug(`compose: early scratch server for "${instance.name}" did not start: ${maskedMessage(error)}`));
      this.servers.set(instance.name, early);
    }
  }

  /** The superuser URL of the instance's scratch server, started from `image` unless one already runs. */
  async adminUrlOf(instance: string, image: string): Promise<string> {
    const existing = await this.servers.get(instance)?.catch(() => undefined);
    if (existing) return existing.adminUrl;
    const starting = this.start(instance, image);
    this.servers.set(instance, starting);
    return (await starting).adminUrl;
  }

  /**
   * The instance's scratch server is no longer needed: removed now, in the background (on vfs a
   * container's removal deletes a whole copy of its image, which at teardown slows the stack's own
   * `down`). A later ask starts another.
   */
  release(instance: string): void {
    const server = this.servers.get(instance);
    if (!server) return;
    this.servers.delete(instance);
    const removal = removeServer(server);
    this.removals.add(removal);
    void removal.then((failure) => {
      if (failure === undefined) this.removals.delete(removal);
      this.options.logger.debug(`compose: the scratch server of "${instance}" ${failure === undefined ? "was removed once its check was done with it" : `could not be removed once its check was done with it: ${failure}`}`);
    });
  }

  /** Removes every server started so far, and waits for those `release` removes; returns why each removal that failed did (masked). */
  async stopAll(): Promise<string[]> {
    const servers = [...this.servers.values()];
    this.servers.clear();
    this.stopping.abort(new Error("the compose runtime is stopping"));
    const outcomes = await Promise.all([...servers.map(removeServer), ...this.removals]);
    this.removals.clear();
    return outcomes.filter((failure): failure is string => failure !== undefined);
  }

  private start(instance: string, image: string): Promise<ScratchServerContainer> {
    const { env, project, signal } = this.options;
    const settings = this.options.settings?.get(instance) ?? [];
    return startScratchServerContainer(image, { env, labels: { [RUN_LABEL]: project }, settings, signal: AbortSignal.any([signal, this.stopping.signal]) });
  }
}

/** Removes a server (one that never started has nothing to remove); why it failed (masked), or undefined. */
async function removeServer(server: Promise<ScratchServerContainer>): Promise<string | undefined> {
  try {
    await (await server.catch(() => undefined))?.stop();
    return undefined;
  } catch (error) {
    return maskedMessage(error);
  }
}
