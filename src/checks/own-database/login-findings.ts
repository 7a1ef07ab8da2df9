/**
 * Findings from each service's own login: it failed, it landed in another database, or two
 * services share a database or a role.
 */
import type { Finding } from "../../core/report-model.js";
import { SQLSTATE } from "../../postgres/sqlstate.js";
import type { FixWording } from "../shared/init-script-names.js";
import { explainLoginFailure, type RoleLoginFacts } from "../../postgres/login-diagnosis.js";
import type { Service } from "../../registry/model.js";
import { FIX_SHARED_CREDENTIAL, fixLoginFailed, fixSharedDatabase, fixWrongDatabase } from "./fixes.js";
import type { LoginProbe } from "./login-probe.js";

/** `facts`: what the admin catalog says about the credential's role, when its login was refused on authentication. */
export function loginFindings(probe: LoginProbe, missing: readonly Service[], facts?: RoleLoginFacts, wording?: FixWording): Finding[] {
  const { credential } = probe;
  const { service, source } = credential;
  const at = { service: service.key, file: source.file, line: source.line };
  if (!probe.loggedIn) {
    // The missing database is already reported on its registry line; a second finding would say the same.
    const alreadySaid =
      probe.failure.code === SQLSTATE.invalidCatalogName &&
      credential.database === service.database &&
      missing.some((m) => m.key === service.key);
    if (alreadySaid) return [];
    return [
      {
        rule: "own-database/login-failed",
        severity: "error",
        message: `${service.key} cannot log in with its ${credential.declared.source.variable} (user "${credential.user}", database "${credential.database}"): ${explainLoginFailure(credential.user, probe.failure, facts)}.`,
        ...at,
        fix: fixLoginFailed(service.database, wording, credential.instance.name),
      },
    ];
  }
  if (probe.database === service.database) return [];
  return [
    {
      rule: "own-database/wrong-database",
      severity: "error",
      message: `${service.key} logs in to database "${probe.database}", not its own "${service.database}".`,
      ...at,
      fix: fixWrongDatabase(service.database),
    },
  ];
}

export function sharedDatabaseFindings(probes: readonly LoginProbe[]): Finding[] {
  // Same name on two servers is two databases: the key carries the server.
  const byDatabase = groupBy(
    probes.filter((probe) => probe.loggedIn),
    (probe) => `${probe.database}\0${probe.credential.server}`,
  );
  const findings: Finding[] = [];
  for (const group of byDatabase.values()) {
    if (group.length < 2) continue;
    const database = (group[0] as Extract<LoginProbe, { loggedIn: true }>).database;
    const owner = group.find((probe) => probe.credential.service.database === database);
    const names = group.map((probe) => probe.credential.service.key);
    // The owner keeps its database; everyone else in it is the problem (all but the first when nobody owns it).
    const intruders = owner ? group.filter((probe) => probe !== owner) : group.slice(1);
    for (const probe of intruders) {
      const { service, source } = probe.credential;
      findings.push({
        rule: "own-database/shared-database",
        severity: "error",
        message: `Database "${database}" is shared by ${names.join(", ")}${owner ? `; only ${owner.credential.service.key} owns it` : ""}.`,
        service: service.key,
        file: source.file,
        line: source.line,
        fix: fixSharedDatabase(database),
      });
    }
  }
  return findings;
}

export function sharedCredentialFindings(probes: readonly LoginProbe[]): Finding[] {
  // The session's role when it logged in; the URL's user otherwise (sharing a role is a fact either way).
  const roleOf = (probe: LoginProbe) => (probe.loggedIn ? probe.role : probe.credential.user);
  const byRole = groupBy(probes, (probe) => `${roleOf(probe)}\0${probe.credential.server}`);
  const findings: Finding[] = [];
  for (const group of byRole.values()) {
    if (group.length < 2) continue;
    const role = roleOf(group[0]!);
    const names = group.map((probe) => probe.credential.service.key);
    if (group.length === probes.length) {
      // Everyone on one role: one finding says it; one per service would repeat it N times.
      const first = group[0]!.credential;
      findings.push({
        rule: "own-database/shared-credential",
        severity: "error",
        message: `All ${group.length} stateful services log in as the same role "${role}" (${names.join(", ")}), so none of their databases is private to its service.`,
        file: first.source.file,
        line: first.source.line,
        fix: FIX_SHARED_CREDENTIAL,
      });
      continue;
    }
    for (const probe of group.slice(1)) {
      const { service, source } = probe.credential;
      findings.push({
        rule: "own-database/shared-credential",
        severity: "error",
        message: `${service.key} logs in as role "${role}", which ${names.filter((name) => name !== service.key).join(", ")} also use.`,
        service: service.key,
        file: source.file,
        line: source.line,
        fix: FIX_SHARED_CREDENTIAL,
      });
    }
  }
  return findings;
}

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  return groups;
}
