import { execa } from "execa";
import { loadCompose } from "../../src/compose-file/load-compose-file.js";
import { standinsInUse } from "./docker.js";

/** Tag prefix of the images that keep the legacy builder's layer cache warm between test runs. */
export const CACHE_TAG_PREFIX = "civic-conformance-build-cache";

/**
 * Builds every `build:` service of a product's compose file once, tagged
 * `civic-conformance-build-cache/<service>:latest`, and keeps those images, as the base images are
 * kept. Each run still builds its own images (`up --build`) and `down --rmi local` still removes
 * them; with the layers cached, that build takes seconds instead of a minute per service on the
 * vfs storage driver, which copies the whole root filesystem for every build step.
 *
 * Only on the local stand-ins: it is `docker build` without buildx, the legacy builder Compose v1
 * uses here (Compose v2 builds with BuildKit, whose own cache outlives the images it built). Where
 * the images are the official ones (GitHub's runner) nothing is warmed.
 */
export async function warmComposeBuildCache(productDir: string, repoRoot: string): Promise<void> {
  if (!standinsInUse()) return;
  const compose = await loadCompose(productDir, repoRoot, { PATH: process.env.PATH });
  for (const service of compose.services.values()) {
    if (!service.build) continue;
    const args = ["build", "-q", "-t", `${CACHE_TAG_PREFIX}/${service.name}:latest`];
    if (service.build.dockerfile) args.push("-f", `${service.build.context}/${service.build.dockerfile}`);
    await execa("docker", [...args, service.build.context], { stdin: "ignore" });
  }
}
