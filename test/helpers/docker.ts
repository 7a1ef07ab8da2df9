import { randomBytes } from "node:crypto";
import { execa, execaSync, type Result } from "execa";

/**
 * The official image names the product's compose files and Dockerfiles use. On this engine they are
 * LOCAL STAND-INS built by `scripts/ci/provision-docker.sh` (no registry is reachable here).
 */
export const STANDIN_IMAGES = {
  postgres: "postgres:16-alpine",
  redis: "redis:7-alpine",
  node: "node:20-alpine",
} as const;

/**
 * Label every stand-in carries (`civic.standin=true`, plus `civic.standin.of=<its tag>` and a
 * recipe key). Images built FROM a stand-in inherit these labels; cleanup keeps only the image
 * whose own tag is the one `civic.standin.of` names.
 */
export const STANDIN_LABEL = "civic.standin";

/**
 * Label for everything a test creates (containers, volumes, networks, images), so that
 * `scripts/ci/cleanup-docker.sh` can remove what a crashed run left behind.
 */
export const TEST_LABEL = "civic.test";

/**
 * Compose projects started by tests are named with this prefix; `scripts/ci/cleanup-docker.sh`
 * removes leftovers of every `civic-*` project (this prefix and the product runtime's).
 */
export const TEST_PROJECT_PREFIX = "civic-test-";

const PROVISION_HINT = "run `scripts/ci/provision-docker.sh` (starts dockerd, builds the stand-in images)";

let engineAnswers: boolean | undefined;

/** True when a Docker engine answers `docker info` (checked once per test file). */
export function dockerAvailable(): boolean {
  engineAnswers ??= execaSync("docker", ["info", "--format", "{{.ServerVersion}}"], { reject: false }).exitCode === 0;
  return engineAnswers;
}

/**
 * Decides whether Docker-backed tests run: `describe.skipIf(!requireDockerInCI())(…)`.
 * In CI (`CI=true`) a missing engine is a failure, thrown at collection so the file fails;
 * locally the tests are skipped with a loud notice.
 */
export function requireDockerInCI(): boolean {
  if (dockerAvailable()) return true;
  if (process.env.CI === "true") {
    throw new Error(`CI=true but no Docker engine answers \`docker info\`: ${PROVISION_HINT}.`);
  }
  console.warn(
    [
      "****************************************************************",
      "SKIPPED: no Docker engine. The Docker-backed tests did not run.",
      `To run them: ${PROVISION_HINT}.`,
      "****************************************************************",
    ].join("\n"),
  );
  return false;
}

/**
 * Set to `1` where scripts/ci/provision-docker.sh built the LOCAL STAND-INS (`.ci/run` sets it), to
 * `0` where the official images come from a registry instead (GitHub's runner: the CI workflow sets
 * it). Unset: CI requires the stand-ins, a local run looks for them.
 */
export const STANDINS_VARIABLE = "CIVIC_DOCKER_STANDINS";

let standinsFound: boolean | undefined;

/** True when every STANDIN_IMAGES tag is on the engine and labelled as a stand-in (checked once per test file). */
export function standinsPresent(): boolean {
  standinsFound ??=
    dockerAvailable() &&
    Object.values(STANDIN_IMAGES).every((image) => {
      const inspected = execaSync("docker", ["image", "inspect", "--format", `{{ index .Config.Labels "${STANDIN_LABEL}" }}`, image], { reject: false });
      return inspected.exitCode === 0 && String(inspected.stdout).trim() === "true";
    });
  return standinsFound;
}

/** The images here are the local stand-ins: present, and CIVIC_DOCKER_STANDINS does not say otherwise. */
export function standinsInUse(): boolean {
  return process.env[STANDINS_VARIABLE] !== "0" && standinsPresent();
}

/**
 * Decides whether the tests ABOUT the stand-ins run (their entrypoint contract, their labels, the
 * legacy builder cache kept on them): `describe.skipIf(!requireStandins())(…)`. They need the
 * stand-ins themselves, not just images with those names. Where CIVIC_DOCKER_STANDINS=0 says the
 * images are the official ones, they are skipped with a loud notice; where it is `1`, or in CI
 * without it, missing stand-ins are a failure; locally they are skipped with a loud notice.
 */
