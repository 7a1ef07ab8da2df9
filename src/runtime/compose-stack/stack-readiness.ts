import { type ComposeProject, isStartedByDefault } from "../../compose-file/model.js";
import { pause } from "../../core/concurrency.js";
import { EnvironmentError } from "../../core/errors.js";
import type { ProcessEnv } from "../../docker/docker-cli.js";
import { describeLastProbe, describeState, hasFailed, isReady, lastLogLines, projectContainers, settledReadiness, type ServiceContainer } from "../../docker/stack-state.js";

/** What waiting for a booted stack needs to know. */
export interface StackWatch {
  readonly project: string;
  readonly env: ProcessEnv;
  /** How long every service may take to be running and healthy. */
  readonly readyTimeoutMs: number;
  readonly signal: AbortSignal;
  /** The runtime was stopped meanwhile: stop waiting. */
  readonly stopped: () => boolean;
  /** Services not waited for (a PostgreSQL instance whose init failed, and what depends on it). */
  readonly skip?: ReadonlySet<string>;
}

const POLL_MS = 1_000;
const LOG_LINES = 15;

/** Services of the stack that exited, or did not become ready in time. */
export class StackNotReadyError extends EnvironmentError {
  constructor(
    message: string,
    /** The compose services that are not ready. */
    readonly services: readonly string[],
    readonly containers: readonly ServiceContainer[],
  ) {
    super(message);
  }
}

/**
 * The services that need one of `failed` to run: `depends_on` it, directly or through another
 * service, whatever the condition. With `failed` themselves.
 */
export function servicesNeeding(compose: ComposeProject, failed: Iterable<string>): Set<string> {
  const needing = new Set(failed);
  for (let grew = true; grew; ) {
    grew = false;
    for (const service of compose.services.values()) {
      if (needing.has(service.name) || ![...service.dependsOn.keys()].some((dependency) => needing.has(dependency))) continue;
      needing.add(service.name);
      grew = true;
    }
  }
  return needing;
}

/**
 * Polls until every compose service is ready (a service without a healthcheck once it has stayed
 * up for a few seconds, see `settledReadiness`); fails early when one exited for good. Polling,
 * not `up --wait`: v1 has no `--wait`, and this reports which service failed and why.
 */
export async function waitUntilReady(compose: ComposeProject, watch: StackWatch): Promise<ServiceContainer[]> {
  const deadline = performance.now() + watch.readyTimeoutMs;
  const expected = [...compose.services.values()]
    .filter((service) => isStartedByDefault(service, compose) && !watch.skip?.has(service.name))
    .map((service) => service.name);
  const settled = settledReadiness();
  for (;;) {
    const containers = await projectContainers(watch.project, watch.env);
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
      const what = failed.length > 0 ? "exited" : `did not become ready within ${Math.round(watch.readyTimeoutMs / 1000)} s (--ready-timeout, the action's ready-timeout input)`;
      throw new StackNotReadyError(
        `compose: ${names.map((name) => `"${name}"`).join(", ")} of ${compose.file} ${what}:\n${await notReadyReport(containers, names, watch.env)}`,
        names,
        containers,
      );
    }
    await pause(POLL_MS, watch.signal);
    if (watch.stopped()) throw new EnvironmentError("the compose runtime was stopped while starting");
  }
}

/** For each service not ready (or each of `only`): its state and last log lines, masked. */
export async function notReadyReport(containers: readonly ServiceContainer[], only: readonly string[] | undefined, env: ProcessEnv): Promise<string> {
  const byService = new Map(containers.map((container) => [container.service, container]));
  const names = only ?? containers.filter((container) => !isReady(container)).map((container) => container.service);
  const parts: string[] = [];
  for (const name of names) {
    const container = byService.get(name);
    const probe = container && describeLastProbe(container);
    const probeLine = probe ? `\n${indent(`last health probe: ${probe}`)}` : "";
    const logs = container ? `\n${indent(await lastLogLines(container.id, env, LOG_LINES).catch(() => "(logs unavailable)"))}` : "";
    parts.push(`  ${name}: ${describeState(container)}${probeLine}${logs}`);
  }
  return parts.join("\n");
}

export function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `    ${line}`)
    .join("\n");
}
