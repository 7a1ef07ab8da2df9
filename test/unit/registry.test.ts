import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { registryCheck } from "../../src/checks/registry/index.js";
import { RecordingLogger } from "../../src/core/logger.js";
import type { Finding } from "../../src/core/report-model.js";
import { loadProduct } from "../../src/product/load-product.js";
import { copyFixture, fixture, fixtureProduct, type FixtureCopy } from "../helpers/fixtures.js";

const REGISTRY = "products/property-tax/infra/service-registry.ts";

async function findingsOf(productDir: string, repoRoot: string): Promise<Finding[]> {
  const product = await loadProduct(productDir, repoRoot);
  const output = await registryCheck.run({
    product,
    options: { commandTimeoutMs: 10_000, concurrency: 2, env: {} },
    logger: new RecordingLogger(),
    signal: new AbortController().signal,
  });
  expect(output.skipped).toBeUndefined();
  return output.findings;
}

/** Edits the copy's registry and returns the 1-based line of `marker` in the edited text. */
async function editRegistry(copy: FixtureCopy, from: string, to: string, marker = to): Promise<number> {
  await copy.edit(REGISTRY, (text) => {
    if (text.split(from).length !== 2) throw new Error(`'${from}' is not unique in the registry`);
    return text.replace(from, to);
  });
  return lineOf(await copy.read(REGISTRY), marker);
}

function lineOf(text: string, marker: string): number {
  const lines = text.split("\n");
  const matches = lines.flatMap((line, index) => (line.includes(marker) ? [index + 1] : []));
  if (matches.length !== 1) throw new Error(`'${marker}' found on ${matches.length} lines`);
  return matches[0]!;
}

/** Only what a test asserts on, sorted so the order of rules does not matter. */
function summary(findings: readonly Finding[]) {
  return findings
    .map(({ rule, service, file, line }) => ({ rule, service, file, line }))
    .sort((a, b) => `${a.rule}${a.service}`.localeCompare(`${b.rule}${b.service}`));
}

