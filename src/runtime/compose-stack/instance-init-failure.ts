/**
 * A PostgreSQL container whose init script failed says so in its log: psql's own
 * `psql:/docker-entrypoint-initdb.d/<file>:<line>: ERROR: …` for SQL, or the entrypoint's last
 * `running /docker-entrypoint-initdb.d/<file>` never followed by `PostgreSQL init process
 * complete` (a `.sh` script, or SQL fed through one). That is the product's bug at a file:line of
 * the repository, the same failure the embedded runtime reports. A restart policy may bring such a
 * container back up — half provisioned, the entrypoint skipping the init of a data folder that
 * exists — so its log, not its state, decides.
 */
import type { PostgresInstance } from "../../compose-file/postgres-instances.js";
import { UsageError } from "../../core/errors.js";
import { repoRelative } from "../../core/repo-path.js";
import type { ProcessEnv } from "../../docker/docker-cli.js";
import { lastLogLines, type ServiceContainer } from "../../docker/stack-state.js";
import { instancesStartError, type InstanceFailure } from "../instance-start-error.js";
import { StackNotReadyError } from "./stack-readiness.js";

const PSQL_INIT_ERROR = /psql:\/docker-entrypoint-initdb\.d\/([^:\s]+):(\d+):\s*(ERROR|FATAL):\s*(.*)$/m;
const RUNNING_SCRIPT = /: running \/docker-entrypoint-initdb\.d\/(\S+)\s*$/gm;
/** What the official entrypoint logs once its init scripts have all run. */
export const INIT_COMPLETE = "PostgreSQL init process complete";
/** What the official entrypoint logs when the data folder already holds a cluster. */
export const INIT_SKIPPED = "Skipping initialization";
const ERROR_LINE = /\b(ERROR|FATAL|error|No such file|not found|Permission denied)\b/;
/** The whole log of a container that has not served any check yet: its first start and a restart or two. */
const LOG_LINES = 5_000;

/**
 * A stack whose PostgreSQL container failed on an init script is the product's bug, at that
 * script's line: the error names each such instance (and keeps the stack report). Any other
 * error, or a stack whose logs show no such failure, is returned as it is.
 */
export async function withInitScriptFailures(error: unknown, instances: readonly PostgresInstance[], repoRoot: string, env: ProcessEnv): Promise<unknown> {
  if (!(error instanceof StackNotReadyError)) return error;
  const failures = await initScriptFailures(notReadyInstances(error, instances), error.containers, repoRoot, env);
  if (failures.length === 0) return error;
  const started = instances.filter((instance) => !error.services.includes(instance.name)).map((instance) => instance.name);
  return instancesStartError(failures, started, instances.length);
}

/** The instances among the services a stack error names as not ready. */
export function notReadyInstances(error: StackNotReadyError, instances: readonly PostgresInstance[]): PostgresInstance[] {
  return instances.filter((instance) => error.services.includes(instance.name));
}

/**
 * The init script failures in the logs of `instances`' containers, running or not; instances whose
 * logs show none (or that have no container) are not listed.
 */
export async function initScriptFailures(
  instances: readonly PostgresInstance[],
  containers: readonly ServiceContainer[],
  repoRoot: string,
  env: ProcessEnv,
): Promise<InstanceFailure[]> {
  const failures = await Promise.all(
    instances.map(async (instance): Promise<InstanceFailure | undefined> => {
      const container = containers.find((candidate) => candidate.service === instance.name);
      if (!container) return undefined;
      const log = await lastLogLines(container.id, env, LOG_LINES).catch(() => "");
      const failed = initFailureInLog(log, container.status === "exited" || container.status === "dead");
      if (!failed) return undefined;
      const script = instance.initScripts.find((candidate) => candidate.containerName === failed.script);
      const file = script ? repoRelative(repoRoot, script.hostPath) : `/docker-entrypoint-initdb.d/${failed.script}`;
      return {
        instance: instance.name,
        error: new UsageError(`init script ${failed.script} failed in the postgres container's first start: ${failed.detail}`, { file, ...(failed.line !== undefined && { line: failed.line }) }),
      };
    }),
  );
  return failures.filter((failure): failure is InstanceFailure => failure !== undefined);
}

/** What a postgres container's log says of a failed init script; `undefined` when the init completed or is still running. */
export function initFailureInLog(log: string, exited: boolean): { readonly script: string; readonly line?: number; readonly detail: string } | undefined {
  if (log.includes(INIT_COMPLETE)) return undefined;
  const psql = PSQL_INIT_ERROR.exec(log);
  if (psql) return { script: psql[1]!, line: Number(psql[2]), detail: `${psql[3]}: ${oneLine(psql[4]!)}` };
  // Without psql's line, the last script the entrypoint ran is the one that failed — once the init
  // is over: the container exited, or was restarted and skipped the init of its half-made folder.
  const running = [...log.matchAll(RUNNING_SCRIPT)].at(-1);
  if (!running || !(exited || log.includes(INIT_SKIPPED))) return undefined;
  const after = log.slice(running.index + running[0].length).split("\n");
  const cause = after.find((line) => ERROR_LINE.test(line));
  return { script: running[1]!, detail: cause ? oneLine(cause) : "the container's entrypoint stopped there, before the init process completed" };
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
