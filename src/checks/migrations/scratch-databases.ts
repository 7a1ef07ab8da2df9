import { concurrencyLimit, mapBounded } from "../../core/concurrency.js";
import type { Logger } from "../../core/logger.js";
import { registerSecret } from "../../core/secrets.js";
import { fingerprintCluster, type Fingerprint } from "../../postgres/catalog-fingerprint.js";
import { type CatalogRole, roleOptions } from "../../postgres/cluster-catalog.js";
import { connect, type PostgresClient } from "../../postgres/connect.js";
import { formatDatabaseUrl, parseDatabaseUrl } from "../../postgres/database-url.js";
import { quoteIdentifier, quoteLiteral } from "../../postgres/quoting.js";
import { databaseAclStatements, type DatabaseBlueprint, reproduceInside } from "./database-blueprint.js";

/** A scratch database to create: `owner` undefined is the scratch admin. */
export interface ScratchDatabaseSpec {
  readonly name: string;
  readonly owner: string | undefined;
  readonly blueprint?: DatabaseBlueprint;
  readonly role: (name: string) => string | undefined;
}

/** Scratch database names this check creates: validated before they go into SQL. */
export const SCRATCH_NAME = /^civic_scratch_[a-z0-9_]{1,40}$/;

/** `index` keeps names unique even when two registry entries (wrongly) share a database. */
export function scratchDatabaseName(database: string, pass: string, runId: string, index: number): string {
  const stem = database.toLowerCase().replace(/[^a-z0-9_]/g, "_").slice(0, 24);
  const name = `civic_scratch_${stem}_${pass}${index}_${runId}`;
  if (!SCRATCH_NAME.test(name)) throw new Error(`unexpected scratch database name ${name}`);
  return name;
}

/**
 * Connection slots left free for what else connects while the check runs: the clients applying one
 * service's migrations in each of two passes run at once (or a migrate command's own pool, whose
 * passes run one after the other) and a role clean-up connection.
 */
const SLOTS_LEFT_FOR_APPLYING = 4;
/** Scratch databases beyond the kept connections are fingerprinted over this many short-lived ones at once. */
const TRANSIENT_LANES = 2;
/**
 * Connections of their own that a pass's databases are dropped over while the next pass runs.
 * Measured on the 100-service product (2-core machine, one run each): the check's clean-up, which
 * waits for these drops, 934–999 ms over 2 connections, 708–755 ms over 4.
 */
const BACKGROUND_DROP_LANES = 4;
/**
 * Admin connections at most that create scratch databases at once. `CREATE DATABASE` takes the
 * server's checkpoints (`FILE_COPY`) or writes the template through the WAL one creation after
 * another, so more connections only add their logins: creating 20 databases for property-tax took
 * 413–455 ms over 16 connections (`--concurrency`'s default) and 336–373 ms over 4; 200 for the
 * 100-service product 2.66 s and 2.12 s (2-core machine, three runs and one).
 */
const CREATE_LANES = 4;

/**
 * The connection slots this check may use on the scratch server, read once when it opens: the
 * server's `max_connections` less the slots reserved for superusers (and PostgreSQL 16's
 * `reserved_connections`), less every client connected now (this check's admin connection
 * included), less what applying a service needs. At least one.
 */
async function connectionSlots(admin: PostgresClient): Promise<number> {
  const { rows } = await admin.query<{ max: number; reserved: number; used: number }>(
    `SELECT current_setting('max_connections')::int AS max,
            current_setting('superuser_reserved_connections')::int + coalesce(current_setting('reserved_connections', true), '0')::int AS reserved,
            (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS used`,
  );
  const { max, reserved, used } = rows[0]!;
  return Math.max(1, max - reserved - used - SLOTS_LEFT_FOR_APPLYING);
}

/**
 * How scratch databases are copied from `template1`. PostgreSQL 15+ copies block by block through
 * the WAL by default (`WAL_LOG`); `FILE_COPY` copies the files after a checkpoint, several times
 * faster for a small template, and the checkpoint costs next to nothing on a throwaway server that
 * never waits for its disk (`fsync` off: the embedded server, the compose scratch containers).
 * A server that syncs keeps the default, where a checkpoint could be slow.
 */
