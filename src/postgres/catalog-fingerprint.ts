import type pg from "pg";

/**
 * A catalog fingerprint: what a database (or the cluster) holds, as `(category, key) → value`
 * entries with no OIDs and no volatile columns, so two fingerprints taken at different times (or on
 * two databases built by the same migrations) are equal exactly when the definitions are equal.
 * One set-based query per fingerprint keeps it cheap enough to take before and after every migration.
 */
export type Fingerprint = ReadonlyMap<string, FingerprintEntry>;

export interface FingerprintEntry {
  /** What kind of thing, phrased for a sentence: "table", "role", "CONNECT on database". */
  readonly category: string;
  /** Which one, e.g. `public."Invoice"`, or `x to PUBLIC` for a privilege. */
  readonly key: string;
  /** Its definition; a change here is an "altered", not a "created". */
  readonly value: string;
}

type Queryable = Pick<pg.ClientBase, "query">;

const USER_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'`;

const ROLE = (oid: string) => `COALESCE(pg_get_userbyid(${oid})::text, '?')`;
const GRANTEE = (oid: string) => `CASE WHEN ${oid} = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(${oid})::text END`;

/** Everything defined inside the connected database, objects of the system schemas left out. */
const DATABASE_QUERY = `
SELECT 'schema' AS category, quote_ident(n.nspname) AS key,
       'owner ' || ${ROLE("n.nspowner")} || ' acl ' || COALESCE(n.nspacl::text, 'default') AS value
  FROM pg_namespace n WHERE ${USER_SCHEMAS}
UNION ALL
SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
         WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table' WHEN 'c' THEN 'composite type' ELSE 'relation' END,
       quote_ident(n.nspname) || '.' || quote_ident(c.relname),
       'owner ' || ${ROLE("c.relowner")} || ' acl ' || COALESCE(c.relacl::text, 'default') || ' persistence ' || c.relpersistence::text
         || ' rls ' || c.relrowsecurity || '/' || c.relforcerowsecurity
         || CASE WHEN c.relkind IN ('v', 'm') THEN ' definition ' || md5(pg_get_viewdef(c.oid)) ELSE '' END
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c') AND ${USER_SCHEMAS}
UNION ALL
SELECT 'column', quote_ident(n.nspname) || '.' || quote_ident(c.relname) || '.' || quote_ident(a.attname),
       format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
         || COALESCE(' default ' || pg_get_expr(d.adbin, d.adrelid), '') || CASE WHEN a.attidentity <> '' THEN ' identity ' || a.attidentity::text ELSE '' END
         || CASE WHEN a.attgenerated <> '' THEN ' generated' ELSE '' END || COALESCE(' collate ' || co.collname, '')
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 0 AND co.collname <> 'default'
 WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c') AND ${USER_SCHEMAS}
UNION ALL
SELECT 'constraint', quote_ident(n.nspname) || '.' || COALESCE(quote_ident(c.relname) || '.', '') || quote_ident(con.conname),
       pg_get_constraintdef(con.oid)
  FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace LEFT JOIN pg_class c ON c.oid = con.conrelid
 WHERE ${USER_SCHEMAS}
UNION ALL
SELECT 'index', quote_ident(n.nspname) || '.' || quote_ident(c.relname), pg_get_indexdef(c.oid)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('i', 'I') AND ${USER_SCHEMAS}
UNION ALL
SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END,
       quote_ident(n.nspname) || '.' || quote_ident(p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ')',
       'owner ' || ${ROLE("p.proowner")} || ' acl ' || COALESCE(p.proacl::text, 'default') || ' returns ' || pg_get_function_result(p.oid)
         || ' body ' || md5(COALESCE(p.prosrc, '') || COALESCE(p.probin, '')) || ' security ' || p.prosecdef::text || ' lang ' || l.lanname
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
 WHERE ${USER_SCHEMAS}
UNION ALL
SELECT 'type', quote_ident(n.nspname) || '.' || quote_ident(t.typname),
       'kind ' || t.typtype::text || ' owner ' || ${ROLE("t.typowner")} || ' acl ' || COALESCE(t.typacl::text, 'default')
         || COALESCE(' labels ' || (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid), '')
         || CASE WHEN t.typtype = 'd' THEN ' base ' || format_type(t.typbasetype, t.typtypmod) ELSE '' END
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE ${USER_SCHEMAS} AND t.typrelid = 0 AND NOT (t.typelem <> 0 AND t.typlen = -1)
UNION ALL
SELECT 'extension', quote_ident(x.extname), 'version ' || x.extversion || ' schema ' || x.extnamespace::regnamespace::text
  FROM pg_extension x
UNION ALL
SELECT 'trigger', quote_ident(n.nspname) || '.' || quote_ident(c.relname) || '.' || quote_ident(tg.tgname),
       pg_get_triggerdef(tg.oid) || ' enabled ' || tg.tgenabled::text
  FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE NOT tg.tgisinternal
UNION ALL
SELECT 'event trigger', quote_ident(evtname), evtevent || ' ' || evtenabled::text FROM pg_event_trigger
UNION ALL
SELECT 'policy', quote_ident(schemaname) || '.' || quote_ident(tablename) || '.' || quote_ident(policyname),
       permissive || ' ' || cmd || ' to ' || array_to_string(roles, ',') || ' using ' || COALESCE(qual, '') || ' check ' || COALESCE(with_check, '')
  FROM pg_policies
UNION ALL
SELECT 'default privileges', ${ROLE("da.defaclrole")} || ' in ' || COALESCE(quote_ident(n.nspname), 'all schemas') || ' on ' || da.defaclobjtype::text,
       da.defaclacl::text
  FROM pg_default_acl da LEFT JOIN pg_namespace n ON n.oid = da.defaclnamespace
UNION ALL
SELECT 'publication', quote_ident(pubname),
       'owner ' || ${ROLE("pubowner")} || ' all ' || puballtables || ' ' || pubinsert || pubupdate || pubdelete || pubtruncate
  FROM pg_publication
UNION ALL
SELECT 'publication table', quote_ident(pubname) || ' ' || quote_ident(schemaname) || '.' || quote_ident(tablename), ''
  FROM pg_publication_tables
UNION ALL
SELECT 'foreign data wrapper', quote_ident(fdwname), 'owner ' || ${ROLE("fdwowner")} FROM pg_foreign_data_wrapper
UNION ALL
SELECT 'foreign server', quote_ident(s.srvname),
       'wrapper ' || w.fdwname || ' owner ' || ${ROLE("s.srvowner")} || ' options ' || COALESCE(array_to_string(s.srvoptions, ','), '')
  FROM pg_foreign_server s JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
UNION ALL
SELECT 'user mapping', COALESCE(um.usename::text, 'PUBLIC') || ' for server ' || quote_ident(um.srvname), ''
  FROM pg_user_mappings um
UNION ALL
SELECT 'privilege on this database', privilege_type || ' to ' || ${GRANTEE("grantee")}, CASE WHEN is_grantable THEN 'with grant option' ELSE '' END
  FROM pg_database d, aclexplode(COALESCE(d.datacl, acldefault('d', d.datdba)))
 WHERE d.datname = current_database()
`;