export function requireStandins(): boolean {
  if (!requireDockerInCI()) return false;
  const declared = process.env[STANDINS_VARIABLE];
  const skip = (why: string) => {
    console.warn(["****************************************************************", `SKIPPED: the tests of the local stand-in images: ${why}.`, "****************************************************************"].join("\n"));
    return false;
  };
  if (declared === "0") return skip(`${STANDINS_VARIABLE}=0 says the images here are the official ones`);
  if (standinsPresent()) return true;
  if (declared === "1" || process.env.CI === "true") {
    throw new Error(`${declared === "1" ? `${STANDINS_VARIABLE}=1` : "CI=true"} but the local stand-ins (label ${STANDIN_LABEL}=true on ${Object.values(STANDIN_IMAGES).join(", ")}) are not all here: ${PROVISION_HINT}.`);
  }
  return skip(`no stand-in images on this engine; to run them: ${PROVISION_HINT}`);
}

/** A name no other test run uses, e.g. `civic-test-compose-3f9a1c2b`. */
export function uniqueName(purpose: string): string {
  return `${TEST_PROJECT_PREFIX}${purpose}-${randomBytes(4).toString("hex")}`;
}

/** Runs the docker CLI; throws with its stderr when it fails unless `reject: false`. */
export function docker(args: readonly string[], options: { input?: string; reject?: boolean } = {}): Promise<Result> {
  return execa("docker", args, { input: options.input, reject: options.reject ?? true, stripFinalNewline: true });
}

/** Runs the standalone docker-compose v1 CLI (the stand-in tests; test/helpers/compose-variants.ts runs both CLIs). */
export function dockerCompose(project: string, composeFile: string, args: readonly string[]): Promise<Result> {
  return execa("docker-compose", ["--project-name", project, "--file", composeFile, ...args], { stripFinalNewline: true });
}

/** Lines of a docker CLI listing, without blanks. */
export async function dockerList(args: readonly string[]): Promise<string[]> {
  const { stdout } = await docker(args);
  return String(stdout)
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
}

/**
 * What is left of a compose project, by its label: containers (the scratch servers the tool starts
 * for it by their run label too), volumes, networks, and the images built for it under either
 * naming (`<project>_<service>` of Compose v1, `<project>-<service>` of v2).
 */
export async function projectLeftovers(project: string): Promise<Record<string, string[]>> {
  const label = `label=com.docker.compose.project=${project}`;
  return {
    containers: await dockerList(["ps", "-a", "-q", "--filter", label]),
    scratch: await dockerList(["ps", "-a", "-q", "--filter", `label=civic.conformance.run=${project}`]),
    volumes: await dockerList(["volume", "ls", "-q", "--filter", label]),
    networks: await dockerList(["network", "ls", "-q", "--filter", label]),
    images: [...(await dockerList(["images", "-q", "--filter", `reference=${project}_*`])), ...(await dockerList(["images", "-q", "--filter", `reference=${project}-*`]))],
  };
}

/** `projectLeftovers` of a project nothing is left of. */
export const NOTHING_LEFT = { containers: [], scratch: [], volumes: [], networks: [], images: [] };

/** Labels of a local image; the image must exist (nothing is ever pulled). */
export async function imageLabels(image: string): Promise<Record<string, string>> {
  const { stdout } = await docker(["image", "inspect", "--format", "{{json .Config.Labels}}", image]);
  return (JSON.parse(String(stdout)) ?? {}) as Record<string, string>;
}

/** Prints, once per run of a file, whether these images are local stand-ins or the official ones. */
export async function announceStandins(): Promise<void> {
  if (!standinsInUse()) {
    console.info(`NOTE: ${Object.values(STANDIN_IMAGES).join(", ")} here are the official images (pulled when missing), not local stand-ins.`);
    return;
  }
  const lines = await Promise.all(
    Object.values(STANDIN_IMAGES).map(async (image) => {
      const labels = await imageLabels(image);
      return `  ${image}  (stand-in ${labels[`${STANDIN_LABEL}.key`] ?? "?"})`;
    }),
  );
  console.info(
    [
      "NOTE: these Docker images are LOCAL STAND-INS for the official images (Debian bookworm root",
      "filesystems built by scripts/ci/provision-docker.sh, label civic.standin=true), not Docker Hub's:",
      ...lines,
    ].join("\n"),
  );
}

