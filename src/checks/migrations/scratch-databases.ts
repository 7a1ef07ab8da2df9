import type { Logger } from "../../core/logger.js";
import { registerSecret } from "../../core/secrets.js";
import { fingerprintCluster, type Fingerprint } from "../../postgres/catalog-fingerprint.js";
import { type CatalogRole, roleOptions } from "../../postgres/cluster-catalog.js";
import { connect, type PostgresClient } from "../../postgres/connect.js";
import { formatDatabaseUrl, parseDatabaseUrl } from "../../postgres/database-url.js";
import { quoteIdentifier, quoteLiteral } from "../../postgres/quoting.js";

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
   * Fresh empty databases, each owned by its role and closed to PUBLIC, as the generated init SQL
   * provisions one; created over up to `concurrency` admin connections (one connection runs one
   * statement at a time, so parallel work needs several).
   */
  async createDatabases(databases: ReadonlyArray<{ name: string; owner: string }>): Promise<void> {
    for (const { name } of databases) {
      if (!SCRATCH_NAME.test(name)) throw new Error(`refusing to create ${name}: not a scratch database name`);
      this.databases.add(name);
    }
    await this.withAdminConnections(databases, async (client, { name, owner }) => {
      await client.query(`CREATE DATABASE ${quoteIdentifier(name)} OWNER ${quoteIdentifier(owner)}`);
      await client.query(`REVOKE ALL ON DATABASE ${quoteIdentifier(name)} FROM PUBLIC`);
    });
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

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
