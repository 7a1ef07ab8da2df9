import { fingerprintDatabase, type Fingerprint } from "../../postgres/catalog-fingerprint.js";
import { describeChanges } from "../../postgres/fingerprint-changes.js";
import { concurrencyLimit, mapBounded } from "../../core/concurrency.js";
import { connect, type PostgresClient } from "../../postgres/connect.js";
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
 * How a pass watches the other services' databases while one service's migrations run:
 * - `sweep`: every scratch database of the pass is fingerprinted after every service, so a change
 *   in another service's database is attributed to the service that made it (n² fingerprints);
 * - `verify`: only when nothing the migrations run can reach another database's catalogs (see
 *   `containedPass`): each database is fingerprinted before and after its own service and once at
 *   the end (4n), which proves that no other service changed it. A pass that sees anything else
 *   (a change it did not expect, or any cluster change, which may touch another database's
 *   fingerprint through the shared catalogs) says so, and is run again with `sweep`.
 */
export type InterferenceWatch = "sweep" | "verify";

/** A `verify` pass that saw something only a `sweep` pass attributes: its outcomes are not used. */
export interface UnverifiedPass {
  readonly unverified: string;
}

/**
 * Extensions that open no connection, start no program and read no file of the server host, so a
 * session that has them still writes only its own database's catalogs (and the shared ones, which
 * the cluster fingerprint watches): PostgreSQL's trusted contrib modules and a few common inert
 * ones. Anything else (dblink, postgres_fdw, untrusted languages, unknown extensions) makes a pass
 * `sweep`.
 */
const INERT_EXTENSIONS: ReadonlySet<string> = new Set([
  "plpgsql", "plperl", "pltcl", "bool_plperl", "jsonb_plperl",
  "btree_gin", "btree_gist", "citext", "cube", "dict_int", "fuzzystrmatch", "hstore", "intarray", "isn", "lo", "ltree",
  "pg_trgm", "pgcrypto", "seg", "tablefunc", "tcn", "tsm_system_rows", "tsm_system_time", "unaccent", "uuid-ossp",
  "amcheck", "autoinc", "bloom", "dict_xsyn", "earthdistance", "insert_username", "intagg", "moddatetime", "refint",
  "pg_stat_statements", "pgrowlocks", "pgstattuple", "pg_visibility", "pg_freespacemap", "pg_buffercache", "pageinspect",
  "postgis", "vector",
]);

/**
 * Whether the services' migrations can only write their own database's catalogs and the shared
 * ones: none is applied by a command (a program may connect anywhere), and every extension a
 * migration role may create on the scratch server (a trusted one: roles are never superusers here,
 * see `standInFor`) is inert. The extensions the databases are made with are judged per pass, from
 * their first fingerprints.
 */
export async function containedPass(scratch: ScratchDatabases, services: readonly MigratingService[]): Promise<boolean> {
  if (services.some((service) => service.command !== undefined)) return false;
  const { rows } = await scratch.admin.query<{ name: string }>("SELECT DISTINCT name FROM pg_available_extension_versions WHERE trusted");
  return rows.every((row) => INERT_EXTENSIONS.has(row.name));
}

/** What every pass of one check run shares. */
export interface PassOptions {
  readonly runId: string;
  readonly context: CheckContext;
  readonly blueprints: ReadonlyMap<string, DatabaseBlueprint>;
  readonly notes: string[];
  /**
   * The scratch server is removed after the run (`LiveInstance.scratchDisposable`): the databases of
   * the passes that decide the verdict are closed and left to that removal, not dropped.
   */
  readonly disposable?: boolean;
}

/** One pass: its name (in its scratch database names and the log) and its services, in their order. */
export interface PassPlan {
  readonly name: string;
  readonly services: readonly MigratingService[];
}

/** A pass with its scratch databases made and fingerprinted, ready for its first migration. */
interface PreparedPass extends PassPlan {
  readonly databases: readonly string[];
  readonly fingerprints: Fingerprint[];
}

/**
 * Applies the services' migrations one service after another, in the given order, each on its own
 * fresh scratch database; fingerprints the cluster after every migration and watches the other
 * services' databases as `watch` says. The pass's databases are dropped in the background
 * (`scratch.settled()` waits for it), unless it is the `last` on a disposable server and verified.
 */
export async function runPass(
  scratch: ScratchDatabases,
  services: readonly MigratingService[],
  options: PassOptions & { pass: string; watch: InterferenceWatch; last?: boolean },
): Promise<PassResult | UnverifiedPass> {
  const databases = databasesOf({ name: options.pass, services }, options.runId);
  let final = false;
  try {
    const [prepared] = await preparePasses(scratch, [{ name: options.pass, services }], options);
    // A previous pass's databases still being dropped would show in the cluster fingerprints as a change.
    await scratch.settled();
    const cluster = await scratch.clusterFingerprint();
    const result = await applyPass(scratch, prepared!, cluster, { ...options, lane: concurrencyLimit(options.context.options.concurrency) });
    final = options.last === true && "outcomes" in result;
    return result;
  } finally {
    await release(scratch, databases, final && options.disposable === true);
  }
}

