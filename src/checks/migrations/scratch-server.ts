import type pg from "pg";
import { formatDatabaseUrl, parseDatabaseUrl } from "../../postgres/database-url.js";
import type { Logger } from "../../core/logger.js";
import { registerSecret } from "../../core/secrets.js";
import { fingerprintCluster, type Fingerprint } from "../../postgres/catalog-fingerprint.js";
import { describeChanges } from "../../postgres/fingerprint-changes.js";
import { connect } from "../../postgres/connect.js";
import { quoteIdentifier, quoteLiteral } from "../../postgres/quoting.js";

/** Login attributes of a role as `pg_roles` shows them on the server under test. */
export interface RoleAttributes {
  readonly name: string;
  readonly superuser: boolean;
  readonly inherit: boolean;
  readonly createRole: boolean;
  readonly createDb: boolean;
  readonly canLogin: boolean;
  readonly replication: boolean;
  readonly bypassRls: boolean;
  readonly connectionLimit: number;
}

const ROLE_ATTRIBUTES_SQL = `
  SELECT rolname AS name, rolsuper AS superuser, rolinherit AS inherit, rolcreaterole AS "createRole",
         rolcreatedb AS "createDb", rolcanlogin AS "canLogin", rolreplication AS replication,
         rolbypassrls AS "bypassRls", rolconnlimit AS "connectionLimit"
    FROM pg_roles WHERE rolname = ANY($1::text[])`;

export async function readRoleAttributes(client: pg.ClientBase, names: readonly string[]): Promise<Map<string, RoleAttributes>> {
  const result = await client.query<RoleAttributes>(ROLE_ATTRIBUTES_SQL, [names]);
  return new Map(result.rows.map((row) => [row.name, row]));
}

/** `CREATE ROLE`/`ALTER ROLE` options that give a role exactly these attributes. */
export function roleOptions(role: RoleAttributes): string {
  const flag = (on: boolean, name: string) => (on ? name : `NO${name}`);
  return [
    flag(role.superuser, "SUPERUSER"),
    flag(role.inherit, "INHERIT"),
    flag(role.createRole, "CREATEROLE"),
    flag(role.createDb, "CREATEDB"),
    flag(role.canLogin, "LOGIN"),
    flag(role.replication, "REPLICATION"),
    flag(role.bypassRls, "BYPASSRLS"),
    `CONNECTION LIMIT ${Math.trunc(role.connectionLimit)}`,
  ].join(" ");
}

export interface ClusterSnapshot {
  readonly fingerprint: Fingerprint;
  readonly roles: ReadonlyMap<string, RoleAttributes>;
  readonly databasePrivileges: ReadonlyMap<string, DatabasePrivilege>;
  readonly settings: ReadonlyMap<string, RoleSetting>;
}

interface RoleSetting {
  /** `null`: for every role. */
  readonly role: string | null;
  /** `null`: in every database. */
  readonly database: string | null;
  /** `name=value` entries. */
  readonly config: string[];
}

// ALTER ROLE ALL … SET (no role, no database) is left alone: no migration role may run it.
const ROLE_SETTINGS_SQL = `
  SELECT CASE WHEN s.setrole = 0 THEN NULL ELSE pg_get_userbyid(s.setrole)::text END AS role,
         d.datname::text AS database, s.setconfig AS config
    FROM pg_db_role_setting s LEFT JOIN pg_database d ON d.oid = s.setdatabase
   WHERE s.setrole <> 0 OR s.setdatabase <> 0`;

interface DatabasePrivilege {
  readonly database: string;
  readonly privilege: string;
  /** `null` for PUBLIC. */
  readonly grantee: string | null;
}

const DATABASE_PRIVILEGES_SQL = `
  SELECT d.datname AS database, x.privilege_type AS privilege,
         CASE WHEN x.grantee = 0 THEN NULL ELSE pg_get_userbyid(x.grantee)::text END AS grantee
    FROM pg_database d, aclexplode(COALESCE(d.datacl, acldefault('d', d.datdba))) x`;

function privilegeKey(privilege: DatabasePrivilege): string {
  return [privilege.database, privilege.privilege, privilege.grantee ?? ""].join("\u0000");
}

/** Scratch database names this check creates: validated before they go into SQL. */
const SCRATCH_NAME = /^civic_scratch_[a-z0-9_]{1,40}$/;

/** `index` keeps names unique even when two registry entries (wrongly) share a database. */
export function scratchDatabaseName(database: string, pass: string, runId: string, index: number): string {
  const stem = database.toLowerCase().replace(/[^a-z0-9_]/g, "_").slice(0, 24);
  const name = `civic_scratch_${stem}_${pass}${index}_${runId}`;
  if (!SCRATCH_NAME.test(name)) throw new Error(`unexpected scratch database name ${name}`);
  return name;
}

/**
 * The server the migrations are applied on. Everything it creates (databases, roles) it drops again
 * in `cleanup`, also after a failure; cleanup problems are logged as warnings, never thrown.
 */
export class ScratchServer {
  private readonly databases = new Set<string>();
  private readonly databaseClients = new Map<string, pg.Client>();
  private readonly createdRoles: string[] = [];

  private constructor(
    readonly adminUrl: string,
    readonly admin: pg.Client,
    private readonly logger: Logger,
    private readonly concurrency: number,
  ) {}

  static async open(adminUrl: string, logger: Logger, concurrency: number): Promise<ScratchServer> {
    const admin = await connect(adminUrl, { applicationName: "civic-conformance migrations" });
    return new ScratchServer(adminUrl, admin, logger, concurrency);
  }

