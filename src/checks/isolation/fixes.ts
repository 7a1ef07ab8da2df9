/**
 * How to fix each isolation finding: the smallest change for the cause the catalog found, with the
 * real names, in the init script the product really runs.
 */
import { quoteIdentifier } from "../../postgres/quoting.js";
import type { ConnectCause } from "../../postgres/connect-privileges.js";
import { GENERIC_WORDING, type FixWording } from "../shared/init-script-names.js";

/** A name as the fix writes it: plain when PostgreSQL would fold it to itself, else double-quoted. */
export function sqlName(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : quoteIdentifier(name);
}

/** The rule's help: every cause, with placeholders. */
export const FIX_FOREIGN_CONNECT =
  "Remove what lets the role in, as the finding's cause says: PUBLIC's CONNECT (REVOKE CONNECT ON DATABASE <db> FROM PUBLIC;), " +
  "a direct grant (REVOKE CONNECT ON DATABASE <db> FROM <role>;), a membership (REVOKE <granted role> FROM <role>;), " +
  "superuser (ALTER ROLE <role> NOSUPERUSER;), or a role shared by several services (give each service its own LOGIN role owning its database).";

/** Several services on one role: each needs its own. `databases` (their own, in registry order) are named as the example. */
export function fixSharedRole(role: string, databases: readonly string[], wording: FixWording = GENERIC_WORDING, instance?: string): string {
  const example = databases[0] ?? "x";
  const name = sqlName(example);
  return (
    `Give each service its own LOGIN role, named like its database and owning it, instead of the shared role "${role}" ` +
    `(CREATE ROLE ${name} LOGIN PASSWORD …; ALTER DATABASE ${name} OWNER TO ${name}; REVOKE ALL ON DATABASE ${name} FROM PUBLIC; and so on for ` +
    `${databases.length > 1 ? databases.slice(1).join(", ") : "every service database"}) in ${wording.where(instance)}, and use that role in the service's credential${wording.hint}.`
  );
}

/**
 * The statements that close one way in. `ownerRoles`: the roles of the database's own service, so
 * an ownership can be handed back and PUBLIC's CONNECT revoked without locking the service out.
 * `undefined` for a superuser that is the bootstrap superuser (POSTGRES_USER): no statement fixes that, per-service roles do.
 */
export function causeStatements(
  cause: ConnectCause,
  role: string,
  database: string,
  context: { readonly adminUser: string | undefined; readonly ownerRoles: readonly string[]; readonly ownerNeedsGrant: boolean },
): string[] | undefined {
  const db = sqlName(database);
  const r = sqlName(role);
  switch (cause.kind) {
    case "superuser":
      return role === context.adminUser ? undefined : [`ALTER ROLE ${r} NOSUPERUSER;`];
    case "owner":
      return [`ALTER DATABASE ${db} OWNER TO ${sqlName(context.ownerRoles[0] ?? database)};`];
    case "member-of-owner":
    case "membership":
      return [`REVOKE ${sqlName(cause.via)} FROM ${r};`];
    case "public":
      return [
        ...(context.ownerNeedsGrant ? context.ownerRoles.map((owner) => `GRANT CONNECT ON DATABASE ${db} TO ${sqlName(owner)};`) : []),
        `REVOKE CONNECT ON DATABASE ${db} FROM PUBLIC;`,
      ];
    case "grant":
      return [`REVOKE CONNECT ON DATABASE ${db} FROM ${r};`];
  }
}

export function fixRoleAttribute(attribute: string, wording: FixWording = GENERIC_WORDING, instance?: string): string {
  return (
    `Connect the service as its own LOGIN role with ${attribute} (e.g. ALTER ROLE … ${attribute} in ${wording.where(instance)}), owning only its own database; ` +
    `keep the superuser for the postgres container's bootstrap (POSTGRES_USER) alone${wording.hint}.`
  );
}

export function fixPredefinedRole(role: string, member: string, wording: FixWording = GENERIC_WORDING, instance?: string): string {
  return `REVOKE ${role} FROM ${member} in ${wording.where(instance)}; a service role needs no cluster-wide reach${wording.hint}.`;
}

export function fixMaintenanceDatabase(wording: FixWording = GENERIC_WORDING, instance?: string): string {
  return (
    `Run REVOKE CONNECT, TEMPORARY ON DATABASE … FROM PUBLIC for postgres, template1 and POSTGRES_DB in ${wording.where(instance)}, ` +
    `and connect services as their own non-superuser roles${wording.hint}.`
  );
}

export function fixPublicTemp(database: string, wording: FixWording = GENERIC_WORDING, instance?: string): string {
  return `Run REVOKE ALL ON DATABASE ${database} FROM PUBLIC in ${wording.where(instance)} (the owner keeps its rights)${wording.hint}.`;
}

export const FIX_PROOF_MISMATCH =
  "Look at the server by hand (\\l and \\du in psql as the admin, and pg_hba.conf): the catalog and a real login disagree about this role, " +
  "so neither can be trusted until the difference is explained.";

export const FIX_UNTESTED_CREDENTIAL =
  "Give the service its credential in a form the checker reads (DATABASE_URL, a *_DATABASE_URL / *_DSN URL, JDBC with _USERNAME/_PASSWORD, " +
  "split DB_* / PG* variables), with a host that names one of the product's PostgreSQL services, or name its variables in the registry's `credentials` mapping.";
