/**
 * Where each PostgreSQL instance of a ready stack is reached from here: the port Docker published
 * its in-network port on, on 127.0.0.1 only (the rewritten compose copy asks for exactly that).
 */
import type { PostgresInstance } from "../../compose-file/postgres-instances.js";
import { EnvironmentError } from "../../core/errors.js";
import { docker, lastLines, type ProcessEnv } from "../../docker/docker-cli.js";
import type { ServiceContainer } from "../../docker/stack-state.js";

/** The only address the stack's PostgreSQL is published on. */
export const LOOPBACK = "127.0.0.1";

/** The published port of each instance, in the order of `instances`. */
export function publishedPostgresPorts(containers: readonly ServiceContainer[], instances: readonly PostgresInstance[], env: ProcessEnv): Promise<number[]> {
  return Promise.all(instances.map((instance) => publishedPostgresPort(containers, instance, env)));
}

/** `127.0.0.1:port`, one per instance (named when there are several), for the log. */
export function describePublishedPorts(instances: readonly PostgresInstance[], ports: readonly number[]): string {
  return instances.map((instance, index) => `${LOOPBACK}:${ports[index]}${instances.length > 1 ? ` (${instance.name})` : ""}`).join(", ");
}

async function publishedPostgresPort(containers: readonly ServiceContainer[], postgres: PostgresInstance, env: ProcessEnv): Promise<number> {
  const container = containers.find((candidate) => candidate.service === postgres.service.name);
  if (!container) throw new EnvironmentError(`compose: the postgres service "${postgres.service.name}" has no container`);
  const result = await docker(["port", container.id, `${postgres.networkPort}/tcp`], { env, timeoutMs: 15_000 });
  const ipv4 = result.stdout.split("\n").map((line) => /^127\.0\.0\.1:(\d+)$/.exec(line.trim())?.[1]).find(Boolean);
  if (result.exitCode !== 0 || !ipv4) {
    throw new EnvironmentError(`compose: the postgres service "${postgres.service.name}" publishes no port for ${postgres.networkPort} on ${LOOPBACK}: ${lastLines(result.stderr || result.stdout, 3)}`);
  }
  return Number(ipv4);
}
