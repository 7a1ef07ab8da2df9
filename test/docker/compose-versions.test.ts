/**
 * What the compose runtime relies on, on each real Compose CLI: the v2 plugin (`docker compose`,
 * GitHub's default) and the standalone v1 (`docker-compose` 1.29). Where the two differ, the path
 * the code takes is run on the binary, never compared with a recorded string:
 *  - v1 refuses `host_ip` in the long port syntax: the run's compose copy publishes in the short one;
 *  - v2 refuses a `-p` it would have to normalise, v1 silently rewrites it: the run's project name
 *    is in the form both keep, so the labels the run looks for carry it;
 *  - a folder's default project name: v1 keeps leading `_`/`-`, v2 drops them (the stale-volume
 *    warning looks under both);
 *  - container names (`_1` / `-1`) and `compose ps` output differ: the runtime finds containers by
 *    their labels with `docker ps`/`inspect`, one-off `run` containers left out, under both;
 *  - v1 has no `up --wait`: the runtime polls the containers' state itself, under both;
 *  - build output (v1: the legacy builder's steps; v2: BuildKit's) ends up in the error of a failing
 *    build, under both; the images are built before `up`, v1 told `--force-rm` (its `up` takes no
 *    such flag), so a failing build leaves no intermediate container under either;
 *  - built images are named `<project>_<service>` by v1 and `<project>-<service>` by v2; both record
 *    the compose file as given to `-f` (`…project.config_files`) and the `--project-directory` as
 *    `…project.working_dir`: the action's `post:` step finds a cancelled run's project through its
 *    compose copy and removes it, built image included (and scripts/ci/cleanup-docker.sh, which
 *    removes what crashed test runs left, knows both namings).
 * The images are the LOCAL STAND-INS here (scripts/ci/provision-docker.sh), the official ones on
 * GitHub's runner. The full run on each CLI is test/docker/e2e-compose.test.ts.
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tearDownLeftovers } from "../../src/action/leftovers.js";
import { loadCompose } from "../../src/compose-file/load-compose-file.js";
import { pendingCleanups } from "../../src/core/cleanup-registry.js";
import { EnvironmentError } from "../../src/core/errors.js";
import { RecordingLogger } from "../../src/core/logger.js";
import { projectArgs, resolveComposeCommand, type ComposeCommand } from "../../src/docker/compose-cli.js";
import { writeComposeCopy } from "../../src/docker/compose-file-copy.js";
import { defaultProjectNames, runProjectName } from "../../src/docker/project-name.js";
import { removeRunResources } from "../../src/docker/run-resources.js";
import { projectContainers } from "../../src/docker/stack-state.js";
import { ComposeRuntime } from "../../src/runtime/compose-stack/compose-stack-runtime.js";
import { composeVersion, COMPOSE_VARIANTS, requireComposeVariant, runCompose } from "../helpers/compose-variants.js";
import { announceStandins, docker, dockerList, NOTHING_LEFT, projectLeftovers, STANDIN_IMAGES } from "../helpers/docker.js";
import { REPO_ROOT } from "../helpers/fixtures.js";

/** What the docker CLI needs to find its engine and its plugins. */
const ENV = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  ...Object.fromEntries(["DOCKER_HOST", "DOCKER_CONFIG"].flatMap((name) => (process.env[name] ? [[name, process.env[name]!]] : []))),
};

const emptyRegistry = (dir: string) => ({ path: join(dir, "infra/service-registry.ts"), file: "products/mini/infra/service-registry.ts", services: [], source: "typescript" as const });

async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(dir, path, ".."), { recursive: true });
    await writeFile(join(dir, path), text);
  }
}

/** A Dockerfile on the node image that builds without a network and without a RUN step. */
const IDLE_DOCKERFILE = `FROM ${STANDIN_IMAGES.node}\nCMD ["node", "-e", "setInterval(() => {}, 1 << 30)"]\n`;

