import { readFile } from "node:fs/promises";
import { posix } from "node:path";
import { UsageError } from "../core/errors.js";
import { registerSecret } from "../core/secrets.js";
import type { ComposeProject, ComposeService } from "./model.js";

export const INITDB_DIR = "/docker-entrypoint-initdb.d";

/** The official image's defaults (docker-library/postgres `docker-entrypoint.sh`). */
const DEFAULT_USER = "postgres";

/** What the official `postgres` image would do with the compose file's postgres service. */
export interface PostgresService {
  readonly service: ComposeService;
  /** POSTGRES_USER (or its `_FILE`), default `postgres`: the bootstrap superuser. */
  readonly user: string;
  /** POSTGRES_PASSWORD (or its `_FILE`); `undefined` when neither is set. */
  readonly password: string | undefined;
  /** POSTGRES_DB (or its `_FILE`), default the user: where `*.sql` init scripts run. */
  readonly database: string;
  /** POSTGRES_HOST_AUTH_METHOD, e.g. `trust`; `undefined` means the image's `scram-sha-256`. */
  readonly hostAuthMethod: string | undefined;
  /** POSTGRES_INITDB_ARGS (or its `_FILE`), as one string the image word-splits. */
  readonly initdbArgs: string | undefined;
  /** The service's whole environment after `_FILE` resolution (init `*.sh` scripts see it). */
  readonly env: ReadonlyMap<string, string>;
}

const POSTGRES_IMAGE = /^(?:(?:docker\.io\/)?(?:library\/)?)postgres(?:[:@].*)?$/;

function isPostgresImage(service: ComposeService): boolean {
  return service.image !== undefined && POSTGRES_IMAGE.test(service.image.value);
}

function mountsInitDir(service: ComposeService): boolean {
  return service.volumes.some((volume) => volume.target === INITDB_DIR || volume.target.startsWith(`${INITDB_DIR}/`));
}

/**
 * The compose service that is the PostgreSQL server: the one running a `postgres` image or mounting
 * init scripts. When several qualify, the one named `postgres` wins; otherwise the choice would be
 * a guess, and a wrong guess would check the wrong server, so the input is refused.
 */
export function findPostgresService(project: ComposeProject): ComposeService | undefined {
  const candidates = [...project.services.values()].filter((service) => isPostgresImage(service) || mountsInitDir(service));
  if (candidates.length <= 1) return candidates[0];
  const named = candidates.find((service) => service.name === "postgres");
  if (named) return named;
  const both = candidates.filter((service) => isPostgresImage(service) && mountsInitDir(service));
  if (both.length === 1) return both[0];
  throw new UsageError(
    `several services could be the PostgreSQL server (${candidates.map((service) => service.name).join(", ")}); name the one under test "postgres"`,
    { file: candidates[1]!.file, line: candidates[1]!.line },
  );
}

/** The postgres service with its settings resolved as the official image resolves them; `undefined` when there is none. */
export async function resolvePostgresService(project: ComposeProject): Promise<PostgresService | undefined> {
  const service = findPostgresService(project);
  if (!service) return undefined;
  const env = new Map<string, string>([...service.environment].map(([key, value]) => [key, value.value]));
  for (const name of ["POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "POSTGRES_INITDB_ARGS"]) {
    await resolveFileVariable(name, env, service);
  }
  const user = nonEmpty(env.get("POSTGRES_USER")) ?? DEFAULT_USER;
  const password = nonEmpty(env.get("POSTGRES_PASSWORD"));
  registerSecret(password);
  return {
    service,
    user,
    password,
    database: nonEmpty(env.get("POSTGRES_DB")) ?? user,
    hostAuthMethod: nonEmpty(env.get("POSTGRES_HOST_AUTH_METHOD")),
    initdbArgs: nonEmpty(env.get("POSTGRES_INITDB_ARGS")),
    env,
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

/**
 * The image's `file_env`: `X_FILE` names a file inside the container whose content becomes `X`;
 * setting both is an error there, so it is one here. The container path is mapped back to the host
 * through the service's secrets and bind mounts.
 */
async function resolveFileVariable(name: string, env: Map<string, string>, service: ComposeService): Promise<void> {
  const fileVariable = `${name}_FILE`;
  const containerPath = env.get(fileVariable);
  if (containerPath === undefined) return;
  const entry = service.environment.get(fileVariable);
  const { file, line } = entry ?? service;
  if (env.has(name) && env.get(name) !== "") {
    throw new UsageError(`both ${name} and ${fileVariable} are set for service "${service.name}", and the postgres image refuses that`, {
      file,
      line,
    });
  }
  const hostPath = hostPathOf(containerPath, service);
  if (!hostPath) {
    throw new UsageError(`${fileVariable} of service "${service.name}" names ${containerPath}, which no secret or bind mount provides`, {
      file,
      line,
    });
  }
  let content: string;
  try {
    content = await readFile(hostPath, "utf8");
  } catch {
    throw new UsageError(`${fileVariable} of service "${service.name}" names ${containerPath}, whose host file ${hostPath} cannot be read`, {
      file,
      line,
    });
  }
  // `$(< file)` in the entrypoint drops trailing newlines.
  const value = content.replace(/\n+$/, "");
  if (name === "POSTGRES_PASSWORD") registerSecret(value);
  env.set(name, value);
  env.delete(fileVariable);
}

function hostPathOf(containerPath: string, service: ComposeService): string | undefined {
  const secret = service.secrets?.find((mount) => mount.target === containerPath);
  if (secret?.hostPath) return secret.hostPath;
  // The most specific bind mount wins, as in the container's mount table.
  const binds = service.volumes
    .filter((volume) => volume.type === "bind")
    .filter((volume) => containerPath === volume.target || containerPath.startsWith(`${volume.target.replace(/\/$/, "")}/`))
    .sort((a, b) => b.target.length - a.target.length);
  const bind = binds[0];
  if (!bind) return undefined;
  const inside = posix.relative(bind.target, containerPath);
  return inside === "" ? bind.source : `${bind.source}/${inside}`;
}