/** Cluster-wide state: what no migration of one service's database should change. */
const CLUSTER_QUERY = `
SELECT 'role' AS category, quote_ident(r.rolname) AS key,
       'superuser ' || r.rolsuper || ', inherit ' || r.rolinherit || ', createrole ' || r.rolcreaterole || ', createdb ' || r.rolcreatedb
         || ', login ' || r.rolcanlogin || ', replication ' || r.rolreplication || ', bypassrls ' || r.rolbypassrls
         || ', connection limit ' || r.rolconnlimit || ', valid until ' || COALESCE(r.rolvaliduntil::text, 'always')
         || ', password ' || COALESCE(left(md5(a.rolpassword), 8), 'none') AS value
  FROM pg_roles r LEFT JOIN pg_authid a ON a.oid = r.oid
 WHERE r.rolname NOT LIKE 'pg\\_%'
UNION ALL
SELECT 'membership', quote_ident(pg_get_userbyid(m.roleid)) || ' to ' || quote_ident(pg_get_userbyid(m.member)),
       'admin ' || m.admin_option || ', inherit ' || m.inherit_option || ', set ' || m.set_option
  FROM pg_auth_members m
UNION ALL
SELECT 'database', quote_ident(d.datname),
       'owner ' || ${ROLE("d.datdba")} || ', allow connections ' || d.datallowconn || ', connection limit ' || d.datconnlimit
         || ', template ' || d.datistemplate || ', tablespace ' || t.spcname
  FROM pg_database d JOIN pg_tablespace t ON t.oid = d.dattablespace
UNION ALL
SELECT 'privilege on database', x.privilege_type || ' on database ' || quote_ident(d.datname) || ' to ' || ${GRANTEE("x.grantee")},
       CASE WHEN x.is_grantable THEN 'with grant option' ELSE '' END
  FROM pg_database d, aclexplode(COALESCE(d.datacl, acldefault('d', d.datdba))) x
UNION ALL
SELECT 'tablespace', quote_ident(spcname), 'owner ' || ${ROLE("spcowner")} || ' acl ' || COALESCE(spcacl::text, 'default')
  FROM pg_tablespace
UNION ALL
SELECT 'setting', 'for ' || CASE WHEN s.setrole = 0 THEN 'every role' ELSE 'role ' || quote_ident(pg_get_userbyid(s.setrole)) END
         || ' in ' || COALESCE('database ' || quote_ident(d.datname), 'every database'),
       array_to_string(s.setconfig, ', ')
  FROM pg_db_role_setting s LEFT JOIN pg_database d ON d.oid = s.setdatabase
UNION ALL
SELECT 'parameter privilege', quote_ident(parname), COALESCE(paracl::text, '') FROM pg_parameter_acl
UNION ALL
SELECT 'server setting', name, COALESCE(setting, '') FROM pg_file_settings WHERE sourcefile LIKE '%postgresql.auto.conf'
`;

export async function fingerprintDatabase(client: Queryable): Promise<Fingerprint> {
  // Named: parsed and planned once per connection, then only executed (the plan is most of the cost).
  return toFingerprint((await client.query<FingerprintEntry>({ name: "civic-fingerprint-database", text: DATABASE_QUERY })).rows);
}

/** Needs a superuser connection (password hashes and `postgresql.auto.conf` are superuser-only). */
export async function fingerprintCluster(client: Queryable): Promise<Fingerprint> {
  return toFingerprint((await client.query<FingerprintEntry>({ name: "civic-fingerprint-cluster", text: CLUSTER_QUERY })).rows);
}

function toFingerprint(rows: readonly FingerprintEntry[]): Fingerprint {
  const entries = rows.map((row) => [`${row.category}\u0000${row.key}`, row] as const);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return new Map(entries);
}

/** Removes entries whose key matches, e.g. the scratch databases this check itself created. */
export function withoutEntries(fingerprint: Fingerprint, drop: (entry: FingerprintEntry) => boolean): Fingerprint {
  return new Map([...fingerprint].filter(([, entry]) => !drop(entry)));
}
