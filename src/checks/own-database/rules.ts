import { defineRules } from "../check.js";
import { FIX_MISSING_URL, FIX_SHARED_CREDENTIAL, FIX_STATELESS_CREDENTIAL, GENERATE_HINT } from "./fixes.js";

export const ownDatabaseRules = defineRules("own-database", {
  "missing-database": {
    severity: "error",
    summary: "A registry database does not exist on the server.",
    help: `Create it in the init script (CREATE ROLE x LOGIN …; CREATE DATABASE x OWNER x), then recreate the postgres volume so the init scripts run again; ${GENERATE_HINT}.`,
  },
  "missing-url": {
    severity: "error",
    summary: "A stateful service has no DATABASE_URL the runtime can use, so its login cannot be proven.",
    help: FIX_MISSING_URL,
  },
  "login-failed": {
    severity: "error",
    summary: "A service cannot log in with its DATABASE_URL.",
    help: `Make the DATABASE_URL's user and password those of the LOGIN role that owns the service's database in the init script; ${GENERATE_HINT}.`,
  },
  "wrong-database": {
    severity: "error",
    summary: "A service's login lands in a database that is not its own.",
    help: "Point the DATABASE_URL at the service's own database.",
  },
  "shared-database": {
    severity: "error",
    summary: "Two services log in to the same database.",
    help: "Only the service that owns a database may connect to it; give every other service its own database and fetch the data over HTTP.",
  },
  "shared-credential": {
    severity: "error",
    summary: "Two services log in as the same role.",
    help: FIX_SHARED_CREDENTIAL,
  },
  "stateless-credential": {
    severity: "error",
    summary: "A stateless service holds a PostgreSQL credential.",
    help: FIX_STATELESS_CREDENTIAL,
  },
  "cluster-state": {
    severity: "warning",
    summary: "The server holds a database or login role no registry service owns, or a database owned by another role than its service's.",
    help: `Make the init script create exactly the registry's databases, each owned by its service's role, and no other login role; ${GENERATE_HINT}.`,
  },
});
