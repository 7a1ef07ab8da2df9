/**
 * The cluster-wide state migrations must not change, captured before they run and put back after
 * each pass: roles and their attributes, database privileges, per-role and per-database settings,
 * plus the cluster fingerprint that tells what could not be put back.
 */
import { fingerprintCluster, type Fingerprint } from "../../postgres/catalog-fingerprint.js";
import { type CatalogRole, readRoles, roleOptions } from "../../postgres/cluster-catalog.js";
import type { PostgresClient } from "../../postgres/connect.js";
import { describeChanges } from "../../postgres/fingerprint-changes.js";
import { quoteIdentifier, quoteLiteral } from "../../postgres/quoting.js";
import { messageOf, SCRATCH_NAME, type ScratchDatabases } from "./scratch-databases.js";

export interface ClusterSnapshot {
  readonly fingerprint: Fingerprint;
  readonly roles: ReadonlyMap<string, CatalogRole>;
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

/** The cluster as it is now, with the role attributes needed to put altered roles back. */
export async function takeClusterSnapshot(admin: PostgresClient): Promise<ClusterSnapshot> {
  const fingerprint = await fingerprintCluster(admin);
  const privileges = await admin.query<DatabasePrivilege>(DATABASE_PRIVILEGES_SQL);
  const settings = await admin.query<RoleSetting>(ROLE_SETTINGS_SQL);
  const roles = await readRoles(admin);
  return {
    fingerprint,
    roles: new Map(roles.map((row) => [row.name, row])),
    databasePrivileges: new Map(privileges.rows.map((row) => [privilegeKey(row), row])),
    settings: new Map(settings.rows.map((row) => [`${row.role ?? ""}\u0000${row.database ?? ""}`, row])),
  };
}

/**
 * Undoes what migrations did to the cluster since `baseline`, as far as it can be undone
 * generically: roles they created are dropped, roles they altered get their attributes back,
 * database privileges they granted or revoked (on the databases under test, where the scratch
 * server is that server) are revoked or granted again. Returns what could not be put back.
 */
export async function restoreCluster(scratch: ScratchDatabases, baseline: ClusterSnapshot): Promise<string[]> {
  // Databases still being dropped hold what the roles to drop own.
  await scratch.settled();
  const now = await takeClusterSnapshot(scratch.admin);
  await restoreDatabasePrivileges(scratch, baseline, now);
  await restoreSettings(scratch, baseline, now);
  const created = [...now.roles.keys()].filter((name) => !baseline.roles.has(name));
  await scratch.dropRoles(created);
  for (const [name, before] of baseline.roles) {
    const after = now.roles.get(name);
    if (after && roleOptions(after) !== roleOptions(before)) {
      await scratch.admin
        .query(`ALTER ROLE ${quoteIdentifier(name)} ${roleOptions(before)}`)
        .catch((error: unknown) => scratch.logger.warn(`migrations: could not restore role ${name}: ${messageOf(error)}`));
    }
  }
  const left = describeChanges(baseline.fingerprint, await scratch.clusterFingerprint());
  return left.filter((change) => !/civic_scratch_/.test(change));
}

/** Per-role / per-database settings (`ALTER ROLE … SET`, `ALTER DATABASE … SET`) back as they were. */
async function restoreSettings(scratch: ScratchDatabases, baseline: ClusterSnapshot, now: ClusterSnapshot): Promise<void> {
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
      await scratch.admin
        .query(statement)
        .catch((error: unknown) => scratch.logger.warn(`migrations: could not restore a setting: ${messageOf(error)}`));
    }
  }
}

async function restoreDatabasePrivileges(scratch: ScratchDatabases, baseline: ClusterSnapshot, now: ClusterSnapshot): Promise<void> {
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
    await scratch.admin
      .query(statement)
      .catch((error: unknown) => scratch.logger.warn(`migrations: could not restore a database privilege: ${messageOf(error)}`));
  }
}
