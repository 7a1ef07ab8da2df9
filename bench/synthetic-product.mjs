// Writes a synthetic monorepo with N services in the layout civic-conformance checks, using the
// conformant fixture's own generator to produce the committed infra files. Shared by the benches.
import { execFileSync } from "node:child_process";
import { cp, mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const repoRoot = new URL("..", import.meta.url).pathname;
const fixtureProduct = join(repoRoot, "fixtures/property-tax/products/property-tax");
// The loader the drift check runs generators under.
const tsxLoader = import.meta.resolve("tsx");

const key = (i) => `svc-${String(i).padStart(3, "0")}`;

function registrySource(count, statelessEvery) {
  const entries = [];
  for (let i = 1; i <= count; i++) {
    const stateless = statelessEvery > 0 && i % statelessEvery === 0;
    const deps = i > 1 ? [key(i - 1)] : [];
    entries.push(`    "${key(i)}": {
        hostname: "${key(i)}",
        port: ${5000 + i},
        database: "${stateless ? "" : key(i).replace(/-/g, "_")}",
        dockerfile: "modules/domain/${key(i)}/Dockerfile",
        layer: "domain" as const,
        label: "Service ${i}",
        routes: ["/api/v1/${key(i)}"],${deps.length ? `
        dependsOn: [${deps.map((d) => `"${d}"`).join(", ")}],
        extraEnv: {
            ${deps.map((d) => `${d.toUpperCase().replace(/-/g, "_")}_URL: "http://${d}:${5000 + i - 1}"`).join(",\n            ")},
        },` : ""}
    },`);
  }
  return `export interface ServiceDefinition {
    readonly hostname: string;
    readonly port: number;
    readonly database: string;
    readonly dockerfile: string;
    readonly routes: readonly string[];
    readonly layer: "platform" | "shared" | "domain";
    readonly label: string;
    readonly extraEnv?: Readonly<Record<string, string>>;
    readonly dependsOn?: readonly string[];
    readonly needsRedis?: boolean;
}

const serviceRegistry = {
${entries.join("\n")}
} satisfies Record<string, ServiceDefinition>;

export type ServiceKey = keyof typeof serviceRegistry;
export { serviceRegistry };
`;
}

const schema = (db) => `datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}

model Item {
  id   String @id @default(uuid())
  name String
  @@map("items")
}
`;

/**
 * Creates the monorepo in a temp dir and returns its root and product folder. Every
 * `statelessEvery`-th service is stateless (0: none); each stateful one has `migrationsPerService`
 * migrations (the first creates its table, each further one adds a column).
 */
export async function writeSyntheticProduct(count, { statelessEvery = 10, migrationsPerService = 1 } = {}) {
  const root = await mkdtemp(join(tmpdir(), `civic-bench-${count}-`));
  const product = join(root, "products", "synthetic");
  await mkdir(join(product, "infra"), { recursive: true });
  await cp(join(fixtureProduct, "infra", "generate.ts"), join(product, "infra", "generate.ts"));
  await writeFile(join(product, "infra", "service-registry.ts"), registrySource(count, statelessEvery));
  await Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const i = index + 1;
      const dir = join(root, "modules", "domain", key(i));
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, "Dockerfile"), `FROM node:20-alpine\nCMD ["node", "-e", "0"]\n`);
      if (statelessEvery > 0 && i % statelessEvery === 0) return;
      const migration = join(dir, "prisma", "migrations", "20250101000000_init");
      await mkdir(migration, { recursive: true });
      await writeFile(join(dir, "prisma", "schema.prisma"), schema(key(i)));
      await writeFile(join(migration, "migration.sql"), `-- CreateTable\nCREATE TABLE "items" ("id" TEXT NOT NULL, "name" TEXT NOT NULL, CONSTRAINT "items_pkey" PRIMARY KEY ("id"));\n`);
      for (let m = 2; m <= migrationsPerService; m++) {
        const next = join(dir, "prisma", "migrations", `2025010${m}000000_column_${m}`);
        await mkdir(next, { recursive: true });
        await writeFile(join(next, "migration.sql"), `-- AlterTable\nALTER TABLE "items" ADD COLUMN "note_${m}" TEXT;\n`);
      }
    }),
  );
  execFileSync(process.execPath, ["--import", tsxLoader, "infra/generate.ts"], { cwd: product, stdio: "inherit" });
  return { root, product };
}
