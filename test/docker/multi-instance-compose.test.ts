/**
 * fixtures/multi-instance in the compose runtime (issue 14), on a real engine with the LOCAL
 * STAND-IN images (postgres:16-alpine, services FROM node:20-alpine; nothing is pulled): the three
 * PostgreSQL containers and five services booted from a temp copy of the fixture, driven by a
 * test-only registry (test/helpers/real-layouts.ts). The same verdicts as in embedded mode
 * (test/postgres/instances-checks.test.ts): own-database and isolation pass, compose's instance
 * rules find nothing wrong. Its mutations (fixtures/multi-instance/EXPECTED.md):
 * 1. a dedicated instance bootstrapped with the role and password of a service on the shared one:
 *    that credential works on both, isolation/foreign-connect naming both instances;
 * 2. a service URL naming another service's instance fails compose (compose/database-host) and
 *    own-database;
 * 4. one instance's init script failing (the built CLI, --runtime compose): the other instances are
 *    still checked, the failed one and its service are reported as not covered with the script's
 *    file:line, every report is written, exit 2, nothing of the run is left.
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
import { checkWithEveryFormat, cliEnv } from "../helpers/cli-outputs.js";
import { dockerList, requireDockerInCI } from "../helpers/docker.js";
import { copyRealLayout, type RealLayoutCopy } from "../helpers/real-layouts.js";
import { checkOf, expectHonestReport, parseReport } from "../helpers/report-invariants.js";

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

/** A check's verdict with its reason and first findings, for an assertion that must say why it differs. */
const why = (result: CheckResult | undefined) => JSON.stringify({ status: result?.status, reason: result?.reason, findings: result?.findings.slice(0, 5).map((finding) => finding.message) });

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
    expect(results["own-database"], why(results["own-database"])).toMatchObject({ status: "pass", findings: [] });
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

describe.skipIf(!requireDockerInCI())("multi-instance in the compose runtime, mutation 1: the same role and password on a dedicated instance as on the shared one", { timeout: 600_000 }, () => {
  it("fails isolation with isolation/foreign-connect for permits at its DATABASE_URL line, naming its own instance and the one it also gets into", async () => {
    await using copy = await copyRealLayout("multi-instance");
    await copy.edit("infra/postgres-docs/postgres.env", (text) =>
      text.replace("POSTGRES_USER=docs_admin\nPOSTGRES_PASSWORD=docs-admin-dev-5d93\n", "POSTGRES_USER=permits\nPOSTGRES_PASSWORD=permits-dev-61ab\nPOSTGRES_DB=docs_admin\n"),
    );
    const results = await checkInCompose(copy);
    expect(results.isolation!.status, why(results.isolation)).toBe("fail");
    const foreign = results.isolation!.findings.filter((finding) => finding.rule === "isolation/foreign-connect");
    expect(foreign.map((finding) => `${finding.service} ${finding.file}:${finding.line}`)).toEqual(["permits compose.yaml:60"]);
    expect(foreign[0]!.message).toMatch(
      /^permits connects as role "permits" to documents on instance "postgres-docs", the database of document-store, with its credential for instance "postgres" \(the same role and password work on both\): it can .*create objects in schema public\.$/,
    );
    expect(located(results.isolation!)).toEqual(expect.arrayContaining(["isolation/superuser permits compose.yaml:60"]));
    expect(results["own-database"]!.findings.filter((finding) => finding.severity === "error")).toEqual([]);
  });
});

describe.skipIf(!requireDockerInCI())("multi-instance in the compose runtime, mutation 2: a URL naming another service's instance", { timeout: 600_000 }, () => {
  it("fails compose (compose/database-host) and own-database (login-failed) for permits at its DATABASE_URL line", async () => {
    await using copy = await copyRealLayout("multi-instance");
    await copy.edit("compose.yaml", (text) => text.replace("@postgres:5432/permits", "@postgres-fees:5432/permits"));
    const results = await checkInCompose(copy);
    expect(results.compose!.status, why(results.compose)).toBe("fail");
    expect(located(results.compose!)).toContain("compose/database-host permits compose.yaml:60");
    expect(results["own-database"]!.status, why(results["own-database"])).toBe("fail");
    expect(located(results["own-database"]!).filter((finding) => !finding.startsWith("own-database/cluster-state"))).toEqual(["own-database/login-failed permits compose.yaml:60"]);
  });
});

