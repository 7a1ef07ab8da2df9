import { fingerprintDatabase, type Fingerprint } from "../../postgres/catalog-fingerprint.js";
import { describeChanges } from "../../postgres/fingerprint-changes.js";
import { mapBounded } from "../../core/concurrency.js";
import { connect } from "../../postgres/connect.js";
import type { CheckContext } from "../check.js";
import { withRunFolder } from "../shared/run-folder-of.js";
import { applyWithCommand, applyScripts, type ApplyFailure } from "./apply-migrations.js";
import type { MigratingService } from "./migrating-services.js";
import type { DatabaseBlueprint } from "./database-blueprint.js";
import { type ScratchDatabaseSpec, scratchDatabaseName, type ScratchDatabases } from "./scratch-databases.js";

export interface ClusterChange {
  /** The migration folder after which the change was seen; undefined for a migrate command. */
  readonly migration: string | undefined;
  readonly changes: readonly string[];
}

/** What applying one service's migrations did, in one pass. */
export interface ServiceOutcome {
  readonly service: string;
  readonly failure?: ApplyFailure;
  readonly clusterChanges: readonly ClusterChange[];
  /** Changes seen in other services' scratch databases, as phrases naming the database. */
  readonly otherDatabaseChanges: readonly string[];
  /** dblink / postgres_fdw / foreign servers / user mappings found in its own database afterwards. */
  readonly liveLinks: readonly string[];
  /** Why the service's role could not log in to its scratch database: nothing of it was applied. */
  readonly loginFailure?: string;
  /** Its own database's catalog after its migrations. */
  readonly ownFingerprint?: Fingerprint;
}

export interface PassResult {
  readonly outcomes: readonly ServiceOutcome[];
}

const LINK_CATEGORIES = new Set(["foreign server", "user mapping", "foreign data wrapper"]);
const LINK_EXTENSIONS = new Set(["dblink", "postgres_fdw"]);

/**
 * Applies the services' migrations one service after another, in the given order, each on its own
 * fresh scratch database; fingerprints the cluster after every migration and every scratch database
 * after every service. The pass's databases are dropped before it returns.
 */
export async function runPass(
  scratch: ScratchDatabases,
  services: readonly MigratingService[],
  options: { pass: string; runId: string; context: CheckContext; blueprints: ReadonlyMap<string, DatabaseBlueprint>; notes: string[] },
): Promise<PassResult> {
  const { context } = options;
  const { concurrency } = context.options;
  const databases = services.map((s, i) => scratchDatabaseName(s.service.database, options.pass, options.runId, i));
  const realName = new Map(databases.map((name, i) => [name, services[i]!.service.database]));
  const readable = (text: string) => text.replace(/civic_scratch_[a-z0-9_]+/g, (name) => realName.get(name) ?? name);
  let mark = performance.now();
  try {
    const took = (what: string) => {
      const now = performance.now();
      context.logger.debug(`migrations pass ${options.pass}: ${what} took ${Math.round(now - mark)} ms`);
      mark = now;
    };
    const scratchRoles = new Set((await scratch.admin.query<{ rolname: string }>("SELECT rolname FROM pg_roles")).rows.map((row) => row.rolname));
    const problems = await scratch.createDatabases(services.map((s, i) => scratchSpec(databases[i]!, s, options.blueprints.get(s.service.database), scratchRoles)));
    for (const problem of problems) options.notes.push(problem);
    took(`creating ${databases.length} scratch databases`);
    const fingerprints = await fingerprintAll(scratch, databases, concurrency, context.signal);
    let cluster = await scratch.clusterFingerprint();
    took("the first fingerprints");
    const outcomes: ServiceOutcome[] = [];

    for (const [index, current] of services.entries()) {
      context.signal.throwIfAborted();
      const database = databases[index]!;
      const clusterChanges: ClusterChange[] = [];
      const noteCluster = async (migration: string | undefined) => {
        const next = await scratch.clusterFingerprint();
        const changes = describeChanges(cluster, next).map(readable);
        if (changes.length > 0) clusterChanges.push({ migration, changes });
        cluster = next;
      };

      let failure: ApplyFailure | undefined;
      let loginFailure: string | undefined;
      if (current.command !== undefined) {
        const command = current.command;
        failure = await withRunFolder(context, (runFolder) =>
          applyWithCommand({
            command,
            cwd: current.module.moduleDir ?? context.product.repoRoot,
            callerEnv: context.options.env,
            runFolder,
            databaseUrl: scratch.urlFor(database, current.user, current.password, current.schema),
            service: current.service.key,
            migrationsDir: current.migrationsDir,
            timeoutMs: context.options.commandTimeoutMs,
            signal: context.signal,
          }),
        );
        await noteCluster(undefined);
      } else {
        const client = await connect(scratch.urlFor(database, current.user, current.password), {
          applicationName: `civic-conformance migrations ${current.service.key}`,
        }).catch((error: unknown) => {
          loginFailure = loginFailureOf(current, error);
          return undefined;
        });
        if (client) {
          try {
            failure = await applyScripts(client, current.scripts, { schema: current.schema, prismaHistory: current.tool === "prisma" }, (script) =>
              noteCluster(script.migration.name),
            );
          } finally {
            await client.end().catch(() => {});
          }
        }
        // A failed migration's transaction is rolled back; anything that still changed belongs to it.
        if (failure) await noteCluster(failure.migration?.name);
      }

      took(`applying the migrations of ${current.service.key}`);
      const after = await fingerprintAll(scratch, databases, concurrency, context.signal);
      took(`fingerprinting after ${current.service.key}`);
      const otherDatabaseChanges: string[] = [];
      for (const [i, name] of databases.entries()) {
        if (i === index) continue;
        for (const change of describeChanges(fingerprints[i]!, after[i]!)) {
          otherDatabaseChanges.push(`in database ${realName.get(name)} of ${services[i]!.service.key}: ${readable(change)}`);
        }
        fingerprints[i] = after[i]!;
      }
      const own = after[index]!;
      fingerprints[index] = own;
      outcomes.push({
        service: current.service.key,
        ...(failure && { failure }),
        ...(loginFailure !== undefined && { loginFailure }),
        clusterChanges,
        otherDatabaseChanges,
        liveLinks: linksIn(own),
        ownFingerprint: own,
      });
    }
    return { outcomes };
  } finally {
    await scratch.dropDatabases(databases);
    context.logger.debug(`migrations pass ${options.pass}: dropping the scratch databases took ${Math.round(performance.now() - mark)} ms`);
  }
}