async function createStrategy(admin: PostgresClient): Promise<string> {
  const { rows } = await admin.query<{ version: number; fsync: string }>(
    `SELECT current_setting('server_version_num')::int AS version, current_setting('fsync') AS fsync`,
  );
  const { version, fsync } = rows[0]!;
  return version >= 150000 && fsync === "off" ? " STRATEGY FILE_COPY" : "";
}

/**
 * The scratch databases (and the service roles) the migrations check creates on the scratch server
 * (`LiveEnvironment.scratchAdminUrl`), over one admin connection. Everything it creates it drops
 * again in `cleanup`, also after a failure; cleanup problems are logged as warnings, never thrown.
 * Putting the cluster back after the migrations is `cluster-snapshot.ts`.
 *
 * It never holds more connections than the server has slots for (`connectionSlots`): one kept
 * connection per scratch database while they fit, short-lived ones for the rest. A product with
 * more stateful services than the server's `max_connections` (100 by default) used to run it out of
 * slots ("sorry, too many clients already").
 */
export class ScratchDatabases {
  private readonly databases = new Set<string>();
  private readonly databaseClients = new Map<string, PostgresClient>();
  private readonly createdRoles: string[] = [];
  /** Admin connections at once for creating and dropping databases. */
  private readonly lanes: number;
  /** Connections kept free for background drops; 0 when the server has too few slots (drops are then awaited). */
  private readonly backgroundLanes: number;
  /** Kept connections into scratch databases, at most. */
  private readonly keptLimit: number;
  /** Kept connections made or being made. */
  private keptSlots = 0;
  /** Short-lived connections into scratch databases, one at a time per lane. */
  private readonly transient: <T>(task: () => Promise<T>) => Promise<T>;
  /** Drops started by `dropInBackground`, awaited by `settled` and `cleanup`. */
  private readonly pendingDrops = new Set<Promise<void>>();

  private constructor(
    readonly adminUrl: string,
    readonly admin: PostgresClient,
    readonly logger: Logger,
    concurrency: number,
    slots: number,
    /** `CREATE DATABASE` clause: ` STRATEGY FILE_COPY` where it is the faster way, else none. */
    private readonly createStrategy: string,
  ) {
    this.backgroundLanes = slots > TRANSIENT_LANES + BACKGROUND_DROP_LANES ? BACKGROUND_DROP_LANES : 0;
    this.lanes = Math.max(1, Math.min(concurrency, slots - this.backgroundLanes));
    const transientLanes = Math.min(TRANSIENT_LANES, slots);
    this.keptLimit = slots - transientLanes - this.backgroundLanes;
    this.transient = concurrencyLimit(transientLanes);
  }

  static async open(adminUrl: string, logger: Logger, concurrency: number): Promise<ScratchDatabases> {
    const admin = await connect(adminUrl, { applicationName: "civic-conformance migrations" });
    try {
      return new ScratchDatabases(adminUrl, admin, logger, concurrency, await connectionSlots(admin), await createStrategy(admin));
    } catch (error) {
      await admin.end().catch(() => {});
      throw error;
    }
  }

