/**
 * fixtures/multi-instance in the compose runtime (issue 14), on a real engine with the LOCAL
 * STAND-IN images (postgres:16-alpine, services FROM node:20-alpine; nothing is pulled): the three
 * PostgreSQL containers and five services booted from a temp copy of the fixture, driven by a
 * test-only registry (test/helpers/real-layouts.ts). The same verdicts as in embedded mode
 * (test/postgres/instances-checks.test.ts): own-database and isolation pass, compose's instance
 * rules find nothing wrong; a service URL naming another service's instance fails compose
 * (compose/database-host) and own-database.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { composeCheck } from "../../src/checks/compose/index.js";
import { isolationCheck } from "../../src/checks/isolation/index.js";
import { ownDatabaseCheck } from "../../src/checks/own-database/index.js";
import { RecordingLogger } from "../../src/core/logger.js";
import type { CheckResult } from "../../src/core/report-model.js";
import { executeChecks } from "../../src/pipeline/check-executor.js";
import { loadProduct } from "../../src/product/load-product.js";
import { ComposeRuntime } from "../../src/runtime/compose-stack/compose-stack-runtime.js";
import { warmComposeBuildCache } from "../helpers/compose-build-cache.js";
import { requireDockerInCI } from "../helpers/docker.js";
import { copyRealLayout, type RealLayoutCopy } from "../helpers/real-layouts.js";

const ENV = { PATH: process.env.PATH, DOCKER_HOST: process.env.DOCKER_HOST };

async function checkInCompose(copy: RealLayoutCopy): Promise<Record<string, CheckResult>> {
  const product = await loadProduct(copy.root, copy.root, { composeEnv: ENV });
  await warmComposeBuildCache(copy.root, copy.root);
  const runtime = new ComposeRuntime({ product, env: ENV, logger: new RecordingLogger(), readyTimeoutMs: 300_000 });
  try {
    const live = await runtime.start(AbortSignal.timeout(480_000));
    expect([...live.instances.keys()]).toEqual(["postgres", "postgres-fees", "postgres-docs"]);
    const results = await executeChecks([composeCheck, ownDatabaseCheck, isolationCheck], {
      product,
      live,
      options: { commandTimeoutMs: 60_000, concurrency: 8, env: {} },
      logger: new RecordingLogger(),
      signal: new AbortController().signal,
    });
    return Object.fromEntries(results.map((result) => [result.id, result]));
  } finally {
    await runtime.stop();
  }
}

const INSTANCE_RULES = new Set([
  "compose/missing-postgres",
  "compose/postgres-healthcheck",
  "compose/init-scripts",
  "compose/init-database-missing",
  "compose/database-host",
  "compose/depends-on",
]);

const located = (result: CheckResult) => result.findings.map((finding) => `${finding.rule} ${finding.service ?? "-"} ${finding.file ?? "-"}:${finding.line ?? "-"}`);

describe.skipIf(!requireDockerInCI())("multi-instance in the compose runtime (local stand-in images)", { timeout: 600_000 }, () => {
  let copy: RealLayoutCopy;
  let results: Record<string, CheckResult>;
  beforeAll(async () => {
    copy = await copyRealLayout("multi-instance");
    results = await checkInCompose(copy);
  }, 600_000);
  afterAll(() => copy?.[Symbol.asyncDispose]());

  it("compose accepts the three instances: each healthy, each service's credential on its own instance", () => {
    // Only the rules about PostgreSQL services and where credentials point, as in
    // test/unit/compose-instances.test.ts: the fixture does not follow this project's own house
    // rules (one DATABASE_URL, PORT, …) and is not meant to. The shared instance's init script is a
    // `.sh`, so the databases on it are unconfirmed (warnings), never an error.
    expect(results.compose!.findings.filter((finding) => INSTANCE_RULES.has(finding.rule)).map((finding) => `${finding.rule} ${finding.severity} ${finding.service} ${finding.file}:${finding.line}`)).toEqual(
      ["permits", "inspections", "licensing"].map((service) => `compose/init-database-missing warning ${service} compose.yaml:17`),
    );
  });

  it("own-database passes with full coverage: 5/5 services logged in, 3 catalogs read", () => {
    expect(results["own-database"]).toMatchObject({ status: "pass", findings: [] });
    expect(results["own-database"]!.coverage).toMatchObject({ complete: true, uncovered: [] });
  });

  it("isolation passes: every credential refused everywhere but its own database on its own instance; the matrix names each instance", () => {
    expect(results.isolation!.findings).toEqual([]);
    expect(results.isolation!.status).toBe("pass");
    expect(results.isolation!.coverage!.complete).toBe(true);
    // The credential rows; PUBLIC's row (read from the catalog alone) carries \`role\`.
    const matrix = results.isolation!.data!.matrix!.filter((cell) => cell.role === undefined);
    expect(matrix).toHaveLength(25);
    expect(matrix.filter((cell) => cell.outcome === "own").map((cell) => `${cell.credentialOf} ${cell.database}@${cell.instance}`)).toEqual([
      "permits permits@postgres",
      "inspections inspections@postgres",
      "licensing licensing@postgres",
      "fee-collection fee_collection@postgres-fees",
      "document-store documents@postgres-docs",
    ]);
    expect(matrix.filter((cell) => cell.outcome !== "own" && cell.outcome !== "refused")).toEqual([]);
  });
});

describe.skipIf(!requireDockerInCI())("multi-instance in the compose runtime, mutation 2: a URL naming another service's instance", { timeout: 600_000 }, () => {
  it("fails compose (compose/database-host) and own-database (login-failed) for permits at its DATABASE_URL line", async () => {
    await using copy = await copyRealLayout("multi-instance");
    await copy.edit("compose.yaml", (text) => text.replace("@postgres:5432/permits", "@postgres-fees:5432/permits"));
    const results = await checkInCompose(copy);
    expect(results.compose!.status).toBe("fail");
    expect(located(results.compose!)).toContain("compose/database-host permits compose.yaml:60");
    expect(results["own-database"]!.status).toBe("fail");
    expect(located(results["own-database"]!).filter((finding) => !finding.startsWith("own-database/cluster-state"))).toEqual(["own-database/login-failed permits compose.yaml:60"]);
  });
});
