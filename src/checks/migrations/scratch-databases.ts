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
 * The scratch databases (and the service roles) the migrations check creates on the scratch server
 * (`LiveEnvironment.scratchAdminUrl`), over one admin connection. Everything it creates it drops
 * again in `cleanup`, also after a failure; cleanup problems are logged as warnings, never thrown.
 * Putting the cluster back after the migrations is `cluster-snapshot.ts`.
 */
export class ScratchDatabases {
  private readonly databases = new Set<string>();
  private readonly databaseClients = new Map<string, PostgresClient>();
  private readonly createdRoles: string[] = [];

  private constructor(
    readonly adminUrl: string,
    readonly admin: PostgresClient,
    readonly logger: Logger,
    private readonly concurrency: number,
  ) {}

  static async open(adminUrl: string, logger: Logger, concurrency: number): Promise<ScratchDatabases> {
    const admin = await connect(adminUrl, { applicationName: "civic-conformance migrations" });
    return new ScratchDatabases(adminUrl, admin, logger, concurrency);
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
      await client.query(`CREATE DATABASE ${quoteIdentifier(name)}${owner === undefined ? "" : ` OWNER ${quoteIdentifier(owner)}`}`);
      const acl = blueprint?.acl !== undefined ? databaseAclStatements(name, blueprint, role) : blueprint ? [] : [`REVOKE ALL ON DATABASE ${quoteIdentifier(name)} FROM PUBLIC`];
      for (const statement of acl) await client.query(statement);
    });
    for (const { name, blueprint, role } of databases) {
      if (blueprint) problems.push(...(await reproduceInside(await this.clientFor(name), blueprint, role)));
    }
    return problems;
  }

  /** Runs `work` over `items` on up to `concurrency` admin connections, each item on one of them. */
  private async withAdminConnections<T>(items: readonly T[], work: (client: PostgresClient, item: T) => Promise<void>): Promise<void> {
    const lanes = Math.max(1, Math.min(this.concurrency, items.length));
    const clients: PostgresClient[] = [this.admin];
    try {
      for (let lane = 1; lane < lanes; lane++) clients.push(await connect(this.adminUrl, { applicationName: "civic-conformance migrations" }));
      let next = 0;
      await Promise.all(
        clients.map(async (client) => {
          while (next < items.length) await work(client, items[next++]!);
        }),
      );
    } finally {
      await Promise.all(clients.slice(1).map((client) => client.end().catch(() => {})));
    }
  }

  /** A superuser connection into a scratch database, kept open for repeated fingerprints. */
  async clientFor(database: string): Promise<PostgresClient> {
    let client = this.databaseClients.get(database);
    if (!client) {
      client = await connect(this.adminUrl, { database, applicationName: "civic-conformance migrations" });
      this.databaseClients.set(database, client);
    }
    return client;
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

  async dropDatabases(names: readonly string[]): Promise<void> {
    for (const name of names) {
      await this.databaseClients.get(name)?.end().catch(() => {});
      this.databaseClients.delete(name);
    }
    try {
      await this.withAdminConnections(names, async (client, name) => {
        try {
          // FORCE ends sessions a migrate command may have left behind.
          await client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
          this.databases.delete(name);
        } catch (error) {
          this.logger.warn(`migrations: could not drop scratch database ${name}: ${messageOf(error)}`);
        }
      });
    } catch (error) {
      this.logger.warn(`migrations: could not drop the scratch databases ${names.join(", ")}: ${messageOf(error)}`);
    }
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

  /** Drops every scratch database and every role this object created; always safe to call. */
  async cleanup(): Promise<void> {
    await this.dropDatabases([...this.databases]);
    await this.dropRoles(this.createdRoles.splice(0)).catch((error: unknown) =>
      this.logger.warn(`migrations: could not drop the roles created on the scratch server: ${messageOf(error)}`),
    );
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
