/**
 * Tells, while `up` is still bringing the rest of a compose stack up, when every PostgreSQL
 * instance of it is ready: a check that looks only at the instances (and works on a scratch server
 * of its own) can then start beside the boot instead of after it. On vfs a stack's services take
 * tens of seconds more than its database, and the engine is idle much of that time.
 *
 * Ready means, for each instance, all of:
 * - the engine reported its container `healthy` (`docker events`, one process for the whole watch:
 *   an instance without a healthcheck is never reported, and the watch never fires);
 * - its log says the official entrypoint's init process completed (a failed init script stops the
 *   entrypoint before it says so); a healthcheck over the socket passes during the init, so the log
 *   is read again every 2 s until it says so, or shows a failed script or a skipped init;
 * - its admin credential logs in over TCP at the published port: during the init the image's
 *   temporary server listens on its socket only, so this is the final server.
 * Anything short of that, and the watch stays silent: the checks then wait for the whole stack, as
 * they would without it.
 */
import type { ResultPromise } from "execa";
import type { PostgresInstance } from "../../compose-file/postgres-instances.js";
import { pause } from "../../core/concurrency.js";
import type { Logger } from "../../core/logger.js";
import { maskedMessage } from "../../core/secrets.js";
import { spawnTool, type ProcessEnv } from "../../docker/docker-cli.js";
import { lastLogLines, PROJECT_LABEL, projectContainers, SERVICE_LABEL, type ServiceContainer } from "../../docker/stack-state.js";
import { connect } from "../../postgres/connect.js";
import { INIT_COMPLETE, INIT_SKIPPED, initFailureInLog } from "./instance-init-failure.js";
import { publishedPostgresPorts } from "./published-ports.js";

/** How long the final server may take to answer over TCP once its container is healthy. */
const LOGIN_WAIT_MS = 10_000;
const LOGIN_RETRY_MS = 500;
/** How often a healthy instance's log is read again until its init is complete. */
const INIT_POLL_MS = 2_000;
/** The init's log is short; a server that logged this much since has buried it, and the watch stays silent. */
const LOG_LINES = 2_000;

export interface PostgresReadyWatchOptions {
  readonly project: string;
  readonly env: ProcessEnv;
  readonly instances: readonly PostgresInstance[];
  /** The admin URL of an instance reached at `port` (the runtime's own, as its live environment builds it). */
  readonly adminUrlAt: (instance: PostgresInstance, port: number) => string;
  /** Where `docker events` runs: inside the run folder, so the next run reaps it if this one is SIGKILLed. */
  readonly cwd?: string;
  /** The watch ends by itself after this long (`docker events --until`), whatever happens to this process. */
  readonly maxMs: number;
  readonly signal: AbortSignal;
  readonly logger: Logger;
}

/** The containers and published ports of the stack's PostgreSQL instances, once all are ready. */
export interface ReadyPostgres {
  readonly containers: readonly ServiceContainer[];
  readonly ports: readonly number[];
}

/**
 * Watches the project's health events until every instance is ready (then calls `onReady` once) or
 * `stop()` is called; never throws, never fires twice. `stop()` waits for the `docker events`
 * process to end.
 */
export class PostgresReadyWatch {
  private readonly stopping = new AbortController();
  private events: ResultPromise | undefined;
  private readonly done: Promise<void>;

  constructor(
    private readonly options: PostgresReadyWatchOptions,
    onReady: (ready: ReadyPostgres) => void,
  ) {
    this.done = this.watch(onReady).catch((error: unknown) => options.logger.debug(`compose: the PostgreSQL readiness watch stopped: ${maskedMessage(error)}`));
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.events?.kill();
    await this.done;
  }

