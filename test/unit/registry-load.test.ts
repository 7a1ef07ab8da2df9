import { rm } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/core/errors.js";
import { loadRegistry } from "../../src/registry/load-registry.js";
import { copyFixture, fixture, fixtureProduct, type FixtureCopy } from "../helpers/fixtures.js";

const REGISTRY = "products/property-tax/infra/service-registry.ts";

function lineOf(text: string, marker: string): number {
  const lines = text.split("\n");
  const matches = lines.flatMap((line, index) => (line.includes(marker) ? [index + 1] : []));
  if (matches.length !== 1) throw new Error(`'${marker}' found on ${matches.length} lines`);
  return matches[0]!;
}

/** Loads the copy and returns the UsageError it must throw. */
async function loadError(copy: FixtureCopy): Promise<UsageError> {
  const error = await loadRegistry(copy.product, copy.root).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(UsageError);
  return error as UsageError;
}

function registryPath(copy: FixtureCopy): string {
  return join(copy.product, "infra/service-registry.ts");
}

describe("loadRegistry", () => {
  it("loads the 11 fixture services in declaration order with the line of every entry and field", async () => {
    const registry = await loadRegistry(fixtureProduct("property-tax"), fixture("property-tax"));
    expect(registry.file).toBe(REGISTRY);
    expect(registry.path).toBe(join(fixtureProduct("property-tax"), "infra/service-registry.ts"));
    expect(registry.services.map((s) => s.key)).toEqual([
      "auth-gateway",
      "notification-engine",
      "audit-logging",
      "billing-invoicing",
      "api-gateway",
      "assessment-roll",
      "tax-billing-instalment",
      "tax-levy-rate",
      "payment-processing",
      "tax-certificates",
      "tax-sale-proceedings",
    ]);
    const gateway = registry.services.find((s) => s.key === "api-gateway")!;
    expect(gateway).toMatchObject({ hostname: "api-gateway", port: 4110, database: "", layer: "shared", line: 83 });
    expect(gateway.fieldLines).toEqual({
      hostname: 84,
      port: 85,
      database: 86,
      dockerfile: 87,
      layer: 88,
      label: 89,
      routes: 90,
      dependsOn: 91,
      extraEnv: 92,
    });
    expect(gateway.dependsOn).toEqual(["auth-gateway", "assessment-roll", "tax-billing-instalment"]);
  });

  it("re-reads a registry edited after a first load in the same process", async () => {
    await using copy = await copyFixture("property-tax");
    expect((await loadRegistry(copy.product, copy.root)).services[0]!.port).toBe(4100);
    await copy.edit(REGISTRY, (text) => text.replace("port: 4100,", "port: 4200,"));
    expect((await loadRegistry(copy.product, copy.root)).services[0]!.port).toBe(4200);
  });

  it("evaluates a registry that imports a sibling TypeScript file, and accepts a default export", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.write("products/property-tax/infra/ports.ts", "export const AUTH_PORT = 4100 as const;\n");
    await copy.edit(REGISTRY, (text) =>
      `import { AUTH_PORT } from "./ports.js";\n` +
      text.replace("port: 4100,", "port: AUTH_PORT,").replace("export { serviceRegistry };", "export default serviceRegistry;"),
    );
    const registry = await loadRegistry(copy.product, copy.root);
    expect(registry.services[0]).toMatchObject({ key: "auth-gateway", port: 4100, line: 41 });
  });

  it("throws a UsageError naming the file when the registry is missing", async () => {
    await using copy = await copyFixture("property-tax");
    await rm(registryPath(copy));
    const error = await loadError(copy);
    expect(error.location).toEqual({ file: registryPath(copy) });
    expect(error.message).toContain("Service registry not found");
  });

  it("throws a UsageError with line and column on a syntax error: Babel's, the evaluation started beside it is stopped", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.edit(REGISTRY, (text) => text.replace('hostname: "audit-logging",', 'hostname: "audit-logging"'));
    const line = lineOf(await copy.read(REGISTRY), 'port: 4300,');
    const error = await loadError(copy);
    expect(error.location).toEqual({ file: registryPath(copy), line, column: 9 });
    expect(error.message).toMatch(/^Syntax error: /);
  });

  it("throws a UsageError at the entry's line when a required field is missing", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.edit(REGISTRY, (text) => text.replace('        database: "notification_engine",\n', ""));
    const line = lineOf(await copy.read(REGISTRY), '"notification-engine": {');
    const error = await loadError(copy);
    expect(error.location).toEqual({ file: registryPath(copy), line });
    expect(error.message).toBe(`Service 'notification-engine' is missing the required field 'database' (a string ("" for a stateless service))`);
  });

  it("loads an entry without a field of the seed's shape (port): the registry check's registry/missing-field reports it", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.edit(REGISTRY, (text) => text.replace("        port: 4101,\n", ""));
    const registry = await loadRegistry(copy.product, copy.root);
    expect(registry.source).toBe("typescript");
    expect(registry.services.find((service) => service.key === "notification-engine")!.port).toBeUndefined();
  });

  it("throws a UsageError at the field's line when a field has the wrong type", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.edit(REGISTRY, (text) => text.replace("port: 4101,", 'port: "4101",'));
    const line = lineOf(await copy.read(REGISTRY), 'port: "4101",');
    const error = await loadError(copy);
    expect(error.location).toEqual({ file: registryPath(copy), line });
    expect(error.message).toBe(`Field 'port' of service 'notification-engine' must be a number, not the string "4101"`);
  });

  it("throws a UsageError listing the expected layers for an unknown layer", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.edit(REGISTRY, (text) => text.replace('layer: "platform" as const,\n        label: "Audit Logging"', 'layer: "infra" as const,\n        label: "Audit Logging"'));
    const line = lineOf(await copy.read(REGISTRY), 'layer: "infra"');
    const error = await loadError(copy);
    expect(error.location).toEqual({ file: registryPath(copy), line });
    expect(error.message).toBe("Unknown layer 'infra' for service 'audit-logging'. Expected one of platform, shared, domain");
  });

  it("throws a UsageError with a did-you-mean for an unknown field", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.edit(REGISTRY, (text) => text.replace('needsRedis: true,', 'needsRedis: true,\n        databse: "auth",'));
    const line = lineOf(await copy.read(REGISTRY), 'databse: "auth"');
    const error = await loadError(copy);
    expect(error.location).toEqual({ file: registryPath(copy), line });
    expect(error.message).toBe(
      "Unknown field 'databse' for service 'auth-gateway'. Expected one of hostname, port, database, dockerfile, routes, layer, label, extraEnv, dependsOn, needsRedis, instance, credentials, migrations (did you mean 'database'?)",
    );
  });

  it("reports every schema problem at once, sorted by line, the first as the location", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.edit(REGISTRY, (text) =>
      text
        .replace("port: 4100,", "port: true,")
        .replace('routes: ["/api/v1/tax-sales", "/api/v1/redemptions"]', 'routes: ["/api/v1/tax-sales", 7]'),
    );
    const text = await copy.read(REGISTRY);
    const first = lineOf(text, "port: true,");
    const second = lineOf(text, 'routes: ["/api/v1/tax-sales", 7]');
    const error = await loadError(copy);
    expect(error.location).toEqual({ file: registryPath(copy), line: first });
    expect(error.message.split("\n")).toEqual([
      "Field 'port' of service 'auth-gateway' must be a number, not boolean true",
      `${registryPath(copy)}:${second}: Field 'routes[1]' of service 'tax-sale-proceedings' must be a string, not number 7`,
    ]);
  });

  it("throws a UsageError at the declaration when serviceRegistry is not exported", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.edit(REGISTRY, (text) => text.replace("export { serviceRegistry };", ""));
    const line = lineOf(await copy.read(REGISTRY), "const serviceRegistry = {");
    const error = await loadError(copy);
    expect(error.location).toEqual({ file: registryPath(copy), line });
    expect(error.message).toContain("no `serviceRegistry` export");
    expect(error.message).toContain("declared but not exported");
  });

  it("throws a UsageError at the throwing line when the registry fails to evaluate", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.edit(REGISTRY, (text) => text.replace("export type ServiceKey", 'if (Date.now() > 0) throw new Error("registry exploded");\nexport type ServiceKey'));
    const line = lineOf(await copy.read(REGISTRY), "registry exploded");
    const error = await loadError(copy);
    expect(error.location).toMatchObject({ file: registryPath(copy), line });
    expect(error.message).toBe("The service registry failed to evaluate: registry exploded");
  });
});
