import { randomBytes } from "node:crypto";
import { pause } from "../../core/concurrency.js";
import { EnvironmentError } from "../../core/errors.js";
import { maskSecrets, registerSecret } from "../../core/secrets.js";
import { docker, lastLines, type ProcessEnv } from "../../docker/docker-cli.js";
import { formatDatabaseUrl } from "../../postgres/database-url.js";

/** A throwaway PostgreSQL of the stack's own image, for scratch databases the migrations check creates. */
export interface ScratchServerContainer {
  /** Superuser URL, reachable from here. */
  readonly adminUrl: string;
  stop(): Promise<void>;
}

export interface ScratchServerOptions {
  /** The docker CLI's environment (DOCKER_HOST and the like): the engine the stack runs on. */
  readonly env: ProcessEnv;
  /** Labels the container carries; the run's label lets the one teardown find it (`docker/run-resources.ts`). */
  readonly labels: Readonly<Record<string, string>>;
  /** The product's own `name=value` settings (its postgres service's command line), passed before this tool's, which win. */
  readonly settings?: readonly string[];
  /** Stops waiting for readiness (the run was cancelled); the container is then removed. */
  readonly signal?: AbortSignal;
  readonly startupTimeoutMs?: number;
}

const SUPERUSER = "postgres";
const LOOPBACK = "127.0.0.1";
const POSTGRES_PORT = 5432;
const STARTUP_TIMEOUT_MS = 120_000;
const POLL_MS = 250;

/**
 * Starts a container of `image` (the image the stack's postgres service runs, so the same server
 * version and extensions) with the docker CLI the compose runtime already drives: the same engine,
 * found the same way (DOCKER_HOST, the CLI's context), and no reaper container to pull. It is
 * removed by `stop()`, and by label when a run ends before that (the compose runtime's teardown,
 * the action's `post:` step). The image is on the engine already (the stack runs it) and is never
 * pulled: there may be no registry. PostgreSQL is published on 127.0.0.1 only, like the stack's.
 * Ready once `pg_isready` answers over TCP inside the container: during initialisation the official
 * entrypoint's temporary server listens on the socket only, so a TCP answer is the final server.
 *
 * @throws EnvironmentError when the container cannot start or does not get ready (with its last log lines)
 */
export async function startScratchServerContainer(image: string, options: ScratchServerOptions): Promise<ScratchServerContainer> {
  const { env } = options;
  const password = randomBytes(18).toString("base64url");
  registerSecret(password);
  const labels = Object.entries(options.labels).flatMap(([key, value]) => ["--label", `${key}=${value}`]);
  const run = await docker(
    [
      "run", "--detach", "--pull", "never", ...labels,
      // `-e NAME` without a value: the password reaches the container from the CLI's environment, never its command line.
      "-e", `POSTGRES_USER=${SUPERUSER}`, "-e", "POSTGRES_PASSWORD", "-e", `POSTGRES_DB=${SUPERUSER}`,
      "--publish", `${LOOPBACK}::${POSTGRES_PORT}`,
      image,
      "postgres",
      ...(options.settings ?? []).flatMap((setting) => ["-c", setting]),
      // Throwaway, like the embedded server: no durability, so CREATE DATABASE and each migration do
      // not wait for the disk; and as many connections as the embedded server takes (image-entrypoint.ts).
      "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300",
    ],
    { env, extraEnv: { POSTGRES_PASSWORD: password }, timeoutMs: STARTUP_TIMEOUT_MS },
  );
  const id = run.stdout.trim().split("\n").pop() ?? "";
  const fail = async (why: string): Promise<never> => {
    const logs = id ? await docker(["logs", "--tail", "20", id], { env, timeoutMs: 15_000 }).catch(() => undefined) : undefined;
    if (id) await removeContainer(id, env).catch(() => undefined);
    const tail = logs ? lastLines(`${logs.stdout}\n${logs.stderr}`, 10) : "";
    throw new EnvironmentError(maskSecrets(`could not start a scratch PostgreSQL from ${image}: ${why}${tail ? `\n${tail}` : ""}`));
  };
  if (run.exitCode !== 0 || !/^[0-9a-f]{12,64}$/.test(id)) return fail(lastLines(run.stderr || run.stdout, 5) || `docker run exited with ${run.exitCode}`);

  try {
    await waitUntilReady(id, env, options.signal, options.startupTimeoutMs ?? STARTUP_TIMEOUT_MS);
    const port = await publishedPort(id, env);
    return {
      adminUrl: formatDatabaseUrl({ user: SUPERUSER, password, host: LOOPBACK, port, database: SUPERUSER }),
      stop: () => removeContainer(id, env),
    };
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }
}

async function waitUntilReady(id: string, env: ProcessEnv, signal: AbortSignal | undefined, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    const probe = await docker(["exec", id, "pg_isready", "-q", "-h", LOOPBACK, "-p", String(POSTGRES_PORT), "-U", SUPERUSER], { env, timeoutMs: 15_000 });
    if (probe.exitCode === 0) return;
    const state = await docker(["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", id], { env, timeoutMs: 15_000 });
    const [status, exitCode] = state.stdout.trim().split(" ");
    if (state.exitCode === 0 && status !== "running" && status !== "created") throw new Error(`the container ${status} (exit code ${exitCode}) before PostgreSQL was ready`);
    if (performance.now() > deadline) throw new Error(`PostgreSQL was not ready after ${Math.round(timeoutMs / 1000)} s`);
    await pause(POLL_MS, signal);
  }
}

async function publishedPort(id: string, env: ProcessEnv): Promise<number> {
  const result = await docker(["port", id, `${POSTGRES_PORT}/tcp`], { env, timeoutMs: 15_000 });
  const port = result.stdout.split("\n").map((line) => new RegExp(`^${LOOPBACK.replaceAll(".", "\\.")}:(\\d+)$`).exec(line.trim())?.[1]).find(Boolean);
  if (result.exitCode !== 0 || !port) throw new Error(`no port published for ${POSTGRES_PORT} on ${LOOPBACK}: ${lastLines(result.stderr || result.stdout, 3)}`);
  return Number(port);
}

/** Removes the container and its anonymous volume (the image's data directory). */
async function removeContainer(id: string, env: ProcessEnv): Promise<void> {
  const result = await docker(["rm", "--force", "--volumes", id], { env, timeoutMs: 60_000 });
  if (result.exitCode !== 0 && !/No such container/i.test(result.stderr)) throw new Error(`docker rm ${id.slice(0, 12)} failed: ${lastLines(result.stderr, 3)}`);
}
