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
import type { InstanceFailure } from "../instance-start-error.js";

const PSQL_INIT_ERROR = /psql:\/docker-entrypoint-initdb\.d\/([^:\s]+):(\d+):\s*(ERROR|FATAL):\s*(.*)$/m;
const LOG_LINES = 60;

/** The init script failures in the logs of the instances among `services`; instances whose logs show none are not listed. */
export async function instanceInitFailures(
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
