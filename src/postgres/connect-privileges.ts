/**
 * Who may CONNECT where, read from the catalog as the admin: a proof of isolation that needs no
 * service credential. For every database that accepts connections and every LOGIN role (plus the
 * roles named, and PUBLIC), `has_database_privilege(…, 'CONNECT')` — which already counts superuser,
 * ownership and inherited memberships — and why: each path that grants it (superuser, owner, a
 * membership in the owner, PUBLIC's CONNECT, a direct grant, a membership in a grantee), with the
 * role's own membership to revoke when the path is a membership. Catalog views only, so a
 * non-superuser admin reads it as well.
 */
import type pg from "pg";

/** One path by which a role may connect to a database. `via`: the role's direct membership that carries it (for `member-of-owner`, `membership`). */
export type ConnectCause =
  | { readonly kind: "superuser" }
  | { readonly kind: "owner" }
  | { readonly kind: "member-of-owner"; readonly granted: string; readonly via: string }
  | { readonly kind: "public" }
  | { readonly kind: "grant" }
  | { readonly kind: "membership"; readonly granted: string; readonly via: string };

/** `role`: a role name, or `PUBLIC` (the pseudo-role every role is a member of). */
export interface ConnectPrivilege {
  readonly database: string;
  readonly role: string;
  readonly allowed: boolean;
  /** Every path that allows it (empty when denied); a superuser's is only `superuser`. */
  readonly causes: readonly ConnectCause[];
}

export interface CatalogRoleLogin {
  readonly name: string;
  readonly canLogin: boolean;
  readonly superuser: boolean;
}

export interface ConnectPrivileges {
  /** Databases that accept connections (templates too, when they do: template1, a database marked IS_TEMPLATE), with their owner. */
  readonly databases: ReadonlyMap<string, { readonly owner: string }>;
  /** Every LOGIN role, and every role named by the caller that exists. */
  readonly roles: ReadonlyMap<string, CatalogRoleLogin>;
  /** `database\0role` → the privilege; PUBLIC's rows under role `PUBLIC`. */
  readonly cells: ReadonlyMap<string, ConnectPrivilege>;
}

export const PUBLIC_ROLE = "PUBLIC";

export function privilegeKey(database: string, role: string): string {
  return `${database}\0${role}`;
}

const PRIVILEGES_SQL = `
  with dbs as (
    select d.oid, d.datname, d.datdba, coalesce(d.datacl, acldefault('d', d.datdba)) as acl
      from pg_database d
     where d.datallowconn
  ), grants as (
    select dbs.oid as db, a.grantee
      from dbs, aclexplode(dbs.acl) a
     where a.privilege_type = 'CONNECT'
  ), roles as (
    select r.oid, r.rolname, r.rolsuper, r.rolcanlogin
      from pg_roles r
     where r.rolname not like 'pg\\_%' and (r.rolcanlogin or r.rolname = any($1::text[]))
  )
  select dbs.datname as database,
         pg_get_userbyid(dbs.datdba) as owner,
         r.rolname as role,
         r.rolsuper as superuser,
         r.rolcanlogin as "canLogin",
         has_database_privilege(r.oid, dbs.oid, 'CONNECT') as allowed,
         dbs.datdba = r.oid as "isOwner",
         exists(select 1 from grants g where g.db = dbs.oid and g.grantee = 0) as "publicConnect",
         exists(select 1 from grants g where g.db = dbs.oid and g.grantee = r.oid) as "directGrant",
         case when dbs.datdba <> r.oid and pg_has_role(r.oid, dbs.datdba, 'USAGE') then
           (select pg_get_userbyid(m.roleid) from pg_auth_members m
             where m.member = r.oid and pg_has_role(m.roleid, dbs.datdba, 'USAGE')
             order by 1 limit 1)
         end as "ownerVia",
         array(select pg_get_userbyid(g.grantee) || chr(1) ||
                      coalesce((select pg_get_userbyid(m.roleid) from pg_auth_members m
                                 where m.member = r.oid and pg_has_role(m.roleid, g.grantee, 'USAGE')
                                 order by 1 limit 1), '')
                 from grants g
                where g.db = dbs.oid and g.grantee <> 0 and g.grantee <> r.oid and pg_has_role(r.oid, g.grantee, 'USAGE')
                order by 1) as memberships
    from dbs cross join roles r
   order by dbs.datname, r.rolname`;

interface Row {
  database: string;
  owner: string;
  role: string;
  superuser: boolean;
  canLogin: boolean;
  allowed: boolean;
  isOwner: boolean;
  publicConnect: boolean;
  directGrant: boolean;
  ownerVia: string | null;
  memberships: string[];
}

/** `named`: roles to include even when they cannot log in (the roles service credentials name). */
export async function readConnectPrivileges(admin: pg.ClientBase, named: readonly string[] = []): Promise<ConnectPrivileges> {
  const { rows } = await admin.query<Row>(PRIVILEGES_SQL, [[...new Set(named)]]);
  const databases = new Map<string, { owner: string }>();
  const roles = new Map<string, CatalogRoleLogin>();
  const cells = new Map<string, ConnectPrivilege>();
  const publicOpen = new Map<string, boolean>();
  for (const row of rows) {
    databases.set(row.database, { owner: row.owner });
    roles.set(row.role, { name: row.role, canLogin: row.canLogin, superuser: row.superuser });
    publicOpen.set(row.database, row.publicConnect);
    cells.set(privilegeKey(row.database, row.role), { database: row.database, role: row.role, allowed: row.allowed, causes: row.allowed ? causesOf(row) : [] });
  }
  // PUBLIC's own row: read from the ACL (the query above needs at least one role to see it, and the bootstrap superuser always exists).
  for (const [database, open] of publicOpen) {
    cells.set(privilegeKey(database, PUBLIC_ROLE), { database, role: PUBLIC_ROLE, allowed: open, causes: open ? [{ kind: "public" }] : [] });
  }
  return { databases, roles, cells };
}

function causesOf(row: Row): ConnectCause[] {
  if (row.superuser) return [{ kind: "superuser" }];
  const causes: ConnectCause[] = [];
  if (row.isOwner) causes.push({ kind: "owner" });
  if (row.ownerVia) causes.push({ kind: "member-of-owner", granted: row.owner, via: row.ownerVia });
  if (row.publicConnect) causes.push({ kind: "public" });
  if (row.directGrant) causes.push({ kind: "grant" });
  for (const entry of row.memberships) {
    const [granted, via] = entry.split("\u0001");
    if (granted) causes.push({ kind: "membership", granted, via: via || granted });
  }
  return causes;
}
