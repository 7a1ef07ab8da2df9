import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Check } from "../../src/checks/check.js";
import { ownDatabaseCheck } from "../../src/checks/own-database/index.js";
import { executeChecks } from "../../src/pipeline/check-executor.js";
import { RecordingLogger } from "../../src/core/logger.js";
import type { CheckResult } from "../../src/core/report-model.js";
import type { LiveEnvironment } from "../../src/runtime/runtime.js";
import { copyFixture, type FixtureCopy } from "../helpers/fixtures.js";
import { startLiveProduct, type LiveProduct } from "../helpers/live-product.js";

const REGISTRY = "products/property-tax/infra/service-registry.ts";
const INIT_SQL = "products/property-tax/infra/init-databases.sql";
const COMPOSE_IN_COPY = "products/property-tax/docker-compose.yml";

interface Scenario {
  readonly copy: FixtureCopy;
  readonly started: LiveProduct;
  run(check?: Check, live?: LiveEnvironment): Promise<CheckResult>;
  /** 1-based line of the first line of a copied file containing `needle`. */
  line(path: string, needle: string): Promise<number>;
  dispose(): Promise<void>;
}

/** A fixture copy, mutated, on a real PostgreSQL 16 provisioned from its compose file and init SQL. */
async function liveScenario(fixture: string, mutate?: (copy: FixtureCopy) => Promise<void>): Promise<Scenario> {
  const copy = await copyFixture(fixture);
  try {
    await mutate?.(copy);
    const started = await startLiveProduct(copy.product, copy.root);
    return {
      copy,
      started,
      async run(check = ownDatabaseCheck, live = started.live) {
        const context = {
          product: started.product,
          live,
          options: { commandTimeoutMs: 60_000, concurrency: 8, env: {} },
          logger: new RecordingLogger(),
          signal: new AbortController().signal,
        };
        const [result] = await executeChecks([check], context);
        return result!;
      },
      async line(path, needle) {
        const lines = (await readFile(join(copy.root, path), "utf8")).split("\n");
        const index = lines.findIndex((text) => text.includes(needle));
        if (index < 0) throw new Error(`${needle} not found in ${path}`);
        return index + 1;
      },
      async dispose() {
        await started[Symbol.asyncDispose]();
        await copy[Symbol.asyncDispose]();
      },
    };
  } catch (error) {
    await copy[Symbol.asyncDispose]();
    throw error;
  }
}

const rules = (result: CheckResult) => result.findings.map((f) => `${f.rule} ${f.service ?? "-"} ${f.file}:${f.line ?? "-"}`);

describe("own-database on the conformant fixture", { timeout: 120_000 }, () => {
  let scenario: Scenario;
  beforeAll(async () => {
    scenario = await liveScenario("property-tax");
  }, 120_000);
  afterAll(() => scenario?.dispose());

  it("passes with no finding: every service logs in to its own database as its own role", async () => {
    const result = await scenario.run();
    expect(result.status).toBe("pass");
    expect(result.findings).toEqual([]);
  });

  it("reports error, never pass, when the server is gone before the check runs", async () => {
    const detached = await liveScenario("property-tax");
    await detached.started.runtime.stop();
    try {
      const result = await detached.run();
      expect(result.status).toBe("error");
      expect(result.findings).toEqual([]);
      expect(result.reason).toMatch(/own-database could not reach PostgreSQL: .*ECONNREFUSED/);
    } finally {
      await detached.dispose();
    }
  });
});

