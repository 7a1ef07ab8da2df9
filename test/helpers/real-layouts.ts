/**
 * The real-layout fixtures (`fixtures/<name>`, docs/fixtures.md) have no service registry: they are
 * what zero-config inference will read. Until it exists, tests drive them with a small registry of
 * this project's shape written into a temp copy (`infra/service-registry.ts`), listing each
 * service's database as the fixture's EXPECTED.md states it. Test-only: nothing here is inferred.
 *
 * `expectedCredentials` reads the "## credentials" section of a fixture's EXPECTED.md (the facts
 * `fixtures/verify-facts.mjs` proved on PostgreSQL 16), so reader tests compare with the fixture's
 * own statement, not with a copy of it.
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixture } from "./fixtures.js";

export interface LayoutService {
  /** `""` for a stateless service. */
  readonly database: string;
  /** Repo-relative Dockerfile; `""` for an image-only service. */
  readonly dockerfile: string;
  readonly instance?: string;
  readonly credentials?: Readonly<Record<string, string>>;
}

export type LayoutRegistry = Readonly<Record<string, LayoutService>>;

/** Each fixture's services as EXPECTED.md lists them (key = compose service name). */
export const REAL_LAYOUTS = {
  "split-vars-leaky": {
    catalog: { database: "catalog", dockerfile: "services/catalog/Dockerfile" },
    orders: { database: "orders", dockerfile: "services/orders/Dockerfile" },
    payments: { database: "payments", dockerfile: "services/payments/Dockerfile" },
    gateway: { database: "", dockerfile: "services/gateway/Dockerfile" },
  },
  "split-vars-conformant": {
    accounts: { database: "accounts", dockerfile: "accounts/Dockerfile" },
    ledger: { database: "ledger", dockerfile: "ledger/Dockerfile" },
    web: { database: "", dockerfile: "web/Dockerfile" },
  },
  "nest-shared-superuser": {
    auth: { database: "auth_db", dockerfile: "apps/auth/Dockerfile" },
    users: { database: "users_db", dockerfile: "apps/users/Dockerfile" },
    orders: { database: "orders_db", dockerfile: "apps/orders/Dockerfile" },
    "api-gateway": { database: "", dockerfile: "apps/api-gateway/Dockerfile" },
  },
  "env-files-roles": {
    accounts: { database: "accounts", dockerfile: "services/accounts/Dockerfile" },
    inventory: { database: "inventory", dockerfile: "services/inventory/Dockerfile" },
    shipping: { database: "shipping", dockerfile: "services/shipping/Dockerfile" },
    storefront: { database: "", dockerfile: "services/storefront/Dockerfile" },
  },
  "multiple-databases": {
    billing: { database: "billing", dockerfile: "billing/Dockerfile" },
    shipping: { database: "shipping", dockerfile: "shipping/Dockerfile" },
    notifications: { database: "notifications", dockerfile: "notifications/Dockerfile" },
  },
  "multi-instance": {
    permits: { database: "permits", dockerfile: "services/permits/Dockerfile" },
    inspections: { database: "inspections", dockerfile: "services/inspections/Dockerfile" },
    licensing: { database: "licensing", dockerfile: "services/licensing/Dockerfile" },
    "fee-collection": { database: "fee_collection", dockerfile: "services/fee-collection/Dockerfile" },
    "document-store": { database: "documents", dockerfile: "services/document-store/Dockerfile" },
  },
  "custom-db-image": {
    api: { database: "inventory", dockerfile: "api/Dockerfile" },
    notes: { database: "notes", dockerfile: "" },
  },
} satisfies Record<string, LayoutRegistry>;

export type RealLayout = keyof typeof REAL_LAYOUTS;

/** The registry mapping EXPECTED.md of custom-db-image names for its `api` service. */
export const CUSTOM_DB_IMAGE_API_MAPPING = { host: "DB_SERVER", port: "DB_SERVER_PORT", database: "DB_CATALOG", user: "DB_ADMIN_LOGIN", password: "DB_ADMIN_PASSWORD" };

