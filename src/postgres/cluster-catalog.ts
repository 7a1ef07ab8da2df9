/**
 * What the server says about its databases and roles, read over the admin connection. Catalog
 * views only (`pg_database`, `pg_roles`): readable by any role, so this works read-only as well.
 * One role type for every reader: the isolation check judges its attributes, the migrations check
 * recreates and restores roles from them.
 */
import type pg from "pg";

export interface CatalogDatabase {
  readonly name: string;
  readonly owner: string;
  readonly isTemplate: boolean;
  readonly allowsConnections: boolean;
  /** CONNECT still granted to PUBLIC (the default for a new database). */
  readonly publicConnect: boolean;
  /** TEMP still granted to PUBLIC (the default for a new database). */
  readonly publicTemp: boolean;
}

export interface CatalogRole {
  readonly name: string;
  readonly canLogin: boolean;
  readonly superuser: boolean;
  readonly inherit: boolean;
  readonly createRole: boolean;
  readonly createDb: boolean;
  readonly bypassRls: boolean;
  readonly replication: boolean;
  /** `-1`: no limit. */
  readonly connectionLimit: number;
  /** Predefined `pg_*` roles it is a member of, directly or through other roles. */
  readonly predefinedRoles: readonly string[];
}

export interface ClusterCatalog {
  readonly databases: readonly CatalogDatabase[];
  readonly roles: readonly CatalogRole[];
}

// pg_database_owner is left out: every database owner is implicitly a member of it, which grants
// nothing beyond owning that one database.
const DATABASES_SQL = `
  select d.datname as name,
         pg_get_userbyid(d.datdba) as owner,
         d.datistemplate as "isTemplate",
         d.datallowconn as "allowsConnections",
         has_database_privilege('public', d.oid, 'CONNECT') as "publicConnect",
         has_database_privilege('public', d.oid, 'TEMP') as "publicTemp"
    from pg_database d
   order by d.datname`;

const ROLES_SQL = `
  select r.rolname as name,
         r.rolcanlogin as "canLogin",
         r.rolsuper as superuser,
         r.rolinherit as inherit,
         r.rolcreaterole as "createRole",
         r.rolcreatedb as "createDb",
         r.rolbypassrls as "bypassRls",
         r.rolreplication as replication,
         r.rolconnlimit as "connectionLimit",
         array(select p.rolname::text
                 from pg_roles p
                where p.rolname like 'pg\\_%' and p.rolname <> 'pg_database_owner'
                  and p.oid <> r.oid and pg_has_role(r.oid, p.oid, 'MEMBER')
                order by 1) as "predefinedRoles"
    from pg_roles r
   where r.rolname not like 'pg\\_%' and ($1::text[] is null or r.rolname = any($1::text[]))
   order by r.rolname`;

export async function readClusterCatalog(admin: pg.ClientBase): Promise<ClusterCatalog> {
  const databases = await admin.query<CatalogDatabase>(DATABASES_SQL);
  return { databases: databases.rows, roles: await readRoles(admin) };
}

/** Every role but the predefined `pg_*` ones, or only those named. */
export async function readRoles(client: pg.ClientBase, names?: readonly string[]): Promise<CatalogRole[]> {
  return (await client.query<CatalogRole>(ROLES_SQL, [names ?? null])).rows;
}

/** `CREATE ROLE` / `ALTER ROLE` options that give a role exactly these attributes. */
export function roleOptions(role: CatalogRole): string {
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

/** The maintenance databases every cluster has; a service credential has no business in them. */
export const MAINTENANCE_DATABASES = ["postgres", "template1"] as const;