  /** Creates the service's role where the scratch server lacks it, with the attributes it has under test. */
  async ensureRole(role: CatalogRole, password: string | undefined): Promise<"existing" | "created"> {
    const exists = await this.admin.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role.name]);
    if (exists.rowCount) return "existing";
    registerSecret(password);
    const passwordClause = password === undefined ? "" : ` PASSWORD ${quoteLiteral(password)}`;
    await this.admin.query(`CREATE ROLE ${quoteIdentifier(role.name)} ${roleOptions(role)}${passwordClause}`);
    this.createdRoles.push(role.name);
    return "created";
  }

  /**
   * Creates a login role that stands in for a service role whose rights reach the server host (see
   * `standInFor`); dropped in `cleanup` like every role this object creates.
   */
  async createStandIn(standIn: StandIn): Promise<void> {
    registerSecret(standIn.password);
    const role = standIn.attributes;
    await this.admin.query(`CREATE ROLE ${quoteIdentifier(role.name)} ${roleOptions(role)} PASSWORD ${quoteLiteral(standIn.password)}`);
    this.createdRoles.push(role.name);
    for (const member of role.predefinedRoles) await this.admin.query(`GRANT ${quoteIdentifier(member)} TO ${quoteIdentifier(role.name)}`);
  }

  /**
   * Fresh empty databases, each made like the service's real one when its blueprint is known (owner,
   * database ACL, `public` schema owner and ACL, extensions; `role` maps a role of the server under
   * test to the scratch server's), else owned by `owner` and closed to PUBLIC as the generated init
   * SQL provisions one; created over up to `concurrency` admin connections (one connection runs one
   * statement at a time, so parallel work needs several). Returns what could not be reproduced.
   */
  async createDatabases(databases: readonly ScratchDatabaseSpec[]): Promise<string[]> {
    for (const { name } of databases) {
      if (!SCRATCH_NAME.test(name)) throw new Error(`refusing to create ${name}: not a scratch database name`);
      this.databases.add(name);
    }
    const problems: string[] = [];
    await this.withAdminConnections(databases, async (client, { name, owner, blueprint, role }) => {
      await client.query(`CREATE DATABASE ${quoteIdentifier(name)}${owner === undefined ? "" : ` OWNER ${quoteIdentifier(owner)}`}${this.createStrategy}`);
      const acl = blueprint?.acl !== undefined ? databaseAclStatements(name, blueprint, role) : blueprint ? [] : [`REVOKE ALL ON DATABASE ${quoteIdentifier(name)} FROM PUBLIC`];
      for (const statement of acl) await client.query(statement);
    }, { lanes: Math.min(this.lanes, CREATE_LANES) });
    const inside = databases.filter((spec) => spec.blueprint !== undefined);
    const reproduced = await mapBounded(inside, this.lanes, ({ name, blueprint, role }) => this.withDatabase(name, (client) => reproduceInside(client, blueprint!, role)));
    for (const list of reproduced) problems.push(...list);
    return problems;
  }

  /**
   * Runs `work` over `items` on up to `lanes` admin connections, each item on one of them: the kept
   * admin connection and new ones, or (`own`) only new ones, leaving the kept one to other work.
   */
  private async withAdminConnections<T>(
    items: readonly T[],
    work: (client: PostgresClient, item: T) => Promise<void>,
    { lanes: most = this.lanes, own = false }: { lanes?: number; own?: boolean } = {},
  ): Promise<void> {
    const lanes = Math.max(1, Math.min(most, items.length));
    const clients: PostgresClient[] = own ? [] : [this.admin];
    try {
      while (clients.length < lanes) clients.push(await connect(this.adminUrl, { applicationName: "civic-conformance migrations" }));
      let next = 0;
      await Promise.all(
        clients.map(async (client) => {
          while (next < items.length) await work(client, items[next++]!);
        }),
      );
    } finally {
      await Promise.all(clients.filter((client) => client !== this.admin).map((client) => client.end().catch(() => {})));
    }
  }

  /**
   * Runs `work` on an admin connection into a scratch database: one kept open for repeated
   * fingerprints while the server's slots allow, else a short-lived one (at most `TRANSIENT_LANES`
   * at once). One caller per database at a time.
   */
  async withDatabase<T>(database: string, work: (client: PostgresClient) => Promise<T>): Promise<T> {
    const kept = this.databaseClients.get(database);
    if (kept) return work(kept);
    const open = () => connect(this.adminUrl, { database, applicationName: "civic-conformance migrations" });
    if (this.keptSlots < this.keptLimit) {
      // Taken before the connection is made: concurrent callers must not all see a free slot.
      this.keptSlots += 1;
      const client = await open().catch((error: unknown) => {
        this.keptSlots -= 1;
        throw error;
      });
      this.databaseClients.set(database, client);
      return work(client);
    }
    return this.transient(async () => {
      const client = await open();
      try {
        return await work(client);
      } finally {
        await client.end().catch(() => {});
      }
    });
  }

  /**
   * Whether `count` scratch databases more would each get a kept connection: where they would not,
   * the rest are fingerprinted over short-lived connections, a new login each time.
   */
  keepsOpen(count: number): boolean {
    return this.keptSlots + count <= this.keptLimit;
  }

  /** The scratch database's URL with the given credentials (what a migrate command receives). */
  urlFor(database: string, user: string, password: string | undefined, schema?: string): string {
    const server = parseDatabaseUrl(this.adminUrl);
    if (!server) throw new Error("the scratch admin URL is not a postgres:// URL");
    const url = formatDatabaseUrl({ user, password, host: server.host, port: server.port, database });
    const params = new URLSearchParams();
    const sslmode = server.params.get("sslmode");
    if (sslmode) params.set("sslmode", sslmode);
    if (schema) params.set("schema", schema);
    const query = params.toString();
    return query ? `${url}?${query}` : url;
  }

  async dropDatabases(names: readonly string[], lanes?: { lanes: number; own: boolean }): Promise<void> {
    await this.closeKept(names);
    try {
      await this.withAdminConnections(names, async (client, name) => {
        try {
          // FORCE ends sessions a migrate command may have left behind.
          await client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
          this.databases.delete(name);
        } catch (error) {
          this.logger.warn(`migrations: could not drop scratch database ${name}: ${messageOf(error)}`);
        }
      }, lanes);
    } catch (error) {
      this.logger.warn(`migrations: could not drop the scratch databases ${names.join(", ")}: ${messageOf(error)}`);
    }
  }

  /**
   * Starts dropping the databases without waiting for it (a pass's verdict does not depend on it);
   * `settled` and `cleanup` wait for every drop started so.
   */
  async dropInBackground(names: readonly string[]): Promise<void> {
    // Closed first, so the next pass finds their slots free.
    await this.closeKept(names);
    if (this.backgroundLanes === 0) return this.dropDatabases(names);
    const dropping: Promise<void> = this.dropDatabases(names, { lanes: this.backgroundLanes, own: true }).finally(() => this.pendingDrops.delete(dropping));
    this.pendingDrops.add(dropping);
  }

  /** Ends the kept connections into these databases. */
  private async closeKept(names: readonly string[]): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const name of names) {
      const kept = this.databaseClients.get(name);
      if (!kept) continue;
      this.databaseClients.delete(name);
      closing.push(kept.end().catch(() => {}));
    }
    await Promise.all(closing);
    this.keptSlots -= closing.length;
  }

  /** Resolves once every background drop has ended (dropped, or warned about). */
  async settled(): Promise<void> {
    while (this.pendingDrops.size > 0) await Promise.all([...this.pendingDrops]);
  }

  /**
   * Drops roles: first what they own or were granted in every database that still records them
   * (shared objects such as database ACLs included), then the roles.
   */
  async dropRoles(names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    const list = names.map(quoteIdentifier).join(", ");
    const holders = await this.admin.query<{ datname: string }>(
      `SELECT DISTINCT d.datname FROM pg_shdepend s JOIN pg_database d ON d.oid = s.dbid
        WHERE s.refclassid = 'pg_authid'::regclass AND s.refobjid IN (SELECT oid FROM pg_roles WHERE rolname = ANY($1::text[]))
          AND d.datallowconn`,
      [names],
    );
    const current = (await this.admin.query<{ db: string }>("SELECT current_database() AS db")).rows[0]!.db;
    for (const { datname } of holders.rows) {
      if (datname === current) continue;
      try {
        const client = await connect(this.adminUrl, { database: datname });
        try {
          await client.query(`DROP OWNED BY ${list}`);
        } finally {
          await client.end().catch(() => {});
        }
      } catch (error) {
        this.logger.warn(`migrations: could not drop what ${names.join(", ")} own in ${datname}: ${messageOf(error)}`);
      }
    }
    for (const name of names) {
      try {
        await this.admin.query(`DROP OWNED BY ${quoteIdentifier(name)}`);
        await this.admin.query(`DROP ROLE IF EXISTS ${quoteIdentifier(name)}`);
      } catch (error) {
        this.logger.warn(`migrations: could not drop role ${name} on the scratch server: ${messageOf(error)}`);
      }
    }
  }

  async clusterFingerprint(): Promise<Fingerprint> {
    return fingerprintCluster(this.admin);
  }

  /**
   * Ends the kept connections into these databases and leaves them there: on a scratch server
   * removed after the run (`LiveInstance.scratchDisposable`), once nothing more is applied on it.
   */
  async close(names: readonly string[]): Promise<void> {
    await this.closeKept(names);
  }

  /** Scratch databases made and not dropped (or being dropped). */
  get made(): number {
    return this.databases.size;
  }

  /**
   * Drops every scratch database and every role this object created; always safe to call. With
   * `undo: false` (a scratch server removed after the run, `LiveInstance.scratchDisposable`), only
   * waits for the drops already started and ends its connections: the rest goes with the server.
   */
  async cleanup({ undo = true }: { readonly undo?: boolean } = {}): Promise<void> {
    await this.settled();
    if (undo) {
      await this.dropDatabases([...this.databases]);
      await this.dropRoles(this.createdRoles.splice(0)).catch((error: unknown) =>
        this.logger.warn(`migrations: could not drop the roles created on the scratch server: ${messageOf(error)}`),
      );
    } else {
      await this.closeKept([...this.databaseClients.keys()]);
    }
    await this.admin.end().catch(() => {});
  }
}

