import { defineRules } from "../check.js";

/** Each rule's help is also the fix of every finding it reports: the fix does not depend on the service. */
export const migrationsRules = defineRules("migrations", {
  "apply-failed": {
    severity: "error",
    summary: "A service's migrations do not apply on an empty database as its own role.",
    help: "Make the migration apply on an empty database as the service's own role (no superuser): fix the statement, or regenerate it with `prisma migrate dev` against an empty database.",
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
    summary: "A migration uses dblink, postgres_fdw or a foreign server to reach another database.",
    help: "Remove the dblink / postgres_fdw usage: fetch the other service's data through its HTTP API (extraEnv URL) instead.",
  },
  "foreign-reference": {
    severity: "error",
    summary: "A migration names another service's database, role or tables.",
    help: "Do not name another service's database, role or tables: keep a copy of the identifier you need (e.g. a UUID column without a foreign key) and fetch the data over HTTP.",
  },
});