describe.skipIf(!requireDockerInCI())("multi-instance in the compose runtime, mutation 4: one instance's init script failing (built CLI)", { timeout: 600_000 }, () => {
  it("checks the other instances, reports the failed one as not covered at the script's file:line, writes every report, exits 2, leaves nothing", async () => {
    await using copy = await copyRealLayout("multi-instance");
    await copy.edit("infra/postgres-fees/init/01-fee-collection.sql", (text) => `${text}\\connect fee_collection\nCREATE EXTENSION postgis;\n`);
    await warmComposeBuildCache(copy.root, copy.root);
    const run = await checkWithEveryFormat(copy.root, ["--repo-root", copy.root, "--runtime", "compose", "--only", "own-database,isolation"], {
      env: cliEnv(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
      timeoutMs: 540_000,
    });

    expect(run.exitCode, run.stderr).toBe(2);
    expect(run.stderr).toContain('infra/postgres-fees/init/01-fee-collection.sql:12: instance "postgres-fees": init script 01-fee-collection.sql failed');
    expect(run.stderr).toContain('extension "postgis" is not available');
    expect(run.stderr).toContain("started meanwhile: postgres, postgres-docs");
    const report = parseReport(run.files.json);
    expectHonestReport(report, run.files);
    expect(report.runtime).toBe("compose");
    expect(run.files.markdown).toContain("postgres-fees");
    expect(run.files.sarif).toBeDefined();
    expect(run.files.junit).toBeDefined();

    for (const id of ["own-database", "isolation"]) {
      const check = checkOf(report, id);
      expect(check.status, id).toBe("error");
      expect(check.findings, id).toEqual([]);
      expect(check.coverage!.complete, id).toBe(false);
      expect(check.coverage!.uncovered.map((item) => `${item.kind} ${item.name}`), id).toEqual(["instance postgres-fees", "service fee-collection"]);
      expect(check.coverage!.uncovered[0]!.reason, id).toMatch(/^did not start: infra\/postgres-fees\/init\/01-fee-collection\.sql:12: /);
    }
    const isolation = checkOf(report, "isolation");
    expect(isolation.coverage!.summary).toMatch(
      /^4\/5 stateful services, 4 credentials x 4 databases \(\d+ logins; catalog read on 2 instances: 5 roles incl\. PUBLIC x 4 databases; of 12 foreign cells, \d+ proved by login and \d+ refused by the catalog alone, which 4 sampled logins agree with\), 2 not covered$/,
    );
    const matrix = (isolation as { data?: { matrix?: Array<{ credentialOf: string; database: string; instance?: string; outcome: string }> } }).data!.matrix!;
    expect(matrix.filter((cell) => cell.outcome === "own").map((cell) => `${cell.credentialOf} ${cell.database}@${cell.instance}`)).toEqual([
      "permits permits@postgres",
      "inspections inspections@postgres",
      "licensing licensing@postgres",
      "document-store documents@postgres-docs",
    ]);
    expect(matrix.filter((cell) => cell.outcome !== "own" && cell.outcome !== "refused")).toEqual([]);

    // Nothing of the run is left: no container, volume or network of its project.
    const project = /booting project (\S+)/.exec(`${run.stdout}\n${run.stderr}`)?.[1];
    expect(project, run.stderr).toBeDefined();
    for (const kind of [["ps", "-a"], ["volume", "ls"], ["network", "ls"]]) {
      expect(await dockerList([...kind, "-q", "--filter", `label=com.docker.compose.project=${project}`]), kind[0]).toEqual([]);
    }
  });
});
