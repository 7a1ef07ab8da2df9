import { randomBytes } from "node:crypto";
import { formatDatabaseUrl } from "../../postgres/database-url.js";
import { EnvironmentError } from "../../core/errors.js";
import { registerSecret } from "../../core/secrets.js";

/** A throwaway PostgreSQL of the stack's own image, for scratch databases the migrations check creates. */
export interface ScratchServerContainer {
  /** Superuser URL, reachable from here. */
  readonly adminUrl: string;
  stop(): Promise<void>;
}

const SUPERUSER = "postgres";
const STARTUP_TIMEOUT_MS = 120_000;

/**
 * Starts a container of `image` (the image the stack's postgres service runs, so the same server
 * version and extensions) with testcontainers. The image is on the engine already (the stack runs
 * it), and it is never pulled: there may be no registry to pull from. Ready once `pg_isready`
 * answers over TCP: during initialisation the official entrypoint's temporary server listens on the
 * socket only, so a TCP answer is the final server.
 *
 * testcontainers is loaded only here: most runs never need a scratch server.
 *
 * @throws EnvironmentError when the container cannot start (the message says why; with no registry
 *   the reaper image cannot be pulled, which TESTCONTAINERS_RYUK_DISABLED=true avoids)
 */
export async function startScratchServerContainer(image: string, labels: Readonly<Record<string, string>>): Promise<ScratchServerContainer> {
  const { GenericContainer, Wait } = await import("testcontainers");
  const password = randomBytes(18).toString("base64url");
  registerSecret(password);
  try {
    const container = await new GenericContainer(image)
      .withEnvironment({ POSTGRES_USER: SUPERUSER, POSTGRES_PASSWORD: password, POSTGRES_DB: SUPERUSER })
      .withExposedPorts(5432)
      // Throwaway, like the embedded server: no durability, so CREATE DATABASE and each migration
      // do not wait for the disk.
      .withCommand(["postgres", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
      .withLabels({ ...labels })
      .withPullPolicy({ shouldPull: () => false })
      .withWaitStrategy(Wait.forSuccessfulCommand(`pg_isready -h 127.0.0.1 -U ${SUPERUSER}`))
      .withStartupTimeout(STARTUP_TIMEOUT_MS)
      .start();
    const host = container.getHost() === "localhost" ? "127.0.0.1" : container.getHost();
    return {
      adminUrl: formatDatabaseUrl({ user: SUPERUSER, password, host, port: container.getMappedPort(5432), database: SUPERUSER }),
      async stop() {
        await container.stop({ remove: true, removeVolumes: true, timeout: 5_000 });
      },
    };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const hint = /ryuk/i.test(reason) ? " (set TESTCONTAINERS_RYUK_DISABLED=true where the reaper image cannot be pulled)" : "";
    throw new EnvironmentError(`could not start a scratch PostgreSQL from ${image} with testcontainers: ${reason}${hint}`);
  }
}