describe("registry check", () => {
  it("passes the conformant property-tax fixture with no findings", async () => {
    const findings = await findingsOf(fixtureProduct("property-tax"), fixture("property-tax"));
    expect(findings).toEqual([]);
  });

  it("reports registry/missing-field at the entry when a field of the seed's shape is missing", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.edit(REGISTRY, (text) => text.replace("        port: 4101,\n", ""));
    const line = lineOf(await copy.read(REGISTRY), '"notification-engine": {');
    const findings = await findingsOf(copy.product, copy.root);
    expect(summary(findings)).toEqual([{ rule: "registry/missing-field", service: "notification-engine", file: REGISTRY, line }]);
    expect(findings[0]!.message).toContain("'port'");
  });

  it("reports registry/database-name when a database is not the snake_case of its key", async () => {
    await using copy = await copyFixture("property-tax");
    const line = await editRegistry(copy, 'database: "auth_gateway"', 'database: "auth_gw"');
    const findings = await findingsOf(copy.product, copy.root);
    expect(summary(findings)).toEqual([{ rule: "registry/database-name", service: "auth-gateway", file: REGISTRY, line }]);
    expect(findings[0]!.message).toContain("'auth_gateway'");
    expect(findings[0]!.fix).toContain('database: "auth_gateway"');
  });

  it("reports registry/hostname when a hostname differs from its key", async () => {
    await using copy = await copyFixture("property-tax");
    const line = await editRegistry(copy, 'hostname: "audit-logging"', 'hostname: "audit-log"');
    const findings = await findingsOf(copy.product, copy.root);
    expect(summary(findings)).toEqual([{ rule: "registry/hostname", service: "audit-logging", file: REGISTRY, line }]);
    expect(findings[0]!.severity).toBe("error");
  });

  it("reports registry/duplicate-database on the second service using a database", async () => {
    await using copy = await copyFixture("property-tax");
    const line = await editRegistry(copy, 'database: "tax_levy_rate"', 'database: "assessment_roll", // copied');
    const findings = await findingsOf(copy.product, copy.root);
    expect(summary(findings)).toEqual([
      { rule: "registry/database-name", service: "tax-levy-rate", file: REGISTRY, line },
      { rule: "registry/duplicate-database", service: "tax-levy-rate", file: REGISTRY, line },
    ]);
    expect(findings.find((f) => f.rule === "registry/duplicate-database")!.message).toContain("'assessment-roll'");
  });

  it("reports registry/duplicate-hostname on the second service using a hostname", async () => {
    await using copy = await copyFixture("property-tax");
    const line = await editRegistry(copy, 'hostname: "tax-levy-rate"', 'hostname: "assessment-roll", // copied');
    const findings = await findingsOf(copy.product, copy.root);
    expect(summary(findings)).toEqual([
      { rule: "registry/duplicate-hostname", service: "tax-levy-rate", file: REGISTRY, line },
      { rule: "registry/hostname", service: "tax-levy-rate", file: REGISTRY, line },
    ]);
  });

  it("reports registry/duplicate-port on the second service using a port", async () => {
    await using copy = await copyFixture("property-tax");
    const line = await editRegistry(copy, "port: 4105,", "port: 4104, // copied");
    const findings = await findingsOf(copy.product, copy.root);
    expect(summary(findings)).toEqual([{ rule: "registry/duplicate-port", service: "tax-levy-rate", file: REGISTRY, line }]);
    expect(findings[0]!.message).toBe("Service 'tax-levy-rate' uses port 4104, already used by 'assessment-roll'.");
  });

  it("reports registry/duplicate-route when two services claim the same route prefix", async () => {
    await using copy = await copyFixture("property-tax");
    const line = await editRegistry(copy, 'routes: ["/api/v1/levy-rates", "/api/v1/mill-rates"]', 'routes: ["/api/v1/levy-rates", "/api/v1/properties"]');
    const findings = await findingsOf(copy.product, copy.root);
    expect(summary(findings)).toEqual([{ rule: "registry/duplicate-route", service: "tax-levy-rate", file: REGISTRY, line }]);
  });

  it("reports a route with a trailing slash as registry/route-format, and as a duplicate of the same prefix without it", async () => {
    await using copy = await copyFixture("property-tax");
    const line = await editRegistry(copy, '"/api/v1/mill-rates"]', '"/api/v1/properties/"]');
    const findings = await findingsOf(copy.product, copy.root);
    expect(summary(findings)).toEqual([
      { rule: "registry/duplicate-route", service: "tax-levy-rate", file: REGISTRY, line },
      { rule: "registry/route-format", service: "tax-levy-rate", file: REGISTRY, line },
    ]);
  });

  it("reports registry/route-format for a route prefix that does not start with a slash", async () => {
    await using copy = await copyFixture("property-tax");
    const line = await editRegistry(copy, '"/api/v1/mill-rates"]', '"api/v1/mill-rates"]');
    const findings = await findingsOf(copy.product, copy.root);
    expect(summary(findings)).toEqual([{ rule: "registry/route-format", service: "tax-levy-rate", file: REGISTRY, line }]);
    expect(findings[0]!.fix).toContain('"/api/v1/mill-rates"');
  });

  it.each([["70000"], ["0"], ["4105.5"], ["-1"]])("reports registry/port-range for port %s", async (port) => {
    await using copy = await copyFixture("property-tax");
    const line = await editRegistry(copy, "port: 4105,", `port: ${port},`);
    const findings = await findingsOf(copy.product, copy.root);
    expect(summary(findings)).toEqual([{ rule: "registry/port-range", service: "tax-levy-rate", file: REGISTRY, line }]);
  });

  it("reports registry/unknown-dependency for a dependsOn key that is not in the registry", async () => {
    await using copy = await copyFixture("property-tax");
    const line = await editRegistry(copy, 'dependsOn: ["assessment-roll"],', 'dependsOn: ["assessment-rolls"],');
    const findings = await findingsOf(copy.product, copy.root);
    expect(summary(findings)).toEqual([{ rule: "registry/unknown-dependency", service: "tax-billing-instalment", file: REGISTRY, line }]);
    expect(findings[0]!.message).toBe("Service 'tax-billing-instalment' depends on 'assessment-rolls', which is not a registry key.");
  });

  it("reports registry/self-dependency for a service that depends on itself, and no cycle", async () => {
    await using copy = await copyFixture("property-tax");
    const line = await editRegistry(copy, 'label: "Tax Levy Rate",', 'label: "Tax Levy Rate",\n        dependsOn: ["tax-levy-rate"],', 'dependsOn: ["tax-levy-rate"]');
    const findings = await findingsOf(copy.product, copy.root);
    expect(summary(findings)).toEqual([{ rule: "registry/self-dependency", service: "tax-levy-rate", file: REGISTRY, line }]);
  });

  it("reports registry/dependency-cycle once, naming the cycle", async () => {
    await using copy = await copyFixture("property-tax");
    const labelLine = await editRegistry(copy, 'label: "Assessment Roll",', 'label: "Assessment Roll",\n        dependsOn: ["tax-billing-instalment"],', 'label: "Assessment Roll",');
    const line = labelLine + 1;
    const findings = await findingsOf(copy.product, copy.root);
    expect(summary(findings)).toEqual([{ rule: "registry/dependency-cycle", service: "assessment-roll", file: REGISTRY, line }]);
    expect(findings[0]!.message).toBe(
      "Services depend on each other in a cycle: assessment-roll → tax-billing-instalment → assessment-roll.",
    );
  });

  it("reports each distinct dependency cycle once when one edge closes two cycles", async () => {
    await using copy = await copyFixture("property-tax");
    await editRegistry(copy, 'label: "Assessment Roll",', 'label: "Assessment Roll",\n        dependsOn: ["tax-sale-proceedings"],', "tax-sale-proceedings\"],");
    const findings = await findingsOf(copy.product, copy.root);
    expect(findings.map((f) => [f.rule, f.service])).toEqual([
      ["registry/dependency-cycle", "assessment-roll"],
      ["registry/dependency-cycle", "assessment-roll"],
    ]);
    expect(findings.map((f) => f.message).sort()).toEqual([
      "Services depend on each other in a cycle: assessment-roll → tax-sale-proceedings → assessment-roll.",
      "Services depend on each other in a cycle: assessment-roll → tax-sale-proceedings → payment-processing → tax-billing-instalment → assessment-roll.",
    ]);
  });

  it("reports registry/stateless-with-schema when a stateless service's module has a Prisma schema", async () => {
    await using copy = await copyFixture("property-tax");
    await mkdir(join(copy.root, "modules/shared/api-gateway/prisma"), { recursive: true });
    await copy.write("modules/shared/api-gateway/prisma/schema.prisma", 'datasource db {\n  provider = "postgresql"\n  url      = env("DATABASE_URL")\n}\n');
    const line = lineOf(await copy.read(REGISTRY), 'database: "", //');
    const findings = await findingsOf(copy.product, copy.root);
    expect(summary(findings)).toEqual([{ rule: "registry/stateless-with-schema", service: "api-gateway", file: REGISTRY, line }]);
    expect(findings[0]!.message).toContain("modules/shared/api-gateway/prisma/schema.prisma");
  });

  it("reports registry/stateful-without-schema when a service owns a database but its module has no Prisma schema", async () => {
    await using copy = await copyFixture("property-tax");
    await rm(join(copy.root, "modules/domain/revenue/tax-levy-rate/prisma"), { recursive: true, force: true });
    const line = lineOf(await copy.read(REGISTRY), 'database: "tax_levy_rate"');
    const findings = await findingsOf(copy.product, copy.root);
    expect(summary(findings)).toEqual([{ rule: "registry/stateful-without-schema", service: "tax-levy-rate", file: REGISTRY, line }]);
  });

  it("reports registry/schema-url at the schema line when the datasource reads another variable", async () => {
    await using copy = await copyFixture("property-tax");
    const schema = "modules/domain/revenue/assessment-roll/prisma/schema.prisma";
    await copy.edit(schema, (text) => text.replace('env("DATABASE_URL")', 'env("ASSESSMENT_DB_URL")'));
    const line = lineOf(await copy.read(schema), 'env("ASSESSMENT_DB_URL")');
    const findings = await findingsOf(copy.product, copy.root);
    expect(summary(findings)).toEqual([{ rule: "registry/schema-url", service: "assessment-roll", file: schema, line }]);
  });

  it("reports registry/schema-url when the datasource URL is hard-coded", async () => {
    await using copy = await copyFixture("property-tax");
    const schema = "modules/platform/auth-gateway/prisma/schema.prisma";
    await copy.edit(schema, (text) => text.replace('env("DATABASE_URL")', '"postgresql://civic:civic@postgres:5432/assessment_roll"'));
    const line = lineOf(await copy.read(schema), "postgresql://civic");
    const findings = await findingsOf(copy.product, copy.root);
    expect(summary(findings)).toEqual([{ rule: "registry/schema-url", service: "auth-gateway", file: schema, line }]);
    expect(findings[0]!.message).toContain("hard-coded URL");
  });

  it("reports registry/schema-url at the prisma.config.ts line when a Prisma 7 config reads another variable", async () => {
    await using copy = await copyFixture("property-tax");
    const config = "modules/platform/audit-logging/prisma.config.ts";
    await copy.edit(config, (text) => text.replace('env("DATABASE_URL")', 'env("AUDIT_DATABASE_URL")'));
    const line = lineOf(await copy.read(config), 'env("AUDIT_DATABASE_URL")');
    const findings = await findingsOf(copy.product, copy.root);
    expect(summary(findings)).toEqual([{ rule: "registry/schema-url", service: "audit-logging", file: config, line }]);
    expect(findings[0]!.fix).toContain("prisma.config.ts");
  });

  it("reports only registry/dockerfile-missing when a stateful service's whole module folder is missing", async () => {
    await using copy = await copyFixture("property-tax");
    const line = await editRegistry(copy, '"modules/domain/revenue/tax-levy-rate/Dockerfile"', '"modules/domain/revenue/tax-levy/Dockerfile"');
    const findings = await findingsOf(copy.product, copy.root);
    expect(summary(findings)).toEqual([{ rule: "registry/dockerfile-missing", service: "tax-levy-rate", file: REGISTRY, line }]);
  });

  it("reports registry/unsafe-identifier for a database name that would inject SQL, and never echoes it as SQL", async () => {
    await using copy = await copyFixture("property-tax");
    const line = await editRegistry(copy, 'database: "tax_levy_rate"', 'database: "x; DROP DATABASE y"');
    const findings = await findingsOf(copy.product, copy.root);
    expect(summary(findings)).toEqual([
      { rule: "registry/database-name", service: "tax-levy-rate", file: REGISTRY, line },
      { rule: "registry/unsafe-identifier", service: "tax-levy-rate", file: REGISTRY, line },
    ]);
    expect(findings.find((f) => f.rule === "registry/unsafe-identifier")!.message).toBe(
      'Database name "x; DROP DATABASE y" of service \'tax-levy-rate\' is not a plain PostgreSQL identifier (lower-case letters, digits and underscores, not starting with a digit); it cannot be put in SQL unquoted.',
    );
  });

  it.each([
    ["user", "is a reserved word in PostgreSQL"],
    ["order", "is a reserved word in PostgreSQL"],
    ["postgres", "is a database every PostgreSQL server already has"],
    ["a".repeat(64), "is longer than 63 bytes"],
    ["Tax_Levy_Rate", "is not a plain PostgreSQL identifier"],
  ])("reports registry/unsafe-identifier for database %s", async (database, reason) => {
    await using copy = await copyFixture("property-tax");
    const line = await editRegistry(copy, 'database: "tax_levy_rate"', `database: "${database}"`);
    const findings = await findingsOf(copy.product, copy.root);
    const unsafe = findings.filter((f) => f.rule === "registry/unsafe-identifier");
    expect(summary(unsafe)).toEqual([{ rule: "registry/unsafe-identifier", service: "tax-levy-rate", file: REGISTRY, line }]);
    expect(unsafe[0]!.message).toContain(reason);
  });

  it("reports registry/unsafe-identifier for a hostname that is not a DNS label", async () => {
    await using copy = await copyFixture("property-tax");
    const line = await editRegistry(copy, 'hostname: "tax-levy-rate"', 'hostname: "tax levy rate"');
    const findings = await findingsOf(copy.product, copy.root);
    expect(summary(findings)).toEqual([
      { rule: "registry/hostname", service: "tax-levy-rate", file: REGISTRY, line },
      { rule: "registry/unsafe-identifier", service: "tax-levy-rate", file: REGISTRY, line },
    ]);
  });

  it("reports registry/dockerfile-missing when the Dockerfile does not exist", async () => {
    await using copy = await copyFixture("property-tax");
    const line = await editRegistry(copy, '"modules/domain/revenue/tax-levy-rate/Dockerfile"', '"modules/domain/revenue/tax-levy-rate/Dockerfile.prod"');
    const findings = await findingsOf(copy.product, copy.root);
    expect(summary(findings)).toEqual([{ rule: "registry/dockerfile-missing", service: "tax-levy-rate", file: REGISTRY, line }]);
  });

  it("reports registry/dockerfile-missing, and nothing about the module, when the Dockerfile points outside the repository", async () => {
    await using copy = await copyFixture("property-tax");
    const line = await editRegistry(copy, '"modules/domain/revenue/tax-levy-rate/Dockerfile"', '"../elsewhere/tax-levy-rate/Dockerfile"');
    const findings = await findingsOf(copy.product, copy.root);
    expect(summary(findings)).toEqual([{ rule: "registry/dockerfile-missing", service: "tax-levy-rate", file: REGISTRY, line }]);
    expect(findings[0]!.message).toContain("outside the repository");
  });
});
