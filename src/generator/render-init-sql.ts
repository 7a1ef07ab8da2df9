import { isStateful } from "../registry/model.js";
import { type CivicRegistry, commentText, passwordVariable, sqlIdentifier } from "./infra-names.js";

/**
 * `infra/init-databases.sql`: run once by the official postgres image (`psql -v ON_ERROR_STOP=1`,
 * as POSTGRES_USER, into POSTGRES_DB) when it initialises an empty data directory.
 * Least privilege: one login role per stateful service, owning its database and nothing else.
 * Names must have passed `assertRenderable`.
 */
export function renderInitSql(registry: CivicRegistry, product: string): string {
  const lines = [
    `-- ─── ${commentText(product)} — database initialization ───────────────────────────`,
    `-- GENERATED from ${commentText(registry.file)} — do not edit by hand;`,
    "-- change the registry and regenerate.",
    "--",
    "-- Runs once, when the postgres container initialises an empty data directory: the official",
    "-- image feeds it to `psql -v ON_ERROR_STOP=1` as POSTGRES_USER, connected to POSTGRES_DB.",
    "-- Each stateful service gets its own login role (no superuser, no CREATEDB / CREATEROLE) that",
    "-- owns its own database and nothing else. Passwords come from <DATABASE>_DB_PASSWORD in the",
    "-- container environment (psql \\getenv), never from this file.",
    "",
    "-- A failing statement must not copy a password into the server log.",
    "SET log_min_error_statement = panic;",
    "",
    "-- Stops the script when a password variable is missing or empty: a role without a password",
    "-- cannot log in, and the mistake would only show when the service starts.",
    "CREATE FUNCTION pg_temp.require_password(variable text, password text) RETURNS void",
    "LANGUAGE plpgsql AS $$",
    "BEGIN",
    "  IF coalesce(password, '') = '' THEN",
    "    RAISE EXCEPTION '% is empty or not set in the postgres container environment', variable;",
    "  END IF;",
    "END",
    "$$;",
    "",
    "-- Service roles may connect to their own database only: close the maintenance databases and",
    "-- POSTGRES_DB (where this script runs) to PUBLIC. PostgreSQL 15+ already keeps PUBLIC from",
    "-- creating objects in a database's public schema, which the database owner owns.",
    "REVOKE CONNECT, TEMPORARY ON DATABASE postgres FROM PUBLIC;",
    "REVOKE CONNECT, TEMPORARY ON DATABASE template1 FROM PUBLIC;",
    "DO $$",
    "BEGIN",
    "  EXECUTE format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());",
    "END",
    "$$;",
  ];

  for (const service of registry.services.filter(isStateful)) {
    const name = sqlIdentifier(service.database);
    const variable = passwordVariable(service.database);
    // One psql variable per service: \getenv leaves a variable unchanged when the environment
    // lacks the name, so a shared one would silently hand the previous service's password on.
    const psqlVariable = `${service.database}_password`;
    lines.push(
      "",
      `-- ─── ${commentText(service.key)} (${commentText(service.label)}) ───`,
      `\\set ${psqlVariable} ''`,
      `\\getenv ${psqlVariable} ${variable}`,
      `SELECT pg_temp.require_password('${variable}', :'${psqlVariable}');`,
      `CREATE ROLE ${name} LOGIN PASSWORD :'${psqlVariable}'`,
      "  NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;",
      `\\unset ${psqlVariable}`,
      `CREATE DATABASE ${name} OWNER ${name};`,
      "-- ALL is CONNECT, CREATE and TEMPORARY: only the owner keeps them.",
      `REVOKE ALL ON DATABASE ${name} FROM PUBLIC;`,
    );
  }
  lines.push("");
  return lines.join("\n");
}