/** A pass's databases once it is over: dropped in the background, or (`leave`: nothing follows on a disposable server) only closed. */
function release(scratch: ScratchDatabases, databases: readonly string[], leave: boolean): Promise<void> {
  return leave ? scratch.close(databases) : scratch.dropInBackground(databases);
}

/**
 * The registry-order and reverse-order passes at the same time, each `verify` (`containedPass`:
 * a migration writes only its own database's catalogs and the shared ones). Both passes' scratch
 * databases are made before either pass's first cluster fingerprint and dropped after both passes'
 * last one, so nothing this check does changes the cluster while they run: any cluster change is a
 * migration's, of either pass, and makes the pair unverified, as does anything else either pass
 * did not expect. The caller then puts the cluster back and runs the passes again one after the
 * other as sweeps. Connections into scratch databases are shared between the two passes within
 * `options.concurrency` (the server's slots are `ScratchDatabases`' to keep). Verified on a
 * disposable server, their databases are only closed: nothing more is applied there.
 */
export async function runPassesTogether(
  scratch: ScratchDatabases,
  plans: readonly [PassPlan, PassPlan],
  options: PassOptions,
): Promise<readonly [PassResult, PassResult] | UnverifiedPass> {
  const databases = plans.flatMap((plan) => databasesOf(plan, options.runId));
  // Both passes verified: nothing more is applied on this server.
  let final = false;
  try {
    const prepared = await preparePasses(scratch, plans, options);
    await scratch.settled();
    const cluster = await scratch.clusterFingerprint();
    // The first pass to see something unexpected stops the other at its next service: both are applied again anyway.
    const halt: { reason?: string } = {};
    const lane = concurrencyLimit(options.context.options.concurrency);
    // Both settle before the databases are dropped: a pass that failed stops the other too.
    const settled = await Promise.allSettled(
      prepared.map(async (pass, i) => {
        try {
          const result = await applyPass(scratch, pass, cluster, { ...options, watch: "verify", lane, beside: { name: plans[1 - i]!.name, halt } });
          if ("unverified" in result) halt.reason ??= `pass ${pass.name}: ${result.unverified}`;
          return result;
        } catch (error) {
          halt.reason ??= `pass ${pass.name} failed`;
          throw error;
        }
      }),
    );
    const failed = settled.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
    if (halt.reason !== undefined) return { unverified: halt.reason };
    const [forward, reverse] = settled.map((result) => (result as PromiseFulfilledResult<PassResult>).value) as [PassResult, PassResult];
    // Every migration's change was seen by its own pass; this is the proof that nothing else changed either.
    const changed = describeChanges(cluster, await scratch.clusterFingerprint());
    if (changed.length > 0) return { unverified: `the cluster changed while the passes ran: ${changed[0]!}` };
    final = true;
    return [forward, reverse];
  } finally {
    await release(scratch, databases, final && options.disposable === true);
  }
}

function databasesOf(plan: PassPlan, runId: string): string[] {
  return plan.services.map((s, i) => scratchDatabaseName(s.service.database, plan.name, runId, i));
}

/** Makes the passes' scratch databases, all at once, and fingerprints each. */
async function preparePasses(scratch: ScratchDatabases, plans: readonly PassPlan[], options: PassOptions): Promise<PreparedPass[]> {
  const { context } = options;
  let mark = performance.now();
  const others = plans.slice(1).map((plan) => `pass ${plan.name}'s ${plan.services.length}`);
  const beside = others.length > 0 ? `, with ${others.join(" and ")},` : "";
  const took = (what: string) => {
    const now = performance.now();
    context.logger.debug(`migrations pass ${plans[0]!.name}: ${what}${beside} took ${Math.round(now - mark)} ms`);
    mark = now;
  };
  const databases = plans.map((plan) => databasesOf(plan, options.runId));
  const all = databases.flat();
  const services = plans.flatMap((plan) => plan.services);
  const scratchRoles = new Set((await scratch.admin.query<{ rolname: string }>("SELECT rolname FROM pg_roles")).rows.map((row) => row.rolname));
  const problems = await scratch.createDatabases(services.map((s, i) => scratchSpec(all[i]!, s, options.blueprints.get(s.service.database), scratchRoles)));
  for (const problem of problems) options.notes.push(problem);
  took(`creating ${plans[0]!.services.length} scratch databases`);
  const { concurrency } = context.options;
  const fingerprints = await fingerprintAll(scratch, all, { concurrency, lane: concurrencyLimit(concurrency), signal: context.signal });
  took("the first fingerprints");
  let next = 0;
  return plans.map((plan, i) => ({ ...plan, databases: databases[i]!, fingerprints: fingerprints.slice(next, (next += plan.services.length)) }));
}

