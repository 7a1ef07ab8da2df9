/**
 * What a credential can do in a database that is not its own, asked inside the session that got in:
 * the privileges of that very session, not a guess from the catalog of another connection.
 */
import type { PostgresClient } from "../../postgres/connect.js";

export interface TableReach {
  /** `schema.table` */
  readonly table: string;
  /** The privileges held, in the order SELECT, INSERT, UPDATE, DELETE. */
  readonly privileges: readonly string[];
}

export interface ForeignEvidence {
  readonly tableCount: number;
  /** Tables, views and foreign tables the session may touch at all. */
  readonly reachable: readonly TableReach[];
  readonly canCreateTemp: boolean;
  /** Schemas the session may create objects in (`public` included when still open). */
  readonly creatableSchemas: readonly string[];
}

const USER_RELATIONS = `
  select format('%I.%I', n.nspname, c.relname) as "table",
         array_remove(array[
           case when has_table_privilege(c.oid, 'SELECT') then 'SELECT' end,
           case when has_table_privilege(c.oid, 'INSERT') then 'INSERT' end,
           case when has_table_privilege(c.oid, 'UPDATE') then 'UPDATE' end,
           case when has_table_privilege(c.oid, 'DELETE') then 'DELETE' end
         ], null) as privileges
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
   where c.relkind in ('r', 'p', 'v', 'm', 'f')
     and n.nspname <> 'information_schema' and n.nspname !~ '^pg_'
   order by 1`;

const SESSION_RIGHTS = `
  select has_database_privilege(current_database(), 'TEMP') as "canCreateTemp",
         array(select n.nspname::text from pg_namespace n
                where n.nspname <> 'information_schema' and n.nspname !~ '^pg_'
                  and has_schema_privilege(n.oid, 'CREATE')
                order by 1) as "creatableSchemas"`;

export async function gatherForeignEvidence(session: PostgresClient): Promise<ForeignEvidence> {
  const relations = await session.query<TableReach>(USER_RELATIONS);
  const rights = await session.query<{ canCreateTemp: boolean; creatableSchemas: string[] }>(SESSION_RIGHTS);
  const { canCreateTemp, creatableSchemas } = rights.rows[0]!;
  return {
    tableCount: relations.rows.length,
    reachable: relations.rows.filter((row) => row.privileges.length > 0),
    canCreateTemp,
    creatableSchemas,
  };
}

/** One clause for a finding's message, e.g. "it can read 3 of 3 tables, write 3, and create temporary tables". */
export function summarizeEvidence(evidence: ForeignEvidence): string {
  const readable = evidence.reachable.filter((t) => t.privileges.includes("SELECT")).length;
  const writable = evidence.reachable.filter((t) => t.privileges.some((p) => p !== "SELECT")).length;
  const powers = [`read ${readable} of ${evidence.tableCount} tables`, `write ${writable}`];
  if (evidence.canCreateTemp) powers.push("create temporary tables");
  if (evidence.creatableSchemas.length > 0) powers.push(`create objects in schema ${evidence.creatableSchemas.join(", ")}`);
  return `it can ${powers.slice(0, -1).join(", ")}${powers.length > 1 ? " and " : ""}${powers.at(-1)}`;
}

/** The full list, for a finding's collapsed details. */
export function describeEvidence(database: string, evidence: ForeignEvidence): string {
  const lines = [`${database}: ${summarizeEvidence(evidence)}.`];
  for (const table of evidence.reachable) lines.push(`  ${table.table}: ${table.privileges.join(", ")}`);
  return lines.join("\n");
}
