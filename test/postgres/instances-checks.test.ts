/**
 * own-database and isolation across several PostgreSQL instances (issue 14) and on credentials in
 * split and mapped forms (issue 8), on the real-layout fixtures driven by a test-only registry
 * (test/helpers/real-layouts.ts), embedded runtime.
 * - multi-instance: every credential lands in its own database on its own instance and nowhere
 *   else: both checks pass, the matrix names each database's instance.
 * - its mutation 1 (EXPECTED.md): postgres-docs bootstrapped with permits' role and password, so
 *   permits' credential also works there: isolation/foreign-connect (and superuser on that instance).
 * - custom-db-image: with the registry's mapping, api's split credential is tried (superuser,
 *   shared); without it, api is never silently passed over.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isolationCheck } from "../../src/checks/isolation/index.js";
import { ownDatabaseCheck } from "../../src/checks/own-database/index.js";
import { runCleanups } from "../../src/core/cleanup-registry.js";
import { RecordingLogger } from "../../src/core/logger.js";
import type { CheckResult } from "../../src/core/report-model.js";
import { executeChecks } from "../../src/pipeline/check-executor.js";
import { loadProduct } from "../../src/product/load-product.js";
import type { Product } from "../../src/product/product.js";
import { EmbeddedRuntime } from "../../src/runtime/embedded/embedded-runtime.js";
import type { LiveEnvironment } from "../../src/runtime/runtime.js";
import { copyRealLayout, CUSTOM_DB_IMAGE_API_MAPPING, type LayoutRegistry, REAL_LAYOUTS, type RealLayout, type RealLayoutCopy } from "../helpers/real-layouts.js";

const ENV = { PATH: process.env.PATH };

interface Started {
  readonly copy: RealLayoutCopy;
  readonly product: Product;
  readonly live: LiveEnvironment;
  run(): Promise<Record<string, CheckResult>>;
  dispose(): Promise<void>;
}

async function start(name: RealLayout, options: { registry?: LayoutRegistry; mutate?: (copy: RealLayoutCopy) => Promise<void> } = {}): Promise<Started> {
  const copy = await copyRealLayout(name, options.registry);
  await options.mutate?.(copy);
  const product = await loadProduct(copy.root, copy.root, { composeEnv: ENV });
  const runtime = new EmbeddedRuntime({ product, env: ENV, logger: new RecordingLogger() });
  const live = await runtime.start(AbortSignal.timeout(170_000));
  return {
    copy,
    product,
    live,
    async run() {
      const results = await executeChecks([ownDatabaseCheck, isolationCheck], {
        product,
        live,
        options: { commandTimeoutMs: 60_000, concurrency: 8, env: {} },
        logger: new RecordingLogger(),
        signal: new AbortController().signal,
      });
      return Object.fromEntries(results.map((result) => [result.id, result]));
    },
    async dispose() {
      await runtime.stop();
      await copy[Symbol.asyncDispose]();
    },
  };
}

const located = (result: CheckResult) => result.findings.map((finding) => `${finding.rule} ${finding.service ?? "-"} ${finding.file ?? "-"}:${finding.line ?? "-"}`);

describe("multi-instance: one shared instance and two dedicated ones", { timeout: 300_000 }, () => {
  let started: Started;
  let results: Record<string, CheckResult>;
  beforeAll(async () => {
    started = await start("multi-instance");
    results = await started.run();
  }, 300_000);
  afterAll(() => started?.dispose());

  it("own-database passes: each of the 5 services lands in its own database on its own instance", () => {
    expect(results["own-database"]).toMatchObject({ status: "pass", findings: [] });
  });

  it("isolation passes: every credential refused everywhere but its own database, on every instance", () => {
    expect(results.isolation!.findings).toEqual([]);
    expect(results.isolation!.status).toBe("pass");
    expect(results.isolation!.notes ?? []).toEqual([]);
  });

  it("isolation's coverage is complete: 5 credentials in 5 forms, each bound to its instance, 3 catalogs read", () => {
    const coverage = results.isolation!.coverage!;
    expect(coverage.complete).toBe(true);
    expect(coverage.uncovered).toEqual([]);
    expect(coverage.covered.filter((item) => item.kind === "credential").map((item) => `${item.service} ${item.name} ${item.file}:${item.line}`)).toEqual([
      "permits permits@postgres compose.yaml:60",
      "inspections inspections@postgres services/inspections/.env:5",
      "licensing licensing@postgres compose.yaml:78",
      "fee-collection fee_collection@postgres-fees services/fee-collection/.env:2",
      "document-store document_store@postgres-docs compose.yaml:98",
    ]);
    expect(coverage.covered.filter((item) => item.kind === "instance").map((item) => item.name)).toEqual(["postgres", "postgres-fees", "postgres-docs"]);
    expect(coverage.summary).toMatch(
      /^5\/5 stateful services, 5 credentials x 5 databases \(\d+ logins; catalog read on 3 instances: 6 roles incl\. PUBLIC x 5 databases; of 20 foreign cells, \d+ proved by login and \d+ refused by the catalog alone, which 5 sampled logins agree with\)$/,
    );
  });

  it("the matrix shows the instance of each database, and no credential gets in anywhere", () => {
    // 5 credentials x 5 databases, then PUBLIC x the databases of each instance (catalog only).
    const matrix = results.isolation!.data!.matrix!.filter((cell) => cell.role === undefined);
    expect(matrix).toHaveLength(25);
    const publicRow = results.isolation!.data!.matrix!.filter((cell) => cell.role === "PUBLIC");
    expect(publicRow.map((cell) => `${cell.database}@${cell.instance} ${cell.outcome} ${cell.proof}`)).toEqual([
      "permits@postgres refused catalog",
      "inspections@postgres refused catalog",
      "licensing@postgres refused catalog",
      "fee_collection@postgres-fees refused catalog",
      "documents@postgres-docs refused catalog",
    ]);
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

describe("multi-instance, mutation 1: the same role and password on a dedicated instance as on the shared one", { timeout: 300_000 }, () => {
  let started: Started;
  let results: Record<string, CheckResult>;
  beforeAll(async () => {
    started = await start("multi-instance", {
      mutate: (copy) =>
        copy.edit("infra/postgres-docs/postgres.env", (text) =>
          text.replace("POSTGRES_USER=docs_admin\nPOSTGRES_PASSWORD=docs-admin-dev-5d93\n", "POSTGRES_USER=permits\nPOSTGRES_PASSWORD=permits-dev-61ab\nPOSTGRES_DB=docs_admin\n"),
        ),
    });
    results = await started.run();
  }, 300_000);
  afterAll(() => started?.dispose());

  it("fails isolation with isolation/foreign-connect for permits, into documents on postgres-docs, at its DATABASE_URL line, naming both instances", () => {
    expect(results.isolation!.status).toBe("fail");
    const foreign = results.isolation!.findings.filter((finding) => finding.rule === "isolation/foreign-connect");
    expect(foreign.map((finding) => `${finding.service} ${finding.file}:${finding.line}`)).toEqual(["permits compose.yaml:60"]);
    // No migration ran here, so documents holds no table yet: the session's rights are what it got.
    expect(foreign[0]!.message).toMatch(/^permits connects as role "permits" to documents on instance "postgres-docs", the database of document-store, with its credential for instance "postgres" \(the same role and password work on both\): it can .*create objects in schema public\.$/);
  });

  it("says permits is a superuser on that instance, and reaches its maintenance databases there", () => {
    expect(located(results.isolation!)).toEqual(
      expect.arrayContaining(["isolation/superuser permits compose.yaml:60", "isolation/maintenance-database permits compose.yaml:60"]),
    );
    const superuser = results.isolation!.findings.find((finding) => finding.rule === "isolation/superuser")!;
    expect(superuser.message).toContain('on instance "postgres-docs"');
    const maintenance = results.isolation!.findings.find((finding) => finding.rule === "isolation/maintenance-database")!;
    expect(maintenance.message).toBe('permits (role "permits") can still connect to postgres, template1 and docs_admin on instance "postgres-docs".');
  });

  it("keeps own-database passing: every service still lands in its own database", () => {
    expect(results["own-database"]!.findings.filter((finding) => finding.severity === "error")).toEqual([]);
  });
});

describe("multi-instance, mutation 2: a URL naming another service's instance", { timeout: 300_000 }, () => {
  it("fails own-database with login-failed for permits at its DATABASE_URL line: its role does not exist on postgres-fees", async () => {
    const started = await start("multi-instance", {
      mutate: (copy) => copy.edit("compose.yaml", (text) => text.replace("@postgres:5432/permits", "@postgres-fees:5432/permits")),
    });
    try {
      const results = await started.run();
      expect(results["own-database"]!.status).toBe("fail");
      expect(located(results["own-database"]!).filter((finding) => !finding.startsWith("own-database/cluster-state"))).toEqual(["own-database/login-failed permits compose.yaml:60"]);
      // The shared instance's permits role is now used by no credential that reaches it.
      expect(results["own-database"]!.findings.find((finding) => finding.rule === "own-database/cluster-state")?.message).toBe(
        'Role "permits" can log in on instance "postgres", but no service\'s credential uses it.',
      );
    } finally {
      await started.dispose();
    }
  });
});

describe("split-vars-leaky: split DB_* credentials in env files, per-service roles, PUBLIC keeps CONNECT (issue 8, item 1)", { timeout: 300_000 }, () => {
  it("tries every split credential: isolation fails with foreign-connect for each, at the init script's CREATE DATABASE, coverage complete (no vacuous pass)", async () => {
    const started = await start("split-vars-leaky");
    try {
      const results = await started.run();
      expect(results.isolation!.status).toBe("fail");
      const foreign = results.isolation!.findings.filter((finding) => finding.rule === "isolation/foreign-connect");
      // The line to change is the script's (the templated CREATE DATABASE that leaves PUBLIC its CONNECT), not the env file's.
      expect([...new Set(foreign.map((finding) => `${finding.service} ${finding.file}:${finding.line}`))].sort()).toEqual([
        "catalog db/init/01-create-service-databases.sh:13",
        "orders db/init/01-create-service-databases.sh:13",
        "payments db/init/01-create-service-databases.sh:13",
      ]);
      for (const finding of foreign) expect(finding.fix).toMatch(/REVOKE CONNECT ON DATABASE \w+ FROM PUBLIC;/);
      expect(results.isolation!.findings.filter((finding) => finding.rule === "isolation/untested-credential")).toEqual([]);
      expect(results.isolation!.coverage).toMatchObject({ complete: true, uncovered: [] });
      expect(results.isolation!.coverage!.summary).toMatch(/^3\/3 stateful services, 3 credentials x 3 databases /);
      const matrix = results.isolation!.data!.matrix!;
      expect(matrix.filter((cell) => cell.role === undefined && cell.outcome === "connected")).toHaveLength(6);
      expect(matrix.filter((cell) => cell.role === undefined && cell.outcome === "connected").map((cell) => cell.proof)).toEqual(Array(6).fill("login+catalog"));
      expect(results["own-database"]!.status).toBe("pass");
    } finally {
      await started.dispose();
    }
  });
});

describe("custom-db-image: one superuser shared by a mapped split credential and a URL", { timeout: 300_000 }, () => {
  it("with the registry's mapping: api's credential is tried; isolation fails on superuser and one shared foreign-connect", async () => {
    const started = await start("custom-db-image", {
      registry: { ...REAL_LAYOUTS["custom-db-image"], api: { database: "inventory", dockerfile: "api/Dockerfile", credentials: CUSTOM_DB_IMAGE_API_MAPPING } },
    });
    try {
      const results = await started.run();
      expect(results.isolation!.status).toBe("fail");
      const rules = located(results.isolation!);
      expect(rules).toContain("isolation/superuser - docker-compose.yml:26");
      expect(rules.filter((rule) => rule.startsWith("isolation/foreign-connect"))).toEqual(["isolation/foreign-connect - docker-compose.yml:26"]);
      expect(results.isolation!.notes ?? []).not.toContainEqual(expect.stringContaining("not tried"));
      expect(located(results["own-database"]!)).toContain("own-database/shared-credential - docker-compose.yml:26");
    } finally {
      await started.dispose();
    }
  });

  it("without a mapping: api is never passed over silently (own-database/missing-url; isolation/untested-credential, so isolation is never pass)", async () => {
    const started = await start("custom-db-image");
    try {
      const results = await started.run();
      const missing = results["own-database"]!.findings.find((finding) => finding.rule === "own-database/missing-url")!;
      expect(missing).toMatchObject({ service: "api", severity: "error" });
      expect(missing.message).toContain("docker-compose.yml:21");
      // Was a note beside the verdict; an untried credential is now an error finding at the line to look at.
      const untested = results.isolation!.findings.filter((finding) => finding.rule === "isolation/untested-credential");
      expect(untested.map((finding) => `${finding.service} ${finding.file}:${finding.line}`)).toEqual(["api docker-compose.yml:21"]);
      expect(untested[0]!.message).toMatch(/^A credential of api was not tried, so its isolation is unknown: compose service "api" holds no PostgreSQL credential/);
      expect(results.isolation!.coverage).toMatchObject({ complete: false, uncovered: [{ kind: "credential", service: "api" }] });
      // The credential it does read (notes' CMD_DB_URL) is still judged.
      expect(located(results.isolation!)).toContain("isolation/superuser notes docker-compose.yml:36");
    } finally {
      await started.dispose();
    }
  });
});

afterAll(async () => {
  await runCleanups();
});
