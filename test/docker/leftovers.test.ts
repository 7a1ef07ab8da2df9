/**
 * The action's `post:` step tears down a cancelled compose run the way the compose-stack runtime
 * does (docker/run-resources.ts): the project's containers, networks and volumes, the migrations
 * check's scratch-server container (labelled with the run, not with the compose project) and the
 * images built for the run. Real containers on the real engine; the stand-in images are never touched.
 * The project's labels are the ones Compose v1 and v2 set for a run (`-f <copy> --project-directory
 * <product>`): `…config_files` is the compose copy in the run's temp dir, `…working_dir` the product
 * folder, outside it. test/docker/compose-versions.test.ts boots such a project with each real CLI.
 */
import { execa } from "execa";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tearDownLeftovers } from "../../src/action/leftovers.js";
import { RecordingLogger } from "../../src/core/logger.js";
import { COMPOSE_COPY_NAME } from "../../src/docker/compose-file-copy.js";
import { removeRunResources, RUN_LABEL, settleRunResources } from "../../src/docker/run-resources.js";
import { PROJECT_LABEL } from "../../src/docker/stack-state.js";
import { docker, dockerList, requireDockerInCI, STANDIN_IMAGES, TEST_LABEL, uniqueName } from "../helpers/docker.js";

describe.skipIf(!requireDockerInCI())("the post step on a cancelled compose run", { timeout: 120_000 }, () => {
  const project = uniqueName("leftovers");
  afterAll(async () => {
    // Whatever the test failed to remove, by its labels (never the stand-ins).
    for (const id of await dockerList(["ps", "-a", "-q", "--filter", `label=${PROJECT_LABEL}=${project}`, "--filter", `label=${TEST_LABEL}=true`])) await docker(["rm", "-f", "-v", id], { reject: false });
    for (const id of await dockerList(["ps", "-a", "-q", "--filter", `label=${RUN_LABEL}=${project}`])) await docker(["rm", "-f", "-v", id], { reject: false });
    await docker(["rmi", "-f", `${project}-api:latest`], { reject: false });
    await docker(["network", "rm", `${project}_default`], { reject: false });
    await docker(["volume", "rm", "-f", `${project}_data`], { reject: false });
  });

  it("removes the project's containers, network and volume, the run's scratch-server container and the image built for the run", async () => {
    const tempRoot = await mkdtemp(join(tmpdir(), "civic-run-"));
    const copyDir = join(tempRoot, "civic-compose-abc123");
    await mkdir(copyDir);
    const labels = (extra: Record<string, string>) => Object.entries({ [TEST_LABEL]: "true", ...extra }).flatMap(([key, value]) => ["--label", `${key}=${value}`]);
    const productDir = await mkdtemp(join(tmpdir(), "civic-product-"));
    const projectLabels = {
      [PROJECT_LABEL]: project,
      "com.docker.compose.project.config_files": join(copyDir, COMPOSE_COPY_NAME),
      "com.docker.compose.project.working_dir": productDir,
    };
    try {
      await docker(["network", "create", ...labels(projectLabels), `${project}_default`]);
      await docker(["volume", "create", ...labels(projectLabels), `${project}_data`]);
      // An image built for the run: its own id (a LABEL step), so removing it never touches the stand-in it starts from.
      await docker(["build", "-q", "-t", `${project}-api:latest`, "-"], { input: `FROM ${STANDIN_IMAGES.node}\nLABEL ${TEST_LABEL}=true\n` });
      await docker(["create", ...labels(projectLabels), "--network", `${project}_default`, "-v", `${project}_data:/data`, `${project}-api:latest`, "sleep", "600"]);
      await docker(["create", ...labels({ [RUN_LABEL]: project }), STANDIN_IMAGES.postgres, "sleep", "600"]);

      const logger = new RecordingLogger();
      const result = await tearDownLeftovers(tempRoot, { PATH: process.env.PATH }, logger);

      expect(result.removedProjects).toEqual([project]);
      expect(result.removedTempRoot).toBe(true);
      expect(logger.entries.filter((entry) => entry.level === "warn")).toEqual([]);
      expect(await dockerList(["ps", "-a", "-q", "--filter", `label=${PROJECT_LABEL}=${project}`])).toEqual([]);
      expect(await dockerList(["ps", "-a", "-q", "--filter", `label=${RUN_LABEL}=${project}`])).toEqual([]);
      expect(await dockerList(["network", "ls", "-q", "--filter", `name=^${project}_default$`])).toEqual([]);
      expect(await dockerList(["volume", "ls", "-q", "--filter", `name=^${project}_data$`])).toEqual([]);
      expect(await dockerList(["images", "-q", `${project}-api`])).toEqual([]);
      for (const image of Object.values(STANDIN_IMAGES)) expect(await dockerList(["images", "-q", image])).not.toEqual([]);
    } finally {
      await rm(tempRoot, { recursive: true, force: true });
      await rm(productDir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!requireDockerInCI())("settling after an interrupted build or up", { timeout: 120_000 }, () => {
  const project = uniqueName("settle");
  afterAll(async () => {
    await docker(["network", "rm", `${project}_late`], { reject: false });
    await docker(["volume", "rm", "-f", `${project}_late`], { reject: false });
  });

  it("removes what the engine makes for the project after the first sweep, and returns once sweeps find nothing", async () => {
    const env = process.env;
    // The engine finishing an interrupted `up`: a network and a volume of the project appear a few seconds later.
    const late = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await docker(["network", "create", "--label", `${PROJECT_LABEL}=${project}`, "--label", `${TEST_LABEL}=true`, `${project}_late`]);
      await docker(["volume", "create", "--label", `${PROJECT_LABEL}=${project}`, "--label", `${TEST_LABEL}=true`, `${project}_late`]);
    })();
    expect(await removeRunResources(project, env)).toBe(0);
    const removed = await settleRunResources(project, env, { intervalMs: 1_000 });
    await late;
    expect(removed).toBe(2);
    expect(await dockerList(["network", "ls", "-q", "--filter", `label=${PROJECT_LABEL}=${project}`])).toEqual([]);
    expect(await dockerList(["volume", "ls", "-q", "--filter", `label=${PROJECT_LABEL}=${project}`])).toEqual([]);
  });
});

describe.skipIf(!requireDockerInCI())("removing the images built for a run", { timeout: 120_000 }, () => {
  const project = uniqueName("shared-image");
  const shared = `${uniqueName("civic-test-shared")}:latest`;
  afterAll(async () => {
    await docker(["rmi", "-f", `${project}-db:latest`, `${project}_db:latest`, shared], { reject: false });
  });

  it("untags the run's image names only: an image that is also another name (a build that is just `FROM postgres:16`) keeps that name", async () => {
    // A build with nothing after FROM is its base image, same ID: here a tiny image of our own stands for the base.
    await execa("docker", ["import", "--change", `LABEL ${TEST_LABEL}=true`, "-", shared], { input: Buffer.alloc(1024) });
    await docker(["tag", shared, `${project}-db:latest`]);
    await docker(["tag", shared, `${project}_db:latest`]);
    expect(await removeRunResources(project, process.env)).toBe(2);
    expect(await dockerList(["images", "-q", "--filter", `reference=${project}*`])).toEqual([]);
    expect(await dockerList(["images", "-q", "--filter", `reference=${shared}`])).toHaveLength(1);
  });
});
