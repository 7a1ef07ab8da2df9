/**
 * How the product's init scripts made a service's real database (issue 8, item 5), read as admin on
 * the server under test, so the scratch database the migrations run on is made the same way: its
 * owner, its database-level ACL, its `public` schema's owner and ACL, its extensions. A database
 * owned by the superuser with only CONNECT granted to the service role gives `permission denied for
 * schema public` in the scratch database as it does in production.
 */
import { mapBounded } from "../../core/concurrency.js";
import { connect, type PostgresClient } from "../../postgres/connect.js";
import { quoteIdentifier } from "../../postgres/quoting.js";

export interface AclEntry {
  /** A role name, or `PUBLIC`. */
  readonly grantee: string;
  readonly privilege: string;
}

export interface DatabaseBlueprint {
  readonly database: string;
  readonly owner: string;
  readonly ownerIsSuperuser: boolean;
  /** `undefined`: the default ACL (PUBLIC may CONNECT and TEMP). */
  readonly acl: readonly AclEntry[] | undefined;
  readonly publicSchema: { readonly owner: string; readonly acl: readonly AclEntry[] | undefined } | undefined;
  readonly extensions: readonly string[];
}

const ACL_JSON = (column: string) =>
  `(SELECT json_agg(json_build_object('grantee', CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END, 'privilege', a.privilege_type)) FROM aclexplode(${column}) a)`;

/** The blueprints of the named databases that exist on the server under test (by name), over up to `concurrency` connections. */
export async function readBlueprints(adminUrl: string, databases: readonly string[], concurrency: number): Promise<Map<string, DatabaseBlueprint>> {
  const blueprints = new Map<string, DatabaseBlueprint>();
  const admin = await connect(adminUrl, { applicationName: "civic-conformance migrations" });
  try {
    const rows = await admin.query<{ datname: string; owner: string; rolsuper: boolean; acl: AclEntry[] | null; default_acl: boolean }>(
      `SELECT d.datname, r.rolname AS owner, r.rolsuper, ${ACL_JSON("d.datacl")} AS acl, d.datacl IS NULL AS default_acl
         FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname = ANY($1)`,
      [[...new Set(databases)]],
    );
    const insides = await mapBounded(rows.rows, concurrency, (row) => readInside(adminUrl, row.datname));
    for (const [index, row] of rows.rows.entries()) {
      blueprints.set(row.datname, {
        database: row.datname,
        owner: row.owner,
        ownerIsSuperuser: row.rolsuper,
        acl: row.default_acl ? undefined : (row.acl ?? []),
        ...insides[index]!,
      });
    }
  } finally {
    await admin.end().catch(() => {});
  }
  return blueprints;
}

async function readInside(adminUrl: string, database: string): Promise<Pick<DatabaseBlueprint, "publicSchema" | "extensions">> {
  const url = new URL(adminUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  const client = await connect(url.toString(), { applicationName: "civic-conformance migrations" });
  try {
    const schema = await client.query<{ owner: string; acl: AclEntry[] | null; default_acl: boolean }>(
      `SELECT pg_get_userbyid(n.nspowner) AS owner, ${ACL_JSON("n.nspacl")} AS acl, n.nspacl IS NULL AS default_acl FROM pg_namespace n WHERE n.nspname = 'public'`,
    );
    const extensions = await client.query<{ extname: string }>(`SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY extname`);
    const row = schema.rows[0];
    return {
      publicSchema: row ? { owner: row.owner, acl: row.default_acl ? undefined : (row.acl ?? []) } : undefined,
      extensions: extensions.rows.map((r) => r.extname),
    };
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * The statements that give a fresh scratch database the blueprint's database ACL (run as admin on
 * the scratch server's maintenance connection), with `role` mapping a role name of the server under
 * test to the one on the scratch server (`undefined`: it has none, the entry is left out).
 */
export function databaseAclStatements(name: string, blueprint: DatabaseBlueprint, role: (name: string) => string | undefined): string[] {
  if (blueprint.acl === undefined) return [];
  const statements = [`REVOKE ALL ON DATABASE ${quoteIdentifier(name)} FROM PUBLIC`];
  for (const entry of blueprint.acl) {
    const grantee = entry.grantee === "PUBLIC" ? "PUBLIC" : role(entry.grantee);
    if (grantee === undefined) continue;
    statements.push(`GRANT ${entry.privilege} ON DATABASE ${quoteIdentifier(name)} TO ${grantee === "PUBLIC" ? "PUBLIC" : quoteIdentifier(grantee)}`);
  }
  return statements;
}

/** Inside the scratch database, as admin: its extensions and its `public` schema's owner and ACL. Returns what could not be reproduced. */
export async function reproduceInside(client: PostgresClient, blueprint: DatabaseBlueprint, role: (name: string) => string | undefined): Promise<string[]> {
  const problems: string[] = [];
  for (const extension of blueprint.extensions) {
    await client.query(`CREATE EXTENSION IF NOT EXISTS ${quoteIdentifier(extension)}`).catch((error: unknown) => {
      problems.push(`extension ${extension} of database ${blueprint.database} could not be created on the scratch server: ${error instanceof Error ? error.message : String(error)}`);
    });
  }
  const schema = blueprint.publicSchema;
  if (!schema) return problems;
  const owner = role(schema.owner);
  if (owner !== undefined) await client.query(`ALTER SCHEMA public OWNER TO ${quoteIdentifier(owner)}`);
  if (schema.acl !== undefined) {
    await client.query(`REVOKE ALL ON SCHEMA public FROM PUBLIC`);
    for (const entry of schema.acl) {
      const grantee = entry.grantee === "PUBLIC" ? "PUBLIC" : role(entry.grantee);
      if (grantee === undefined) continue;
      await client.query(`GRANT ${entry.privilege} ON SCHEMA public TO ${grantee === "PUBLIC" ? "PUBLIC" : quoteIdentifier(grantee)}`);
    }
  }
  return problems;
}
