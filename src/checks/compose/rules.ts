import { defineRules } from "../check.js";

const REGENERATE = "regenerate the compose file from the registry (`civic-conformance generate --write` or the product's infra/generate.ts)";

export const composeRules = defineRules("compose", {
  "missing-service": {
    severity: "error",
    summary: "A registry service has no compose service of its hostname.",
    help: `Add the service to the compose file: ${REGENERATE}.`,
  },
  "unknown-service": {
    severity: "warning",
    summary: "A compose service builds a module but is not in the registry, so no check covers it.",
    help: "Add the service to the registry (and regenerate), or remove it from the compose file.",
  },
  "missing-database-url": {
    severity: "error",
    summary: "A stateful service has no DATABASE_URL.",
    help: `Give the service a DATABASE_URL naming its own role and database on the postgres service; ${REGENERATE}.`,
    profiles: { portable: "off" },
  },
  "multiple-database-urls": {
    severity: "error",
    summary: "A service has more than one PostgreSQL connection (a second DATABASE_URL or another postgres:// variable).",
    help: "Keep exactly one DATABASE_URL, naming the service's own database; reach other services' data over HTTP.",
    profiles: { portable: "warning" },
  },
  "foreign-database": {
    severity: "error",
    summary: "A service's DATABASE_URL names another service's database.",
    help: "Point DATABASE_URL at the service's own database; read the other service's data through its HTTP API.",
  },
  "wrong-database": {
    severity: "error",
    summary: "A service's DATABASE_URL names a database that is not its registry database.",
    help: "Point DATABASE_URL at the service's registry database, or change the registry and regenerate.",
  },
  "invalid-database-url": {
    severity: "error",
    summary: "A service's DATABASE_URL is not a postgresql:// URL with a host and a valid port.",
    help: "Write DATABASE_URL as postgresql://<role>:<password>@postgres:5432/<database>.",
  },
  "database-host": {
    severity: "error",
    summary: "A service's credential does not point at the PostgreSQL service its database lives on, or not at its container port.",
    help: "Use the name of the PostgreSQL service that holds the service's database as the host, and its container port (not the published one).",
    profiles: { portable: "warning" },
  },

  "stateless-database-url": {
    severity: "error",
    summary: "A stateless service has a PostgreSQL connection.",
    help: "Remove the connection from the stateless service, or give it a database in the registry and regenerate.",
  },
  "superuser-database-url": {
    severity: "warning",
    summary: "A service logs in as the compose file's PostgreSQL superuser, which can read every database.",
    help: "Give the service its own login role that owns only its database (the built-in generator does: civic-conformance generate).",
  },
  port: {
    severity: "error",
    summary: "A service's PORT, healthcheck port or published port disagrees with its registry port.",
    help: "Use the registry port for PORT, the healthcheck and the published container port, or change the registry and regenerate.",
    profiles: { portable: "off" },
  },
  "extra-env": {
    severity: "error",
    summary: "A service's environment disagrees with its registry extraEnv, or calls a registry service the extraEnv does not declare.",
    help: `Make the compose environment match the registry's extraEnv (declare every call there): ${REGENERATE}.`,
    profiles: { portable: "warning" },
  },
  "depends-on": {
    severity: "error",
    summary: "A service's depends_on disagrees with its registry dependsOn, or does not wait for PostgreSQL to be healthy.",
    help: 'List every registry dependency in depends_on, nothing else, and wait for postgres with "condition: service_healthy".',
    profiles: { portable: "warning" },
  },
  dockerfile: {
    severity: "error",
    summary: "A service is not built from the Dockerfile the registry names.",
    help: "Build the service with the context at the repository root and the registry's dockerfile.",
    profiles: { portable: "warning" },
  },
  "missing-postgres": {
    severity: "error",
    summary: "The compose file has no PostgreSQL service, yet services own databases.",
    help: `Add a postgres service (image postgres:16-alpine) that mounts infra/init-databases.sql into /docker-entrypoint-initdb.d; ${REGENERATE}.`,
  },
  "postgres-healthcheck": {
    severity: "error",
    summary: "The PostgreSQL service has no (or a disabled) healthcheck, so no service can wait for it.",
    help: 'Add a healthcheck to the postgres service: test: ["CMD-SHELL", "pg_isready -h 127.0.0.1 -U <user>"].',
    profiles: { portable: "warning" },
  },
  "init-scripts": {
    severity: "error",
    summary: "The PostgreSQL service mounts no runnable init script, or a mount's source is missing or unreadable.",
    help: "Mount the generated infra/init-databases.sql into /docker-entrypoint-initdb.d/ with a path relative to the compose file.",
    profiles: { portable: "warning" },
  },
  "init-database-missing": {
    severity: "error",
    summary: "No init script creates a registry database (a warning when a script that cannot be read statically might).",
    help: "Create every registry database with a plain CREATE DATABASE in a mounted .sql script (regenerate infra/init-databases.sql).",
  },
});
