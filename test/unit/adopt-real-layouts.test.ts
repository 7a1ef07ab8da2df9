/**
 * Issue 10 on the three real-layout fixtures (their EXPECTED.md is the truth): a zero-config
 * `check` infers the registry from the files (each fact at its file:line), gives the static verdicts
 * the facts demand with no house-rule false failure, `init` writes a registry and a workflow, `check`
 * after `init` gives the same verdicts, and `init` twice changes nothing. The live verdicts (isolation,
 * own-database, migrations) are in test/postgres/adopt-live.test.ts.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Report } from "../../src/core/report-model.js";
import { loadProduct } from "../../src/product/load-product.js";
import { locationOf } from "../../src/registry/model.js";
import { checkCopy, copyRealLayout, findingsOf, HOUSE_RULES, initCopy, statuses, verdicts } from "../helpers/adopt.js";

/** Each inferred entry: database, instance, Dockerfile, dependencies, and where its database was read. */
async function inferredEntries(root: string) {
  const product = await loadProduct(root, root);
  expect(product.registry.source).toBe("inferred");
  return Object.fromEntries(
    product.registry.services.map((service) => {
      const at = locationOf(product.registry, service, "database");
      return [
        service.key,
        {
          database: service.database,
          dockerfile: service.dockerfile,
          dependsOn: service.dependsOn ?? [],
          ...(service.database !== "" && { databaseAt: `${at.file}:${at.line}` }),
          ...(service.migrations && { migrations: service.migrations }),
        },
      ];
    }),
  );
}

function factsOf(report: Report, service: string): string[] {
  return (report.registry?.inferred ?? [])
    .filter((fact) => fact.service === service)
    .map((fact) => `${fact.fact} @ ${fact.from.map((location) => (location.line ? `${location.file}:${location.line}` : location.file)).join(" ")}`);
}

function expectNoHouseRule(report: Report): void {
  const found = report.checks.flatMap((check) => check.findings.map((finding) => finding.rule));
  for (const rule of HOUSE_RULES) expect(found, rule).not.toContain(rule);
  const drift = report.checks.find((check) => check.id === "drift")!;
  expect(drift.status).toBe("skip");
  expect(drift.reason).toMatch(/no generator: .*npx civic-conformance init/);
}

async function expectInitRoundTrip(name: string): Promise<void> {
  await using copy = await copyRealLayout(name);
  const zeroConfig = await checkCopy(copy);
  const first = await initCopy(copy);
  expect(first.layout).toBe("portable");
  expect(first.files.map(({ path, status }) => ({ path, status }))).toEqual([
    { path: "civic-conformance.yaml", status: "written" },
    { path: join(".github", "workflows", "civic-conformance.yml"), status: "written" },
  ]);
  expect(first.next).toBe("npx civic-conformance check");
  const yaml = await copy.read("civic-conformance.yaml");
  expect(yaml.split("\n")[0]).toBe("# yaml-language-server: $schema=https://raw.githubusercontent.com/civic/db-per-service-check/v1/schema/config.schema.json");
  expect(await copy.read(".github/workflows/civic-conformance.yml")).toContain("uses: civic/db-per-service-check@v1");

  const afterInit = await checkCopy(copy);
  expect(afterInit.registry?.source).toBe("yaml");
  expect(afterInit.policy?.profile).toBe("portable");
  expect(verdicts(afterInit)).toEqual(verdicts(zeroConfig));

  const second = await initCopy(copy);
  expect(second.files.map((file) => file.status)).toEqual(["unchanged", "unchanged"]);
  expect(await copy.read("civic-conformance.yaml")).toBe(yaml);

  // Never overwrites what the team changed, unless told to.
  await writeFile(join(copy.root, "civic-conformance.yaml"), `${yaml}# edited\n`);
  expect((await initCopy(copy)).files[0]!.status).toBe("kept");
  expect(await copy.read("civic-conformance.yaml")).toBe(`${yaml}# edited\n`);
  expect((await initCopy(copy, true)).files[0]!.status).toBe("replaced");
  expect(await copy.read("civic-conformance.yaml")).toBe(yaml);
}