/**
 * Predefined roles whose members reach the server host's programs and files, or read and write every
 * table of the cluster: a stand-in is never given them.
 */
const HOST_REACHING_ROLES: ReadonlySet<string> = new Set([
  "pg_execute_server_program",
  "pg_read_server_files",
  "pg_write_server_files",
  "pg_read_all_data",
  "pg_write_all_data",
]);

/** A non-superuser role the migrations of one service are applied as, instead of the service's own. */
export interface StandIn {
  readonly attributes: CatalogRole;
  readonly password: string;
  /** Why the service's own role was not used, as a phrase: "is a superuser". */
  readonly because: string;
}

/**
 * The stand-in for a service role that is a superuser or a member of a host-reaching predefined role,
 * or undefined when the service's own role is safe to apply migrations as. Applying as a superuser
 * would run `COPY … TO PROGRAM` (or an untrusted language) as the server's OS user: on the embedded
 * runtime, a process on the host. The stand-in keeps the role's ordinary attributes and its other
 * predefined roles (a superuser's are implicit, so it gets none), without SUPERUSER, CREATEROLE,
 * REPLICATION or BYPASSRLS.
 */
export function standInFor(role: CatalogRole, name: string, password: string): StandIn | undefined {
  const reaching = role.superuser ? [] : role.predefinedRoles.filter((member) => HOST_REACHING_ROLES.has(member));
  if (!role.superuser && reaching.length === 0) return undefined;
  return {
    attributes: {
      ...role,
      name,
      superuser: false,
      createRole: false,
      replication: false,
      bypassRls: false,
      canLogin: true,
      predefinedRoles: role.superuser ? [] : role.predefinedRoles.filter((member) => !HOST_REACHING_ROLES.has(member)),
    },
    password,
    because: role.superuser ? "is a superuser" : `is a member of ${reaching.join(", ")}`,
  };
}

/** `civic_mig_<service>_<run>`: a stand-in role name, unique per run, valid unquoted. */
export function standInName(serviceKey: string, runId: string): string {
  return `civic_mig_${serviceKey.toLowerCase().replace(/[^a-z0-9_]/g, "_").slice(0, 40)}_${runId}`;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
