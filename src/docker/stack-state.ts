import { maskSecrets } from "../core/secrets.js";
import { docker, lastLines, type ProcessEnv } from "./docker-cli.js";

/** Compose puts these labels on everything it creates; they find a run's leftovers whatever the CLI version. */
export const PROJECT_LABEL = "com.docker.compose.project";
/** The compose service a container runs, on every container compose makes. */
export const SERVICE_LABEL = "com.docker.compose.service";
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
  /** The healthcheck's most recent probe, when it has run one. */
  readonly lastProbe?: HealthProbe;
}

/** One run of a container's healthcheck, as the engine recorded it. */
export interface HealthProbe {
  /** The probe's exit code; -1 when the engine could not run it or stopped it at its timeout. */
  readonly exitCode: number;
  /** What the probe printed (the engine keeps its first 4 KiB), unmasked. */
  readonly output: string;
}

interface InspectedContainer {
  Id: string;
  Image: string;
  Config: { Labels?: Record<string, string> | null; Image: string };
  State: { Status: string; ExitCode: number; StartedAt: string; Health?: { Status: string; Log?: { ExitCode: number; Output: string }[] | null } | null };
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
      ...lastProbeOf(container.State.Health?.Log),
    }));
}

function lastProbeOf(log: readonly { ExitCode: number; Output: string }[] | null | undefined): { lastProbe?: HealthProbe } {
  const last = log?.at(-1);
  return last ? { lastProbe: { exitCode: last.ExitCode, output: last.Output ?? "" } } : {};
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

const PROBE_LINES = 5;
const PROBE_LINE_CHARS = 200;

/**
 * Why a container is not healthy, from its last health probe, secrets masked: "exit 1: <what it
 * printed>", or that it did not finish within its timeout. `undefined` while healthy or unprobed.
 */
export function describeLastProbe(container: ServiceContainer): string | undefined {
  const probe = container.lastProbe;
  if (!probe || container.health === undefined || container.health === "healthy" || probe.exitCode === 0) return undefined;
  const output = probe.output.trim();
  // moby's health.go: a probe stopped at its timeout is recorded as exit -1 with this output.
  const timedOut = /^Health check exceeded timeout \(([^)]+)\)$/.exec(output);
  if (probe.exitCode === -1 && timedOut) {
    return `did not finish within its timeout (${timedOut[1]}); Docker Engine before 23.0 counts starting the probe against it, which a loaded machine can exceed: a longer healthcheck timeout helps`;
  }
  const lines = output
    .split("\n")
    .map((line) => line.trimEnd())
    .filter(Boolean)
    .slice(-PROBE_LINES)
    .map((line) => (line.length > PROBE_LINE_CHARS ? `${line.slice(0, PROBE_LINE_CHARS)}…` : line));
  const what = probe.exitCode === -1 ? "could not run" : `exit ${probe.exitCode}`;
  return maskSecrets(lines.length === 0 ? `${what} (no output)` : `${what}: ${lines.join("\n  ")}`);
}

/** The container's last log lines, secrets masked, for an error that must show why a service never got ready. */
export async function lastLogLines(containerId: string, env: ProcessEnv, count = 15): Promise<string> {
  const logs = await docker(["logs", "--tail", String(count), containerId], { env, timeoutMs: 15_000 });
  const text = lastLines(`${logs.stdout}\n${logs.stderr}`, count);
  return maskSecrets(text || "(no log output)");
}
