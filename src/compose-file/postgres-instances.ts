/**
 * Every PostgreSQL server of a compose file, resolved the way its image resolves it on first start.
 * A service is a PostgreSQL instance when its image is of a PostgreSQL family, when its `build:`
 * Dockerfile starts `FROM` one, or (for an image this tool does not know) when it mounts init
 * scripts into `/docker-entrypoint-initdb.d` and is no other known database.
 */
import { readInputText, type RepositoryBoundary } from "../core/input-files.js";
import { resolve } from "node:path";
import { UsageError } from "../core/errors.js";
import { repoRelative } from "../core/repo-path.js";
import { registerSecret } from "../core/secrets.js";
import { readContainerFile } from "./container-file.js";
import { builtStage, imageEnvironment, parseDockerfile } from "./dockerfile.js";
import { INITDB_DIR, type InitBuild, type InitMountProblem, type InitScript, initScriptsOf } from "./init-scripts.js";
import type { ComposeProject, ComposeService, SourceLine } from "./model.js";
import { isOtherDatabaseImage, postgresFlavorOf, type PostgresFlavor } from "./postgres-image.js";
import { type ServerCommand, serverCommandOf } from "./server-command.js";

export const DEFAULT_POSTGRES_PORT = 5432;

/** How a service was recognised as PostgreSQL, and where that is written. */
export interface InstanceRecognition extends SourceLine {
  /** `image`: its `image:`; `build`: its Dockerfile's `FROM` (the line is the Dockerfile's); `init-mount`: it mounts init scripts. */
  readonly by: "image" | "build" | "init-mount";
}

/** The role bitnami's scripts create besides `postgres` when POSTGRESQL_USERNAME names another one. */
export interface BitnamiUser {
  readonly user: string;
  readonly password: string | undefined;
  readonly database: string;
}

/** One PostgreSQL service of the compose file, as its image provisions it on an empty data directory. */
export interface PostgresInstance {
  /** The compose service name: the host its clients use. */
  readonly name: string;
  readonly service: ComposeService;
  readonly flavor: PostgresFlavor;
  /** Every name that reaches it inside the compose network: service name, `container_name`, `hostname`, network aliases. */
  readonly aliases: readonly string[];
  /** The bootstrap superuser (the official image's POSTGRES_USER, default `postgres`; bitnami's `postgres`). */
  readonly user: string;
  /** Its password; `undefined` when none is set. */
  readonly password: string | undefined;
  /** The database created at bootstrap (POSTGRES_DB, default the user; bitnami's POSTGRESQL_DATABASE): where `*.sql` init scripts run. */
  readonly database: string;
  /** POSTGRES_HOST_AUTH_METHOD, e.g. `trust`; `undefined` means the image's `scram-sha-256`. */
  readonly hostAuthMethod: string | undefined;
  /** POSTGRES_INITDB_ARGS (or its `_FILE`), as one string the image word-splits. */
  readonly initdbArgs: string | undefined;
  /** The container environment after `_FILE` resolution: the image's `ENV`, then the compose file's (init `*.sh` scripts see it). */
  readonly env: ReadonlyMap<string, string>;
  /** What the image runs from `/docker-entrypoint-initdb.d`, in its order: copied in by the build, or bind-mounted. */
  readonly initScripts: readonly InitScript[];
  /** Mounts or `COPY`s into the init directory that provide nothing readable. */
  readonly initProblems: readonly InitMountProblem[];
  /** The image it runs: `image:`, or the `FROM` of its build. */
  readonly image: string | undefined;
  readonly recognisedBy: InstanceRecognition;
  /** The port the server listens on inside the network (PGPORT; bitnami's POSTGRESQL_PORT_NUMBER), 5432 by default. */
  readonly networkPort: number;
  /** Official flavour: the server's command line (`command:`, else the Dockerfile's `CMD`), with the settings it passes; undefined when neither is written. */
  readonly serverCommand?: ServerCommand;
  /** Bitnami only: the application role its scripts create (LOGIN CREATEDB, owner of `database`), who also runs the init scripts. */
  readonly bitnamiUser?: BitnamiUser;
}

