/**
 * Zero-config `check` on the real-layout fixtures (issue 10), live on the embedded PostgreSQL 16:
 * with no registry at all, the inferred one must give the isolation, own-database and migrations
 * verdicts a registry written by hand from each fixture's EXPECTED.md gives
 * (test/helpers/real-layouts.ts), and the headline verdicts EXPECTED.md states.
 */
import { describe, expect, it } from "vitest";
import type { Report } from "../../src/core/report-model.js";
import { checkCopy, copyRealLayout as copyWithoutRegistry, findingsOf, statuses, type AdoptCopy } from "../helpers/adopt.js";
import { CUSTOM_DB_IMAGE_API_MAPPING, copyRealLayout as copyWithHandRegistry, type LayoutRegistry, REAL_LAYOUTS, type RealLayout } from "../helpers/real-layouts.js";

const LIVE_CHECKS = ["own-database", "isolation", "migrations"];

/** Each live check's status and its findings as `rule severity service`, each once. */
function liveVerdicts(report: Report): Record<string, { status: string; findings: string[] }> {
  return Object.fromEntries(
    report.checks
      .filter((result) => LIVE_CHECKS.includes(result.id))
      .map((result) => [result.id, { status: result.status, findings: [...new Set(result.findings.map((f) => `${f.rule} ${f.severity} ${f.service ?? "-"}`))].sort() }]),
  );
}

function errorsOf(report: Report, check: string): string[] {
  const result = report.checks.find((candidate) => candidate.id === check)!;
  return [...new Set(result.findings.filter((f) => f.severity === "error").map((f) => `${f.rule} ${f.service ?? "-"} ${f.file ?? ""}:${f.line ?? ""}`))].sort();
}

const zeroConfigRuns = new Map<string, Promise<Report>>();

/** The zero-config run of a fixture, once per file (both describes read it). */
function zeroConfig(name: RealLayout | "extends-override"): Promise<Report> {
  if (!zeroConfigRuns.has(name)) {
    zeroConfigRuns.set(
      name,
      (async () => {
        await using copy = await copyWithoutRegistry(name);
        const report = await checkCopy(copy, { only: LIVE_CHECKS });
        expect(report.registry?.source).toBe("inferred");
        return report;
      })(),
    );
  }
  return zeroConfigRuns.get(name)!;
}

/** extends-override as its EXPECTED.md lists it (REAL_LAYOUTS predates it). */
const EXTENDS_OVERRIDE: LayoutRegistry = {
  catalog: { database: "catalog", dockerfile: "services/catalog/Dockerfile" },
  reviews: { database: "reviews", dockerfile: "services/reviews/Dockerfile" },
  "search-indexer": { database: "search", dockerfile: "services/search-indexer/Dockerfile" },
  frontend: { database: "", dockerfile: "services/frontend/Dockerfile" },
};

async function handWritten(name: RealLayout | "extends-override"): Promise<Report> {
  const registry =
    name === "extends-override"
      ? EXTENDS_OVERRIDE
      : name === "custom-db-image"
        ? { ...REAL_LAYOUTS[name], api: { ...REAL_LAYOUTS[name].api, credentials: CUSTOM_DB_IMAGE_API_MAPPING } }
        : REAL_LAYOUTS[name];
  await using layout = await copyWithHandRegistry(name as RealLayout, registry);
  // Like with like: the inferred registry's default profile (a TypeScript registry alone is civic).
  await layout.write("civic-conformance.yaml", "profile: portable\n");
  const copy: AdoptCopy = { root: layout.root, read: async () => "", [Symbol.asyncDispose]: async () => {} };
  const report = await checkCopy(copy, { only: LIVE_CHECKS });
  expect(report.registry?.source).toBe("typescript");
  return report;
}

const FIXTURES = [...(Object.keys(REAL_LAYOUTS) as RealLayout[]), "extends-override" as const];

describe("zero-config check on the real layouts gives the hand-written registry's live verdicts", { timeout: 240_000 }, () => {
  for (const name of FIXTURES) {
    it(`${name}: own-database, isolation and migrations agree`, async () => {
      const [inferred, declared] = await Promise.all([zeroConfig(name), handWritten(name)]);
      expect(liveVerdicts(inferred)).toEqual(liveVerdicts(declared));
    });
  }
});

