/**
 * The compose runtime tells when the stack's PostgreSQL instances are ready while the rest of the
 * stack still boots (`StartHooks.onPostgresReady`, `PostgresReadyWatch`), so the migrations check
 * can start beside the boot. On a real engine with the LOCAL STAND-IN images (nothing is pulled):
 *  - a stack whose API service becomes healthy only once the hook has fired (the hook writes a file
 *    the API's healthcheck looks for, through a bind mount; else after 150 s): the hook fires once,
 *    before `start` returns, with the instance only (no stack, services not running), at the same
 *    address as `start`'s environment, its init script's role already there (its healthcheck, over
 *    the socket, passes while a slow init script still runs), and the watch's
 *    `docker events` process gone once `start` returns;
 *  - the instance's scratch server (a container of its own) removed in the background once released
 *    (`LiveInstance.releaseScratch`), before the teardown; asked again, another, which `stop` removes;
 *  - the same stack (its API healthy 15 s after it starts) with a second instance that has no
 *    healthcheck: the hook never fires (the engine
 *    never says it is healthy), and `start` still returns the whole stack.
 */
import { writeFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCompose } from "../../src/compose-file/load-compose-file.js";
import { RecordingLogger } from "../../src/core/logger.js";
import { connect } from "../../src/postgres/connect.js";
import { ComposeRuntime } from "../../src/runtime/compose-stack/compose-stack-runtime.js";
import type { LiveEnvironment } from "../../src/runtime/runtime.js";
import { RUN_LABEL } from "../../src/docker/run-resources.js";
import { dockerList, requireDockerInCI, STANDIN_IMAGES, waitUntil } from "../helpers/docker.js";

const emptyRegistry = (dir: string) => ({ path: join(dir, "infra/service-registry.ts"), file: "products/mini/infra/service-registry.ts", services: [], source: "typescript" as const });
/** Without the gate, the API's healthcheck passes this long after it starts. */
const API_READY_AFTER_MS = 15_000;
/** With the gate, only the hook makes it pass; this is the bound when the hook never fires. */
const GATED_API_READY_AFTER_MS = 150_000;

function composeFile({ secondInstanceWithoutHealthcheck, gated }: { secondInstanceWithoutHealthcheck: boolean; gated: boolean }): string {
  const lines = [
    "services:",
    "  postgres:",
    `    image: ${STANDIN_IMAGES.postgres}`,
    "    environment:",
    "      POSTGRES_USER: civic",
    "      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}",
    "      POSTGRES_DB: civic_platform",
    "    volumes:",
    "      - ./init-databases.sql:/docker-entrypoint-initdb.d/01-init-databases.sql:ro",
    "    healthcheck:",
    // Over the socket, as many compose files have it: it passes while the image's temporary server
    // still runs the init scripts (held 5 s by the script below), so the log must say when they are done.
    "      test: ['CMD-SHELL', 'pg_isready -U civic -d civic_platform']",
    "      interval: 1s",
    "      timeout: 5s",
    "      retries: 60",
  ];
  if (secondInstanceWithoutHealthcheck) {
    lines.push(
      "  reporting-db:",
      `    image: ${STANDIN_IMAGES.postgres}`,
      "    environment:",
      "      POSTGRES_USER: reporting",
      "      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}",
      "      POSTGRES_DB: reporting",
    );
  }
  lines.push(
    "  api:",
    `    image: ${STANDIN_IMAGES.node}`,
    `    command: ['node', '-e', "setTimeout(() => require('fs').writeFileSync('/tmp/ready', '1'), ${gated ? GATED_API_READY_AFTER_MS : API_READY_AFTER_MS}); setInterval(() => {}, 1000)"]`,
    ...(gated ? ["    volumes:", "      - ./gate:/gate:ro"] : []),
    "    depends_on:",
    "      postgres:",
    "        condition: service_healthy",
    "    healthcheck:",
    "      test: ['CMD', 'node', '-e', \"const fs = require('fs'); process.exit(fs.existsSync('/tmp/ready') || fs.existsSync('/gate/ready') ? 0 : 1)\"]",
    "      interval: 1s",
    "      timeout: 5s",
    "      retries: 120",
    "",
  );
  return lines.join("\n");
}

/** Pids of `docker events` processes watching `project` (this test's own project only). */
async function eventWatchers(project: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const command = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    const args = command.split("\0");
    if (args.includes("events") && args.some((arg) => arg.includes(`com.docker.compose.project=${project}`))) pids.push(Number(entry));
  }
  return pids;
}

interface Boot {
  runtime: ComposeRuntime;
  logger: RecordingLogger;
  root: string;
  /** Each call of the hook: when (ms since start), the environment, and the init script's role as the instance's admin saw it then. */
  calls: Array<{ at: number; live: LiveEnvironment; roles: Promise<string[]> }>;
  live: LiveEnvironment;
  /** When `start` returned (ms since start). */
  returnedAt: number;
  watchersAfterStart: number[];
}

/**
 * @param gated the API's healthcheck passes once the hook has fired (it writes `gate/ready`), so
 *   the API is still booting when the hook is told, however loaded the machine; a watch that never
 *   fires leaves the API 150 s to its own timer, and the test fails on `calls`.
 */
