import { defineRules } from "../check.js";

/** Each rule's help is also the fix of every finding it reports: the fix does not depend on the service. */
export const migrationsRules = defineRules("migrations", {
  "apply-failed": {
    severity: "error",
    summary: "A service's migrations do not apply on an empty database as its own role.",
    help: "Make the migration apply on an empty database as the service's own role (no superuser): fix the statement, or regenerate it with `prisma migrate dev` against an empty database.",
  },
  "no-migrations": {
    severity: "error",
    summary: "A stateful service has no migrations the check can apply: none were found, or they are code (e.g. sequelize-cli JavaScript) and no migrate command was given.",
    help: "Point the check at the service's migrations: set `migrations.dir` (and `tool`) in the registry, or give the command that applies them (`--migrate-command`, or the registry's `migrations.command`, e.g. `npx sequelize-cli db:migrate`).",
    // A database whose schema an ORM syncs at runtime breaks no isolation rule: outside the civic layout it warns,
    // and the check still cannot pass (its coverage names the service it could not apply).
    profiles: { portable: "warning" },
  },
  "order-dependent": {
    severity: "error",
    summary: "A service's migrations give another result (or fail) when the services' migrations run in another order.",
    help: "Make each service's migrations depend only on objects its own migrations create; move shared roles or grants out of migrations into the generated init SQL.",
  },
  "outside-effect": {
    severity: "error",
    summary: "A migration changes the server outside the service's own database (roles, memberships, databases, grants, settings).",
    help: "Keep migrations inside the service's own database: create roles, database grants and server settings in the generated init SQL (infra/generate.ts), not in a migration.",
  },
  "cross-database-link": {
    severity: "error",
    summary: "A migration uses dblink, postgres_fdw, a foreign server or a logical-replication subscription to reach another database.",
    help: "Remove the dblink / postgres_fdw / subscription usage: fetch the other service's data through its HTTP API (extraEnv URL) instead.",
  },
  "server-side-io": {
    severity: "error",
    summary: "A migration runs programs or reads or writes files on the server host (COPY … PROGRAM, lo_import/lo_export, pg_read_file, ALTER SYSTEM, an untrusted language).",
    help: "Remove the statement: a migration works inside its own database. Load data with ordinary INSERTs or COPY FROM STDIN, write functions in a trusted language (plpgsql, sql), and set server settings in the deployment, not in a migration.",
  },
  "foreign-reference": {
    severity: "error",
    summary: "A migration names another service's database, role or tables.",
    help: "Do not name another service's database, role or tables: keep a copy of the identifier you need (e.g. a UUID column without a foreign key) and fetch the data over HTTP.",
  },
});
