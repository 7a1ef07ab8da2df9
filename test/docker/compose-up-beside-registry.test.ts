/**
 * The compose runtime's `up` starts from the compose file alone, while the product's TypeScript
 * registry is still evaluated in its sandboxed child process (as the embedded runtime's servers
 * do), through the built CLI on a real engine with the LOCAL STAND-IN images (nothing is pulled).
 * The registry of this small product holds its evaluation 8 s (Atomics.wait) before it exports:
 *  - conformant: the run's `compose: starting project` comes before the registry's evaluation ends,
 *    the user-facing `compose: booting project` line after it, and own-database passes on the stack;
 *  - a registry that throws after those 8 s: exit 2 with its error, no `booting` line (the stack
 *    started beside it is stopped without a word), and nothing of the project left on the engine.
 */
import { execa } from "execa";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Report } from "../../src/core/report-model.js";
import { NOTHING_LEFT, projectLeftovers, requireDockerInCI, STANDIN_IMAGES } from "../helpers/docker.js";
import { REPO_ROOT } from "../helpers/fixtures.js";
import { registrySource } from "../helpers/real-layouts.js";

const CLI = join(REPO_ROOT, "bin", "civic-conformance.js");
const ENV = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  NO_COLOR: "1",
  ...Object.fromEntries(["DOCKER_HOST", "DOCKER_CONFIG"].flatMap((name) => (process.env[name] ? [[name, process.env[name]]] : []))),
};
const STARTING = /compose: starting project (civic-mini-[0-9a-f]{8})/;
const EVALUATED = "registry: evaluated with tsx";
const BOOTING = "compose: booting project";
/** Holds the registry's evaluation, without a busy loop taking a core from the boot. */
const HOLD = "Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 8000);\n";

const COMPOSE_FILE = [
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
  "      test: ['CMD-SHELL', 'pg_isready -h 127.0.0.1 -U civic -d civic_platform']",
  "      interval: 1s",
  "      timeout: 5s",
  "      retries: 120",
  "  billing:",
  `    image: ${STANDIN_IMAGES.node}`,
  "    command: ['node', '-e', 'setInterval(() => {}, 1000)']",
  "    environment:",
  "      DATABASE_URL: postgresql://billing:billing-pw@postgres:5432/billing",
  "    depends_on:",
  "      postgres:",
  "        condition: service_healthy",
  "",
].join("\n");

/** A monorepo root holding products/mini, its registry held 8 s, then `tail` (an export, or a throw). */
async function miniProduct(tail: string): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "civic-up-beside-registry-"));
  const product = join(root, "products", "mini");
  await mkdir(join(product, "infra"), { recursive: true });
  await writeFile(join(product, "docker-compose.yml"), COMPOSE_FILE);
  await writeFile(join(product, "init-databases.sql"), "CREATE ROLE billing LOGIN PASSWORD 'billing-pw';\nCREATE DATABASE billing OWNER billing;\n");
  await writeFile(join(product, "infra", "service-registry.ts"), `${HOLD}${tail}${registrySource({ billing: { database: "billing", dockerfile: "" } })}`);
  return root;
}

async function check(root: string) {
  return execa(process.execPath, [CLI, "check", "products/mini", "--runtime", "compose", "--only", "own-database", "--verbose", "--format", "json"], {
    cwd: root,
    env: ENV,
    extendEnv: false,
    reject: false,
    timeout: 600_000,
    forceKillAfterDelay: false,
  });
}

describe.skipIf(!requireDockerInCI())("the compose stack's up, beside the registry's evaluation", { timeout: 600_000 }, () => {
  describe("a conformant product whose registry takes 8 s", () => {
    let root: string;
    let stderr: string;
    let report: Report;
    let exitCode: number | undefined;

    beforeAll(async () => {
      root = await miniProduct("");
      const result = await check(root);
      stderr = String(result.stderr);
      exitCode = result.exitCode;
      report = JSON.parse(String(result.stdout)) as Report;
    }, 600_000);

    afterAll(async () => {
      if (root) await rm(root, { recursive: true, force: true });
    });

    it("starts up before the registry is evaluated, and says it boots only once the registry is read", () => {
      const starting = stderr.search(STARTING);
      const evaluated = stderr.indexOf(EVALUATED);
      const booting = stderr.indexOf(BOOTING);
      expect({ starting: starting > -1, evaluated: evaluated > -1, booting: booting > -1 }, stderr).toEqual({ starting: true, evaluated: true, booting: true });
      expect(starting, stderr).toBeLessThan(evaluated);
      expect(booting, stderr).toBeGreaterThan(evaluated);
    });

    it("checks the booted stack: own-database passes, exit 0", () => {
      expect(report.runtime).toBe("compose");
      expect(report.checks.map((c) => [c.id, c.status]), stderr).toEqual([["own-database", "pass"]]);
      expect(exitCode).toBe(0);
    });

    it("leaves nothing of its project", async () => {
      expect(await projectLeftovers(STARTING.exec(stderr)![1]!)).toEqual(NOTHING_LEFT);
    });
  });

  describe("a registry that throws after 8 s", () => {
    let root: string;
    let stderr: string;
    let exitCode: number | undefined;

    beforeAll(async () => {
      root = await miniProduct('throw new Error("the registry refuses");\n');
      const result = await check(root);
      stderr = String(result.stderr);
      exitCode = result.exitCode;
    }, 600_000);

    afterAll(async () => {
      if (root) await rm(root, { recursive: true, force: true });
    });

    it("exits 2 with the registry's error, after up had started, and never says it boots", () => {
      expect(exitCode, stderr).toBe(2);
      expect(stderr).toContain("the registry refuses");
      expect(stderr).toMatch(STARTING);
      expect(stderr).not.toContain(BOOTING);
      expect(stderr).not.toMatch(/\n\s+at /);
    });

    it("stops the stack it started: nothing of its project is left", async () => {
      expect(await projectLeftovers(STARTING.exec(stderr)![1]!)).toEqual(NOTHING_LEFT);
    });
  });
});