describe("nest-shared-superuser: zero-config", () => {
  it("infers auth, users, orders as stateful from three credential forms and api-gateway as stateless calling them", async () => {
    await using copy = await copyRealLayout("nest-shared-superuser");
    expect(await inferredEntries(copy.root)).toEqual({
      auth: { database: "auth_db", dockerfile: "apps/auth/Dockerfile", dependsOn: [], databaseAt: "docker-compose.yml:31", migrations: { tool: "prisma", dir: "apps/auth/prisma/migrations" } },
      users: { database: "users_db", dockerfile: "apps/users/Dockerfile", dependsOn: [], databaseAt: "apps/users/.env:4", migrations: { tool: "sql", dir: "apps/users/db/migrations" } },
      orders: { database: "orders_db", dockerfile: "apps/orders/Dockerfile", dependsOn: [], databaseAt: "docker-compose.yml:61", migrations: { tool: "prisma", dir: "apps/orders/prisma/migrations" } },
      "api-gateway": { database: "", dockerfile: "apps/api-gateway/Dockerfile", dependsOn: ["auth", "users", "orders"] },
    });
    const report = await checkCopy(copy);
    expect(report.registry).toMatchObject({ source: "inferred", file: "docker-compose.yml", todo: [] });
    expect(factsOf(report, "postgres")).toEqual(["PostgreSQL instance (postgres:16-alpine; superuser postgres) @ docker-compose.yml:5"]);
    expect(factsOf(report, "users")[0]).toBe(
      'stateful: database "users_db" as role "postgres" on postgres (split variables TYPEORM_HOST, TYPEORM_PORT, TYPEORM_DATABASE, TYPEORM_USERNAME, TYPEORM_PASSWORD) @ apps/users/.env:2 apps/users/.env:3 apps/users/.env:6 apps/users/.env:4 apps/users/.env:5',
    );
    expect(factsOf(report, "api-gateway")).toEqual(expect.arrayContaining([
      "calls auth (AUTH_SERVICE_URL) @ docker-compose.yml:75",
      "calls users (USERS_SERVICE_URL) @ docker-compose.yml:76",
      "calls orders (ORDERS_SERVICE_URL) @ docker-compose.yml:77",
      "depends on auth (depends_on) @ docker-compose.yml:79",
    ]));
  });

  it("gives the static verdicts: compose/superuser-database-url for auth only as a warning, no house-rule finding", async () => {
    await using copy = await copyRealLayout("nest-shared-superuser");
    const report = await checkCopy(copy);
    expect(statuses(report)).toEqual({ registry: "pass", drift: "skip", compose: "pass", dependencies: "skip" });
    expect(findingsOf(report)).toEqual([{ rule: "compose/superuser-database-url", severity: "warning", service: "auth", at: "docker-compose.yml:31" }]);
    expect(report.policy?.profile).toBe("portable");
    expect(report.policy?.off.map((entry) => entry.rule)).toEqual(expect.arrayContaining(["registry/database-name", "registry/duplicate-port"]));
    expectNoHouseRule(report);
  });

  it("init writes civic-conformance.yaml and the workflow; check after init gives the same verdicts; init twice is a no-op", async () => {
    await expectInitRoundTrip("nest-shared-superuser");
  });
});

