/** How to fix each isolation finding: the least-privilege layout `civic-conformance generate` writes. */

const GENERATE_HINT = "`civic-conformance generate --write` renders init-databases.sql and docker-compose.yml this way from the registry";

export const FIX_FOREIGN_CONNECT =
  "Give each service its own LOGIN role, named like its database and owning it (CREATE ROLE x LOGIN PASSWORD …; CREATE DATABASE x OWNER x), " +
  `run REVOKE ALL ON DATABASE x FROM PUBLIC for every service database, and use that role in the service's DATABASE_URL; ${GENERATE_HINT}.`;

export function fixRoleAttribute(attribute: string): string {
  return (
    `Connect the service as its own LOGIN role with ${attribute} (e.g. ALTER ROLE … ${attribute}), owning only its own database; ` +
    `keep the superuser for the postgres container's bootstrap (POSTGRES_USER) alone; ${GENERATE_HINT}.`
  );
}

export function fixPredefinedRole(role: string, member: string): string {
  return `REVOKE ${role} FROM ${member} in infra/init-databases.sql; a service role needs no cluster-wide reach. ${GENERATE_HINT}.`;
}

export const FIX_MAINTENANCE_DATABASE =
  "Run REVOKE CONNECT, TEMPORARY ON DATABASE … FROM PUBLIC for postgres, template1 and POSTGRES_DB in infra/init-databases.sql, " +
  `and connect services as their own non-superuser roles; ${GENERATE_HINT}.`;

export function fixPublicTemp(database: string): string {
  return `Run REVOKE ALL ON DATABASE ${database} FROM PUBLIC in infra/init-databases.sql (the owner keeps its rights); ${GENERATE_HINT}.`;
}

export const FIX_UNTESTED_CREDENTIAL =
  "Give the service its credential in a form the checker reads (DATABASE_URL, a *_DATABASE_URL / *_DSN URL, JDBC with _USERNAME/_PASSWORD, " +
  "split DB_* / PG* variables), with a host that names one of the product's PostgreSQL services, or name its variables in the registry's `credentials` mapping.";
