import { maskSecrets } from "../core/secrets.js";
import { docker, lastLines, type ProcessEnv } from "./docker-cli.js";

/** Compose puts these labels on everything it creates; they find a run's leftovers whatever the CLI version. */
export const PROJECT_LABEL = "com.docker.compose.project";
const SERVICE_LABEL = "com.docker.compose.service";
const ONE_OFF_LABEL = "com.docker.compose.oneoff";

/** One container of the stack as `docker inspect` sees it. */
export interface ServiceContainer {
  readonly id: string;
  readonly service: string;
  readonly image: string;
  /** `created`, `running`, `restarting`, `exited`, `dead`… */
  readonly status: string;
  /** `starting`, `healthy`, `unhealthy`; `undefined` without a healthcheck. */
  readonly health: string | undefined;
  readonly exitCode: number;
  readonly restartPolicy: string;
  readonly networks: readonly string[];
  /** When the container (re)started, as the engine reports it: a restart changes it. */
  readonly startedAt: string;
}

interface InspectedContainer {
  Id: string;
  Image: string;
  Config: { Labels?: Record<string, string> | null; Image: string };
  State: { Status: string; ExitCode: number; StartedAt: string; Health?: { Status: string } | null };
  HostConfig: { RestartPolicy?: { Name?: string } | null };
  NetworkSettings: { Networks?: Record<string, unknown> | null };
}

/** Every (non one-off) container of the project, running or not. */
export async function projectContainers(project: string, env: ProcessEnv): Promise<ServiceContainer[]> {
  const listed = await docker(["ps", "-a", "-q", "--no-trunc", "--filter", `label=${PROJECT_LABEL}=${project}`], { env, timeoutMs: 30_000 });
  const ids = listed.stdout.split("\n").map((line) => line.trim()).filter(Boolean);
  if (ids.length === 0) return [];
  const inspected = await docker(["inspect", ...ids], { env, timeoutMs: 30_000 });
  // A container removed between `ps` and `inspect` makes inspect fail for it only; it prints the rest.
  const containers = JSON.parse(inspected.stdout.trim() || "[]") as InspectedContainer[];
  return containers
    .filter((container) => container.Config.Labels?.[ONE_OFF_LABEL] !== "True")
    .map((container) => ({
      id: container.Id,
      service: container.Config.Labels?.[SERVICE_LABEL] ?? "",
      image: container.Config.Image,
      status: container.State.Status,
      health: container.State.Health?.Status,
      exitCode: container.State.ExitCode,
      restartPolicy: container.HostConfig.RestartPolicy?.Name || "no",
      networks: Object.keys(container.NetworkSettings.Networks ?? {}),
      startedAt: container.State.StartedAt,
    }));
}

/** Ready: running and healthy (or without healthcheck), or a one-shot job that finished with 0. */
export function isReady(container: ServiceContainer): boolean {
  if (container.status === "running") return container.health === undefined || container.health === "healthy";
  return container.status === "exited" && container.exitCode === 0 && container.restartPolicy === "no";
}

/** How long a running container without a healthcheck must stay up, unrestarted, to count as ready. */
export const SETTLE_MS = 3_000;

/**
 * `isReady` for polling: a running container without a healthcheck counts only once polls have seen
 * it running, without a restart, for `settleMs`. Compose v2 returns from `up -d` fast enough for the
 * first poll to catch a service that fails at startup still running (v1 is slower); it has exited
 * by the time it settles. `now` is this process's clock (milliseconds), never the engine's.
 */
export function settledReadiness(settleMs = SETTLE_MS): (container: ServiceContainer, now: number) => boolean {
  const seenRunningSince = new Map<string, number>();
  return (container, now) => {
    if (container.status !== "running" || container.health !== undefined) return isReady(container);
    const run = `${container.id} ${container.startedAt}`;
    const since = seenRunningSince.get(run) ?? now;
    seenRunningSince.set(run, since);
    return now - since >= settleMs;
  };
}

/** Exited for good: failed and no restart policy will bring it back. */
export function hasFailed(container: ServiceContainer): boolean {
  return (container.status === "exited" || container.status === "dead") && container.exitCode !== 0 && container.restartPolicy === "no";
}

/** How a container stands, in words: "running, health unhealthy", "exited with code 1". */
export function describeState(container: ServiceContainer | undefined): string {
  if (!container) return "no container was created";
  if (container.status === "exited" || container.status === "dead") return `${container.status} with code ${container.exitCode}`;
  return container.health === undefined ? container.status : `${container.status}, health ${container.health}`;
}

/** The container's last log lines, secrets masked, for an error that must show why a service never got ready. */
export async function lastLogLines(containerId: string, env: ProcessEnv, count = 15): Promise<string> {
  const logs = await docker(["logs", "--tail", String(count), containerId], { env, timeoutMs: 15_000 });
  const text = lastLines(`${logs.stdout}\n${logs.stderr}`, count);
  return maskSecrets(text || "(no log output)");
}