/**
 * The migrations of a prepared pass, service after service, from the cluster fingerprint `cluster`.
 * `lane` bounds its connections into scratch databases (shared with a pass running `beside` it);
 * such a pass's `halt.reason` set stops this one before its next service.
 */
async function applyPass(
  scratch: ScratchDatabases,
  pass: PreparedPass,
  cluster: Fingerprint,
  options: PassOptions & {
    watch: InterferenceWatch;
    lane: <T>(task: () => Promise<T>) => Promise<T>;
    beside?: { readonly name: string; readonly halt: { readonly reason?: string } };
  },
): Promise<PassResult | UnverifiedPass> {
  const { context, lane, beside } = options;
  const { services, databases, fingerprints } = pass;
  const realName = new Map(databases.map((name, i) => [name, services[i]!.service.database]));
  const readable = (text: string) => text.replace(/civic_scratch_[a-z0-9_]+/g, (name) => realName.get(name) ?? name);
  const onDatabase = <T>(database: string, work: (client: PostgresClient) => Promise<T>) => lane(() => scratch.withDatabase(database, work));
  let mark = performance.now();
  const took = (what: string) => {
    const now = performance.now();
    context.logger.debug(`migrations pass ${pass.name}: ${what} took ${Math.round(now - mark)} ms`);
    mark = now;
  };
  if (beside) context.logger.debug(`migrations pass ${pass.name}: applying ${services.length} services' migrations beside pass ${beside.name}`);
  // A database made with an extension that may reach out (dblink, an unknown one) needs the sweep.
  const watch = options.watch === "verify" && fingerprints.every(inertExtensionsOnly) ? "verify" : "sweep";
  if (beside && watch !== "verify") return { unverified: "a scratch database was made with an extension that may reach another database" };
  const outcomes: ServiceOutcome[] = [];

  for (const [index, current] of services.entries()) {
    context.signal.throwIfAborted();
    if (beside?.halt.reason !== undefined) return { unverified: `stopped, pass ${beside.name} was unverified` };
    const database = databases[index]!;
    if (watch === "verify") {
      const before = await onDatabase(database, fingerprintDatabase);
      const changed = describeChanges(fingerprints[index]!, before);
      if (changed.length > 0) return { unverified: `database ${realName.get(database)} changed before its own migrations ran: ${readable(changed[0]!)}` };
    }
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
      await lane(async () => {
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
      });
      // A failed migration's transaction is rolled back; anything that still changed belongs to it.
      if (failure) await noteCluster(failure.migration?.name);
    }
    if (watch === "verify" && clusterChanges.length > 0) {
      // Beside another pass, a change seen here may be that pass's: either way both passes are applied again.
      return { unverified: beside ? `the cluster changed while the migrations of ${current.service.key} ran` : `the migrations of ${current.service.key} changed the cluster` };
    }

    took(`applying the migrations of ${current.service.key}`);
    const otherDatabaseChanges: string[] = [];
    let own: Fingerprint;
    if (watch === "sweep") {
      const after = await fingerprintAll(scratch, databases, { concurrency: context.options.concurrency, lane, signal: context.signal });
      for (const [i, name] of databases.entries()) {
        if (i === index) continue;
        for (const change of describeChanges(fingerprints[i]!, after[i]!)) {
          otherDatabaseChanges.push(`in database ${realName.get(name)} of ${services[i]!.service.key}: ${readable(change)}`);
        }
        fingerprints[i] = after[i]!;
      }
      own = after[index]!;
    } else {
      own = await onDatabase(database, fingerprintDatabase);
    }
    took(`fingerprinting after ${current.service.key}`);
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
  if (watch === "verify") {
    // Each database once more: nothing after its own service changed it.
    const last = await fingerprintAll(scratch, databases, { concurrency: context.options.concurrency, lane, signal: context.signal });
    took("the last fingerprints");
    for (const [i, name] of databases.entries()) {
      const changed = describeChanges(fingerprints[i]!, last[i]!);
      if (changed.length > 0) return { unverified: `database ${realName.get(name)} changed after its own migrations ran: ${readable(changed[0]!)}` };
    }
  }
  return { outcomes };
}

function inertExtensionsOnly(fingerprint: Fingerprint): boolean {
  for (const entry of fingerprint.values()) {
    if (entry.category === "extension" && !INERT_EXTENSIONS.has(entry.key.replace(/^"|"$/g, ""))) return false;
  }
  return true;
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

/** Every database's fingerprint, at most `concurrency` at once, and no more than `lane` (which another pass may share) lets through. */
async function fingerprintAll(
  scratch: ScratchDatabases,
  databases: readonly string[],
  { concurrency, lane, signal }: { concurrency: number; lane: <T>(task: () => Promise<T>) => Promise<T>; signal: AbortSignal },
): Promise<Fingerprint[]> {
  return mapBounded(databases, concurrency, (name) => lane(() => scratch.withDatabase(name, fingerprintDatabase)), signal);
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
