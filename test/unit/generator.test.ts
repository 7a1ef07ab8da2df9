import { execa } from "execa";
import { chmod, mkdtemp, readFile, rm, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { driftCheck } from "../../src/checks/drift/index.js";
import { UsageError } from "../../src/core/errors.js";
import { RecordingLogger } from "../../src/core/logger.js";
import { generateProduct } from "../../src/generator/generate-command.js";
import { renderInfra } from "../../src/generator/render-infra.js";
import { loadRegistry } from "../../src/registry/load-registry.js";
import type { Registry, Service } from "../../src/registry/model.js";
import { copyFixture, fixture, fixtureProduct } from "../helpers/fixtures.js";

const STATEFUL_DATABASES = [
  "auth_gateway",
  "notification_engine",
  "audit_logging",
  "billing_invoicing",
  "assessment_roll",
  "tax_billing_instalment",
  "tax_levy_rate",
  "payment_processing",
  "tax_certificates",
  "tax_sale_proceedings",
];

async function fixtureRegistry(): Promise<Registry> {
  return loadRegistry(fixtureProduct("property-tax"), fixture("property-tax"));
}

/** A registry built by hand: one entry per partial, each on its own line. */
function handRegistry(...entries: Partial<Service>[]): Registry {
  return {
    path: "/repo/products/p/infra/service-registry.ts",
    file: "products/p/infra/service-registry.ts",
    services: entries.map((entry, index) => ({
      key: `svc-${index}`,
      hostname: `svc-${index}`,
      port: 4000 + index,
      database: `svc_${index}`,
      dockerfile: `modules/svc-${index}/Dockerfile`,
      routes: [],
      layer: "domain",
      label: `Service ${index}`,
      line: 10 + index * 10,
      fieldLines: { database: 12 + index * 10, hostname: 11 + index * 10 },
      ...entry,
    })),
    source: "typescript",
  };
}

function rendered(registry: Registry, path: string): string {
  const text = renderInfra(registry, "property-tax").get(path);
  if (text === undefined) throw new Error(`${path} not rendered`);
  return text;
}

describe("renderInfra: init-databases.sql", () => {
  it("gives each stateful service its own least-privilege login role owning its own database", async () => {
    const sql = rendered(await fixtureRegistry(), "infra/init-databases.sql");
    expect(sql.match(/^CREATE ROLE /gm)).toHaveLength(10);
    expect(sql.match(/^CREATE DATABASE /gm)).toHaveLength(10);
    for (const db of STATEFUL_DATABASES) {
      const env = `${db.toUpperCase()}_DB_PASSWORD`;
      expect(sql).toContain(`\\getenv ${db}_password ${env}\n`);
      expect(sql).toContain(`SELECT pg_temp.require_password('${env}', :'${db}_password');\n`);
      expect(sql).toContain(
        `CREATE ROLE ${db} LOGIN PASSWORD :'${db}_password'\n  NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;\n`,
      );
      expect(sql).toContain(`CREATE DATABASE ${db} OWNER ${db};\n`);
      expect(sql).toContain(`REVOKE ALL ON DATABASE ${db} FROM PUBLIC;\n`);
    }
    expect(sql).not.toMatch(/api_gateway/);
    expect(sql).not.toMatch(/GRANT/);
  });

  it("closes the maintenance databases and POSTGRES_DB to PUBLIC and says it is generated", async () => {
    const sql = rendered(await fixtureRegistry(), "infra/init-databases.sql");
    expect(sql).toContain("REVOKE CONNECT, TEMPORARY ON DATABASE postgres FROM PUBLIC;");
    expect(sql).toContain("REVOKE CONNECT, TEMPORARY ON DATABASE template1 FROM PUBLIC;");
    expect(sql).toContain("EXECUTE format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());");
    expect(sql.split("\n")[1]).toBe("-- GENERATED from products/property-tax/infra/service-registry.ts — do not edit by hand;");
  });

  it("quotes a database name that is a reserved word, and only where SQL needs it", () => {
    const sql = rendered(handRegistry({ database: "user" }), "infra/init-databases.sql");
    expect(sql).toContain(`CREATE ROLE "user" LOGIN PASSWORD :'user_password'`);
    expect(sql).toContain(`CREATE DATABASE "user" OWNER "user";`);
    expect(sql).toContain(`REVOKE ALL ON DATABASE "user" FROM PUBLIC;`);
    const compose = rendered(handRegistry({ database: "user" }), "docker-compose.yml");
    expect(compose).toContain("DATABASE_URL: postgresql://user:${USER_DB_PASSWORD}@postgres:5432/user");
  });

  it.each([
    ["x; DROP DATABASE y", "is not a plain PostgreSQL identifier"],
    ["Auth_Gateway", "is not a plain PostgreSQL identifier"],
    ['a"b', "is not a plain PostgreSQL identifier"],
    ["postgres", "reserves for itself"],
    ["pg_stats", "reserves for itself"],
    ["a".repeat(64), "longer than 63 bytes"],
  ])("refuses to render the unsafe database name %j, naming the registry line", (database, reason) => {
    const registry = handRegistry({}, { database });
    let error: unknown;
    try {
      renderInfra(registry, "p");
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).location).toEqual({ file: "products/p/infra/service-registry.ts", line: 22 });
    expect((error as UsageError).message).toContain(reason);
  });

  it("refuses a hostname that is not a compose service name and an extraEnv that sets DATABASE_URL", () => {
    expect(() => renderInfra(handRegistry({ hostname: "bad_host: x" }), "p")).toThrow(/hostname .* is not a compose service name/);
    expect(() => renderInfra(handRegistry({ extraEnv: { DATABASE_URL: "postgresql://x@y/z" } }), "p")).toThrow(/sets DATABASE_URL/);
    expect(() => renderInfra(handRegistry({ dependsOn: ["nobody"] }), "p")).toThrow(/names 'nobody'/);
  });

  it("is deterministic", async () => {
    const registry = await fixtureRegistry();
    expect(renderInfra(registry, "property-tax")).toEqual(renderInfra(registry, "property-tax"));
  });
});

