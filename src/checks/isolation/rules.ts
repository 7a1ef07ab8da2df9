import { defineRules } from "../check.js";
import { FIX_FOREIGN_CONNECT, FIX_PROOF_MISMATCH, FIX_UNTESTED_CREDENTIAL, fixMaintenanceDatabase, fixPredefinedRole, fixPublicTemp, fixRoleAttribute } from "./fixes.js";

export const isolationRules = defineRules("isolation", {
  "foreign-connect": {
    severity: "error",
    summary: "A service credential (or a LOGIN role, or PUBLIC) can connect to another service's database, proven by a login or by the catalog; one finding per credential, listing the databases and the cause.",
    help: FIX_FOREIGN_CONNECT,
  },
  superuser: {
    severity: "error",
    summary: "A service logs in as a superuser, which reads and writes every database whatever the grants say.",
    help: fixRoleAttribute("NOSUPERUSER"),
  },
  createrole: {
    severity: "error",
    summary: "A service role may create and alter roles (CREATEROLE).",
    help: fixRoleAttribute("NOCREATEROLE"),
  },
  createdb: {
    severity: "error",
    summary: "A service role may create databases (CREATEDB).",
    help: fixRoleAttribute("NOCREATEDB"),
  },
  bypassrls: {
    severity: "error",
    summary: "A service role bypasses row-level security (BYPASSRLS).",
    help: fixRoleAttribute("NOBYPASSRLS"),
  },
  replication: {
    severity: "error",
    summary: "A service role may stream the whole cluster (REPLICATION).",
    help: fixRoleAttribute("NOREPLICATION"),
  },
  "predefined-role": {
    severity: "error",
    summary: "A service role is a member of a predefined pg_* role (an error for those that reach every database's data or the server's files).",
    help: fixPredefinedRole("<pg_* role>", "<service role>"),
  },
  "maintenance-database": {
    severity: "warning",
    summary: "A service credential can still connect to a maintenance database (postgres, template1, POSTGRES_DB).",
    help: fixMaintenanceDatabase(),
  },
  "untested-credential": {
    severity: "error",
    summary: "A stateful service's credential could not be read, bound to an instance, or tried, so its isolation is unknown.",
    help: FIX_UNTESTED_CREDENTIAL,
  },
  "proof-mismatch": {
    severity: "error",
    summary: "A real login and the catalog disagree about whether a role may connect to a database, so neither proof holds for that cell.",
    help: FIX_PROOF_MISMATCH,
  },
  "public-temp": {
    severity: "warning",
    summary: "A service database still grants TEMP to PUBLIC.",
    help: fixPublicTemp("<database>"),
  },
});
