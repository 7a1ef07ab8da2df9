import { dirname, join } from "node:path";
import { readInputFile } from "../../core/input-files.js";
import { repoRelative } from "../../core/repo-path.js";
import { registerSecret } from "../../core/secrets.js";
import { type CatalogRole, readRoles } from "../../postgres/cluster-catalog.js";
import { connect } from "../../postgres/connect.js";
import { readPrismaModule, type PrismaModule } from "../../prisma/read-module.js";
import { isStateful, type Service } from "../../registry/model.js";
import { type CheckContext, CheckUnableError } from "../check.js";
import type { LiveInstance } from "../../runtime/runtime.js";
import { liveCredentials } from "../shared/service-credentials.js";
import type { MigrationScript } from "./apply-migrations.js";
import { messageOf } from "./scratch-databases.js";
import { splitSqlStatements } from "./sql-statements.js";

/** A stateful service with what the check needs to apply its migrations as its own role. */
export interface MigratingService {
  readonly service: Service;
  /** The instance its credential reaches: its migrations run on that instance's scratch server, as that instance knows its role. */
  readonly instance: LiveInstance;
  readonly module: PrismaModule;
  readonly scripts: readonly MigrationScript[];
  readonly user: string;
  readonly password: string | undefined;
  /** Prisma's `?schema=` of the service's URL. */
  readonly schema: string | undefined;
  readonly migrationsDir: string;
  /** Set when `user` is a stand-in the migrations are applied as: the service's own role. */
  readonly standInFor?: string;
}

/**
 * Every stateful service's migrations, read from its module, with the role its first reachable
 * credential logs in as; and the services none of whose credentials the runtime reaches.
 */
export async function loadServices(context: CheckContext): Promise<{ services: MigratingService[]; missing: string[] }> {
  const { product } = context;
  const live = context.live!;
  const { credentials } = await liveCredentials(product, live);
  const loaded = await Promise.all(
    product.registry.services.filter(isStateful).map(async (service) => {
      const credential = credentials.find((candidate) => candidate.service === service);
      const module = await readPrismaModule(product.repoRoot, service);
      if (!credential) return module.migrations.length > 0 ? { missing: service.key } : {};
      const parsed = credential.declared;
      registerSecret(parsed.password);
      const scripts = await Promise.all(
        module.migrations.map(async (migration) => {
          const bytes = await readInputFile(migration.sqlPath, "migration", { shown: repoRelative(product.repoRoot, migration.sqlPath) });
          const text = bytes.toString("utf8");
          return { migration, bytes, text, statements: splitSqlStatements(text) };
        }),
      );
      const firstDir = module.migrations[0]?.dir;
      const migrating: MigratingService = {
        service,
        // A URL the external runtime was given for a server of its own: its roles are judged on the (first) configured instance, as before.
        instance: credential.instance.adminUrl !== "" ? credential.instance : live.instances.values().next().value!,
        module,
        scripts,
        user: parsed.user,
        password: parsed.password,
        schema: parsed.params?.get("schema"),
        // A service without a module (no Dockerfile) has no migrations here, so the fallback is never applied.
        migrationsDir: firstDir ? dirname(firstDir) : join(module.moduleDir ?? product.repoRoot, "prisma", "migrations"),
      };
      return { migrating };
    }),
  );
  // Registry order is kept: it is the order of the first pass.
  return {
    services: loaded.flatMap((entry) => (entry.migrating ? [entry.migrating] : [])),
    missing: loaded.flatMap((entry) => (entry.missing ? [entry.missing] : [])),
  };
}

/** The roles the services log in as, as the server under test has them. */
export async function readServiceRoles(adminUrl: string, services: readonly MigratingService[]): Promise<Map<string, CatalogRole>> {
  try {
    const admin = await connect(adminUrl, { applicationName: "civic-conformance migrations" });
    try {
      const roles = await readRoles(admin, [...new Set(services.map((s) => s.user))]);
      return new Map(roles.map((role) => [role.name, role]));
    } finally {
      await admin.end().catch(() => {});
    }
  } catch (error) {
    throw new CheckUnableError(`could not read the service roles on the server under test: ${messageOf(error)}`);
  }
}

/** What stands in for a service role the server under test lacks. */
export function plainLoginRole(name: string): CatalogRole {
  return { name, superuser: false, inherit: true, createRole: false, createDb: false, canLogin: true, replication: false, bypassRls: false, connectionLimit: -1, predefinedRoles: [] };
}