describe("renderInfra: docker-compose.yml and start-dev.sh", () => {
  it("renders postgres, redis, then every registry service in order, each with only its own DATABASE_URL", async () => {
    const registry = await fixtureRegistry();
    const compose = parse(rendered(registry, "docker-compose.yml")) as {
      services: Record<string, Record<string, any>>;
      volumes: Record<string, unknown>;
    };
    expect(Object.keys(compose.services)).toEqual(["postgres", "redis", ...registry.services.map((s) => s.hostname)]);
    const postgres = compose.services.postgres!;
    expect(postgres.image).toBe("postgres:16-alpine");
    expect(postgres.ports).toEqual(["5433:5432"]);
    expect(postgres.volumes).toContain("./infra/init-databases.sql:/docker-entrypoint-initdb.d/01-init-databases.sql:ro");
    expect(postgres.healthcheck.test[1]).toContain("pg_isready -h 127.0.0.1 -U ${POSTGRES_USER:-civic} -d ${POSTGRES_DB:-civic_platform}");
    for (const db of STATEFUL_DATABASES) {
      expect(postgres.environment[`${db.toUpperCase()}_DB_PASSWORD`]).toBe(`\${${db.toUpperCase()}_DB_PASSWORD}`);
    }
    expect(compose.volumes).toHaveProperty("postgres_data");

    const authGateway = compose.services["auth-gateway"]!;
    expect(authGateway.build).toEqual({ context: "../..", dockerfile: "modules/platform/auth-gateway/Dockerfile" });
    expect(authGateway.environment).toEqual({
      PORT: 4100,
      NODE_ENV: "development",
      DATABASE_URL: "postgresql://auth_gateway:${AUTH_GATEWAY_DB_PASSWORD}@postgres:5432/auth_gateway",
      REDIS_URL: "redis://redis:6379",
    });
    expect(authGateway.depends_on).toEqual({ postgres: { condition: "service_healthy" }, redis: { condition: "service_healthy" } });
    expect(authGateway.healthcheck.test).toEqual([
      "CMD",
      "node",
      "-e",
      "fetch('http://127.0.0.1:4100/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))",
    ]);

    const apiGateway = compose.services["api-gateway"]!;
    expect(apiGateway.environment).toEqual({
      PORT: 4110,
      NODE_ENV: "development",
      AUTH_GATEWAY_URL: "http://auth-gateway:4100",
      ASSESSMENT_ROLL_URL: "http://assessment-roll:4104",
      TAX_BILLING_URL: "http://tax-billing-instalment:4103",
    });
    expect(Object.keys(apiGateway.depends_on)).toEqual(["auth-gateway", "assessment-roll", "tax-billing-instalment"]);
    for (const service of registry.services) expect(compose.services[service.hostname]).not.toHaveProperty("ports");
  });

  it("renders a start-dev.sh bash accepts, migrating each stateful service as its own role", async () => {
    const script = rendered(await fixtureRegistry(), "start-dev.sh");
    expect(script.split("\n").slice(0, 3)).toEqual([
      "#!/usr/bin/env bash",
      "# ─── property-tax — development databases ──────────────────────────────",
      "# GENERATED from products/property-tax/infra/service-registry.ts — do not edit by hand;",
    ]);
    expect(script).toContain("set -euo pipefail\n");
    expect(script.match(/^migrate_and_seed \S+ \S+ \\$/gm)).toHaveLength(10);
    expect(script).toContain(
      "migrate_and_seed assessment-roll modules/domain/revenue/assessment-roll \\\n" +
        '  "postgresql://assessment_roll:${ASSESSMENT_ROLL_DB_PASSWORD:?ASSESSMENT_ROLL_DB_PASSWORD is not set (see .env.example)}@localhost:5433/assessment_roll"',
    );
    expect(script).not.toContain("api-gateway");
    await execa("bash", ["-n"], { input: script });
  });
});

