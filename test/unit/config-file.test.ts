/**
 * `civic-conformance.yaml` / `.json`: a registry source of its own (services with a line for every
 * field), and the configuration (profile, rule levels, suppressions) beside any registry. Bad input
 * is a UsageError naming the file and line. The published JSON Schema is generated from the same
 * zod schema and accepts what the loader accepts.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import type AjvModule from "ajv";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { renderConfigSchema, updateConfigSchema } from "../../scripts/config-schema.js";
import { UsageError } from "../../src/core/errors.js";
import { loadConfigFile } from "../../src/registry/load-config-file.js";
import { loadProduct } from "../../src/product/load-product.js";
import { profileOf } from "../../src/product/product.js";
import { copyFixture } from "../helpers/fixtures.js";

// ajv is CommonJS with its class on `default`: required, as test/postgres/cli.test.ts does.
const Ajv = createRequire(import.meta.url)("ajv") as typeof AjvModule.default;

const EXAMPLE = `# yaml-language-server: $schema=https://raw.githubusercontent.com/civic/db-per-service-check/v1/schema/config.schema.json
version: 1
profile: portable
services:
  auth:
    database: auth_db
    dockerfile: apps/auth/Dockerfile
    credentials:
      url: DATABASE_URL
    migrations:
      tool: prisma
      dir: apps/auth/prisma/migrations
  api-gateway:
    hostname: gateway
    dependsOn: [auth]
rules:
  registry/database-name: off
  compose/superuser-database-url: error
suppressions:
  - rule: isolation/superuser
    service: auth
    reason: one shared superuser until PLAT-12 lands
    expires: 2031-01-31
`;

async function tempRepo(files: Record<string, string>): Promise<{ root: string } & AsyncDisposable> {
  const root = await mkdtemp(join(tmpdir(), "civic-config-"));
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(root, path, ".."), { recursive: true });
    await writeFile(join(root, path), text);
  }
  return { root, [Symbol.asyncDispose]: () => rm(root, { recursive: true, force: true }) };
}

async function loadError(path: string, root: string): Promise<UsageError> {
  const error = await loadConfigFile(path, root).then(() => undefined, (thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(UsageError);
  return error as UsageError;
}

describe("civic-conformance.yaml", () => {
  it("reads the services as a yaml registry: hostname defaults to the key, database to stateless, paths from its folder", async () => {
    await using repo = await tempRepo({ "deploy/civic-conformance.yaml": EXAMPLE });
    const loaded = await loadConfigFile(join(repo.root, "deploy/civic-conformance.yaml"), repo.root);
    const registry = loaded.registry!;
    expect(registry.source).toBe("yaml");
    expect(registry.file).toBe("deploy/civic-conformance.yaml");
    expect(registry.services.map(({ key, hostname, database, line }) => ({ key, hostname, database, line }))).toEqual([
      { key: "auth", hostname: "auth", database: "auth_db", line: 5 },
      { key: "api-gateway", hostname: "gateway", database: "", line: 13 },
    ]);
    const auth = registry.services[0]!;
    expect(auth.dockerfile).toBe("deploy/apps/auth/Dockerfile");
    expect(auth.migrations).toEqual({ tool: "prisma", dir: "deploy/apps/auth/prisma/migrations" });
    expect(auth.credentials).toEqual({ url: "DATABASE_URL" });
    expect(auth.fieldLines).toEqual({ database: 6, dockerfile: 7, credentials: 8, migrations: 10 });
  });

  it("reads the configuration with the line of every override and suppression", async () => {
    await using repo = await tempRepo({ "civic-conformance.yaml": EXAMPLE });
    const { config } = await loadConfigFile(join(repo.root, "civic-conformance.yaml"), repo.root);
    expect(config).toEqual({
      file: "civic-conformance.yaml",
      profile: "portable",
      profileAt: { file: "civic-conformance.yaml", line: 3 },
      overrides: [
        { rule: "registry/database-name", level: "off", at: { file: "civic-conformance.yaml", line: 17 } },
        { rule: "compose/superuser-database-url", level: "error", at: { file: "civic-conformance.yaml", line: 18 } },
      ],
      suppressions: [
        { rule: "isolation/superuser", service: "auth", reason: "one shared superuser until PLAT-12 lands", expires: "2031-01-31", at: { file: "civic-conformance.yaml", line: 20 } },
      ],
    });
  });

  it("reads the same content as JSON (source json)", async () => {
    await using repo = await tempRepo({ "civic-conformance.json": JSON.stringify(parse(EXAMPLE), null, 2) });
    const loaded = await loadConfigFile(join(repo.root, "civic-conformance.json"), repo.root);
    expect(loaded.registry!.source).toBe("json");
    expect(loaded.registry!.services.map((s) => s.key)).toEqual(["auth", "api-gateway"]);
    expect(loaded.registry!.services[0]!.line).toBe(5);
  });

  it.each([
    ["an unknown service field, with a guess", "services:\n  auth:\n    databse: auth\n", 3, /Unknown key 'databse' in 'services.auth'.*did you mean 'database'/],
    ["an unknown top-level key", "profile: portable\nsuppression: []\n", 2, /Unknown key 'suppression' in the file.*did you mean 'suppressions'/],
    ["a port that is not a number", "services:\n  auth:\n    port: \"3000\"\n", 3, /'services.auth.port' must be a number/],
    ["an unknown profile", "profile: strict\n", 1, /'profile'/],
    ["an unknown rule level", "rules:\n  isolation/superuser: ignore\n", 2, /'rules.isolation\/superuser'/],
    ["an expiry date that does not exist", "suppressions:\n  - rule: isolation/superuser\n    service: a\n    reason: r\n    expires: 2031-02-30\n", 5, /expires/],
    ["a suppression without a reason", "suppressions:\n  - rule: isolation/superuser\n    service: a\n    reason: \"  \"\n    expires: 2031-01-01\n", 4, /reason/],
    ["a suppression naming neither a service nor a file", "suppressions:\n  - rule: isolation/superuser\n    reason: r\n    expires: 2031-01-01\n", 2, /a service or a file/],
    ["malformed YAML", "services:\n  auth: [\n", 3, /^invalid YAML/],
  ])("refuses %s with a UsageError at its line", async (_what, text, line, message) => {
    await using repo = await tempRepo({ "civic-conformance.yaml": text });
    const error = await loadError(join(repo.root, "civic-conformance.yaml"), repo.root);
    expect(error.location?.line).toBe(line);
    expect(error.message).toMatch(message);
  });

  it("refuses services both in infra/service-registry.ts and in civic-conformance.yaml, at the services: line", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.write("products/property-tax/civic-conformance.yaml", "profile: civic\nservices:\n  auth: {}\n");
    const error = await loadProduct(copy.product, copy.root).then(() => undefined, (thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).location?.line).toBe(2);
    expect((error as UsageError).message).toMatch(/both .*service-registry\.ts and this file declare services/);
  });

  it("applies a configuration-only file beside the TypeScript registry (the profile comes from it)", async () => {
    await using copy = await copyFixture("property-tax");
    const product = await loadProduct(copy.product, copy.root);
    expect(profileOf(product)).toBe("civic");
    await copy.write("products/property-tax/civic-conformance.yaml", "profile: portable\n");
    const configured = await loadProduct(copy.product, copy.root);
    expect(configured.registry.source).toBe("typescript");
    expect(profileOf(configured)).toBe("portable");
  });

  it("is described by schema/config.schema.json, generated from the loader's schema (run `npx tsx scripts/config-schema.ts` when this fails)", async () => {
    expect(await updateConfigSchema({ check: true })).toBe(false);
    const validate = new Ajv({ strict: false }).compile(JSON.parse(renderConfigSchema()));
    expect(validate(parse(EXAMPLE))).toBe(true);
    expect(validate({ services: { auth: { databse: "x" } } })).toBe(false);
    expect(validate({ suppressions: [{ rule: "isolation/superuser", service: "a", reason: "r" }] })).toBe(false);
  });
});
