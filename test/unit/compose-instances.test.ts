/**
 * The compose check with several PostgreSQL instances (issue 14) and an instance built from the
 * repository's Dockerfile (issue 8, item 6), on the real-layout fixtures with a test-only registry.
 * Only the rules about PostgreSQL services and where credentials point are looked at here: the
 * fixtures do not follow this project's own house rules (one DATABASE_URL, PORT, …) and are not meant to.
 */
import { describe, expect, it } from "vitest";
import { composeCheck } from "../../src/checks/compose/index.js";
import { RecordingLogger } from "../../src/core/logger.js";
import type { Finding } from "../../src/core/report-model.js";
import { loadProduct } from "../../src/product/load-product.js";
import { copyRealLayout, type RealLayout, type RealLayoutCopy } from "../helpers/real-layouts.js";

const INSTANCE_RULES = new Set([
  "compose/missing-postgres",
  "compose/postgres-healthcheck",
  "compose/init-scripts",
  "compose/init-database-missing",
  "compose/database-host",
  "compose/depends-on",
]);

/** The shared instance's init script is a `.sh`, which the check cannot read statically: it warns it could not confirm the databases. */
const UNCONFIRMED = ["permits", "inspections", "licensing"].map((service) => `compose/init-database-missing warning ${service} compose.yaml:17`);

async function instanceFindings(copy: RealLayoutCopy): Promise<string[]> {
  const product = await loadProduct(copy.root, copy.root, { composeEnv: { PATH: process.env.PATH } });
  const output = await composeCheck.run({
    product,
    options: { commandTimeoutMs: 10_000, concurrency: 2, env: {} },
    logger: new RecordingLogger(),
    signal: new AbortController().signal,
  });
  return output.findings.filter((finding: Finding) => INSTANCE_RULES.has(finding.rule)).map((finding) => `${finding.rule} ${finding.severity} ${finding.service ?? "-"} ${finding.file}:${finding.line ?? "-"}`);
}

async function findingsOfLayout(name: RealLayout, mutate?: (copy: RealLayoutCopy) => Promise<void>): Promise<string[]> {
  await using copy = await copyRealLayout(name);
  await mutate?.(copy);
  return await instanceFindings(copy);
}

describe("compose check: several instances", () => {
  it("multi-instance: three instances recognised, each healthy, each service's credential on the instance that creates its database", async () => {
    expect(await findingsOfLayout("multi-instance")).toEqual(UNCONFIRMED);
  });

  it("mutation 2: a URL naming another service's instance is compose/database-host; its database still lives where the shared instance's script creates it", async () => {
    const findings = await findingsOfLayout("multi-instance", (copy) =>
      copy.edit("compose.yaml", (text) => text.replace("@postgres:5432/permits", "@postgres-fees:5432/permits")),
    );
    expect(findings.filter((finding) => !UNCONFIRMED.includes(finding))).toEqual(["compose/database-host error permits compose.yaml:60"]);
    await using copy = await copyRealLayout("multi-instance");
    await copy.edit("compose.yaml", (text) => text.replace("@postgres:5432/permits", "@postgres-fees:5432/permits"));
    const product = await loadProduct(copy.root, copy.root, { composeEnv: { PATH: process.env.PATH } });
    const output = await composeCheck.run({ product, options: { commandTimeoutMs: 10_000, concurrency: 2, env: {} }, logger: new RecordingLogger(), signal: new AbortController().signal });
    const host = output.findings.find((finding) => finding.rule === "compose/database-host")!;
    expect(host.message).toBe(
      'DATABASE_URL of "permits" reaches PostgreSQL service "postgres-fees" (the instance of fee-collection), whose init scripts do not create database "permits"; it lives on "postgres".',
    );
  });

  it("a split credential naming no instance is compose/database-host at its env file line", async () => {
    const findings = await findingsOfLayout("multi-instance", (copy) => copy.edit("services/inspections/.env", (text) => text.replace("DB_HOST=postgres", "DB_HOST=pg-primary")));
    expect(findings.filter((finding) => !UNCONFIRMED.includes(finding))).toEqual(["compose/database-host error inspections services/inspections/.env:2"]);
  });

  it("mutation 3: an instance without healthcheck is compose/postgres-healthcheck for that instance", async () => {
    const findings = await findingsOfLayout("multi-instance", (copy) =>
      copy.edit("compose.yaml", (text) =>
        text.replace('    healthcheck:\n      test: ["CMD-SHELL", "pg_isready -h 127.0.0.1 -U $${POSTGRES_USER}"]\n      interval: 5s\n      timeout: 10s\n      retries: 20\n\n  postgres-docs:', "\n  postgres-docs:"),
      ),
    );
    expect(findings.filter((finding) => !UNCONFIRMED.includes(finding))).toEqual(["compose/postgres-healthcheck error - compose.yaml:25"]);
  });

  it("the registry's `instance` must be the one the credential reaches", async () => {
    await using copy = await copyRealLayout("multi-instance", {
      permits: { database: "permits", dockerfile: "services/permits/Dockerfile", instance: "postgres-docs" },
      inspections: { database: "inspections", dockerfile: "services/inspections/Dockerfile" },
    });
    expect(await instanceFindings(copy)).toContain("compose/database-host error permits compose.yaml:60");
  });
});

describe("compose check: an instance built from the repository's Dockerfile", () => {
  it("custom-db-image: no compose/missing-postgres, its init scripts read from the build context create both databases", async () => {
    expect(await findingsOfLayout("custom-db-image")).toEqual([]);
  });

  it("a build that COPYs a script that is not there is compose/init-scripts at the Dockerfile line", async () => {
    const findings = await findingsOfLayout("custom-db-image", (copy) => copy.write("db/Dockerfile", "FROM postgres:16\nCOPY init/ /docker-entrypoint-initdb.d/\nCOPY seed.sql /docker-entrypoint-initdb.d/\n"));
    expect(findings).toEqual(["compose/init-scripts error - db/Dockerfile:3"]);
  });
});