interface Candidate {
  readonly service: ComposeService;
  readonly flavor: PostgresFlavor;
  readonly image: string | undefined;
  readonly recognisedBy: InstanceRecognition;
  readonly imageEnv: ReadonlyMap<string, string>;
  readonly build?: InitBuild;
}

/**
 * Every PostgreSQL service of the project, in compose order, each resolved as its image resolves it.
 *
 * @throws UsageError when a `_FILE` variable of an instance cannot be resolved, or is set beside its plain form (the image refuses to start then)
 */
export function findPostgresInstances(project: ComposeProject): Promise<PostgresInstance[]> {
  // Once per project: the embedded runtime starts its servers from these instances before the
  // registry is evaluated, and the product's model (product-postgres.ts) must name the same objects.
  let found = instancesOf.get(project);
  if (!found) instancesOf.set(project, (found = readPostgresInstances(project)));
  return found;
}

const instancesOf = new WeakMap<ComposeProject, Promise<PostgresInstance[]>>();

async function readPostgresInstances(project: ComposeProject): Promise<PostgresInstance[]> {
  const candidates = await Promise.all([...project.services.values()].map((service) => recognise(service, project)));
  const instances: PostgresInstance[] = [];
  for (const candidate of candidates) if (candidate) instances.push(await resolveInstance(candidate, project.boundary));
  return instances;
}

async function recognise(service: ComposeService, project: ComposeProject): Promise<Candidate | undefined> {
  if (service.build) {
    const built = await readBuild(service, project);
    if (built && "flavor" in built) return built;
    if (built && isOtherDatabaseImage(built.baseImage)) return undefined;
  }
  if (service.image) {
    const flavor = postgresFlavorOf(service.image.value);
    if (flavor) {
      return { service, flavor, image: service.image.value, recognisedBy: { by: "image", file: service.image.file, line: service.image.line }, imageEnv: new Map() };
    }
    if (isOtherDatabaseImage(service.image.value)) return undefined;
  }
  const mount = service.volumes.find((volume) => volume.target.replace(/\/$/, "") === INITDB_DIR || volume.target.startsWith(`${INITDB_DIR}/`));
  if (mount) {
    return { service, flavor: "official", image: service.image?.value, recognisedBy: { by: "init-mount", file: mount.file, line: mount.line }, imageEnv: new Map() };
  }
  return undefined;
}

/** A `build:` whose Dockerfile's built stage starts FROM a PostgreSQL image; else the image it starts from, when readable. */
async function readBuild(service: ComposeService, project: ComposeProject): Promise<Candidate | { readonly baseImage: string } | undefined> {
  const build = service.build!;
  const path = resolve(build.context, build.dockerfile ?? "Dockerfile");
  let text: string;
  try {
    text = await readInputText(path, "Dockerfile", { shown: repoRelative(project.repoRoot, path) }, project.boundary);
  } catch (error) {
    // Over its cap or outside the repository: refused (exit 2); missing or unreadable: not a PostgreSQL build.
    if (error instanceof UsageError) throw error;
    return undefined;
  }
  const parsed = parseDockerfile(text);
  const stage = builtStage(parsed, build.target, build.args);
  if (!stage) return undefined;
  const flavor = postgresFlavorOf(stage.image);
  if (!flavor) return { baseImage: stage.image };
  const file = repoRelative(project.repoRoot, path);
  const args = build.args ?? new Map<string, string>();
  return {
    service,
    flavor,
    image: stage.image,
    recognisedBy: { by: "build", file, line: stage.fromLine },
    imageEnv: imageEnvironment(stage.chain, args),
    build: { context: build.context, file, chain: stage.chain, args },
  };
}