describe("zero-config check on the real layouts gives the verdicts of their EXPECTED.md", { timeout: 240_000 }, () => {
  it("split-vars-leaky: isolation fails on foreign-connect for each service role at the init script's CREATE DATABASE (PUBLIC's CONNECT), no superuser; own-database passes", async () => {
    const report = await zeroConfig("split-vars-leaky");
    expect(statuses(report)).toMatchObject({ "own-database": "pass", isolation: "fail" });
    // The cause is PUBLIC's CONNECT: the line to change is the script's (where the REVOKE belongs), not the credential's.
    expect(errorsOf(report, "isolation")).toEqual([
      "isolation/foreign-connect catalog db/init/01-create-service-databases.sh:13",
      "isolation/foreign-connect orders db/init/01-create-service-databases.sh:13",
      "isolation/foreign-connect payments db/init/01-create-service-databases.sh:13",
    ]);
  });

  it("split-vars-conformant: own-database and isolation pass with no finding", async () => {
    const report = await zeroConfig("split-vars-conformant");
    expect(statuses(report)).toMatchObject({ "own-database": "pass", isolation: "pass" });
    expect(report.checks.filter((check) => check.id !== "migrations").flatMap((check) => check.findings)).toEqual([]);
  });

  it("nest-shared-superuser: one superuser and one foreign-connect finding for the shared credential, own-database/shared-credential; Prisma migrations apply", async () => {
    const report = await zeroConfig("nest-shared-superuser");
    expect(statuses(report)).toEqual({ "own-database": "fail", isolation: "fail", migrations: "pass" });
    expect(errorsOf(report, "isolation")).toEqual(["isolation/foreign-connect - docker-compose.yml:31", "isolation/superuser - docker-compose.yml:31"]);
    expect(errorsOf(report, "own-database")).toEqual(["own-database/shared-credential - docker-compose.yml:31"]);
  });

  it("env-files-roles: own-database and isolation pass; only maintenance-database warnings, each at the service's env file", async () => {
    const report = await zeroConfig("env-files-roles");
    expect(statuses(report)).toMatchObject({ "own-database": "pass", isolation: "pass" });
    expect(findingsOf(report, "isolation")).toEqual([
      { rule: "isolation/maintenance-database", severity: "warning", service: "accounts", at: "services/accounts/.env:5" },
      { rule: "isolation/maintenance-database", severity: "warning", service: "inventory", at: "services/inventory/.env:6" },
      { rule: "isolation/maintenance-database", severity: "warning", service: "shipping", at: "services/shipping/.env:5" },
    ]);
  });

  it("multiple-databases: notifications cannot log in (no password), yet the catalog proves its role reaches the others, as billing and shipping do", async () => {
    const report = await zeroConfig("multiple-databases");
    expect(statuses(report)).toMatchObject({ "own-database": "fail", isolation: "fail" });
    expect(errorsOf(report, "own-database")).toEqual(["own-database/login-failed notifications docker-compose.yml:44"]);
    // notifications' login proves nothing (no password); the catalog proves its role gets in through PUBLIC (EXPECTED.md).
    expect(errorsOf(report, "isolation")).toEqual([
      "isolation/foreign-connect billing pg-init-scripts/create-multiple-postgresql-databases.sh:13",
      "isolation/foreign-connect notifications pg-init-scripts/create-multiple-postgresql-databases.sh:13",
      "isolation/foreign-connect shipping pg-init-scripts/create-multiple-postgresql-databases.sh:13",
    ]);
  });

  it("custom-db-image: api's guessed mapping is tried, so both services are caught on the shared superuser", async () => {
    const report = await zeroConfig("custom-db-image");
    expect(statuses(report)).toMatchObject({ "own-database": "fail", isolation: "fail" });
    expect(errorsOf(report, "isolation")).toEqual(["isolation/foreign-connect - docker-compose.yml:26", "isolation/superuser - docker-compose.yml:26"]);
    expect(errorsOf(report, "own-database")).toEqual(["own-database/shared-credential - docker-compose.yml:26"]);
  });

  it("extends-override: reviews, switched to the superuser by the override, fails isolation at docker-compose.override.yml:17; catalog and search-indexer stay isolated", async () => {
    const report = await zeroConfig("extends-override");
    expect(statuses(report)).toMatchObject({ "own-database": "pass", isolation: "fail" });
    expect(errorsOf(report, "isolation")).toEqual(["isolation/foreign-connect reviews docker-compose.override.yml:17", "isolation/superuser reviews docker-compose.override.yml:17"]);
  });
});
