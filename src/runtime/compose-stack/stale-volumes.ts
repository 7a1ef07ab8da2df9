import type { PostgresInstance } from "../../compose-file/postgres-instances.js";
import type { Logger } from "../../core/logger.js";
import { docker, type ProcessEnv } from "../../docker/docker-cli.js";
import { PROJECT_LABEL } from "../../docker/stack-state.js";

/**
 * The developer's own project (default project name, as v1 or v2 derives it) may hold the postgres
 * service's named volume from an earlier boot; the image runs init scripts only on an empty data
 * dir, so that stack does not show what `init-databases.sql` says today. This run uses a fresh
 * volume of its own.
 */
export async function warnAboutStaleVolumes(postgres: PostgresInstance, ownProjects: readonly string[], env: ProcessEnv, logger: Logger): Promise<void> {
  const named = postgres.service.volumes.filter((volume) => volume.type === "volume" && volume.source !== "");
  for (const [volume, ownProject] of named.flatMap((volume) => ownProjects.map((project) => [volume, project] as const))) {
    const result = await docker(["volume", "ls", "-q", "--filter", `label=${PROJECT_LABEL}=${ownProject}`, "--filter", `label=com.docker.compose.volume=${volume.source}`], {
      env,
      timeoutMs: 15_000,
    });
    const existing = result.stdout.split("\n").map((line) => line.trim()).filter(Boolean);
    for (const name of existing) {
      logger.warn(
        `compose: the named volume ${name} of the postgres service "${postgres.service.name}" (${volume.file}:${volume.line}) already exists from an earlier boot of project ${ownProject}: ` +
          `the image runs init scripts only on an empty data directory, so that stack still has the databases and roles of its first boot. ` +
          `This run uses a fresh volume of its own; run \`docker compose down -v\` in the product folder to make yours match.`,
      );
    }
  }
}