export interface ContainerOptions {
  image: string;
  env?: Record<string, string>;
  /** `hostPath:containerPath[:ro]` bind mounts. */
  mounts?: readonly string[];
  /** Container ports published on an ephemeral 127.0.0.1 port. */
  publish?: readonly number[];
  network?: string;
  /** Arguments after the image (the command). */
  command?: readonly string[];
}

/** A running container removed (with its anonymous volumes) on `await using` scope exit. */
export interface RunningContainer extends AsyncDisposable {
  readonly id: string;
  readonly name: string;
  /** The host port published for a container port. */
  hostPort(containerPort: number): Promise<number>;
  /** `docker exec` in the container; never rejects, the caller reads exitCode. */
  exec(command: readonly string[]): Promise<Result>;
  /** stdout and stderr of the container so far. */
  logs(): Promise<string>;
  /** Exit code once the container has stopped (waits for it). */
  waitForExit(): Promise<number>;
}

/** Starts a labelled container in the background (`docker run -d`). */
export async function runContainer(options: ContainerOptions): Promise<RunningContainer> {
  const name = uniqueName("container");
  const args = ["run", "--detach", "--name", name, "--label", `${TEST_LABEL}=true`];
  for (const [key, value] of Object.entries(options.env ?? {})) args.push("--env", `${key}=${value}`);
  for (const mount of options.mounts ?? []) args.push("--volume", mount);
  for (const port of options.publish ?? []) args.push("--publish", `127.0.0.1::${port}`);
  if (options.network) args.push("--network", options.network);
  args.push(options.image, ...(options.command ?? []));
  const { stdout } = await docker(args);
  const id = String(stdout);
  return {
    id,
    name,
    async hostPort(containerPort) {
      const { stdout: binding } = await docker(["port", id, `${containerPort}/tcp`]);
      const port = Number(String(binding).split("\n")[0]?.split(":").pop());
      if (!Number.isInteger(port)) throw new Error(`container ${name} publishes no port for ${containerPort}: ${binding}`);
      return port;
    },
    exec(command) {
      return docker(["exec", id, ...command], { reject: false });
    },
    async logs() {
      const result = await execa("docker", ["logs", id], { all: true, reject: false });
      return String(result.all ?? "");
    },
    async waitForExit() {
      const { stdout: code } = await docker(["wait", id]);
      return Number(code);
    },
    async [Symbol.asyncDispose]() {
      const removal = await docker(["rm", "--force", "--volumes", id], { reject: false });
      if (removal.exitCode !== 0) console.warn(`could not remove container ${name}: ${removal.stderr}`);
    },
  };
}

/** A user-defined network removed on `await using` scope exit. */
export async function createNetwork(): Promise<{ name: string } & AsyncDisposable> {
  const name = uniqueName("net");
  await docker(["network", "create", "--label", `${TEST_LABEL}=true`, name]);
  return {
    name,
    async [Symbol.asyncDispose]() {
      const removal = await docker(["network", "rm", name], { reject: false });
      if (removal.exitCode !== 0) console.warn(`could not remove network ${name}: ${removal.stderr}`);
    },
  };
}

/** Polls `probe` every 250 ms until it returns true; fails with `what` after `timeoutMs`. */
export async function waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Waits until the postgres stand-in (or the real image) accepts TCP connections inside the
 * container. The init phase serves only the unix socket, so this is true only once the final
 * server is up, exactly what a compose healthcheck on `pg_isready -h 127.0.0.1` means.
 */
export async function waitForPostgres(container: RunningContainer, timeoutMs = 90_000): Promise<void> {
  await waitUntil(
    `PostgreSQL in ${container.name} to accept TCP connections`,
    async () => {
      const running = await docker(["inspect", "--format", "{{.State.Running}}", container.id], { reject: false });
      if (String(running.stdout) === "false") {
        throw new Error(`container ${container.name} stopped before PostgreSQL was ready:\n${await container.logs()}`);
      }
      return (await container.exec(["pg_isready", "--quiet", "--host", "127.0.0.1", "--port", "5432"])).exitCode === 0;
    },
    timeoutMs,
  );
}