describe("env-files-roles: zero-config", () => {
  it("infers the three services' split credentials at their env files' lines, db as the instance, storefront calling them", async () => {
    await using copy = await copyRealLayout("env-files-roles");
    expect(await inferredEntries(copy.root)).toEqual({
      accounts: { database: "accounts", dockerfile: "services/accounts/Dockerfile", dependsOn: [], databaseAt: "services/accounts/.env:5", migrations: { tool: "sql", dir: "services/accounts/migrations" } },
      inventory: { database: "inventory", dockerfile: "services/inventory/Dockerfile", dependsOn: [], databaseAt: "services/inventory/.env:6", migrations: { dir: "services/inventory/db/migrations" } },
      shipping: { database: "shipping", dockerfile: "services/shipping/Dockerfile", dependsOn: [], databaseAt: "services/shipping/.env:5", migrations: { tool: "sql", dir: "services/shipping/sql" } },
      storefront: { database: "", dockerfile: "services/storefront/Dockerfile", dependsOn: ["accounts", "inventory", "shipping"] },
    });
    const report = await checkCopy(copy);
    expect(factsOf(report, "db")).toEqual(["PostgreSQL instance (postgres:16-alpine; superuser db_admin) @ docker-compose.yml:3"]);
    expect(factsOf(report, "accounts")[0]).toBe(
      'stateful: database "accounts" as role "accounts" on db (split variables DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD) @ services/accounts/.env:2 services/accounts/.env:3 services/accounts/.env:4 services/accounts/.env:5 services/accounts/.env:6',
    );
    expect(factsOf(report, "shipping")[0]).toMatch(/split variables PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD\) @ services\/shipping\/\.env:2 /);
    expect(report.registry?.todo).toEqual([
      { service: "inventory", message: 'its migrations (sequelize-cli (JavaScript), services/inventory/db/migrations) need a command to apply them: set migrations.command, e.g. "npx sequelize-cli db:migrate"' },
    ]);
  });

  it("gives the static verdicts: only warnings (databases created by a .sh script cannot be read statically), no house-rule finding", async () => {
    await using copy = await copyRealLayout("env-files-roles");
    const report = await checkCopy(copy);
    expect(statuses(report)).toEqual({ registry: "pass", drift: "skip", compose: "pass", dependencies: "skip" });
    expect(findingsOf(report)).toEqual(
      ["accounts", "inventory", "shipping"].map((service) => ({ rule: "compose/init-database-missing", severity: "warning", service, at: "docker-compose.yml:7" })),
    );
    expectNoHouseRule(report);
  });

  it("init writes civic-conformance.yaml (with the sequelize TODO) and the workflow; the same verdicts after; init twice is a no-op", async () => {
    await expectInitRoundTrip("env-files-roles");
    await using copy = await copyRealLayout("env-files-roles");
    await initCopy(copy);
    expect(await copy.read("civic-conformance.yaml")).toContain('    # TODO: its migrations (sequelize-cli (JavaScript), services/inventory/db/migrations) need a command to apply them: set migrations.command, e.g. "npx sequelize-cli db:migrate"');
  });
});

describe("extends-override: zero-config", () => {
  it("infers from the merged project: reviews' credential at the override's line, search-indexer with its profile, frontend calling catalog and reviews", async () => {
    await using copy = await copyRealLayout("extends-override");
    expect(await inferredEntries(copy.root)).toEqual({
      catalog: { database: "catalog", dockerfile: "services/catalog/Dockerfile", dependsOn: [], databaseAt: "docker-compose.yml:28", migrations: { tool: "sql", dir: "services/catalog/migrations" } },
      reviews: { database: "reviews", dockerfile: "services/reviews/Dockerfile", dependsOn: [], databaseAt: "docker-compose.override.yml:17", migrations: { tool: "sql", dir: "services/reviews/migrations" } },
      "search-indexer": { database: "search", dockerfile: "services/search-indexer/Dockerfile", dependsOn: [], databaseAt: "docker-compose.yml:50", migrations: { tool: "sql", dir: "services/search-indexer/migrations" } },
      frontend: { database: "", dockerfile: "services/frontend/Dockerfile", dependsOn: ["catalog", "reviews"] },
    });
    const report = await checkCopy(copy);
    expect(factsOf(report, "reviews")[0]).toBe('stateful: database "reviews" as role "postgres" on postgres (URL DATABASE_URL) @ docker-compose.override.yml:17');
    expect(factsOf(report, "search-indexer")).toContain("under profile search: checked, but compose starts it only with --profile @ docker-compose.yml:48");
    expect(factsOf(report, "postgres")).toEqual(["PostgreSQL instance (postgres:16-alpine; superuser postgres) @ common-services.yml:4"]);
  });

  it("gives the static verdicts: the override's superuser URL as a warning at docker-compose.override.yml:17, no healthcheck or override-file finding, no house-rule finding", async () => {
    await using copy = await copyRealLayout("extends-override");
    const report = await checkCopy(copy);
    expect(statuses(report)).toEqual({ registry: "pass", drift: "skip", compose: "pass", dependencies: "skip" });
    expect(findingsOf(report)).toEqual([
      // True, and only a warning: catalog cannot depend_on postgres because Compose v1 refuses to extend a service that has one.
      { rule: "compose/depends-on", severity: "warning", service: "catalog", at: "docker-compose.yml:22" },
      { rule: "compose/superuser-database-url", severity: "warning", service: "reviews", at: "docker-compose.override.yml:17" },
    ]);
    expectNoHouseRule(report);
  });

  it("without the override (a --compose-file list naming the main file only) reviews uses its own role: no superuser warning", async () => {
    await using copy = await copyRealLayout("extends-override");
    const report = await checkCopy(copy, { composeFiles: ["docker-compose.yml"] });
    expect(findingsOf(report).map((finding) => finding.rule)).not.toContain("compose/superuser-database-url");
  });

  it("init writes civic-conformance.yaml and the workflow; the same verdicts after; init twice is a no-op", async () => {
    await expectInitRoundTrip("extends-override");
  });
});

