import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCompose } from "../../src/compose-file/load-compose-file.js";
import { EnvironmentError, UsageError } from "../../src/core/errors.js";
import { RecordingLogger } from "../../src/core/logger.js";
import type { Report } from "../../src/core/report-model.js";
import { runCheck } from "../../src/pipeline/check-pipeline.js";
import { fingerprintCluster, fingerprintDatabase, type Fingerprint } from "../../src/postgres/catalog-fingerprint.js";
import { connect } from "../../src/postgres/connect.js";
import type { Product } from "../../src/product/product.js";
import { EmbeddedRuntime } from "../../src/runtime/embedded/embedded-runtime.js";
import { envKeyOf, readExternalConfig } from "../../src/runtime/external/external-config.js";
import { ExternalRuntime } from "../../src/runtime/external/external-runtime.js";
import { findFreePort } from "../../src/runtime/embedded/free-port.js";
import { fixture, fixtureProduct } from "../helpers/fixtures.js";
import { adminUrlOf, type LiveProduct, reachService, startLiveProduct } from "../helpers/live-product.js";

const KEYS = ["assessment-roll", "tax-levy-rate"];
const ADMIN = "postgresql://admin:admin-pw-1@prod-db.example:5432/postgres";
const ROLL = "postgresql://assessment_roll:roll-pw-1@roll-db.example:5432/assessment_roll";

describe("external runtime config", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "civic-external-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("maps a registry key to its CIVIC_DATABASE_URL_<KEY> variable name", () => {
    expect(envKeyOf("assessment-roll")).toBe("ASSESSMENT_ROLL");
    expect(envKeyOf("tax-billing-instalment")).toBe("TAX_BILLING_INSTALMENT");
  });

  it("reads the admin, scratch and per-service URLs from CIVIC_* variables", async () => {
    const config = await readExternalConfig(
      undefined,
      { CIVIC_ADMIN_URL: ADMIN, CIVIC_SCRATCH_ADMIN_URL: "postgresql://admin:s@scratch.example/postgres", CIVIC_DATABASE_URL_ASSESSMENT_ROLL: ROLL, CIVIC_DATABASE_URL_UNKNOWN: ROLL },
      KEYS,
    );
    expect(config).toEqual({ admin: ADMIN, scratchAdmin: "postgresql://admin:s@scratch.example/postgres", services: { "assessment-roll": ROLL } });
  });

  it("reads a YAML or JSON file, which wins over the environment", async () => {
    const yamlFile = join(dir, "external.yaml");
    await writeFile(yamlFile, `admin: ${ADMIN}\nservices:\n  tax-levy-rate: postgresql://tax_levy_rate:x@levy.example/tax_levy_rate\nreadOnly: false\n`);
    const fromYaml = await readExternalConfig(yamlFile, { CIVIC_ADMIN_URL: "postgresql://other@else.example/postgres", CIVIC_DATABASE_URL_ASSESSMENT_ROLL: ROLL }, KEYS);
    expect(fromYaml).toEqual({
      admin: ADMIN,
      services: { "assessment-roll": ROLL, "tax-levy-rate": "postgresql://tax_levy_rate:x@levy.example/tax_levy_rate" },
      readOnly: false,
    });

    const jsonFile = join(dir, "external.json");
    await writeFile(jsonFile, JSON.stringify({ admin: ADMIN, services: { "assessment-roll": ROLL } }));
    expect(await readExternalConfig(jsonFile, {}, KEYS)).toEqual({ admin: ADMIN, services: { "assessment-roll": ROLL } });
  });

  it("reads one admin URL per instance from `instances:`, and refuses `admin` beside it", async () => {
    const file = join(dir, "instances.yaml");
    await writeFile(file, `instances:\n  postgres: ${ADMIN}\n  postgres-fees: postgresql://fees:f@fees-db.example/fees_admin\nservices:\n  assessment-roll: ${ROLL}\n`);
    expect(await readExternalConfig(file, { CIVIC_ADMIN_URL: "postgresql://other@else.example/postgres" }, KEYS)).toEqual({
      instances: { postgres: ADMIN, "postgres-fees": "postgresql://fees:f@fees-db.example/fees_admin" },
      services: { "assessment-roll": ROLL },
    });
    const both = join(dir, "both.yaml");
    await writeFile(both, `admin: ${ADMIN}\ninstances:\n  postgres: ${ADMIN}\n`);
    await expect(readExternalConfig(both, {}, KEYS)).rejects.toThrow("names both `admin` and `instances`");
  });

  it("refuses a config without an admin URL, with an unknown field, a non-postgres URL or no file, naming the file", async () => {
    await expect(readExternalConfig(undefined, {}, KEYS)).rejects.toThrow(
      "--runtime external needs the admin URL of the server under test: set CIVIC_ADMIN_URL, or pass --external-config with { \"admin\": \"postgresql://…\" }",
    );
    const typo = join(dir, "typo.yaml");
    await writeFile(typo, `admin: ${ADMIN}\nservice: {}\n`);
    const typoError = (await readExternalConfig(typo, {}, KEYS).catch((error: unknown) => error)) as UsageError;
    expect(typoError).toBeInstanceOf(UsageError);
    expect(typoError.location).toEqual({ file: typo });
    expect(typoError.message).toMatch(/^invalid external runtime config: .*service/);

    const mysql = join(dir, "mysql.yaml");
    await writeFile(mysql, "admin: mysql://root:pw@db.example/app\n");
    await expect(readExternalConfig(mysql, {}, KEYS)).rejects.toThrow("invalid external runtime config: admin: expected a postgres:// or postgresql:// URL");

    const missing = join(dir, "missing.yaml");
    const missingError = (await readExternalConfig(missing, {}, KEYS).catch((error: unknown) => error)) as UsageError;
    expect(missingError).toBeInstanceOf(UsageError);
    expect(missingError.format()).toBe(`${missing}: the external runtime config file cannot be read`);
  });
});