/** `infra/service-registry.ts` in the seed's shape for `services`. */
export function registrySource(services: LayoutRegistry): string {
  const entries = Object.entries(services).map(([key, service]) => {
    const fields = [
      `hostname: ${JSON.stringify(key)}`,
      "port: 8080",
      `database: ${JSON.stringify(service.database)}`,
      `dockerfile: ${JSON.stringify(service.dockerfile)}`,
      "routes: []",
      'layer: "domain" as const',
      `label: ${JSON.stringify(key)}`,
      ...(service.instance === undefined ? [] : [`instance: ${JSON.stringify(service.instance)}`]),
      ...(service.credentials === undefined ? [] : [`credentials: ${JSON.stringify(service.credentials)}`]),
    ];
    return `  ${JSON.stringify(key)}: {\n${fields.map((field) => `    ${field},`).join("\n")}\n  },`;
  });
  return `// Test-only registry for a real-layout fixture (test/helpers/real-layouts.ts).\nexport const serviceRegistry = {\n${entries.join("\n")}\n};\n`;
}

export interface RealLayoutCopy extends AsyncDisposable {
  /** Monorepo root and product folder at once: these fixtures are one product at their root. */
  readonly root: string;
  edit(path: string, change: (text: string) => string): Promise<void>;
  write(path: string, text: string): Promise<void>;
}

/** A temp copy of the fixture with a registry for it (`registry` defaults to `REAL_LAYOUTS[name]`). */
export async function copyRealLayout(name: RealLayout, registry: LayoutRegistry = REAL_LAYOUTS[name]): Promise<RealLayoutCopy> {
  const root = await mkdtemp(join(tmpdir(), `civic-layout-${name}-`));
  await cp(fixture(name), root, { recursive: true });
  await mkdir(join(root, "infra"), { recursive: true });
  await writeFile(join(root, "infra", "service-registry.ts"), registrySource(registry));
  return {
    root,
    async edit(path, change) {
      const file = join(root, path);
      const before = await readFile(file, "utf8");
      const after = change(before);
      if (after === before) throw new Error(`mutation of ${path} changed nothing: the fixture moved under the test`);
      await writeFile(file, after);
    },
    async write(path, text) {
      await writeFile(join(root, path), text);
    },
    async [Symbol.asyncDispose]() {
      await rm(root, { recursive: true, force: true });
    },
  };
}

export interface ExpectedCredential {
  readonly service: string;
  readonly role: string;
  readonly database: string;
  readonly instance: string;
  readonly port: number;
  readonly passwordGiven: boolean;
  /** `VARIABLE: file:line`, in EXPECTED.md's order (url/host, port, database, user, password). */
  readonly variables: readonly string[];
}

const CREDENTIAL_LINE = /^(\S+): role (\S+) -> database (\S+) on (\S+), port (\d+); .*; password (given|NONE)$/;

export async function expectedCredentials(name: RealLayout): Promise<ExpectedCredential[]> {
  const text = await readFile(join(fixture(name), "EXPECTED.md"), "utf8");
  const start = text.indexOf("## credentials");
  if (start < 0) throw new Error(`${name}/EXPECTED.md has no "## credentials" section`);
  const section = text.slice(start, text.indexOf("\n## ", start + 1));
  const credentials: Array<ExpectedCredential & { variables: string[] }> = [];
  for (const line of section.split("\n").slice(1)) {
    const match = CREDENTIAL_LINE.exec(line);
    if (match) {
      credentials.push({
        service: match[1]!,
        role: match[2]!,
        database: match[3]!,
        instance: match[4]!,
        port: Number(match[5]),
        passwordGiven: match[6] === "given",
        variables: [],
      });
    } else if (line.startsWith("  ") && credentials.length > 0) {
      credentials.at(-1)!.variables.push(line.trim());
    }
  }
  if (credentials.length === 0) throw new Error(`${name}/EXPECTED.md lists no credential`);
  return credentials;
}
