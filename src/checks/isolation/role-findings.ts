/**
 * Role attributes that reach past any database's CONNECT privilege: a superuser, a role that can
 * create roles or databases, bypass row-level security or stream the whole cluster, or a member of a
 * predefined role that reads or writes every table. Read from the catalog, one finding per role.
 */
import type { Finding } from "../../core/report-model.js";
import type { CatalogRole } from "../../postgres/cluster-catalog.js";
import type { ServiceCredential } from "../shared/service-credentials.js";
import type { FixWording } from "../shared/init-script-names.js";
import { fixPredefinedRole, fixRoleAttribute } from "./fixes.js";

/** Predefined roles that reach data or the server's files in every database: errors. Any other `pg_*` membership is a warning. */
const DATA_REACH_ROLES = new Set([
  "pg_read_all_data",
  "pg_write_all_data",
  "pg_read_server_files",
  "pg_write_server_files",
  "pg_execute_server_program",
]);

interface AttributeRule {
  readonly rule: string;
  readonly has: (role: CatalogRole) => boolean;
  readonly what: string;
  readonly remedy: string;
}

const ATTRIBUTE_RULES: readonly AttributeRule[] = [
  { rule: "isolation/createrole", has: (r) => r.createRole, what: "may create and alter roles (CREATEROLE)", remedy: "NOCREATEROLE" },
  { rule: "isolation/createdb", has: (r) => r.createDb, what: "may create databases (CREATEDB)", remedy: "NOCREATEDB" },
  { rule: "isolation/bypassrls", has: (r) => r.bypassRls, what: "bypasses row-level security (BYPASSRLS)", remedy: "NOBYPASSRLS" },
  { rule: "isolation/replication", has: (r) => r.replication, what: "may stream the whole cluster (REPLICATION)", remedy: "NOREPLICATION" },
];

/**
 * For one instance: `credentials` are those held for it or that got in there, judged by its
 * catalog's roles; `instance` names it in messages when the product has several.
 */
export function roleFindings(
  credentials: readonly ServiceCredential[],
  roles: readonly CatalogRole[],
  instance?: string,
  wording?: FixWording,
): Finding[] {
  const on = instance ? ` on instance "${instance}"` : "";
  const byUser = new Map<string, ServiceCredential[]>();
  for (const credential of credentials) byUser.set(credential.user, [...(byUser.get(credential.user) ?? []), credential]);
  const roleByName = new Map(roles.map((role) => [role.name, role]));
  const findings: Finding[] = [];
  for (const [user, holders] of byUser) {
    const role = roleByName.get(user);
    // A role that does not exist cannot log in; own-database reports that.
    if (!role) continue;
    const everyone = holders.length > 1 && holders.length === credentials.length;
    const who = everyone
      ? `All ${holders.length} services log in as role "${user}"${on}, which`
      : `Role "${user}"${on} of ${holders.map((h) => h.service.key).join(", ")}`;
    const first = holders[0]!;
    const at = { ...(!everyone && { service: first.service.key }), file: first.source.file, line: first.source.line };
    if (role.superuser) {
      // A superuser has every other power too; listing them again would only add noise.
      findings.push({
        rule: "isolation/superuser",
        severity: "error",
        message: `${who} is a superuser: it can read and write every database on the server, whatever the grants say.`,
        ...at,
        fix: fixRoleAttribute("NOSUPERUSER", wording, instance),
      });
      continue;
    }
    for (const attribute of ATTRIBUTE_RULES) {
      if (!attribute.has(role)) continue;
      findings.push({ rule: attribute.rule, severity: "error", message: `${who} ${attribute.what}.`, ...at, fix: fixRoleAttribute(attribute.remedy, wording, instance) });
    }
    for (const predefined of role.predefinedRoles) {
      const reachesData = DATA_REACH_ROLES.has(predefined);
      findings.push({
        rule: "isolation/predefined-role",
        severity: reachesData ? "error" : "warning",
        message: `${who} is a member of the predefined role ${predefined}${reachesData ? ", which reaches every database's tables or the server's files" : ""}.`,
        ...at,
        fix: fixPredefinedRole(predefined, user, wording, instance),
      });
    }
  }
  return findings;
}