describe("own-database on the seed's shared superuser", { timeout: 120_000 }, () => {
  let scenario: Scenario;
  beforeAll(async () => {
    scenario = await liveScenario("seed-reference");
  }, 120_000);
  afterAll(() => scenario?.dispose());

  it("reports own-database/shared-credential once when every service logs in as civic", async () => {
    const result = await scenario.run();
    expect(result.status).toBe("fail");
    const firstUrl = await scenario.line(COMPOSE_IN_COPY, "DATABASE_URL: postgresql://civic:${POSTGRES_PASSWORD}@postgres:5432/auth_gateway");
    expect(rules(result)).toEqual([`own-database/shared-credential - products/property-tax/docker-compose.yml:${firstUrl}`]);
    expect(result.findings[0]!.message).toBe(
      'All 10 stateful services log in as the same role "civic" (auth-gateway, notification-engine, audit-logging, billing-invoicing, ' +
        "assessment-roll, tax-billing-instalment, tax-levy-rate, payment-processing, tax-certificates, tax-sale-proceedings), " +
        "so none of their databases is private to its service.",
    );
    expect(result.findings[0]!.fix).toContain("own LOGIN role");
    expect(result.findings[0]!.fix).toContain("civic-conformance generate --write");
  });
});

describe("own-database on broken DATABASE_URLs", { timeout: 120_000 }, () => {
  it("reports own-database/wrong-database and shared-database when a DATABASE_URL names a neighbour's database", async () => {
    const scenario = await liveScenario("seed-reference", (copy) =>
      copy.edit(COMPOSE_IN_COPY, (text) =>
        text.replace("@postgres:5432/auth_gateway", "@postgres:5432/notification_engine"),
      ),
    );
    try {
      const result = await scenario.run();
      const line = await scenario.line(COMPOSE_IN_COPY, "@postgres:5432/notification_engine");
      const file = "products/property-tax/docker-compose.yml";
      expect(rules(result)).toEqual([
        `own-database/wrong-database auth-gateway ${file}:${line}`,
        `own-database/shared-database auth-gateway ${file}:${line}`,
        `own-database/shared-credential - ${file}:${line}`,
      ]);
      expect(result.findings[0]!.message).toBe('auth-gateway logs in to database "notification_engine", not its own "auth_gateway".');
      expect(result.findings[1]!.message).toBe(
        'Database "notification_engine" is shared by auth-gateway, notification-engine; only notification-engine owns it.',
      );
    } finally {
      await scenario.dispose();
    }
  });

  it("reports own-database/login-failed with 42501 when a per-service role's URL names a neighbour's database", async () => {
    const scenario = await liveScenario("property-tax", (copy) =>
      copy.edit(COMPOSE_IN_COPY, (text) => text.replace("@postgres:5432/tax_levy_rate", "@postgres:5432/assessment_roll")),
    );
    try {
      const result = await scenario.run();
      const line = await scenario.line(COMPOSE_IN_COPY, "postgresql://tax_levy_rate:");
      expect(rules(result)).toEqual([`own-database/login-failed tax-levy-rate products/property-tax/docker-compose.yml:${line}`]);
      expect(result.findings[0]!.message).toBe(
        'tax-levy-rate cannot log in with its DATABASE_URL (user "tax_levy_rate", database "assessment_roll"): no CONNECT privilege (42501).',
      );
    } finally {
      await scenario.dispose();
    }
  });

  it("reports own-database/login-failed with 28P01 for a wrong password, and never prints the password", async () => {
    const scenario = await liveScenario("property-tax", (copy) =>
      copy.edit(COMPOSE_IN_COPY, (text) =>
        text.replace("${PAYMENT_PROCESSING_DB_PASSWORD}@postgres", "${PAYMENT_PROCESSING_DB_PASSWORD}-stale-copy@postgres"),
      ),
    );
    try {
      const result = await scenario.run();
      const line = await scenario.line(COMPOSE_IN_COPY, "postgresql://payment_processing:");
      expect(rules(result)).toEqual([`own-database/login-failed payment-processing products/property-tax/docker-compose.yml:${line}`]);
      expect(result.findings[0]!.message).toBe(
        // The admin tells the three 28P01s apart: this role exists and has a password, so the password is wrong.
        'payment-processing cannot log in with its DATABASE_URL (user "payment_processing", database "payment_processing"): password authentication failed (28P01): role "payment_processing" exists and has a password, so the password is wrong.',
      );
      const password = scenario.started.product.compose!.variables.get("PAYMENT_PROCESSING_DB_PASSWORD")!;
      expect(password.length).toBeGreaterThan(8);
      expect(JSON.stringify(result)).not.toContain(password);
    } finally {
      await scenario.dispose();
    }
  });

  it("reports own-database/stateless-credential at the line where a stateless service gets a DATABASE_URL", async () => {
    const scenario = await liveScenario("property-tax", (copy) =>
      copy.edit(COMPOSE_IN_COPY, (text) =>
        text.replace(
          "      PORT: 4110\n",
          "      PORT: 4110\n      DATABASE_URL: postgresql://auth_gateway:${AUTH_GATEWAY_DB_PASSWORD}@postgres:5432/auth_gateway\n",
        ),
      ),
    );
    try {
      const result = await scenario.run();
      const lines = (await scenario.copy.read(COMPOSE_IN_COPY)).split("\n");
      const line = lines.findIndex((text, i) => text.includes("postgresql://auth_gateway:") && lines[i - 1]!.includes("PORT: 4110")) + 1;
      expect(rules(result)).toEqual([`own-database/stateless-credential api-gateway products/property-tax/docker-compose.yml:${line}`]);
      expect(result.findings[0]!.message).toBe(
        'api-gateway is stateless (database: "") but its DATABASE_URL holds a PostgreSQL credential (user "auth_gateway", database "auth_gateway").',
      );
    } finally {
      await scenario.dispose();
    }
  });
});

