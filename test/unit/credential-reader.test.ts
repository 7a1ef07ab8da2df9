/**
 * The credential reader (issue 8, "credentials in every common form"; issue 14, bound to the
 * instance the host names). Each real-layout fixture is read with a test-only registry and compared
 * with the credentials its EXPECTED.md states (variables and file:line, env files by their own line).
 * The inline cases cover forms and problems no fixture has.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadCompose } from "../../src/compose-file/load-compose-file.js";
import { findPostgresInstances } from "../../src/compose-file/postgres-instances.js";
import { maskSecrets } from "../../src/core/secrets.js";
import type { DeclaredCredential } from "../../src/product/credentials/declared-credential.js";
import { readServiceCredentials } from "../../src/product/credentials/read-service-credentials.js";
import { loadProduct } from "../../src/product/load-product.js";
import { productPostgres } from "../../src/product/product-postgres.js";
import type { Service, ServiceDefinition } from "../../src/registry/model.js";
import { copyRealLayout, CUSTOM_DB_IMAGE_API_MAPPING, expectedCredentials, type LayoutRegistry, REAL_LAYOUTS, type RealLayout } from "../helpers/real-layouts.js";

const ENV = { PATH: process.env.PATH };
const PART_ORDER = ["url", "host", "port", "database", "user", "password"] as const;

function variablesOf(credential: DeclaredCredential): string[] {
  return PART_ORDER.flatMap((part) => {
    const field = credential.fields[part];
    return field ? [`${field.variable}: ${field.file}:${field.line}`] : [];
  });
}

async function readLayout(name: RealLayout, registry: LayoutRegistry = REAL_LAYOUTS[name]) {
  await using copy = await copyRealLayout(name, registry);
  const product = await loadProduct(copy.root, copy.root, { composeEnv: ENV });
  // Awaited here: a bare `return` disposes of the copy while the read it started still walks it.
  return await productPostgres(product);
}

describe("the real-layout fixtures, against their EXPECTED.md", () => {
  const layouts: RealLayout[] = ["split-vars-leaky", "split-vars-conformant", "nest-shared-superuser", "env-files-roles", "multiple-databases", "multi-instance"];
  it.each(layouts)("%s: every credential with its role, database, instance, and each variable at its file:line", async (name) => {
    const expected = await expectedCredentials(name);
    const postgres = await readLayout(name);
    const read = expected.map(({ service }) => {
      const entry = postgres.of(service)!;
      expect(entry.problems, `${service}: ${entry.problems.map((problem) => problem.reason).join("; ")}`).toEqual([]);
      expect(entry.credentials, service).toHaveLength(1);
      const [credential] = entry.credentials;
      return {
        service,
        role: credential!.user,
        database: credential!.database,
        instance: credential!.instance,
        port: credential!.port,
        passwordGiven: credential!.password !== undefined,
        variables: variablesOf(credential!),
      };
    });
    expect(read).toEqual(expected);
    // Stateless services hold nothing, and nothing is reported for them.
    for (const entry of postgres.services.filter((candidate) => candidate.service.database === "")) {
      expect([entry.service.key, entry.credentials, entry.problems]).toEqual([entry.service.key, [], []]);
    }
  });

  it("multi-instance: each service's home is the instance its credential names", async () => {
    const postgres = await readLayout("multi-instance");
    expect(Object.fromEntries(postgres.services.map((entry) => [entry.service.key, entry.home?.name]))).toEqual({
      permits: "postgres",
      inspections: "postgres",
      licensing: "postgres",
      "fee-collection": "postgres-fees",
      "document-store": "postgres-docs",
    });
    // The Spring credential: the JDBC URL with its siblings; sslmode of the DSN kept as a parameter.
    expect(postgres.of("licensing")!.credentials[0]!.form).toBe("jdbc");
    expect(postgres.of("document-store")!.credentials[0]!.params?.get("sslmode")).toBe("disable");
  });

  it("custom-db-image: with the registry's mapping, api's DB_SERVER/DB_CATALOG/DB_ADMIN_* are its credential", async () => {
    const expected = await expectedCredentials("custom-db-image");
    const postgres = await readLayout("custom-db-image", {
      ...REAL_LAYOUTS["custom-db-image"],
      api: { database: "inventory", dockerfile: "api/Dockerfile", credentials: CUSTOM_DB_IMAGE_API_MAPPING },
    });
    const read = expected.map(({ service }) => {
      const [credential] = postgres.of(service)!.credentials;
      return {
        service,
        role: credential!.user,
        database: credential!.database,
        instance: credential!.instance,
        port: credential!.port,
        passwordGiven: credential!.password !== undefined,
        variables: variablesOf(credential!),
      };
    });
    expect(read).toEqual(expected);
    expect(postgres.of("api")!.credentials[0]!.form).toBe("mapping");
    expect(postgres.of("notes")!.credentials[0]!.source).toEqual({ variable: "CMD_DB_URL", file: "docker-compose.yml", line: 36 });
  });

  it("custom-db-image: without a mapping, api's credential is a problem at its environment:, never silently absent", async () => {
    const postgres = await readLayout("custom-db-image");
    const api = postgres.of("api")!;
    expect(api.credentials).toEqual([]);
    expect(api.problems).toMatchObject([{ service: "api", kind: "no-credential", file: "docker-compose.yml", line: 21 }]);
    expect(api.problems[0]!.reason).toContain("DB_SERVER");
    expect(api.problems[0]!.reason).toContain("credentials");
    expect(postgres.of("notes")!.credentials).toHaveLength(1);
  });
});

describe("inline forms and problems", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "civic-credentials-"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const definition = (database: string, extra: Partial<ServiceDefinition> = {}): ServiceDefinition => ({
    hostname: "app",
    port: 8080,
    database,
    dockerfile: "app/Dockerfile",
    routes: [],
    layer: "domain",
    label: "app",
    ...extra,
  });

  async function read(environment: readonly string[], options: { database?: string; extra?: Partial<ServiceDefinition>; more?: string; entry?: Partial<Service> } = {}) {
    const compose = [
      "services:",
      "  db:",
      "    image: postgres:16",
      "    hostname: pg.internal",
      "    environment: [POSTGRES_PASSWORD=root-pw-1234]",
      "  app:",
      "    image: busybox",
      "    environment:",
      ...environment.map((line) => `      - ${line}`),
      options.more ?? "",
    ].join("\n");
    await writeFile(join(root, "compose.yaml"), compose);
    const project = await loadCompose(root, root, ENV);
    const service: Service = { ...definition(options.database ?? "app", options.extra), key: "app", line: 1, fieldLines: { credentials: 7 }, ...options.entry };
    return readServiceCredentials(project.services.get("app")!, service, {
      instances: await findPostgresInstances(project),
      registryFile: "infra/service-registry.ts",
    });
  }

  it("DATABASE_URL before other URLs; identical credentials merge; a different second one is kept (isolation tries both)", async () => {
    const { credentials, problems } = await read([
      "OTHER_DSN=postgresql://b:pw-b-1234@db/b",
      "DATABASE_URL=postgresql://a:pw-a-1234@db:5432/app",
      "DB_HOST=db",
      "DB_USER=a",
      "DB_PASSWORD=pw-a-1234",
      "DB_NAME=app",
    ]);
    expect(problems).toEqual([]);
    expect(credentials.map((credential) => [credential.source.variable, credential.user, credential.database, credential.instance])).toEqual([
      ["DATABASE_URL", "a", "app", "db"],
      ["OTHER_DSN", "b", "b", "db"],
    ]);
  });

  it("libpq keyword strings under DSN names, R2DBC URLs, the host's aliases, and the database defaulting to the user", async () => {
    const { credentials, problems } = await read(["PAYMENTS_DSN=host=pg.internal port=5432 user=pay password='p w 1234' sslmode=disable", "SPRING_R2DBC_URL=r2dbc:postgresql://r:pw-r-1234@db/rdb"]);
    expect(problems).toEqual([]);
    expect(credentials.map((credential) => [credential.form, credential.user, credential.password, credential.database, credential.instance])).toEqual([
      ["url", "pay", "p w 1234", "pay", "db"],
      ["jdbc", "r", "pw-r-1234", "rdb", "db"],
    ]);
  });

  it("registers the password of every credential read as a secret, whatever its variable is called; the user stays visible", async () => {
    await read(["PAYMENTS_DSN=host=db user=dsn_user_name password=dsn-only-secret-9"]);
    expect(maskSecrets("login dsn_user_name / dsn-only-secret-9")).toBe("login dsn_user_name / ***");
  });

  it("JDBC siblings win over the URL's own user/password properties, which do not travel on as parameters", async () => {
    const { credentials } = await read(["KC_DB_URL=jdbc:postgresql://db:5432/keycloak?user=url-user&password=url-pw&ssl=false", "KC_DB_USERNAME=keycloak", "KC_DB_PASSWORD=kc-pw-1234"]);
    expect(credentials).toHaveLength(1);
    expect(credentials[0]).toMatchObject({ form: "jdbc", user: "keycloak", password: "kc-pw-1234", database: "keycloak" });
    expect([...(credentials[0]!.params ?? new Map()).keys()]).toEqual(["ssl"]);
  });

  it("reports, never drops: localhost, a host naming no instance, a wrong port, an invalid URL, a missing user", async () => {
    const local = await read(["DATABASE_URL=postgres://a:pw-a-1234@localhost:5432/app"]);
    expect(local.credentials.map((credential) => credential.instance)).toEqual([undefined]);
    expect(local.problems).toMatchObject([{ kind: "unknown-host", file: "compose.yaml", line: 9 }]);
    expect(local.problems[0]!.reason).toMatch(/localhost.*container itself/);

    const elsewhere = await read(["PGHOST=analytics", "PGUSER=a", "PGPASSWORD=pw-a-1234"]);
    expect(elsewhere.problems).toMatchObject([{ kind: "unknown-host", variables: ["PGHOST"] }]);
    expect(elsewhere.problems[0]!.reason).toContain("no PostgreSQL service of the compose file (db)");

    const port = await read(["DATABASE_URL=postgres://a:pw-a-1234@db:6543/app"]);
    expect(port.credentials[0]!.instance).toBe("db");
    expect(port.problems).toMatchObject([{ kind: "wrong-port" }]);

    const invalid = await read(["DATABASE_URL=postgres://a:pw@:notaport/app"]);
    expect(invalid).toMatchObject({ credentials: [], problems: [{ kind: "invalid", variables: ["DATABASE_URL"], line: 9 }] });

    const noUser = await read(["DB_HOST=db", "DB_PASSWORD=pw-a-1234"]);
    expect(noUser).toMatchObject({ credentials: [], problems: [{ kind: "incomplete", variables: ["DB_HOST", "DB_PASSWORD"] }] });
    expect(noUser.problems[0]!.reason).toContain("names no user");
  });

  it("a family whose type names another engine is not PostgreSQL; REDIS_* and SMTP_* are no family", async () => {
    const { credentials, problems } = await read(["DB_TYPE=mysql", "DB_HOST=db", "DB_USER=a", "DB_PASSWORD=pw-1234", "REDIS_HOST=redis", "REDIS_PASSWORD=r-pw-1234", "SMTP_PASS=s-pw-1234"]);
    expect(credentials).toEqual([]);
    expect(problems.map((problem) => problem.kind)).toEqual(["no-credential"]);
  });

  it("reads DB_PASSWORD_FILE through the service's secrets; a file nothing provides is a problem", async () => {
    await writeFile(join(root, "db-password.txt"), "from-secret-1234\n");
    const secret = await read(["DB_HOST=db", "DB_USER=a", "DB_PASSWORD_FILE=/run/secrets/db_password"], {
      more: "    secrets: [db_password]\nsecrets:\n  db_password:\n    file: ./db-password.txt",
    });
    expect(secret.credentials.map((credential) => [credential.password, credential.fields.password?.variable])).toEqual([["from-secret-1234", "DB_PASSWORD_FILE"]]);
    const missing = await read(["DB_HOST=db", "DB_USER=a", "DB_PASSWORD_FILE=/run/secrets/nothing"]);
    expect(missing.problems).toMatchObject([{ kind: "incomplete", variables: ["DB_HOST", "DB_USER", "DB_PASSWORD_FILE"] }]);
  });

  it("the registry's mapping: nothing else is guessed; a variable it names that is unset is a problem at the registry line", async () => {
    const env = ["DATABASE_URL=postgres://guessed:pw-g-1234@db/app", "X_WHERE=db", "X_WHO=mapped", "X_SECRET=pw-m-1234"];
    const mapped = await read(env, { extra: { credentials: { host: "X_WHERE", user: "X_WHO", password: "X_SECRET" } } });
    expect(mapped.credentials.map((credential) => [credential.form, credential.user, credential.database, credential.source.variable])).toEqual([["mapping", "mapped", "mapped", "X_WHO"]]);
    const unset = await read(env, { extra: { credentials: { host: "X_WHERE", user: "X_NOBODY" } } });
    expect(unset).toMatchObject({ credentials: [], problems: [{ kind: "mapping", file: "infra/service-registry.ts", line: 7, variables: ["X_NOBODY"] }] });
  });

  it("a mapping an inferred entry read from another file (fieldFiles) is a problem at that file's line, not the registry's", async () => {
    const env = ["X_WHERE=db", "X_WHO=mapped"];
    const unset = await read(env, {
      extra: { credentials: { host: "X_WHERE", user: "X_NOBODY" } },
      entry: { file: "compose.yaml", fieldLines: { credentials: 3 }, fieldFiles: { credentials: "services/app/.env" } },
    });
    expect(unset).toMatchObject({ credentials: [], problems: [{ kind: "mapping", file: "services/app/.env", line: 3, variables: ["X_NOBODY"] }] });
  });

  it("a stateful service with nothing readable is a no-credential problem listing the variables seen; a stateless one is nothing", async () => {
    const stateful = await read(["PORT=8080", "FEATURE_FLAG=on"]);
    expect(stateful.problems).toMatchObject([{ kind: "no-credential", file: "compose.yaml", line: 8 }]);
    expect(stateful.problems[0]!.reason).toContain("PORT, FEATURE_FLAG");
    expect(await read(["PORT=8080"], { database: "" })).toEqual({ credentials: [], problems: [] });
  });
});

describe("a product without PostgreSQL", () => {
  it("has no instance and no home; its stateful services' credentials stay unbound, reported", async () => {
    const root = await mkdtemp(join(tmpdir(), "civic-no-postgres-"));
    try {
      await mkdir(join(root, "infra"));
      await writeFile(join(root, "compose.yaml"), "services:\n  app:\n    image: busybox\n    environment:\n      DATABASE_URL: postgres://a:pw-a-1234@db/app\n");
      await writeFile(
        join(root, "infra", "service-registry.ts"),
        'export const serviceRegistry = { app: { hostname: "app", port: 1, database: "app", dockerfile: "", routes: [], layer: "domain", label: "app" } };\n',
      );
      const postgres = await productPostgres(await loadProduct(root, root, { composeEnv: ENV }));
      expect(postgres.instances).toEqual([]);
      expect(postgres.of("app")).toMatchObject({ home: undefined, problems: [{ kind: "unknown-host" }] });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