  private async watch(onReady: (ready: ReadyPostgres) => void): Promise<void> {
    const { project, env, instances, signal, logger } = this.options;
    const stop = AbortSignal.any([signal, this.stopping.signal]);
    const until = Math.ceil((Date.now() + this.options.maxMs) / 1000);
    const events = (this.events = spawnTool(
      "docker",
      ["events", "--filter", `label=${PROJECT_LABEL}=${project}`, "--filter", "event=health_status", "--until", String(until), "--format", "{{json .}}"],
      { env, signal: stop, ...(this.options.cwd !== undefined && { cwd: this.options.cwd }) },
    ));
    events.catch(() => undefined);
    const names = new Set(instances.map((instance) => instance.name));
    const healthy = new Set<string>();
    let buffered = "";
    const allHealthy = new Promise<boolean>((resolve) => {
      events.stdout?.on("data", (chunk: Buffer) => {
        buffered += chunk.toString("utf8");
        const lines = buffered.split("\n");
        buffered = lines.pop() ?? "";
        for (const line of lines) {
          const event = parseEvent(line);
          if (!event || !names.has(event.service)) continue;
          if (event.status === "healthy") healthy.add(event.service);
          else healthy.delete(event.service);
        }
        if (healthy.size === names.size) resolve(true);
      });
      void events.then(() => resolve(false), () => resolve(false));
    });
    if (!(await allHealthy) || stop.aborted) return;
    events.kill();
    const ready = await this.confirm(stop);
    if (ready && !stop.aborted) {
      logger.debug(`compose: every PostgreSQL instance is ready while the rest of the stack still boots (${instances.map((instance) => instance.name).join(", ")})`);
      onReady(ready);
    }
  }

  /** The instances' containers and ports when each completed its init and logs in over TCP; else undefined. */
  private async confirm(stop: AbortSignal): Promise<ReadyPostgres | undefined> {
    const { project, env, instances, logger } = this.options;
    const all = await projectContainers(project, env);
    const containers = instances.map((instance) => all.find((container) => container.service === instance.name && container.status === "running"));
    if (containers.some((container) => container === undefined)) return undefined;
    const running = containers as ServiceContainer[];
    for (const container of running) {
      // A healthcheck over the socket (`pg_isready` without -h, a common form) passes while the
      // image's temporary server runs the init scripts: the log says when they are done.
      for (;;) {
        if (stop.aborted) return undefined;
        const log = await lastLogLines(container.id, env, LOG_LINES).catch(() => "");
        if (log.includes(INIT_COMPLETE)) break;
        if (initFailureInLog(log, false) || log.includes(INIT_SKIPPED)) {
          logger.debug(`compose: "${container.service}" is healthy, but its log does not show a completed init: the checks wait for the whole stack`);
          return undefined;
        }
        await pause(INIT_POLL_MS, stop).catch(() => undefined);
      }
    }
    const ports = await publishedPostgresPorts(running, instances, env);
    for (const [index, instance] of instances.entries()) {
      if (!(await logsIn(this.options.adminUrlAt(instance, ports[index]!), stop))) {
        logger.debug(`compose: "${instance.name}" is healthy, but its admin credential does not log in over TCP yet: the checks wait for the whole stack`);
        return undefined;
      }
    }
    return { containers: running, ports };
  }
}

async function logsIn(url: string, stop: AbortSignal): Promise<boolean> {
  const deadline = performance.now() + LOGIN_WAIT_MS;
  for (;;) {
    if (stop.aborted) return false;
    const client = await connect(url, { applicationName: "civic-conformance readiness", connectTimeoutMs: 5_000 }).catch(() => undefined);
    if (client) {
      await client.end().catch(() => undefined);
      return true;
    }
    if (performance.now() > deadline) return false;
    await pause(LOGIN_RETRY_MS, stop).catch(() => undefined);
  }
}

/** A health event's compose service and new status (`healthy`, `unhealthy`, `starting`), or undefined. */
function parseEvent(line: string): { service: string; status: string } | undefined {
  try {
    const event = JSON.parse(line) as { Action?: string; status?: string; Actor?: { Attributes?: Record<string, string> } };
    const action = event.Action ?? event.status ?? "";
    const service = event.Actor?.Attributes?.[SERVICE_LABEL];
    const status = /^health_status:\s*(\S+)/.exec(action)?.[1];
    return service && status ? { service, status } : undefined;
  } catch {
    return undefined;
  }
}