describe("the fixture products' generators", () => {
  it("property-tax's own infra/generate.ts writes byte for byte what renderInfra renders", async () => {
    await using copy = await copyFixture("property-tax");
    for (const path of ["infra/init-databases.sql", "docker-compose.yml", "start-dev.sh"]) await unlink(`${copy.product}/${path}`);
    const register = fileURLToPath(import.meta.resolve("jiti/register"));
    await execa(process.execPath, ["--import", register, "infra/generate.ts"], { cwd: copy.product });
    const registry = await loadRegistry(copy.product, copy.root);
    for (const [path, text] of renderInfra(registry, "property-tax")) {
      expect(await readFile(`${copy.product}/${path}`, "utf8")).toBe(text);
      expect(await readFile(`${fixtureProduct("property-tax")}/${path}`, "utf8")).toBe(text);
    }
  });
});

describe("generateProduct", () => {
  it("writes the rendered files into a product that lacks them, and the result passes drift", async () => {
    await using copy = await copyFixture("property-tax");
    for (const path of ["infra/generate.ts", "infra/init-databases.sql", "docker-compose.yml", "start-dev.sh"]) {
      await unlink(`${copy.product}/${path}`);
    }
    const first = await generateProduct(copy.product, copy.root, { write: true });
    expect(first.files.map((f) => [f.path, f.changed])).toEqual([
      ["infra/init-databases.sql", true],
      ["docker-compose.yml", true],
      ["start-dev.sh", true],
    ]);
    for (const file of first.files) expect(await readFile(`${copy.product}/${file.path}`, "utf8")).toBe(file.content);

    const second = await generateProduct(copy.product, copy.root, { write: false });
    expect(second.files.map((f) => f.changed)).toEqual([false, false, false]);

    const output = await driftCheck.run({
      product: { name: "property-tax", dir: copy.product, repoRoot: copy.root, registry: await loadRegistry(copy.product, copy.root) },
      options: { commandTimeoutMs: 20_000, concurrency: 2, env: {} },
      logger: new RecordingLogger(),
      signal: new AbortController().signal,
    });
    expect(output.findings).toEqual([]);
  });

  it("without write, reports what differs and leaves the product untouched", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.edit("products/property-tax/docker-compose.yml", (text) => `${text}# hand edit\n`);
    const before = await copy.read("products/property-tax/docker-compose.yml");
    const result = await generateProduct(copy.product, copy.root, { write: false });
    expect(result.files.map((f) => [f.path, f.changed])).toEqual([
      ["infra/init-databases.sql", false],
      ["docker-compose.yml", true],
      ["start-dev.sh", false],
    ]);
    expect(await copy.read("products/property-tax/docker-compose.yml")).toBe(before);
  });

  it.runIf(process.getuid?.() === 0)("as root, evaluates the registry module as the unprivileged user, with none of the caller's environment", async () => {
    await using copy = await copyFixture("property-tax");
    const dumps = await mkdtemp(join(tmpdir(), "civic-generate-dump-"));
    try {
      await chmod(dumps, 0o777);
      const dump = join(dumps, "registry.json");
      await copy.edit("products/property-tax/infra/service-registry.ts", (text) =>
        [
          'import { writeFileSync as hostileDump } from "node:fs";',
          `hostileDump(${JSON.stringify(dump)}, JSON.stringify({ uid: process.getuid?.(), token: process.env.GITHUB_TOKEN ?? null }));`,
          text,
        ].join("\n"),
      );
      await generateProduct(copy.product, copy.root, { write: false, env: { PATH: process.env.PATH, GITHUB_TOKEN: "ghs_canary" } });
      const seen = JSON.parse(await readFile(dump, "utf8")) as { uid: number; token: string | null };
      expect(seen.token).toBeNull();
      expect(seen.uid).not.toBe(0);
    } finally {
      await rm(dumps, { recursive: true, force: true });
    }
  });
});
