/**
 * The compose runtime's pieces: the rewritten copy of the compose file (no engine needed), runtime
 * selection, and — on a real engine with the LOCAL STAND-IN images (scripts/ci/provision-docker.sh;
 * nothing is pulled) — a small stack whose service never gets ready: the error names it with its
 * last log lines, a stale named volume of the developer's own project is warned about, and nothing of
 * the run is left behind.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadCompose } from "../../src/compose-file/load-compose-file.js";
import { EnvironmentError } from "../../src/core/errors.js";
import { RecordingLogger } from "../../src/core/logger.js";
import type { Product } from "../../src/product/product.js";
import { writeComposeCopy } from "../../src/docker/compose-file-copy.js";
import { defaultProjectNames, runProjectName } from "../../src/docker/project-name.js";
import { pendingCleanups } from "../../src/core/cleanup-registry.js";
import { ComposeRuntime } from "../../src/runtime/compose-stack/compose-stack-runtime.js";
import { EmbeddedRuntime } from "../../src/runtime/embedded/embedded-runtime.js";
import { createRuntime } from "../../src/runtime/choose-runtime.js";
import { COMPOSE } from "../helpers/compose-check-run.js";
import { dockerList, requireDockerInCI, STANDIN_IMAGES } from "../helpers/docker.js";
import { copyFixture } from "../helpers/fixtures.js";

const emptyRegistry = (dir: string) => ({ path: join(dir, "infra/service-registry.ts"), file: "products/mini/infra/service-registry.ts", services: [], source: "typescript" as const });

describe("the compose file copy a run boots", () => {
  it("makes build contexts and bind mounts absolute, publishes postgres on a loopback port Docker picks, and keeps ${VAR} references", async () => {
    await using copy = await copyFixture("property-tax");
    const dir = await mkdtemp(join(tmpdir(), "civic-compose-copy-"));
    try {
      const written = await writeComposeCopy(join(copy.root, COMPOSE), new Map([["postgres", 5432]]), dir);
      const text = await readFile(written.file, "utf8");
      const rewritten = parse(text) as { services: Record<string, { build?: { context: string; dockerfile: string }; ports?: string[]; volumes?: string[]; environment?: Record<string, string> }> };
      expect(written.topLevelName).toBeUndefined();
      expect(rewritten.services.postgres!.ports).toEqual(["127.0.0.1::5432"]);
      expect(rewritten.services.postgres!.volumes).toEqual([
        "postgres_data:/var/lib/postgresql/data",
        `${copy.product}/infra/init-databases.sql:/docker-entrypoint-initdb.d/01-init-databases.sql:ro`,
      ]);
      expect(rewritten.services["auth-gateway"]!.build).toEqual({ context: copy.root, dockerfile: "modules/platform/auth-gateway/Dockerfile" });
      expect(Object.values(rewritten.services).filter((service) => service.ports !== undefined)).toHaveLength(1);
      expect(rewritten.services.postgres!.environment!.POSTGRES_PASSWORD).toBe("${POSTGRES_PASSWORD}");
      // The user's file is untouched.
      expect(await copy.read(COMPOSE)).toContain('- "5433:5432"');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("randomises every other published port and drops container_name (kept as an alias), top-level name and fixed volume names", async () => {
    const dir = await mkdtemp(join(tmpdir(), "civic-compose-copy-"));
    try {
      const source = join(dir, "compose.yaml");
      await writeFile(
        source,
        [
          "name: shop",
          "services:",
          "  db:",
          "    image: postgres:16-alpine",
          "    container_name: shop-db",
          "    env_file: ./db.env",
          "  web:",
          "    build: ./web",
          "    ports: ['8080:80', '127.0.0.1:9229:9229/tcp', {target: 443, published: 8443}]",
          "volumes:",
          "  data: {name: shop-data}",
          "  shared: {external: true, name: team-shared}",
          "",
        ].join("\n"),
      );
      const out = join(dir, "out");
      await mkdir(out);
      const written = await writeComposeCopy(source, new Map([["db", 5432]]), out);
      const rewritten = parse(await readFile(written.file, "utf8")) as Record<string, any>;
      expect(written.topLevelName).toBe("shop");
      expect(rewritten.name).toBeUndefined();
      // The dropped container_name stays reachable as a network alias.
      expect(rewritten.services.db).toEqual({ image: "postgres:16-alpine", env_file: [join(dir, "db.env")], ports: ["127.0.0.1::5432"], networks: { default: { aliases: ["shop-db"] } } });
      expect(rewritten.services.web).toEqual({ build: { context: join(dir, "web") }, ports: ["127.0.0.1::80", "127.0.0.1::9229/tcp", "127.0.0.1::443"] });
      expect(rewritten.volumes).toEqual({ data: {}, shared: { external: true, name: "team-shared" } });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("names each run's project civic-<product>-<8 hex>, and the developer's own project as compose does", () => {
    expect(runProjectName("Property Tax")).toMatch(/^civic-propertytax-[0-9a-f]{8}$/);
    expect(runProjectName("property-tax")).not.toBe(runProjectName("property-tax"));
    expect(defaultProjectNames("/repo/products/Property.Tax/docker-compose.yml", undefined, {})).toEqual(["propertytax"]);
    expect(defaultProjectNames("/repo/products/property-tax/docker-compose.yml", "shop", {})).toEqual(["shop"]);
    expect(defaultProjectNames("/repo/products/property-tax/docker-compose.yml", "shop", { COMPOSE_PROJECT_NAME: "mine" })).toEqual(["mine"]);
  });
});

describe("runtime selection with the compose runtime", () => {
  const product: Product = { name: "mini", dir: "/nowhere/products/mini", repoRoot: "/nowhere", registry: emptyRegistry("/nowhere/products/mini") };

  it("builds the compose runtime for --runtime compose and for auto when a Docker engine answers, embedded for auto when none does", async () => {
    const logger = new RecordingLogger();
    expect(await createRuntime("compose", { product, env: {}, logger, dockerAvailable: async () => true })).toBeInstanceOf(ComposeRuntime);
    expect(await createRuntime("auto", { product, env: {}, logger, dockerAvailable: async () => true })).toBeInstanceOf(ComposeRuntime);
    expect(await createRuntime("auto", { product, env: {}, logger, dockerAvailable: async () => false })).toBeInstanceOf(EmbeddedRuntime);
    await expect(createRuntime("compose", { product, env: {}, logger, dockerAvailable: async () => false })).rejects.toThrow(EnvironmentError);
  });

  it("gives the compose runtime --ready-timeout, else 240 s", async () => {
    const logger = new RecordingLogger();
    const chosen = await createRuntime("auto", { product, env: {}, logger, dockerAvailable: async () => true, readyTimeoutMs: 600_000 });
    expect((chosen as ComposeRuntime).readyTimeoutMs).toBe(600_000);
    const byDefault = await createRuntime("compose", { product, env: {}, logger, dockerAvailable: async () => true });
    expect((byDefault as ComposeRuntime).readyTimeoutMs).toBe(240_000);
  });
});

describe.skipIf(!requireDockerInCI())("a compose stack whose service never gets ready", { timeout: 300_000 }, () => {
  let root: string;
  let productDir: string;
  let staleVolume: string;
  let logger: RecordingLogger;
  let runtime: ComposeRuntime;
  let failure: unknown;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "civic-compose-broken-"));
    productDir = join(root, "products", "mini");
    await mkdir(productDir, { recursive: true });
    await writeFile(
      join(productDir, "docker-compose.yml"),
      [
        "services:",
        "  postgres:",
        `    image: ${STANDIN_IMAGES.postgres}`,
        "    environment:",
        "      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}",
        "    ports: ['5433:5432']",
        "    volumes: ['pgdata:/var/lib/postgresql/data']",
        "  billing:",
        `    image: ${STANDIN_IMAGES.node}`,
        "    command: ['node', '-e', \"console.log('billing: cannot read BILLING_CONFIG with password=' + process.env.PGPASSWORD); process.exit(3)\"]",
        "    environment:",
        "      PGPASSWORD: ${POSTGRES_PASSWORD}",
        "volumes:",
        "  pgdata:",
        "",
      ].join("\n"),
    );
    // The developer's own `docker compose up` left its data volume (project "mini").
    staleVolume = `mini_pgdata_${Date.now()}`;
    await dockerList(["volume", "create", "--label", "com.docker.compose.project=mini", "--label", "com.docker.compose.volume=pgdata", "--label", "civic.test=true", staleVolume]);
    const env = { PATH: process.env.PATH };
    const compose = await loadCompose(productDir, root, env);
    logger = new RecordingLogger();
    runtime = new ComposeRuntime({ product: { name: "mini", dir: productDir, repoRoot: root, registry: emptyRegistry(productDir), compose }, env, logger, readyTimeoutMs: 120_000 });
    failure = await runtime.start(AbortSignal.timeout(280_000)).then(
      () => undefined,
      (error: unknown) => error,
    );
  }, 300_000);

  afterAll(async () => {
    await runtime?.stop().catch(() => undefined);
    await dockerList(["volume", "rm", "-f", staleVolume]).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  }, 120_000);

  it("fails with an EnvironmentError that names the service, its state and its last log lines, password masked", () => {
    expect(failure).toBeInstanceOf(EnvironmentError);
    const message = (failure as Error).message;
    expect(message).toMatch(/^compose: "billing" of products\/mini\/docker-compose\.yml exited:\n {2}billing: exited with code 3\n/);
    expect(message).toContain("billing: cannot read BILLING_CONFIG with password=***");
  });

  it("warns that the developer's own project has a stale postgres data volume whose init scripts would not re-run", () => {
    const warnings = logger.entries.filter((entry) => entry.level === "warn").map((entry) => entry.message);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`the named volume ${staleVolume} of the postgres service "postgres" (products/mini/docker-compose.yml:7) already exists from an earlier boot of project mini`);
  });

  it("leaves no container, volume or network of the run, and unregisters its cleanup", async () => {
    const project = runtime.project!;
    expect(project).toMatch(/^civic-mini-[0-9a-f]{8}$/);
    const label = `label=com.docker.compose.project=${project}`;
    expect(await dockerList(["ps", "-a", "-q", "--filter", label])).toEqual([]);
    expect(await dockerList(["volume", "ls", "-q", "--filter", label])).toEqual([]);
    expect(await dockerList(["network", "ls", "-q", "--filter", label])).toEqual([]);
    expect(pendingCleanups()).toBe(0);
    // The developer's volume is theirs: never removed.
    expect(await dockerList(["volume", "ls", "-q", "--filter", `name=${staleVolume}`])).toEqual([staleVolume]);
  });
});

describe.skipIf(!requireDockerInCI())("a compose stack whose services stay unhealthy", { timeout: 300_000 }, () => {
  let root: string;
  let runtime: ComposeRuntime;
  let failure: unknown;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "civic-compose-unhealthy-"));
    const productDir = join(root, "products", "mini");
    await mkdir(productDir, { recursive: true });
    // Two ways a healthcheck fails, as users meet them: a probe that answers "no" (with a secret in
    // its output), and a probe that never finishes within its timeout.
    const idle = "['node', '-e', 'setInterval(() => {}, 1000)']";
    await writeFile(
      join(productDir, "docker-compose.yml"),
      [
        "services:",
        "  postgres:",
        `    image: ${STANDIN_IMAGES.postgres}`,
        "    environment:",
        "      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}",
        "  api:",
        `    image: ${STANDIN_IMAGES.node}`,
        `    command: ${idle}`,
        "    environment:",
        "      CACHE_PASSWORD: ${CACHE_PASSWORD}",
        "    healthcheck:",
        "      test: [\"CMD\", \"node\", \"-e\", \"console.log('api: cache refused password=' + process.env.CACHE_PASSWORD); process.exit(1)\"]",
        "      interval: 1s",
        "      timeout: 5s",
        "      retries: 2",
        "  worker:",
        `    image: ${STANDIN_IMAGES.node}`,
        `    command: ${idle}`,
        "    healthcheck:",
        "      test: ['CMD', 'sleep', '30']",
        "      interval: 1s",
        "      timeout: 1s",
        "      retries: 2",
        "",
      ].join("\n"),
    );
    const env = { PATH: process.env.PATH, DOCKER_HOST: process.env.DOCKER_HOST, CACHE_PASSWORD: "hunter2-cache-secret", POSTGRES_PASSWORD: "pg-unhealthy-test" };
    const compose = await loadCompose(productDir, root, env);
    runtime = new ComposeRuntime({ product: { name: "mini", dir: productDir, repoRoot: root, registry: emptyRegistry(productDir), compose }, env, logger: new RecordingLogger(), readyTimeoutMs: 25_000 });
    failure = await runtime.start(AbortSignal.timeout(200_000)).then(
      () => undefined,
      (error: unknown) => error,
    );
  }, 300_000);

  afterAll(async () => {
    await runtime?.stop().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  }, 120_000);

  it("names each service with its last health probes: the probe's exit code and output, masked, or that it exceeded its timeout", () => {
    expect(failure).toBeInstanceOf(EnvironmentError);
    const message = (failure as Error).message;
    expect(message).toMatch(/^compose: "api", "worker" of products\/mini\/docker-compose\.yml did not become ready within 25 s \(--ready-timeout, the action's ready-timeout input\):\n/);
    expect(message).toMatch(/ {2}api: running, health unhealthy\n {4}last health probe: exit 1: api: cache refused password=\*\*\*\n/);
    expect(message).toMatch(/ {2}worker: running, health unhealthy\n {4}last health probe: did not finish within its timeout \(1s\)/);
    expect(message).not.toContain("hunter2-cache-secret");
  });
});