/**
 * How a service's scratch database is made: like its real database (`blueprint`), with its role of
 * the server under test mapped to the role the migrations run as. A service applied as a stand-in
 * (its role is a superuser) gets a database its stand-in owns, as a superuser may do anything an
 * owner may; without a blueprint (the real database is not there), one its role owns.
 */
function scratchSpec(name: string, service: MigratingService, blueprint: DatabaseBlueprint | undefined, scratchRoles: ReadonlySet<string>): ScratchDatabaseSpec {
  const real = service.standInFor ?? service.user;
  const role = (candidate: string) => (candidate === real ? service.user : scratchRoles.has(candidate) ? candidate : undefined);
  if (!blueprint) return { name, owner: service.user, role };
  if (service.standInFor !== undefined) return { name, owner: service.user, blueprint: { ...blueprint, acl: undefined, publicSchema: undefined }, role };
  const owner = blueprint.owner === real ? service.user : blueprint.ownerIsSuperuser ? undefined : role(blueprint.owner);
  return { name, owner, blueprint, role };
}

async function fingerprintAll(scratch: ScratchDatabases, databases: readonly string[], concurrency: number, signal: AbortSignal): Promise<Fingerprint[]> {
  return mapBounded(databases, concurrency, (name) => scratch.withDatabase(name, fingerprintDatabase), signal);
}

/** Why a service's role could not log in, in words a person acts on (never the driver's raw SASL text). */
function loginFailureOf(service: MigratingService, error: unknown): string {
  const role = `role ${service.user} of ${service.service.key}`;
  if (service.password === undefined || service.password === "") return `${role} could not log in to the scratch server: its credential carries no password`;
  const code = (error as { code?: unknown }).code;
  if (code === "28P01") return `${role} could not log in to the scratch server: password authentication failed (the role has no password, or another one)`;
  return `${role} could not log in to the scratch server: ${error instanceof Error ? error.message : String(error)}`;
}

function linksIn(fingerprint: Fingerprint): string[] {
  const links: string[] = [];
  for (const entry of fingerprint.values()) {
    if (entry.category === "extension" && LINK_EXTENSIONS.has(entry.key)) links.push(`the ${entry.key} extension`);
    if (LINK_CATEGORIES.has(entry.category)) links.push(`${entry.category} ${entry.key}`);
  }
  return links;
}
