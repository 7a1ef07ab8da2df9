/**
 * The compose runtime with several PostgreSQL instances (issue 14), on a real engine with the LOCAL
 * STAND-IN images (scripts/ci/provision-docker.sh; nothing is pulled): every instance's port is
 * published on loopback and waited for, each credential reaches its own instance (also through a
 * `container_name`, which the run's copy keeps as a network alias). An instance whose init script
 * fails on its own SQL is reported at that script's file:line while the other instance is still
 * brought up and checked (the whole start fails only when no instance is left); the stack is torn
 * down either way.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pendingCleanups } from "../../src/core/cleanup-registry.js";
import { UsageError } from "../../src/core/errors.js";
import { RecordingLogger } from "../../src/core/logger.js";
import { loadProduct } from "../../src/product/load-product.js";
import { productPostgres } from "../../src/product/product-postgres.js";
import { ComposeRuntime } from "../../src/runtime/compose-stack/compose-stack-runtime.js";
import { instanceFailuresOf } from "../../src/runtime/instance-start-error.js";
import type { LiveEnvironment } from "../../src/runtime/runtime.js";
import { dockerList, requireDockerInCI, STANDIN_IMAGES } from "../helpers/docker.js";
import { registrySource } from "../helpers/real-layouts.js";

const ENV = { PATH: process.env.PATH };
const IDLE = `["node", "-e", "setInterval(() => {}, 1 << 30)"]`;

function composeFile(feesInit: string): string {
  return [
    "services:",
    "  postgres:",
    `    image: ${STANDIN_IMAGES.postgres}`,
    "    environment:",
    "      POSTGRES_USER: platform",
    "      POSTGRES_PASSWORD: platform-pw-1234",
    "      LEDGER_PASSWORD: ledger-pw-1234",
    "    volumes: ['./shared-init:/docker-entrypoint-initdb.d:ro']",
    "    healthcheck:",
    "      test: ['CMD-SHELL', 'pg_isready -h 127.0.0.1 -U platform']",
    "      interval: 2s",
    "      retries: 60",
    "  postgres-fees:",
    `    image: ${STANDIN_IMAGES.postgres}`,
    "    container_name: fees-db",
    "    environment:",
    "      POSTGRES_USER: fees_admin",
    "      POSTGRES_PASSWORD: fees-admin-pw-1234",
    "      FEES_PASSWORD: fees-pw-1234",
    `    volumes: ['./${feesInit}:/docker-entrypoint-initdb.d:ro']`,
    "    healthcheck:",
    "      test: ['CMD-SHELL', 'pg_isready -h 127.0.0.1 -U fees_admin']",
    "      interval: 2s",
    "      retries: 60",
    "  ledger:",
    `    image: ${STANDIN_IMAGES.node}`,
    `    command: ${IDLE}`,
    "    environment:",
    "      DATABASE_URL: postgresql://ledger:ledger-pw-1234@postgres:5432/ledger",
    "    depends_on: { postgres: { condition: service_healthy } }",
    "  fees:",
    `    image: ${STANDIN_IMAGES.node}`,
    `    command: ${IDLE}`,
    "    environment:",
    "      PGHOST: fees-db",
    "      PGUSER: fees",
    "      PGPASSWORD: fees-pw-1234",
    "      PGDATABASE: fees",
    "    depends_on: { postgres-fees: { condition: service_healthy } }",
    "",
  ].join("\n");
}

async function writeProduct(root: string, feesInit: string): Promise<void> {
  await mkdir(join(root, "shared-init"), { recursive: true });
  await mkdir(join(root, "fees-init"), { recursive: true });
  await mkdir(join(root, "fees-init-broken"), { recursive: true });
  await mkdir(join(root, "infra"), { recursive: true });
  await writeFile(join(root, "shared-init", "01.sql"), "\\getenv p LEDGER_PASSWORD\nCREATE ROLE ledger LOGIN PASSWORD :'p';\nCREATE DATABASE ledger OWNER ledger;\nREVOKE ALL ON DATABASE ledger FROM PUBLIC;\n");
  const fees = "\\getenv p FEES_PASSWORD\nCREATE ROLE fees LOGIN PASSWORD :'p';\nCREATE DATABASE fees OWNER fees;\nREVOKE ALL ON DATABASE fees FROM PUBLIC;\n";
  await writeFile(join(root, "fees-init", "01.sql"), fees);
  await writeFile(join(root, "fees-init-broken", "01.sql"), `${fees}\\connect fees\nCREATE EXTENSION no_such_extension;\n`);
  await writeFile(join(root, "compose.yaml"), composeFile(feesInit));
  await writeFile(
    join(root, "infra", "service-registry.ts"),
    registrySource({ ledger: { database: "ledger", dockerfile: "" }, fees: { database: "fees", dockerfile: "" } }),
  );
}

async function landedIn(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ where: string }>("SELECT current_user || '@' || current_database() AS where")).rows[0]!.where;
  } finally {
    await client.end();
  }
}

describe.skipIf(!requireDockerInCI())("compose runtime: two PostgreSQL instances (local stand-in images)", { timeout: 400_000 }, () => {
  let root: string;
  let runtime: ComposeRuntime;
  let live: LiveEnvironment;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "civic-compose-instances-"));
    await writeProduct(root, "fees-init");
    const product = await loadProduct(root, root, { composeEnv: ENV });
    runtime = new ComposeRuntime({ product, env: ENV, logger: new RecordingLogger(), readyTimeoutMs: 240_000 });
    live = await runtime.start(AbortSignal.timeout(380_000));
  }, 400_000);

  afterAll(async () => {
    await runtime?.stop();
    await rm(root, { recursive: true, force: true });
  }, 180_000);

  it("publishes and waits for every instance's port, each with its own bootstrap superuser", async () => {
    expect([...live.instances.keys()]).toEqual(["postgres", "postgres-fees"]);
    const ports = [...live.instances.values()].map((instance) => instance.port);
    expect(new Set(ports).size).toBe(2);
    expect(await landedIn(live.instances.get("postgres-fees")!.adminUrl)).toBe("fees_admin@fees_admin");
    expect(await landedIn(live.instances.get("postgres")!.adminUrl)).toBe("platform@platform");
  });

  it("reaches each credential on its own instance, a container_name host included", async () => {
    const postgres = await productPostgres(await loadProduct(root, root, { composeEnv: ENV }));
    expect(await landedIn(live.reach(postgres.of("ledger")!.credentials[0]!)!)).toBe("ledger@ledger");
    const fees = postgres.of("fees")!.credentials[0]!;
    expect(fees.instance).toBe("postgres-fees");
    expect(await landedIn(live.reach(fees)!)).toBe("fees@fees");
  });
});

describe.skipIf(!requireDockerInCI())("compose runtime: one instance's init script failing (local stand-in images)", { timeout: 400_000 }, () => {
  it("still brings up and publishes the other instance, reports the failed one's script at its file:line, as input, and leaves nothing of the run", async () => {
    const root = await mkdtemp(join(tmpdir(), "civic-compose-instance-fails-"));
    try {
      await writeProduct(root, "fees-init-broken");
      await writeFile(
        join(root, "compose.yaml"),
        composeFile("fees-init-broken").replace("    container_name: fees-db\n", "    container_name: fees-db\n    restart: 'no'\n"),
      );
      const product = await loadProduct(root, root, { composeEnv: ENV });
      const runtime = new ComposeRuntime({ product, env: ENV, logger: new RecordingLogger(), readyTimeoutMs: 240_000 });
      try {
        const live = await runtime.start(AbortSignal.timeout(380_000));
        expect([...live.instances.keys()]).toEqual(["postgres"]);
        expect(await landedIn(live.reach((await productPostgres(product)).of("ledger")!.credentials[0]!)!)).toBe("ledger@ledger");
        expect([...live.unstarted!.causes.keys()]).toEqual(["postgres-fees"]);
        expect(live.unstarted!.causes.get("postgres-fees")).toMatch(/^fees-init-broken\/01\.sql:6: init script 01\.sql failed .*no_such_extension/);
        const error = live.unstarted!.error;
        expect(error).toBeInstanceOf(UsageError);
        expect((error as UsageError).location).toEqual({ file: "fees-init-broken/01.sql", line: 6 });
        expect(error.message).toMatch(/^instance "postgres-fees": init script 01\.sql failed .*no_such_extension/);
        expect(instanceFailuresOf(error)!.failures.map((failure) => failure.instance)).toEqual(["postgres-fees"]);
        // `fees` needs the failed instance: not every service runs, so no live dependency probe.
        expect(live.servicesRunning).toBe(false);
      } finally {
        await runtime.stop();
      }
      expect(await dockerList(["ps", "-a", "-q", "--filter", `label=com.docker.compose.project=${runtime.project!}`])).toEqual([]);
      expect(pendingCleanups()).toBe(0);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("fails the start as a whole, at the script's file:line, when no instance started", async () => {
    const root = await mkdtemp(join(tmpdir(), "civic-compose-instance-fails-"));
    try {
      await writeProduct(root, "fees-init-broken");
      const broken = composeFile("fees-init-broken").replace("    container_name: fees-db\n", "    container_name: fees-db\n    restart: 'no'\n");
      // Only the failing instance and its service.
      await writeFile(join(root, "compose.yaml"), `services:\n${broken.slice(broken.indexOf("  postgres-fees:"), broken.indexOf("  ledger:"))}${broken.slice(broken.indexOf("  fees:"))}`);
      const product = await loadProduct(root, root, { composeEnv: ENV });
      const runtime = new ComposeRuntime({ product, env: ENV, logger: new RecordingLogger(), readyTimeoutMs: 240_000 });
      const error = await runtime.start(AbortSignal.timeout(380_000)).then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).location).toEqual({ file: "fees-init-broken/01.sql", line: 6 });
      expect((error as UsageError).message).toMatch(/^init script 01\.sql failed .*no_such_extension/);
      expect(await dockerList(["ps", "-a", "-q", "--filter", `label=com.docker.compose.project=${runtime.project!}`])).toEqual([]);
      expect(pendingCleanups()).toBe(0);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