describe("external runtime against a real server", { timeout: 60_000 }, () => {
  let root: string;
  let server: EmbeddedRuntime;
  let adminUrl: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "civic-external-server-"));
    const productDir = join(root, "products", "mini");
    await mkdir(productDir, { recursive: true });
    await writeFile(join(productDir, "docker-compose.yml"), "services:\n  postgres:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}\n");
    const env = { PATH: process.env.PATH };
    const product: Product = {
      name: "mini",
      dir: productDir,
      repoRoot: root,
      registry: { path: "", file: "", services: [], source: "typescript" },
      compose: await loadCompose(productDir, root, env),
    };
    server = new EmbeddedRuntime({ product, env, logger: new RecordingLogger() });
    adminUrl = (await server.start(new AbortController().signal)).instances.get("postgres")!.adminUrl;
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it("checks the given servers as they are: URLs unchanged, no scratch server unless one is named", async () => {
    const runtime = new ExternalRuntime({ admin: adminUrl, services: { "assessment-roll": ROLL } }, { logger: new RecordingLogger() });
    const live = await runtime.start(new AbortController().signal);
    expect(live.runtime).toBe("external");
    expect(live.instances.get("admin")!.adminUrl).toBe(adminUrl);
    expect(live.servicesRunning).toBe(false);
    expect([...live.credentials!.keys()]).toEqual(["assessment-roll"]);
    expect(await live.instances.get("admin")!.scratchAdminUrl()).toBeUndefined();
    // The single admin URL is the one instance; the per-service URL is that service's credential, tried as given.
    expect([...live.instances.keys()]).toEqual(["admin"]);
    const [roll] = live.credentials!.get("assessment-roll")!;
    expect(roll).toMatchObject({ service: "assessment-roll", form: "mapping", user: "assessment_roll", host: "roll-db.example", database: "assessment_roll" });
    expect(live.reach(roll!)).toBe(ROLL);
    await runtime.stop();
  });

  it("read-only by default: refuses a scratch server that is the server under test, even named another way", async () => {
    // localhost instead of 127.0.0.1, another database: another URL, the same server.
    const sameServer = adminUrl.replace("@127.0.0.1:", "@localhost:").replace(/\/postgres$/, "/template1");
    expect(sameServer).not.toBe(adminUrl);
    const live = await new ExternalRuntime({ admin: adminUrl, services: {}, scratchAdmin: sameServer }, { logger: new RecordingLogger() }).start(new AbortController().signal);
    const refusal = (await live.instances.get("admin")!.scratchAdminUrl().catch((error: unknown) => error)) as EnvironmentError;
    expect(refusal).toBeInstanceOf(EnvironmentError);
    expect(refusal.message).toBe(
      "the scratch server (scratchAdmin, CIVIC_SCRATCH_ADMIN_URL) is a server under test, and the external runtime is read-only: name a separate server, or set readOnly: false in the external config to let the migrations check create and drop its scratch databases there",
    );
  });

  it("read-write only when the config says readOnly: false: the server under test may then be the scratch server, and stands in for a missing one", async () => {
    const named = await new ExternalRuntime({ admin: adminUrl, services: {}, readOnly: false, scratchAdmin: adminUrl }, { logger: new RecordingLogger() }).start(new AbortController().signal);
    expect(await named.instances.get("admin")!.scratchAdminUrl()).toBe(adminUrl);
    const standIn = await new ExternalRuntime({ admin: adminUrl, services: {}, readOnly: false }, { logger: new RecordingLogger() }).start(new AbortController().signal);
    expect(await standIn.instances.get("admin")!.scratchAdminUrl()).toBe(adminUrl);
  });

  it("names each configured instance; a compose credential is reached only on the instance its host names by compose name", async () => {
    const declaredAt = () => ({ file: "products/mini/docker-compose.yml", line: 7 });
    const runtime = new ExternalRuntime(
      { instances: { postgres: adminUrl }, services: {} },
      { logger: new RecordingLogger(), product: { instanceNames: ["postgres"], declaredAt } },
    );
    const live = await runtime.start(new AbortController().signal);
    const server = new URL(adminUrl);
    expect([...live.instances.values()].map((instance) => [instance.name, instance.host, instance.port])).toEqual([["postgres", server.hostname, Number(server.port)]]);
    const bound = { service: "s", form: "url" as const, user: "s", password: "pw-s-1234", host: "postgres", port: 5432, database: "s", fields: {}, source: { variable: "DATABASE_URL", file: "f", line: 1 }, instance: "postgres" };
    expect(live.reach(bound)).toBe(`postgresql://s:pw-s-1234@${server.hostname}:${server.port}/s`);
    expect(live.reach({ ...bound, instance: undefined })).toBeUndefined();
    // With the product's only instance named, a single `admin` URL takes its name.
    const single = await new ExternalRuntime({ admin: adminUrl, services: {} }, { logger: new RecordingLogger(), product: { instanceNames: ["db"], declaredAt } }).start(new AbortController().signal);
    expect([...single.instances.keys()]).toEqual(["db"]);
  });

  it("fails to start with an EnvironmentError when the admin server does not answer, without printing its password", async () => {
    const port = await findFreePort();
    const runtime = new ExternalRuntime({ admin: `postgresql://admin:do-not-print-me@127.0.0.1:${port}/postgres`, services: {} }, { logger: new RecordingLogger(), connectTimeoutMs: 2_000 });
    const error = (await runtime.start(new AbortController().signal).catch((failure: unknown) => failure)) as EnvironmentError;
    expect(error).toBeInstanceOf(EnvironmentError);
    expect(error.message).toMatch(new RegExp(`^the external admin server postgresql://admin:\\*\\*\\*@127\\.0\\.0\\.1:${port}/postgres does not answer: .*ECONNREFUSED`));
    expect(error.message).not.toContain("do-not-print-me");
  });
});