describe("the civic layout", () => {
  it("keeps property-tax's civic verdicts: TypeScript registry, civic profile, every static check passing", async () => {
    const { copyFixture } = await import("../helpers/fixtures.js");
    await using copy = await copyFixture("property-tax");
    const report = await checkCopy({ root: copy.product, read: (path) => readFile(join(copy.product, path), "utf8"), [Symbol.asyncDispose]: async () => {} }, { cwd: copy.root });
    expect(report.registry?.source).toBe("typescript");
    expect(report.policy?.profile).toBe("civic");
    expect(statuses(report)).toEqual({ registry: "pass", drift: "pass", compose: "pass", dependencies: "skip" });
  });

  it("init on a civic-layout product without a registry writes the seed's infra/service-registry.ts, which loads as a TypeScript registry", async () => {
    const { copyFixture } = await import("../helpers/fixtures.js");
    const { runInit } = await import("../../src/adopt/init-command.js");
    await using copy = await copyFixture("property-tax");
    const { rm } = await import("node:fs/promises");
    await rm(join(copy.product, "infra", "service-registry.ts"));
    const result = await runInit({ productPath: "products/property-tax", force: false, cwd: copy.root, env: {} });
    expect(result.layout).toBe("civic");
    expect(result.files.map((file) => [file.path, file.status])).toEqual([
      [join("products", "property-tax", "infra", "service-registry.ts"), "written"],
      [join(".github", "workflows", "civic-conformance.yml"), "written"],
    ]);
    expect(await readFile(join(copy.root, ".github", "workflows", "civic-conformance.yml"), "utf8")).toContain('product: "products/property-tax"');
    const product = await loadProduct(copy.product, copy.root);
    expect(product.registry.source).toBe("typescript");
    const gateway = product.registry.services.find((service) => service.key === "auth-gateway")!;
    expect(gateway).toMatchObject({ hostname: "auth-gateway", port: 4100, database: "auth_gateway", dockerfile: "modules/platform/auth-gateway/Dockerfile", layer: "platform", label: "Auth Gateway" });
  });
});

describe("custom-db-image: zero-config", () => {
  it("guesses api's credentials mapping from its variable names (DB_SERVER names the instance db) and asks to confirm it", async () => {
    await using copy = await copyRealLayout("custom-db-image");
    const product = await loadProduct(copy.root, copy.root);
    const api = product.registry.services.find((service) => service.key === "api")!;
    expect(api).toMatchObject({
      database: "inventory",
      credentials: { host: "DB_SERVER", port: "DB_SERVER_PORT", database: "DB_CATALOG", user: "DB_ADMIN_LOGIN", password: "DB_ADMIN_PASSWORD" },
      migrations: { tool: "sql", dir: "api/migrations" },
    });
    const report = await checkCopy(copy);
    expect(factsOf(report, "api")[0]).toBe(
      "credentials read by a guessed mapping (host DB_SERVER, port DB_SERVER_PORT, database DB_CATALOG, user DB_ADMIN_LOGIN, password DB_ADMIN_PASSWORD): DB_SERVER names PostgreSQL service db @ docker-compose.yml:23",
    );
    expect(report.registry?.todo?.map((todo) => todo.service)).toEqual(["api", "notes"]);
    expect(findingsOf(report).filter((finding) => finding.severity === "error")).toEqual([]);
    expectNoHouseRule(report);
  });

  it("init writes the guessed mapping as credentials:, and check after init gives the same verdicts", async () => {
    await using copy = await copyRealLayout("custom-db-image");
    const zeroConfig = await checkCopy(copy);
    await initCopy(copy);
    expect(await copy.read("civic-conformance.yaml")).toContain(
      ["    credentials:", "      host: DB_SERVER", "      port: DB_SERVER_PORT", "      database: DB_CATALOG", "      user: DB_ADMIN_LOGIN", "      password: DB_ADMIN_PASSWORD"].join("\n"),
    );
    expect(verdicts(await checkCopy(copy))).toEqual(verdicts(zeroConfig));
  });
});