describe("own-database on a stateful service without a DATABASE_URL", { timeout: 120_000 }, () => {
  it("reports own-database/missing-url on the registry's database line", async () => {
    const scenario = await liveScenario("property-tax", (copy) =>
      copy.edit(COMPOSE_IN_COPY, (text) => text.replace(/^ +DATABASE_URL: postgresql:\/\/tax_certificates:.*\n/m, "")),
    );
    try {
      const result = await scenario.run();
      const line = await scenario.line(REGISTRY, 'database: "tax_certificates"');
      expect(rules(result)).toEqual([
        `own-database/missing-url tax-certificates products/property-tax/infra/service-registry.ts:${line}`,
        "own-database/cluster-state - products/property-tax/infra/service-registry.ts:-",
      ]);
      expect(result.findings[1]!.message).toBe('Role "tax_certificates" can log in, but no service\'s credential uses it.');
    } finally {
      await scenario.dispose();
    }
  });
});

describe("own-database on a server that differs from the registry", { timeout: 120_000 }, () => {
  it("reports own-database/missing-database on the registry line, and cluster-state for leftovers", async () => {
    const scenario = await liveScenario("property-tax", (copy) =>
      copy.edit(INIT_SQL, (text) =>
        text
          .replace("CREATE DATABASE tax_levy_rate OWNER tax_levy_rate;\n", "")
          .replace("REVOKE ALL ON DATABASE tax_levy_rate FROM PUBLIC;\n", "")
          .concat("\nCREATE DATABASE legacy_reports;\nCREATE ROLE reporting LOGIN PASSWORD 'reporting-pw';\n"),
      ),
    );
    try {
      const result = await scenario.run();
      const databaseLine = await scenario.line(REGISTRY, 'database: "tax_levy_rate"');
      expect(rules(result)).toEqual([
        `own-database/missing-database tax-levy-rate products/property-tax/infra/service-registry.ts:${databaseLine}`,
        "own-database/cluster-state - products/property-tax/infra/service-registry.ts:-",
        "own-database/cluster-state - products/property-tax/infra/service-registry.ts:-",
      ]);
      expect(result.findings.map((f) => [f.severity, f.message])).toEqual([
        ["error", 'Database "tax_levy_rate" of tax-levy-rate does not exist on the server.'],
        ["warning", 'Database "legacy_reports" (owner "civic") exists on the server, but no registry service owns it.'],
        ["warning", 'Role "reporting" can log in, but no service\'s credential uses it.'],
      ]);
    } finally {
      await scenario.dispose();
    }
  });
});