  /** Creates the service's role where the scratch server lacks it, with the attributes it has under test. */
  async ensureRole(role: RoleAttributes, password: string | undefined): Promise<"existing" | "created"> {
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
  private async withAdminConnections<T>(items: readonly T[], work: (client: pg.Client, item: T) => Promise<void>): Promise<void> {
    const lanes = Math.max(1, Math.min(this.concurrency, items.length));
    const clients: pg.Client[] = [this.admin];
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
  async clientFor(database: string): Promise<pg.Client> {
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

  /** The cluster as it is now, with the role attributes needed to put altered roles back. */
  async clusterSnapshot(): Promise<ClusterSnapshot> {
    const fingerprint = await fingerprintCluster(this.admin);
    const privileges = await this.admin.query<DatabasePrivilege>(DATABASE_PRIVILEGES_SQL);
    const settings = await this.admin.query<RoleSetting>(ROLE_SETTINGS_SQL);
    const roles = await this.admin.query<RoleAttributes>(
      ROLE_ATTRIBUTES_SQL.replace("WHERE rolname = ANY($1::text[])", "WHERE rolname NOT LIKE 'pg\\_%'"),
    );
    return {
      fingerprint,
      roles: new Map(roles.rows.map((row) => [row.name, row])),
      databasePrivileges: new Map(privileges.rows.map((row) => [privilegeKey(row), row])),
      settings: new Map(settings.rows.map((row) => [`${row.role ?? ""}\u0000${row.database ?? ""}`, row])),
    };
  }

  async clusterFingerprint(): Promise<Fingerprint> {
    return fingerprintCluster(this.admin);
  }

  /**
   * Undoes what migrations did to the cluster since `baseline`, as far as it can be undone
   * generically: roles they created are dropped, roles they altered get their attributes back,
   * database privileges they granted or revoked (on the databases under test, where the scratch
   * server is that server) are revoked or granted again. Returns what could not be put back.
   */
  async restoreCluster(baseline: ClusterSnapshot): Promise<string[]> {
    const now = await this.clusterSnapshot();
    await this.restoreDatabasePrivileges(baseline, now);
    await this.restoreSettings(baseline, now);
    const created = [...now.roles.keys()].filter((name) => !baseline.roles.has(name));
    await this.dropRoles(created);
    for (const [name, before] of baseline.roles) {
      const after = now.roles.get(name);
      if (after && roleOptions(after) !== roleOptions(before)) {
        await this.admin
          .query(`ALTER ROLE ${quoteIdentifier(name)} ${roleOptions(before)}`)
          .catch((error: unknown) => this.logger.warn(`migrations: could not restore role ${name}: ${messageOf(error)}`));
      }
    }
    const left = describeChanges(baseline.fingerprint, await this.clusterFingerprint());
    return left.filter((change) => !/civic_scratch_/.test(change));
  }

  /** Per-role / per-database settings (`ALTER ROLE … SET`, `ALTER DATABASE … SET`) back as they were. */
  private async restoreSettings(baseline: ClusterSnapshot, now: ClusterSnapshot): Promise<void> {
    for (const key of new Set([...baseline.settings.keys(), ...now.settings.keys()])) {
      const before = baseline.settings.get(key);
      const after = now.settings.get(key);
      const { role, database } = (after ?? before)!;
      if (database !== null && SCRATCH_NAME.test(database)) continue;
      if (JSON.stringify(before?.config ?? []) === JSON.stringify(after?.config ?? [])) continue;
      const target =
        role === null
          ? `DATABASE ${quoteIdentifier(database!)}`
          : `ROLE ${quoteIdentifier(role)}${database === null ? "" : ` IN DATABASE ${quoteIdentifier(database)}`}`;
      const statements = [`ALTER ${target} RESET ALL`];
      for (const entry of before?.config ?? []) {
        const cut = entry.indexOf("=");
        statements.push(`ALTER ${target} SET ${quoteIdentifier(entry.slice(0, cut))} TO ${quoteLiteral(entry.slice(cut + 1))}`);
      }
      for (const statement of statements) {
        await this.admin
          .query(statement)
          .catch((error: unknown) => this.logger.warn(`migrations: could not restore a setting: ${messageOf(error)}`));
      }
    }
  }

  private async restoreDatabasePrivileges(baseline: ClusterSnapshot, now: ClusterSnapshot): Promise<void> {
    const statements: string[] = [];
    const on = (p: DatabasePrivilege) => `${p.privilege} ON DATABASE ${quoteIdentifier(p.database)}`;
    const who = (p: DatabasePrivilege) => (p.grantee === null ? "PUBLIC" : quoteIdentifier(p.grantee));
    // Scratch databases are dropped anyway; a database dropped meanwhile has nothing to restore.
    const restorable = (p: DatabasePrivilege) => !SCRATCH_NAME.test(p.database);
    for (const [key, p] of now.databasePrivileges) {
      if (!baseline.databasePrivileges.has(key) && restorable(p)) statements.push(`REVOKE ${on(p)} FROM ${who(p)}`);
    }
    for (const [key, p] of baseline.databasePrivileges) {
      if (!now.databasePrivileges.has(key) && restorable(p) && (p.grantee === null || now.roles.has(p.grantee))) {
        statements.push(`GRANT ${on(p)} TO ${who(p)}`);
      }
    }
    for (const statement of statements) {
      await this.admin
        .query(statement)
        .catch((error: unknown) => this.logger.warn(`migrations: could not restore a database privilege: ${messageOf(error)}`));
    }
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