for (const variant of COMPOSE_VARIANTS) {
  describe.skipIf(!requireComposeVariant(variant))(`${variant.title}: what the compose runtime relies on`, { timeout: 300_000 }, () => {
    let compose: ComposeCommand;
    let root: string;
    const projects: string[] = [];

    beforeAll(async () => {
      await announceStandins();
      compose = await resolveComposeCommand({ choice: variant.command, source: "the test" }, ENV);
      root = await mkdtemp(join(tmpdir(), "civic-compose-versions-"));
    });

    afterAll(async () => {
      for (const project of projects) await removeRunResources(project, ENV).catch(() => undefined);
      await rm(root, { recursive: true, force: true });
    }, 120_000);

    it(`is the CLI --compose-command "${variant.command}" resolves to, answering ${variant.major}.x`, () => {
      expect([compose.command, ...compose.prefix].join(" ")).toBe(variant.command);
      expect(compose.version).toBe(composeVersion(variant));
    });

    it("creates the run's compose copy under the run's own project name: every port on 127.0.0.1 at a port Docker picks, no fixed name, one-off containers not counted", async () => {
      const productDir = join(root, "products", "_Shop.Front");
      await writeFiles(productDir, {
        "compose.yaml": [
          "name: shop",
          "services:",
          "  db:",
          `    image: ${STANDIN_IMAGES.postgres}`,
          "    container_name: shop-db",
          "    environment: { POSTGRES_PASSWORD: pw }",
          "    ports: ['5433:5432', '0.0.0.0:9229:9229', { target: 8080, published: 18080, protocol: tcp }]",
          "",
        ].join("\n"),
      });
      const copyDir = await mkdtemp(join(root, "civic-compose-"));
      const copy = await writeComposeCopy(join(productDir, "compose.yaml"), new Map([["db", 5432]]), copyDir);
      const project = runProjectName("_Shop.Front");
      projects.push(project);
      const args = projectArgs(compose, { name: project, file: copy.file, directory: productDir });

      const created = await runCompose(variant, [...args.slice(compose.prefix.length), "up", "--no-start"]);
      expect(created.exitCode, String(created.stderr)).toBe(0);
      const [container] = await projectContainers(project, ENV);
      expect(container).toMatchObject({ service: "db", status: "created" });
      const inspected = JSON.parse(String((await docker(["inspect", container!.id])).stdout))[0] as { Name: string; HostConfig: { PortBindings: Record<string, { HostIp: string; HostPort: string }[]> } };
      expect(inspected.HostConfig.PortBindings).toEqual({
        "5432/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }],
        "8080/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }],
        "9229/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }],
      });
      expect(inspected.Name).not.toBe("/shop-db");

      // A one-off container (`run`) carries the project label too; it is not a service of the stack.
      const oneOff = await runCompose(variant, [...args.slice(compose.prefix.length), "run", "-d", "--no-deps", "db", "true"]);
      expect(oneOff.exitCode, String(oneOff.stderr)).toBe(0);
      expect(await dockerList(["ps", "-a", "-q", "--filter", `label=com.docker.compose.project=${project}`])).toHaveLength(2);
      expect((await projectContainers(project, ENV)).map((listed) => listed.id)).toEqual([container!.id]);

      const down = await runCompose(variant, [...args.slice(compose.prefix.length), "down", "-v", "--remove-orphans", "-t", "5"]);
      expect(down.exitCode, String(down.stderr)).toBe(0);
      expect(await projectLeftovers(project)).toEqual(NOTHING_LEFT);
    });

    it("derives a folder's default project name as one of the names the stale-volume warning looks under", async () => {
      const folder = join(root, `_Civic-Test.Default-${randomBytes(4).toString("hex")}`);
      await writeFiles(folder, { "compose.yaml": `services:\n  db:\n    image: ${STANDIN_IMAGES.postgres}\n` });
      const created = await runCompose(variant, ["up", "--no-start"], { cwd: folder });
      expect(created.exitCode, String(created.stderr)).toBe(0);
      const [name] = await dockerList(["ps", "-a", "--filter", `label=com.docker.compose.project.working_dir=${folder}`, "--format", '{{.Label "com.docker.compose.project"}}']);
      projects.push(name!);
      try {
        expect(defaultProjectNames(join(folder, "compose.yaml"), undefined, {})).toContain(name);
      } finally {
        await runCompose(variant, ["down", "-v"], { cwd: folder });
      }
      expect(await projectLeftovers(name!)).toEqual(NOTHING_LEFT);
    });

    it("lets the post: step find a cancelled run's project through its compose copy and remove it, built image included", async () => {
      const productDir = join(root, "products", "shop");
      await writeFiles(productDir, {
        "app/Dockerfile": IDLE_DOCKERFILE,
        "docker-compose.yml": [
          "services:",
          "  db:",
          `    image: ${STANDIN_IMAGES.postgres}`,
          "    environment: { POSTGRES_PASSWORD: pw }",
          "    volumes: ['data:/var/lib/postgresql/data']",
          "  app:",
          "    build: ./app",
          "volumes:",
          "  data:",
          "",
        ].join("\n"),
      });
      // The action points TMPDIR at a temp root of its own; the run's copy lands in civic-compose-* there.
      const tempRoot = await mkdtemp(join(root, "civic-run-"));
      const copyDir = await mkdtemp(join(tempRoot, "civic-compose-"));
      const copy = await writeComposeCopy(join(productDir, "docker-compose.yml"), new Map([["db", 5432]]), copyDir);
      const project = runProjectName("shop");
      projects.push(project);
      const args = projectArgs(compose, { name: project, file: copy.file, directory: productDir });
      const created = await runCompose(variant, [...args.slice(compose.prefix.length), "up", "--no-start", "--build"]);
      expect(created.exitCode, String(created.stderr)).toBe(0);
      // The image this CLI built for the run, under its own naming; what cleans up after a crashed test run knows it too.
      const image = `${project}${variant.major === 1 ? "_" : "-"}app`;
      expect(await dockerList(["images", "-q", "--filter", `reference=${image}`])).toHaveLength(1);
      expect((await projectLeftovers(project)).volumes).toHaveLength(1);
      expect(String((await execa(join(REPO_ROOT, "scripts/ci/cleanup-docker.sh"), ["--dry-run"])).stdout)).toContain(`would remove image ${image}:latest\n`);

      const logger = new RecordingLogger();
      const result = await tearDownLeftovers(tempRoot, ENV, logger);
      expect(logger.entries.filter((entry) => entry.level === "warn")).toEqual([]);
      expect(result.removedProjects).toEqual([project]);
      expect(await projectLeftovers(project)).toEqual(NOTHING_LEFT);
      await expect(readdir(tempRoot)).rejects.toThrow(/ENOENT/);
    });

    describe("the compose runtime on a stack that cannot come up", () => {
      async function startMini(files: Record<string, string>): Promise<{ runtime: ComposeRuntime; logger: RecordingLogger; failure: unknown }> {
        const productDir = await mkdtemp(join(root, "mini-"));
        await writeFiles(productDir, files);
        const logger = new RecordingLogger();
        const product = { name: "mini", dir: productDir, repoRoot: root, registry: emptyRegistry(productDir), compose: await loadCompose(productDir, root, ENV) };
        const runtime = new ComposeRuntime({ product, env: ENV, logger, readyTimeoutMs: 120_000, composeCommand: { choice: variant.command, source: "the test" } });
        const failure = await runtime.start(AbortSignal.timeout(240_000)).then(
          () => undefined,
          (error: unknown) => error,
        );
        projects.push(runtime.project!);
        if (failure === undefined) await runtime.stop();
        return { runtime, logger, failure };
      }

      const postgres = [
        "  postgres:",
        `    image: ${STANDIN_IMAGES.postgres}`,
        "    environment:",
        "      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}",
      ];

      it("reports a failing image build with this CLI's own build output, and leaves nothing", async () => {
        const { runtime, logger, failure } = await startMini({
          "app/Dockerfile": `FROM ${STANDIN_IMAGES.node}\nRUN echo building-step; exit 7\n`,
          "docker-compose.yml": ["services:", ...postgres, "  app:", "    build: ./app", ""].join("\n"),
        });
        expect(logger.entries.map((entry) => entry.message)).toContainEqual(expect.stringContaining(`with ${variant.command} ${compose.version}`));
        expect(failure).toBeInstanceOf(EnvironmentError);
        const message = (failure as Error).message;
        // The images are built before `up`, on their own (v1 with --force-rm): the build is what failed.
        expect(message).toMatch(/^compose build of mini failed \(exit code \d+\):\n/);
        expect(message).toContain("echo building-step; exit 7");
        expect(await projectLeftovers(runtime.project!)).toEqual(NOTHING_LEFT);
        expect(pendingCleanups()).toBe(0);
      });

      it("leaves no container of a failing image build behind: not even the legacy builder's unlabelled intermediate one", async () => {
        // Other tests share the engine: a container is this test's when it appeared during it and
        // its command is this run's own build step.
        const step = `building-step-${randomBytes(4).toString("hex")}`;
        const before = new Set(await dockerList(["ps", "-a", "-q", "--no-trunc"]));
        const { failure } = await startMini({
          "app/Dockerfile": `FROM ${STANDIN_IMAGES.node}\nRUN echo ${step}; exit 7\n`,
          "docker-compose.yml": ["services:", ...postgres, "  app:", "    build: ./app", ""].join("\n"),
        });
        expect(failure).toBeInstanceOf(EnvironmentError);
        expect((failure as Error).message).toContain(`echo ${step}; exit 7`);
        const appeared = (await dockerList(["ps", "-a", "-q", "--no-trunc"])).filter((id) => !before.has(id));
        const commands = await Promise.all(appeared.map(async (id) => ({ id, command: String((await docker(["inspect", "--format", "{{json .Config.Cmd}}", id], { reject: false })).stdout) })));
        const buildContainers = commands.filter(({ command }) => command.includes(step));
        // Removed here too, so that a failing run of this test leaves nothing either.
        for (const { id } of buildContainers) await docker(["rm", "-f", id], { reject: false });
        expect(buildContainers.map(({ command }) => command)).toEqual([]);
      });

      it("waits for the containers itself (v1 has no `up --wait`) and names the service that exited, with its logs", async () => {
        const { runtime, failure } = await startMini({
          "docker-compose.yml": [
            "services:",
            ...postgres,
            "  billing:",
            `    image: ${STANDIN_IMAGES.node}`,
            "    command: ['node', '-e', \"console.log('billing: no config'); process.exit(3)\"]",
            "",
          ].join("\n"),
        });
        expect(failure).toBeInstanceOf(EnvironmentError);
        expect((failure as Error).message).toMatch(/^compose: "billing" of .*docker-compose\.yml exited:\n {2}billing: exited with code 3\n(.*\n)*.*billing: no config/);
        expect(await projectLeftovers(runtime.project!)).toEqual(NOTHING_LEFT);
        expect(pendingCleanups()).toBe(0);
      });
    });
  });
}