/** What the server holds: its cluster-wide catalog and every connectable database's, by name. */
async function serverFingerprint(adminUrl: string): Promise<Record<string, Fingerprint>> {
  const admin = await connect(adminUrl);
  try {
    const fingerprints: Record<string, Fingerprint> = { "(cluster)": await fingerprintCluster(admin) };
    const { rows } = await admin.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname");
    for (const { datname } of rows) {
      const client = await connect(adminUrl, { database: datname });
      try {
        fingerprints[datname] = await fingerprintDatabase(client);
      } finally {
        await client.end();
      }
    }
    return fingerprints;
  } finally {
    await admin.end();
  }
}

describe("a whole run on the external runtime", { timeout: 180_000 }, () => {
  let underTest: LiveProduct;
  let scratchServer: EmbeddedRuntime;
  let scratchAdmin: string;
  let root: string;

  beforeAll(async () => {
    underTest = await startLiveProduct(fixtureProduct("property-tax"), fixture("property-tax"));
    root = await mkdtemp(join(tmpdir(), "civic-external-run-"));
    const productDir = join(root, "products", "scratch");
    await mkdir(productDir, { recursive: true });
    await writeFile(join(productDir, "docker-compose.yml"), "services:\n  postgres:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}\n");
    const env = { PATH: process.env.PATH };
    const product: Product = { name: "scratch", dir: productDir, repoRoot: root, registry: { path: "", file: "", services: [], source: "typescript" }, compose: await loadCompose(productDir, root, env) };
    scratchServer = new EmbeddedRuntime({ product, env, logger: new RecordingLogger() });
    scratchAdmin = adminUrlOf(await scratchServer.start(new AbortController().signal));
  }, 180_000);

  afterAll(async () => {
    await underTest?.[Symbol.asyncDispose]();
    await scratchServer?.stop();
    await rm(root, { recursive: true, force: true });
  });

  /** `check --runtime external` of the fixture against the running server, its URLs given as CIVIC_* variables. */
  async function checkExternal(extra: { scratchAdmin?: string; externalConfig?: string }): Promise<Report> {
    const env: Record<string, string | undefined> = { PATH: process.env.PATH, CIVIC_ADMIN_URL: adminUrlOf(underTest.live) };
    for (const service of underTest.product.registry.services) env[`CIVIC_DATABASE_URL_${envKeyOf(service.key)}`] = await reachService(underTest, service.key);
    if (extra.scratchAdmin) env.CIVIC_SCRATCH_ADMIN_URL = extra.scratchAdmin;
    const { report } = await runCheck(
      {
        productPath: fixtureProduct("property-tax"),
        runtime: "external",
        only: ["own-database", "isolation", "migrations"],
        skip: [],
        outputs: [],
        ...(extra.externalConfig && { externalConfig: extra.externalConfig }),
        commandTimeoutMs: 60_000,
        concurrency: 4,
        verbose: false,
        allowOutsideLinks: false,
        cwd: root,
        env,
      },
      { logger: new RecordingLogger(), signal: new AbortController().signal },
    );
    return report;
  }

  const statuses = (report: Report) => report.checks.map((check) => [check.id, check.status, check.reason]);

  it("read-only: creates and alters nothing on the server under test; migrations go to the separate scratch server and leave nothing there", async () => {
    const before = await serverFingerprint(adminUrlOf(underTest.live));
    const scratchBefore = await serverFingerprint(scratchAdmin);
    const report = await checkExternal({ scratchAdmin });
    expect(statuses(report)).toEqual([
      ["own-database", "pass", undefined],
      ["isolation", "pass", undefined],
      ["migrations", "pass", undefined],
    ]);
    expect(await serverFingerprint(adminUrlOf(underTest.live))).toEqual(before);
    expect(await serverFingerprint(scratchAdmin)).toEqual(scratchBefore);
  });

  it("read-only: a scratch server that is the server under test makes migrations an error, and nothing is touched", async () => {
    const before = await serverFingerprint(adminUrlOf(underTest.live));
    const report = await checkExternal({ scratchAdmin: adminUrlOf(underTest.live).replace("@127.0.0.1:", "@localhost:") });
    expect(statuses(report)).toEqual([
      ["own-database", "pass", undefined],
      ["isolation", "pass", undefined],
      ["migrations", "error", expect.stringMatching(/^the scratch server \(scratchAdmin, CIVIC_SCRATCH_ADMIN_URL\) is a server under test, and the external runtime is read-only/)],
    ]);
    expect(await serverFingerprint(adminUrlOf(underTest.live))).toEqual(before);
  });

  it("readOnly: false in the config: the migrations check runs its scratch databases on the server under test", async () => {
    const config = join(root, "external.yaml");
    await writeFile(config, "readOnly: false\n");
    const report = await checkExternal({ externalConfig: config });
    expect(statuses(report)).toEqual([
      ["own-database", "pass", undefined],
      ["isolation", "pass", undefined],
      ["migrations", "pass", undefined],
    ]);
  });
});
