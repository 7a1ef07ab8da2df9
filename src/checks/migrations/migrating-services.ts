import { dirname, resolve } from "node:path";
import { pathKind } from "../../core/path-probe.js";
import { repoRelative } from "../../core/repo-path.js";
import { registerSecret } from "../../core/secrets.js";
import { type CatalogRole, readRoles } from "../../postgres/cluster-catalog.js";
import { connect } from "../../postgres/connect.js";
import { readPrismaModule, type PrismaModule } from "../../prisma/read-module.js";
import { classifySqlFolder, findMigrations, type FoundMigrations } from "../../product/migration-sets.js";
import { isStateful, type MigrationTool, type Service } from "../../registry/model.js";
import { type CheckContext, CheckUnableError } from "../check.js";
import type { LiveInstance } from "../../runtime/runtime.js";
import { liveCredentials } from "../shared/service-credentials.js";
import type { MigrationScript } from "./apply-migrations.js";
import { type MigrationSet, readMigrationSet } from "./migration-set.js";
import { messageOf } from "./scratch-databases.js";

/** A stateful service with what the check needs to apply its migrations as its own role. */
export interface MigratingService {
  readonly service: Service;
  /** The instance its credential reaches: its migrations run on that instance's scratch server, as that instance knows its role. */
  readonly instance: LiveInstance;
  readonly module: PrismaModule;
  /** The tool whose order and semantics the built-in applier follows; absent when only a command applies them. */
  readonly tool: MigrationTool | undefined;
  readonly scripts: readonly MigrationScript[];
  /** The command that applies them instead of the built-in applier: the registry's `migrations.command`, else `--migrate-command`. */
  readonly command: string | undefined;
  readonly user: string;
  readonly password: string | undefined;
  /** Prisma's `?schema=` of the service's URL. */
  readonly schema: string | undefined;
  readonly migrationsDir: string;
  /** Where a finding about the set as a whole points: the Prisma schema, else the migrations folder. */
  readonly anchorFile: string | undefined;
  /** Set when `user` is a stand-in the migrations are applied as: the service's own role. */
  readonly standInFor?: string;
}

/** A stateful service whose migrations cannot be applied at all, and why. */
export interface Unapplicable {
  readonly service: Service;
  readonly reason: string;
}

/**
 * Every stateful service's migration set, read from its module (or the registry's `migrations`),
 * with the role its first reachable credential logs in as; the services none of whose credentials
 * the runtime reaches; and the services with no set the check can apply, with the reason.
 */
export async function loadServices(context: CheckContext): Promise<{ services: MigratingService[]; missing: string[]; unapplicable: Unapplicable[]; notes: string[] }> {
  const { product } = context;
  const live = context.live!;
  const { credentials } = await liveCredentials(product, live);
  const loaded = await Promise.all(
    product.registry.services.filter(isStateful).map(async (service) => {
      const credential = credentials.find((candidate) => candidate.service === service);
      const module = await readPrismaModule(product.repoRoot, service);
      const found = await setOf(context, service, module);
      if ("reason" in found) return { unapplicable: { service, reason: found.reason } };
      if (!credential) return { missing: service.key };
      const parsed = credential.declared;
      registerSecret(parsed.password);
      const migrating: MigratingService = {
        service,
        // A URL the external runtime was given for a server of its own: its roles are judged on the (first) configured instance, as before.
        instance: credential.instance.adminUrl !== "" ? credential.instance : live.instances.values().next().value!,
        module,
        tool: found.set?.tool,
        scripts: found.set?.scripts ?? [],
        command: found.command,
        user: parsed.user,
        password: parsed.password,
        schema: parsed.params?.get("schema"),
        migrationsDir: found.dir,
        anchorFile: module.schemaFile ?? repoRelative(product.repoRoot, found.dir),
      };
      return { migrating, notes: found.set?.notes ?? [] };
    }),
  );
  // Registry order is kept: it is the order of the first pass.
  return {
    services: loaded.flatMap((entry) => (entry.migrating ? [entry.migrating] : [])),
    missing: loaded.flatMap((entry) => (entry.missing ? [entry.missing] : [])),
    unapplicable: loaded.flatMap((entry) => (entry.unapplicable ? [entry.unapplicable] : [])),
    notes: loaded.flatMap((entry) => entry.notes ?? []),
  };
}

type FoundSet = { set: MigrationSet | undefined; command: string | undefined; dir: string } | { reason: string };

/**
 * The set a service's migrations are applied from: the registry's `migrations` (dir, tool, command)
 * when it names them, else the module's Prisma migrations, else a folder found by convention
 * (`findMigrations`). A set the built-in applier cannot read needs a command.
 */
async function setOf(context: CheckContext, service: Service, module: PrismaModule): Promise<FoundSet> {
  const { repoRoot } = context.product;
  const spec = service.migrations;
  const ownCommand = spec?.command;
  const command = ownCommand ?? context.options.migrateCommand;
  const fallbackDir = module.moduleDir ?? repoRoot;
  let found: FoundMigrations | undefined;
  if (spec?.dir !== undefined) {
    const dir = resolve(repoRoot, spec.dir);
    if (spec.tool !== undefined) {
      if ((await pathKind(dir)) !== "dir") return ownCommand ? { set: undefined, command: ownCommand, dir } : { reason: `its registry migrations.dir ${spec.dir} is not a folder` };
      return { set: await readMigrationSet(dir, spec.tool, repoRoot), command, dir };
    }
    found = (await classifySqlFolder(dir, repoRoot)) ?? (module.moduleDir ? await findMigrations(module.moduleDir, repoRoot) : undefined);
  } else if (module.migrations.length > 0) {
    const dir = dirname(module.migrations[0]!.dir);
    return { set: await readMigrationSet(dir, "prisma", repoRoot), command, dir };
  } else if (module.moduleDir) {
    found = await findMigrations(module.moduleDir, repoRoot);
  }
  if (found?.tool) {
    const dir = resolve(repoRoot, found.dir);
    return { set: await readMigrationSet(dir, found.tool, repoRoot), command, dir };
  }
  if (found) {
    if (command) return { set: undefined, command, dir: resolve(repoRoot, found.dir) };
    const suggestion = found.suggestedCommand ? `, e.g. --migrate-command "${found.suggestedCommand}"` : "";
    return {
      reason: `its migrations in ${found.dir} are ${found.kind}: code the built-in SQL applier cannot run without running the repository's code; give the command that applies them (--migrate-command or the registry's migrations.command${suggestion})`,
    };
  }
  if (ownCommand) return { set: undefined, command: ownCommand, dir: fallbackDir };
  const where = module.moduleDir ? `in ${repoRelative(repoRoot, module.moduleDir) || "."}` : "for it: it runs an image, with no module folder";
  return {
    reason: `no migration set (Prisma, Flyway, golang-migrate, dbmate, plain SQL or sequelize-cli) was found ${where}; set migrations.dir (and tool) or migrations.command in the registry`,
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
