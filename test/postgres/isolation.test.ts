import { readFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isolationCheck, isolationCheckWith } from "../../src/checks/isolation/index.js";
import { executeChecks } from "../../src/pipeline/check-executor.js";
import { RecordingLogger } from "../../src/core/logger.js";
import type { CheckResult, MatrixCell } from "../../src/core/report-model.js";
import type { LiveEnvironment } from "../../src/runtime/runtime.js";
import { copyFixture, type FixtureCopy } from "../helpers/fixtures.js";
import { adminUrlOf, startLiveProduct, type LiveProduct } from "../helpers/live-product.js";

const COMPOSE = "products/property-tax/docker-compose.yml";
const INIT_SQL = "products/property-tax/infra/init-databases.sql";
const REGISTRY = "products/property-tax/infra/service-registry.ts";

const STATEFUL = [
  "auth-gateway",
  "notification-engine",
  "audit-logging",
  "billing-invoicing",
  "assessment-roll",
  "tax-billing-instalment",
  "tax-levy-rate",
  "payment-processing",
  "tax-certificates",
  "tax-sale-proceedings",
];
const databaseOf = (service: string) => service.replaceAll("-", "_");

interface Scenario {
  readonly copy: FixtureCopy;
  readonly started: LiveProduct;
  run(live?: LiveEnvironment, signal?: AbortSignal, check?: typeof isolationCheck): Promise<CheckResult & { logger: RecordingLogger }>;
  /** 1-based line of the first line of a copied file containing `needle`. */
  line(path: string, needle: string): Promise<number>;
  dispose(): Promise<void>;
}

/**
 * These tests assert the server's own answer for each cell, so the check runs with a login into every
 * cell, as it does for a credential whose sampled login contradicted the catalog (`escalate`). The
 * check as shipped proves the cells the catalog refuses from the catalog, with one sampled login per
 * credential (isolation-catalog-proof.test.ts): the last describe shows it reaches the same verdicts
 * and findings here.
 */
const cellByCell = isolationCheckWith({ allLoginsUpTo: Number.POSITIVE_INFINITY });