async function boot({ secondInstanceWithoutHealthcheck, gated }: { secondInstanceWithoutHealthcheck: boolean; gated: boolean }): Promise<Boot> {
  const root = await mkdtemp(join(tmpdir(), "civic-early-postgres-"));
  const productDir = join(root, "products", "mini");
  await mkdir(join(productDir, "gate"), { recursive: true });
  await writeFile(join(productDir, "docker-compose.yml"), composeFile({ secondInstanceWithoutHealthcheck, gated }));
  await writeFile(join(productDir, "init-databases.sql"), "SELECT pg_sleep(5);\nCREATE ROLE billing LOGIN PASSWORD 'billing-pw';\nCREATE DATABASE billing OWNER billing;\n");
  const env = { PATH: process.env.PATH, DOCKER_HOST: process.env.DOCKER_HOST, POSTGRES_PASSWORD: "pg-early-test" };
  const compose = await loadCompose(productDir, root, env);
  const logger = new RecordingLogger();
  const runtime = new ComposeRuntime({ product: { name: "mini", dir: productDir, repoRoot: root, registry: emptyRegistry(productDir), compose }, env, logger, readyTimeoutMs: 180_000 });
  const calls: Boot["calls"] = [];
  const started = performance.now();
  const live = await runtime.start(AbortSignal.timeout(400_000), {
    onPostgresReady(early) {
      const admin = early.instances.get("postgres")!.adminUrl;
      const roles = connect(admin).then(async (client) => {
        try {
          return (await client.query<{ rolname: string }>("SELECT rolname FROM pg_roles WHERE rolname = 'billing'")).rows.map((row) => row.rolname);
        } finally {
          await client.end();
        }
      });
      roles.catch(() => undefined);
      calls.push({ at: performance.now() - started, live: early, roles });
      writeFileSync(join(productDir, "gate", "ready"), "1");
    },
  });
  const returnedAt = performance.now() - started;
  return { runtime, logger, root, calls, live, returnedAt, watchersAfterStart: await eventWatchers(runtime.project!) };
}

describe.skipIf(!requireDockerInCI())("the PostgreSQL instances ready before the rest of a compose stack", { timeout: 600_000 }, () => {
  describe("a stack whose API becomes healthy only once the hook has fired", () => {
    let booted: Boot;

    beforeAll(async () => {
      booted = await boot({ secondInstanceWithoutHealthcheck: false, gated: true });
    }, 600_000);

    afterAll(async () => {
      await booted?.runtime.stop().catch(() => undefined);
      if (booted) await rm(booted.root, { recursive: true, force: true });
    }, 180_000);

    it("is told once, while the API still boots, with the instance at the address the whole stack's environment has", () => {
      expect(booted.calls).toHaveLength(1);
      const [call] = booted.calls;
      // The API's healthcheck passes once the hook has written its gate (or after 150 s without it):
      // the hook was told while the API still booted, and start returned after it.
      expect(call!.at).toBeLessThan(booted.returnedAt);
      expect(booted.returnedAt).toBeLessThan(GATED_API_READY_AFTER_MS);
      expect([...call!.live.instances.keys()]).toEqual(["postgres"]);
      expect(call!.live.instances.get("postgres")!.adminUrl).toBe(booted.live.instances.get("postgres")!.adminUrl);
      expect(call!.live.instances.get("postgres")!.scratchDisposable).toBe(true);
      expect(call!.live.servicesRunning).toBe(false);
      expect(call!.live.stack).toBeUndefined();
      expect(booted.live.servicesRunning).toBe(true);
      expect(booted.live.stack).toBeDefined();
      expect(booted.logger.entries.map((entry) => entry.message)).toContain("compose: every PostgreSQL instance is ready while the rest of the stack still boots (postgres)");
    });

    it("is told only once the init scripts have run, though its healthcheck passed during them: their role is there", async () => {
      expect(await booted.calls[0]!.roles).toEqual(["billing"]);
    });

    it("leaves no docker events process once start returns", () => {
      expect(booted.watchersAfterStart).toEqual([]);
    });

    it("removes an instance's scratch server in the background once released, starts another when asked again, and stop removes that one", async () => {
      const instance = booted.live.instances.get("postgres")!;
      const scratchContainers = () => dockerList(["ps", "-a", "-q", "--filter", `label=${RUN_LABEL}=${booted.runtime.project!}`]);
      const first = await instance.scratchAdminUrl();
      const [container] = await scratchContainers();
      expect(container).toBeDefined();
      instance.releaseScratch!();
      // Its removal logs once `docker rm` has returned, a moment after the container is gone from the listing.
      const removed = () => booted.logger.entries.some((entry) => entry.message === 'compose: the scratch server of "postgres" was removed once its check was done with it');
      await waitUntil("the released scratch server's container to be removed", async () => removed() && !(await scratchContainers()).includes(container!), 120_000);
      const second = await instance.scratchAdminUrl();
      expect(second).not.toBe(first);
      expect(await scratchContainers()).toHaveLength(1);
      await booted.runtime.stop();
      expect(await scratchContainers()).toEqual([]);
    }, 300_000);
  });

  describe("the same stack with a second instance that has no healthcheck", () => {
    let booted: Boot;

    beforeAll(async () => {
      booted = await boot({ secondInstanceWithoutHealthcheck: true, gated: false });
    }, 600_000);

    afterAll(async () => {
      await booted?.runtime.stop().catch(() => undefined);
      if (booted) await rm(booted.root, { recursive: true, force: true });
    }, 180_000);

    it("is never told (the engine never says that instance is healthy), and the whole stack still starts", () => {
      expect(booted.calls).toEqual([]);
      expect([...booted.live.instances.keys()].sort()).toEqual(["postgres", "reporting-db"]);
      expect(booted.live.servicesRunning).toBe(true);
      expect(booted.watchersAfterStart).toEqual([]);
    });
  });
});