async function resolveInstance(candidate: Candidate, boundary: RepositoryBoundary): Promise<PostgresInstance> {
  const { service, flavor } = candidate;
  const env = new Map<string, string>(candidate.imageEnv);
  for (const [key, value] of service.environment) env.set(key, value.value);
  const fileVariables =
    flavor === "official"
      ? ["POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "POSTGRES_INITDB_ARGS"]
      : ["POSTGRESQL_USERNAME", "POSTGRESQL_PASSWORD", "POSTGRESQL_DATABASE", "POSTGRESQL_POSTGRES_PASSWORD", "POSTGRESQL_INITDB_ARGS"];
  for (const name of fileVariables) await resolveFileVariable(name, env, service, boundary);
  const { scripts, problems } = await initScriptsOf(service, candidate.build);
  const aliases = [...new Set([service.name, service.containerName, service.hostname, ...(service.networkAliases ?? [])].filter((name): name is string => !!name))];
  const common = {
    name: service.name,
    service,
    flavor,
    aliases,
    env,
    initScripts: scripts,
    initProblems: problems,
    image: candidate.image,
    recognisedBy: candidate.recognisedBy,
  };
  if (flavor === "bitnami") {
    const appUser = nonEmpty(env.get("POSTGRESQL_USERNAME")) ?? "postgres";
    const appPassword = nonEmpty(env.get("POSTGRESQL_PASSWORD"));
    const database = nonEmpty(env.get("POSTGRESQL_DATABASE")) ?? "postgres";
    const password = appUser === "postgres" ? appPassword : nonEmpty(env.get("POSTGRESQL_POSTGRES_PASSWORD"));
    registerSecret(password);
    registerSecret(appPassword);
    return {
      ...common,
      user: "postgres",
      password,
      database,
      hostAuthMethod: undefined,
      initdbArgs: nonEmpty(env.get("POSTGRESQL_INITDB_ARGS")),
      networkPort: portOf(env.get("POSTGRESQL_PORT_NUMBER")),
      ...(appUser !== "postgres" && { bitnamiUser: { user: appUser, password: appPassword, database } }),
    };
  }
  const user = nonEmpty(env.get("POSTGRES_USER")) ?? "postgres";
  const password = nonEmpty(env.get("POSTGRES_PASSWORD"));
  registerSecret(password);
  const serverCommand = serverCommandOf(service, candidate.build);
  const commandPort = serverCommand?.settings.findLast((setting) => setting.name === "port")?.value;
  return {
    ...common,
    user,
    password,
    database: nonEmpty(env.get("POSTGRES_DB")) ?? user,
    hostAuthMethod: nonEmpty(env.get("POSTGRES_HOST_AUTH_METHOD")),
    initdbArgs: nonEmpty(env.get("POSTGRES_INITDB_ARGS")),
    // The server reads PGPORT from its environment, so the image listens there when the service
    // sets it; a port on its command line (`-p 5433`, `-c port=5433`) wins over both.
    networkPort: portOf(commandPort ?? env.get("PGPORT")),
    ...(serverCommand && { serverCommand }),
  };
}

function portOf(value: string | undefined): number {
  const port = Number(value);
  return Number.isInteger(port) && port > 0 && port <= 65535 ? port : DEFAULT_POSTGRES_PORT;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

/**
 * The image's `file_env`: `X_FILE` names a file inside the container whose content becomes `X`;
 * setting both is an error there, so it is one here. The container path is mapped back to the host
 * through the service's secrets and bind mounts.
 */
async function resolveFileVariable(name: string, env: Map<string, string>, service: ComposeService, boundary: RepositoryBoundary): Promise<void> {
  const fileVariable = `${name}_FILE`;
  const containerPath = env.get(fileVariable);
  if (containerPath === undefined) return;
  const entry = service.environment.get(fileVariable);
  const location = entry ? { file: entry.file, line: entry.line } : { file: service.file, line: service.line };
  if (env.has(name) && env.get(name) !== "") {
    throw new UsageError(`both ${name} and ${fileVariable} are set for service "${service.name}", and the postgres image refuses that`, location);
  }
  const read = await readContainerFile(containerPath, service, boundary);
  if ("problem" in read) {
    throw new UsageError(
      read.problem === "not-provided"
        ? `${fileVariable} of service "${service.name}" names ${containerPath}, which no secret or bind mount provides`
        : `${fileVariable} of service "${service.name}" names ${containerPath}, whose host file ${read.hostPath} cannot be read`,
      location,
    );
  }
  if (/PASSWORD/.test(name)) registerSecret(read.content);
  env.set(name, read.content);
  env.delete(fileVariable);
}