/** A fixture copy, mutated, on a real PostgreSQL 16 provisioned from its compose file and init SQL. */
async function liveScenario(fixture: string, mutate?: (copy: FixtureCopy) => Promise<void>): Promise<Scenario> {
  const copy = await copyFixture(fixture);
  try {
    await mutate?.(copy);
    const started = await startLiveProduct(copy.product, copy.root);
    return {
      copy,
      started,
      async run(live = started.live, signal = new AbortController().signal, check = cellByCell) {
        const logger = new RecordingLogger();
        const context = {
          product: started.product,
          live,
          options: { commandTimeoutMs: 60_000, concurrency: 8, env: {} },
          logger,
          signal,
        };
        const [result] = await executeChecks([check], context);
        return { ...result!, logger };
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

const located = (result: CheckResult) => result.findings.map((f) => `${f.rule} ${f.service ?? "-"} ${f.file}:${f.line ?? "-"}`);
const count = (result: CheckResult, rule: string) => result.findings.filter((f) => f.rule === rule).length;
/** The credential rows (the catalog-only rows, `role …` and `PUBLIC`, carry `role`). */
const credentialCells = (result: CheckResult) => result.data!.matrix!.filter((c) => c.role === undefined);
const cells = (result: CheckResult, outcome: MatrixCell["outcome"]) => credentialCells(result).filter((c) => c.outcome === outcome);
const publicCells = (result: CheckResult) => result.data!.matrix!.filter((c) => c.role === "PUBLIC");

/** Line of a service's DATABASE_URL in the conformant compose file (per-service roles). */
const urlLine = (scenario: Scenario, service: string) => scenario.line(COMPOSE, `postgresql://${databaseOf(service)}:`);

describe("isolation on the conformant fixture", { timeout: 120_000 }, () => {
  let scenario: Scenario;
  beforeAll(async () => {
    scenario = await liveScenario("property-tax");
  }, 120_000);
  afterAll(() => scenario?.dispose());

  it("passes: every credential is refused by every other service's database with 42501", async () => {
    const result = await scenario.run();
    expect(result.status).toBe("pass");
    expect(result.findings).toEqual([]);
    // 10 credentials x 10 databases, then PUBLIC's row from the catalog (no other LOGIN role but the admin).
    expect(result.data!.matrix).toHaveLength(110);
    expect(credentialCells(result)).toHaveLength(100);
    expect(cells(result, "own")).toHaveLength(10);
    const refused = cells(result, "refused");
    expect(refused).toHaveLength(90);
    expect(new Set(refused.map((c) => c.reason))).toEqual(new Set(["no CONNECT privilege (42501)"]));
    // Each foreign cell is proven twice: the login is refused, and the catalog denies the role CONNECT.
    expect(new Set(refused.map((c) => `${c.login} ${c.catalog} ${c.proof}`))).toEqual(new Set(["refused denied login+catalog"]));
    expect(result.data!.matrix![1]).toEqual({
      credentialOf: "auth-gateway",
      database: "notification_engine",
      outcome: "refused",
      reason: "no CONNECT privilege (42501)",
      login: "refused",
      catalog: "denied",
      cause: "no CONNECT privilege",
      proof: "login+catalog",
    });
    expect(publicCells(result).map((c) => `${c.outcome} ${c.proof} ${c.cause}`)).toEqual(Array(10).fill("refused catalog PUBLIC has no CONNECT"));
  });

  it("reports error, never pass, when the run is interrupted", async () => {
    const interrupted = new AbortController();
    interrupted.abort();
    const result = await scenario.run(undefined, interrupted.signal);
    expect(result.status).toBe("error");
    // Said once, by the executor, whichever check was running (reports-truth's contract).
    expect(result.reason).toBe("interrupted before it finished");
    expect(result.findings).toEqual([]);
  });

  it("reports error, never pass, when the server stops in the middle of the run", async () => {
    const own = await liveScenario("property-tax");
    try {
      const pid = await postmasterPid(adminUrlOf(own.started.live));
      const base = own.started.live;
      // The check has read the catalog by the time it asks for the last service's URL; the
      // server then goes into fast shutdown while the connection attempts run.
      const live: LiveEnvironment = {
        runtime: base.runtime,
        servicesRunning: base.servicesRunning,
        instances: base.instances,
        reach(credential) {
          if (credential.service === "tax-sale-proceedings") process.kill(pid, "SIGINT");
          return base.reach(credential);
        },
      };
      const result = await own.run(live);
      expect(result.status).toBe("error");
      expect(result.findings).toEqual([]);
      expect(result.reason).toMatch(/^isolation could not reach PostgreSQL: /);
      expect(result.data).toBeUndefined();
    } finally {
      await own.dispose();
    }
  });

  it("reports error, never pass, when the server is gone before the check runs", async () => {
    const own = await liveScenario("property-tax");
    try {
      await own.started.runtime.stop();
      const result = await own.run();
      expect(result.status).toBe("error");
      expect(result.findings).toEqual([]);
      expect(result.reason).toMatch(/^isolation could not reach PostgreSQL: .*ECONNREFUSED/);
    } finally {
      await own.dispose();
    }
  });
});

describe("isolation on the seed's shared civic superuser", { timeout: 120_000 }, () => {
  let scenario: Scenario;
  let result: CheckResult;
  beforeAll(async () => {
    scenario = await liveScenario("seed-reference");
    result = await scenario.run();
  }, 120_000);
  afterAll(() => scenario?.dispose());

  it("fails with isolation/superuser and one isolation/foreign-connect said once for everyone", async () => {
    expect(result.status).toBe("fail");
    const first = await scenario.line(COMPOSE, "DATABASE_URL: postgresql://civic:");
    const registryLines = await Promise.all(STATEFUL.map((s) => scenario.line(REGISTRY, `database: "${databaseOf(s)}"`)));
    expect(located(result)).toEqual([
      `isolation/superuser - ${COMPOSE}:${first}`,
      // The databases still open to PUBLIC need no finding of their own: the fix (per-service roles) closes them too.
      `isolation/foreign-connect - ${COMPOSE}:${first}`,
      `isolation/maintenance-database - ${COMPOSE}:${first}`,
      ...STATEFUL.map((s, i) => `isolation/public-temp ${s} ${REGISTRY}:${registryLines[i]}`),
    ]);
    expect(result.findings.map((f) => f.severity)).toEqual(["error", "error", ...Array(11).fill("warning")]);
    expect(result.findings[0]!.message).toBe(
      'All 10 services log in as role "civic", which is a superuser: it can read and write every database on the server, whatever the grants say.',
    );
    expect(result.findings[1]!.message).toBe(
      'All 10 services log in with the same credential (role "civic"), so each one can connect to every other service\'s database: no database is isolated from any service.',
    );
    expect(result.findings[2]!.message).toBe('All 10 services (role "civic") can still connect to postgres, template1 and civic_platform.');
  });

  it("points every fix at per-service LOGIN roles, REVOKE … FROM PUBLIC (with real names) and civic-conformance generate", () => {
    const foreign = result.findings.find((f) => f.rule === "isolation/foreign-connect")!;
    expect(foreign.fix).toContain("its own LOGIN role, named like its database and owning it");
    expect(foreign.fix).toContain("REVOKE ALL ON DATABASE auth_gateway FROM PUBLIC");
    expect(foreign.fix).toContain("products/property-tax/infra/init-databases.sql");
    expect(foreign.fix).toContain("civic-conformance generate --write");
    const superuser = result.findings.find((f) => f.rule === "isolation/superuser")!;
    expect(superuser.fix).toContain("NOSUPERUSER");
    expect(superuser.fix).toContain("civic-conformance generate --write");
  });

  it("lists every credential × database in the matrix: 90 connected, 10 own", () => {
    expect(credentialCells(result)).toHaveLength(100);
    expect(cells(result, "own")).toHaveLength(10);
    expect(cells(result, "connected")).toHaveLength(90);
    expect(result.findings[1]!.details!.split("\n")).toHaveLength(10);
    expect(result.findings[1]!.details).toContain("auth_gateway: it can read 0 of 0 tables, write 0, create temporary tables and create objects in schema public.");
  });
});

describe("isolation on per-service roles with weakened grants", { timeout: 120_000 }, () => {
  it("reports one isolation/foreign-connect per credential, listing the 9 databases it reaches, when CONNECT is still granted to PUBLIC", async () => {
    const scenario = await liveScenario("property-tax", (copy) =>
      copy.edit(INIT_SQL, (text) =>
        text.replace(/^REVOKE ALL ON DATABASE \w+ FROM PUBLIC;\n/gm, "").concat(
          "\n\\connect assessment_roll\nSET ROLE assessment_roll;\n" +
            "CREATE TABLE property (id int PRIMARY KEY);\nCREATE TABLE owner_contact (id int PRIMARY KEY);\n" +
            "GRANT SELECT ON property TO PUBLIC;\nRESET ROLE;\n",
        ),
      ),
    );
    try {
      const result = await scenario.run();
      expect(result.status).toBe("fail");
      // Was one finding per credential and database (90): one per credential now, each listing the databases it reaches.
      expect(count(result, "isolation/foreign-connect")).toBe(10);
      expect(count(result, "isolation/public-temp")).toBe(10);
      expect(result.findings).toHaveLength(20);
      for (const service of STATEFUL) {
        expect(result.findings.filter((f) => f.rule === "isolation/foreign-connect" && f.service === service)).toHaveLength(1);
      }
      const levy = result.findings.find((f) => f.rule === "isolation/foreign-connect" && f.service === "tax-levy-rate")!;
      // At the init script's line that creates the first database it reaches (where the REVOKE belongs), not the credential's.
      expect(`${levy.file}:${levy.line}`).toBe(`${INIT_SQL}:${await scenario.line(INIT_SQL, "CREATE DATABASE auth_gateway OWNER auth_gateway;")}`);
      expect(levy.message).toBe(
        'tax-levy-rate connects as role "tax_levy_rate" to 9 databases of other services: auth_gateway, notification_engine, audit_logging, billing_invoicing, ' +
          "assessment_roll, tax_billing_instalment, payment_processing, tax_certificates and tax_sale_proceedings (PUBLIC has CONNECT; proven by login and the catalog).",
      );
      expect(levy.fix).toContain("REVOKE CONNECT ON DATABASE assessment_roll FROM PUBLIC;");
      expect(levy.fix).not.toMatch(/CREATE ROLE|own LOGIN role/);
      expect(levy.details).toContain(
        "assessment_roll (database of assessment-roll): PUBLIC has CONNECT; proven by login and the catalog.\nassessment_roll: it can read 1 of 2 tables, write 0 and create temporary tables.\n  public.property: SELECT",
      );
      expect(cells(result, "connected")).toHaveLength(90);
      expect(publicCells(result).map((c) => `${c.outcome} ${c.proof}`)).toEqual(Array(10).fill("connected catalog"));
    } finally {
      await scenario.dispose();
    }
  });

  it("reports isolation/superuser, createrole, createdb, bypassrls and predefined-role for over-powered service roles", async () => {
    const scenario = await liveScenario("property-tax", (copy) =>
      copy.edit(INIT_SQL, (text) =>
        text.concat(
          "\nALTER ROLE audit_logging SUPERUSER;\n" +
            "ALTER ROLE tax_levy_rate CREATEROLE CREATEDB BYPASSRLS;\n" +
            "GRANT pg_read_all_data, pg_signal_backend TO payment_processing;\n",
        ),
      ),
    );
    try {
      const result = await scenario.run();
      const audit = `${COMPOSE}:${await urlLine(scenario, "audit-logging")}`;
      const levy = `${COMPOSE}:${await urlLine(scenario, "tax-levy-rate")}`;
      const payment = `${COMPOSE}:${await urlLine(scenario, "payment-processing")}`;
      expect(located(result).filter((f) => !f.startsWith("isolation/foreign-connect"))).toEqual([
        `isolation/superuser audit-logging ${audit}`,
        `isolation/createrole tax-levy-rate ${levy}`,
        `isolation/createdb tax-levy-rate ${levy}`,
        `isolation/bypassrls tax-levy-rate ${levy}`,
        `isolation/predefined-role payment-processing ${payment}`,
        `isolation/predefined-role payment-processing ${payment}`,
        `isolation/maintenance-database audit-logging ${audit}`,
      ]);
      const predefined = result.findings.filter((f) => f.rule === "isolation/predefined-role");
      expect(predefined.map((f) => [f.severity, f.message])).toEqual([
        ["error", 'Role "payment_processing" of payment-processing is a member of the predefined role pg_read_all_data, which reaches every database\'s tables or the server\'s files.'],
        ["warning", 'Role "payment_processing" of payment-processing is a member of the predefined role pg_signal_backend.'],
      ]);
      // A superuser passes every CONNECT check: its nine foreign databases are all reached, said in one finding.
      const foreign = result.findings.filter((f) => f.rule === "isolation/foreign-connect");
      expect(foreign).toHaveLength(1);
      expect(foreign[0]!.service).toBe("audit-logging");
      expect(foreign[0]!.message).toMatch(/^audit-logging connects as role "audit_logging" to 9 databases of other services: .* \(superuser; proven by login and the catalog\)\.$/);
      expect(foreign[0]!.fix).toContain("ALTER ROLE audit_logging NOSUPERUSER;");
      expect(`${foreign[0]!.file}:${foreign[0]!.line}`).toBe(`${INIT_SQL}:${await scenario.line(INIT_SQL, "ALTER ROLE audit_logging SUPERUSER;")}`);
      expect(cells(result, "connected").map((c) => c.credentialOf)).toEqual(Array(9).fill("audit-logging"));
    } finally {
      await scenario.dispose();
    }
  });

  it("warns isolation/maintenance-database for each credential when postgres still grants CONNECT to PUBLIC", async () => {
    const scenario = await liveScenario("property-tax", (copy) =>
      copy.edit(INIT_SQL, (text) => text.replace("REVOKE CONNECT, TEMPORARY ON DATABASE postgres FROM PUBLIC;\n", "")),
    );
    try {
      const result = await scenario.run();
      expect(result.status).toBe("pass");
      expect(result.findings.map((f) => `${f.rule} ${f.severity} ${f.service}`)).toEqual(
        STATEFUL.map((s) => `isolation/maintenance-database warning ${s}`),
      );
      expect(result.findings[0]!.message).toBe('auth-gateway (role "auth_gateway") can still connect to postgres.');
    } finally {
      await scenario.dispose();
    }
  });

  it("probes a stateless service's credential too: api-gateway holding auth-gateway's URL reaches auth_gateway", async () => {
    const scenario = await liveScenario("property-tax", (copy) =>
      copy.edit(COMPOSE, (text) =>
        text.replace(
          "      PORT: 4110\n",
          "      PORT: 4110\n      DATABASE_URL: postgresql://auth_gateway:${AUTH_GATEWAY_DB_PASSWORD}@postgres:5432/auth_gateway\n",
        ),
      ),
    );
    try {
      const result = await scenario.run();
      expect(result.findings.map((f) => `${f.rule} ${f.service}`)).toEqual(["isolation/foreign-connect api-gateway"]);
      expect(result.findings[0]!.message).toMatch(/^api-gateway connects as role "auth_gateway" to auth_gateway, the database of auth-gateway: /);
      expect(credentialCells(result)).toHaveLength(110);
      expect(result.data!.matrix!.filter((c) => c.credentialOf === "api-gateway" && c.outcome === "connected")).toEqual([
        { credentialOf: "api-gateway", database: "auth_gateway", outcome: "connected", login: "connected", catalog: "allowed", cause: "owns it, granted CONNECT", proof: "login+catalog" },
      ]);
    } finally {
      await scenario.dispose();
    }
  });

  it("never lets a wrong password ride on a right one: same role, other password is refused with 28P01", async () => {
    const scenario = await liveScenario("property-tax", (copy) =>
      copy.edit(COMPOSE, (text) =>
        text.replace(
          "      PORT: 4110\n",
          "      PORT: 4110\n      DATABASE_URL: postgresql://auth_gateway:not-the-password@postgres:5432/auth_gateway\n",
        ),
      ),
    );
    try {
      const result = await scenario.run();
      expect(result.status).toBe("pass");
      expect(result.findings).toEqual([]);
      const apiGateway = result.data!.matrix!.filter((c) => c.credentialOf === "api-gateway");
      expect(apiGateway).toHaveLength(10);
      // Nine refused by login and denied by the catalog; at auth_gateway the catalog lets role auth_gateway in (it is
      // that database's own role), so only the login keeps this credential out, and the cell says so.
      expect(apiGateway.filter((c) => c.database !== "auth_gateway").map((c) => `${c.outcome} ${c.proof} ${c.reason}`)).toEqual(
        Array(9).fill("refused login+catalog password authentication failed (28P01)"),
      );
      expect(apiGateway.find((c) => c.database === "auth_gateway")).toMatchObject({
        outcome: "refused",
        login: "refused",
        catalog: "allowed",
        proof: "login",
        reason: 'password authentication failed (28P01); the catalog allows role "auth_gateway" (owns it, granted CONNECT)',
      });
      expect(result.notes).toEqual([
        "The credential of api-gateway fails password authentication, so its refusals prove nothing about grants (own-database reports it).",
      ]);
    } finally {
      await scenario.dispose();
    }
  });

  it("says that refusals from a missing database prove nothing", async () => {
    const scenario = await liveScenario("property-tax", (copy) =>
      copy.edit(INIT_SQL, (text) =>
        text.replace("CREATE DATABASE tax_certificates OWNER tax_certificates;\n", "").replace("REVOKE ALL ON DATABASE tax_certificates FROM PUBLIC;\n", ""),
      ),
    );
    try {
      const result = await scenario.run();
      expect(result.status).toBe("pass");
      expect(result.notes).toEqual([
        "Database tax_certificates does not exist, so refusals there prove nothing about its grants (own-database reports it).",
      ]);
      expect(result.data!.matrix!.find((c) => c.credentialOf === "auth-gateway" && c.database === "tax_certificates")).toEqual({
        credentialOf: "auth-gateway",
        database: "tax_certificates",
        outcome: "refused",
        reason: "database does not exist (3D000)",
        login: "refused",
        catalog: "denied",
        cause: 'database "tax_certificates" does not exist (or accepts no connections)',
        proof: "login+catalog",
      });
    } finally {
      await scenario.dispose();
    }
  });
});

describe("isolation as shipped: the catalog proves the refused cells, sampled logins check the catalog", { timeout: 180_000 }, () => {
  // Where the catalog lets every credential in (PUBLIC has CONNECT), every cell is a login either way.
  const scenarios: Array<[string, ((copy: FixtureCopy) => Promise<void>) | undefined, "fewer logins" | "as many logins"]> = [
    ["the conformant fixture", undefined, "fewer logins"],
    [
      "CONNECT still granted to PUBLIC",
      (copy) => copy.edit(INIT_SQL, (text) => text.replace(/^REVOKE ALL ON DATABASE \w+ FROM PUBLIC;\n/gm, "")),
      "as many logins",
    ],
    [
      "a credential with its role's name and another password",
      (copy) =>
        copy.edit(COMPOSE, (text) =>
          text.replace("      PORT: 4110\n", "      PORT: 4110\n      DATABASE_URL: postgresql://auth_gateway:not-the-password@postgres:5432/auth_gateway\n"),
        ),
      "fewer logins",
    ],
  ];
  for (const [what, mutate, logged] of scenarios) {
    it(`gives the verdict, findings, notes and cell outcomes of a login per cell, with ${logged}: ${what}`, async () => {
      const scenario = await liveScenario("property-tax", mutate);
      try {
        const everyCell = await scenario.run();
        const shipped = await scenario.run(undefined, undefined, isolationCheck);
        const outcomes = (result: CheckResult) => result.data!.matrix!.map((c) => `${c.credentialOf} ${c.role ?? "-"} ${c.database} ${c.outcome}`);
        expect(shipped.status).toBe(everyCell.status);
        expect(located(shipped)).toEqual(located(everyCell));
        expect(shipped.notes).toEqual(everyCell.notes);
        expect(outcomes(shipped)).toEqual(outcomes(everyCell));
        const logins = (result: CheckResult) => result.data!.matrix!.filter((c) => c.login !== undefined).length;
        if (logged === "fewer logins") expect(logins(shipped)).toBeLessThan(logins(everyCell));
        else expect(logins(shipped)).toBe(logins(everyCell));
        // Every cell not logged into is one the catalog refuses: never a pass nobody proved.
        for (const cell of credentialCells(shipped).filter((c) => c.outcome !== "own" && c.login === undefined)) {
          expect(`${cell.outcome} ${cell.catalog} ${cell.proof}`).toBe("refused denied catalog");
        }
      } finally {
        await scenario.dispose();
      }
    });
  }
});

/** The postmaster's pid, from `postmaster.pid` in the data directory the admin session reports. */
async function postmasterPid(adminUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ setting: string }>("select setting from pg_settings where name = 'data_directory'");
    const pidFile = await readFile(join(rows[0]!.setting, "postmaster.pid"), "utf8");
    return Number(pidFile.split("\n")[0]);
  } finally {
    await client.end();
  }
}