describe("Flyway's default folders", () => {
  it("finds split-vars-leaky's orders in db/migration and multi-instance's licensing in src/main/resources/db/migration", async () => {
    await using leaky = await copyRealLayout("split-vars-leaky");
    expect((await inferredEntries(leaky.root)).orders!.migrations).toEqual({ tool: "flyway", dir: "services/orders/db/migration" });
    await using multi = await copyRealLayout("multi-instance");
    expect((await inferredEntries(multi.root)).licensing!.migrations).toEqual({ tool: "flyway", dir: "services/licensing/src/main/resources/db/migration" });
  });
});

describe("the report of a zero-config check", () => {
  it("says the registry was inferred, lists each fact with its file:line and each TODO, and names the init command (text and markdown)", async () => {
    const { renderText } = await import("../../src/report/render-text.js");
    const { renderMarkdown } = await import("../../src/report/render-markdown.js");
    await using copy = await copyRealLayout("env-files-roles");
    const report = await checkCopy(copy);
    const text = renderText(report);
    expect(text).toContain("registry: inferred · docker-compose.yml (22 facts inferred, 1 TODO)");
    expect(text).toContain(
      '  inferred: accounts: stateful: database "accounts" as role "accounts" on db (split variables DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD) (services/accounts/.env:2, services/accounts/.env:3, services/accounts/.env:4, services/accounts/.env:5, services/accounts/.env:6)\n',
    );
    expect(text).toContain("  inferred: storefront: calls accounts (ACCOUNTS_URL) (docker-compose.yml:46)\n");
    expect(text).toContain('  TODO: inventory: its migrations (sequelize-cli (JavaScript), services/inventory/db/migrations) need a command to apply them: set migrations.command, e.g. "npx sequelize-cli db:migrate"\n');
    expect(text).toContain("`npx civic-conformance init` writes this registry down as civic-conformance.yaml for you to own");
    expect(renderMarkdown(report)).toContain("  - inferred: storefront: calls accounts (ACCOUNTS\\_URL) (docker-compose.yml:46)");
  });
});

describe("split-vars-conformant: fixes name the repository's own init script", () => {
  it("a database its init script no longer creates: the fix points at that script, never at the civic layout's infra/init-databases.sql", async () => {
    await using copy = await copyRealLayout("split-vars-conformant");
    const script = "postgres/initdb/10-service-databases.sql";
    const text = await copy.read(script);
    expect(text).toContain("CREATE DATABASE ledger OWNER ledger;\n");
    await writeFile(join(copy.root, script), text.replace("CREATE DATABASE ledger OWNER ledger;\n", ""));

    const report = await checkCopy(copy);

    const missing = report.checks.flatMap((check) => check.findings).filter((finding) => finding.rule === "compose/init-database-missing");
    expect(missing.map((finding) => ({ service: finding.service, severity: finding.severity, file: finding.file }))).toEqual([{ service: "ledger", severity: "error", file: "docker-compose.yml" }]);
    expect(missing[0]!.fix).toBe(`Add CREATE DATABASE ledger (owned by the service's own role) to ${script}.`);
    expect(JSON.stringify(report)).not.toContain("infra/init-databases.sql");
  });
});
