/**
 * A PostgreSQL container that never became ready because an init script failed on its own SQL
 * says so in its log (`psql:/docker-entrypoint-initdb.d/<file>:<line>: ERROR: …`). That is the
 * product's bug at a file:line of the repository, the same failure the embedded runtime reports.
 */
import type { PostgresInstance } from "../../compose-file/postgres-instances.js";
import { UsageError } from "../../core/errors.js";
import { repoRelative } from "../../core/repo-path.js";
import type { ProcessEnv } from "../../docker/docker-cli.js";
import { lastLogLines, type ServiceContainer } from "../../docker/stack-state.js";
import { instancesStartError, type InstanceFailure } from "../instance-start-error.js";
import { StackNotReadyError } from "./stack-readiness.js";

const PSQL_INIT_ERROR = /psql:\/docker-entrypoint-initdb\.d\/([^:\s]+):(\d+):\s*(ERROR|FATAL):\s*(.*)$/m;
const LOG_LINES = 60;

/**
 * A stack whose PostgreSQL container failed on an init script's own SQL is the product's bug, at
 * that script's line: the error names each such instance (and keeps the stack report). Any other
 * error, or a stack whose logs show no such failure, is returned as it is.
 */
export async function withInitScriptFailures(error: unknown, instances: readonly PostgresInstance[], repoRoot: string, env: ProcessEnv): Promise<unknown> {
  if (!(error instanceof StackNotReadyError)) return error;
  const failures = await instanceInitFailures(error.services, error.containers, instances, repoRoot, env);
  if (failures.length === 0) return error;
  const started = instances.filter((instance) => !error.services.includes(instance.name)).map((instance) => instance.name);
  return instancesStartError(failures, started, instances.length);
}

/** The init script failures in the logs of the instances among `services`; instances whose logs show none are not listed. */
async function instanceInitFailures(
  services: readonly string[],
  containers: readonly ServiceContainer[],
  instances: readonly PostgresInstance[],
  repoRoot: string,
  env: ProcessEnv,
): Promise<InstanceFailure[]> {
  const failures: InstanceFailure[] = [];
  for (const name of services) {
    const instance = instances.find((candidate) => candidate.name === name);
    const container = containers.find((candidate) => candidate.service === name);
    if (!instance || !container) continue;
    const logs = await lastLogLines(container.id, env, LOG_LINES).catch(() => "");
    const match = PSQL_INIT_ERROR.exec(logs);
    if (!match) continue;
    const script = instance.initScripts.find((candidate) => candidate.containerName === match[1]);
    const file = script ? repoRelative(repoRoot, script.hostPath) : `/docker-entrypoint-initdb.d/${match[1]}`;
    const detail = `${match[3]}: ${match[4]!.replace(/\s+/g, " ").trim()}`;
    failures.push({
      instance: name,
      error: new UsageError(`init script ${match[1]} failed in the postgres container's first start: ${detail}`, { file, line: Number(match[2]) }),
    });
  }
  return failures;
}
