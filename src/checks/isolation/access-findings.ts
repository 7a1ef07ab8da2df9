/**
 * Findings from the connection attempts themselves: a credential that got into another service's
 * database (with what it could do there), or into a maintenance database; and service databases
 * that still grant TEMP to PUBLIC.
 */
import type { Finding } from "../../core/report-model.js";
import { locationOf, type Registry, type Service } from "../../registry/model.js";
import type { CatalogDatabase } from "../../postgres/cluster-catalog.js";
import type { LiveInstance } from "../../runtime/runtime.js";
import type { ServiceCredential } from "../shared/service-credentials.js";
import { describeEvidence, summarizeEvidence } from "./foreign-evidence.js";
import { FIX_FOREIGN_CONNECT, FIX_MAINTENANCE_DATABASE, fixPublicTemp } from "./fixes.js";
import { foreignHolders, type CredentialGroup, type ProbeTarget } from "./probe-plan.js";
import type { ProbeResult } from "./probe.js";

type Connected = Extract<ProbeResult, { connected: true }>;

/** How findings name a database: `name`, or `name` on instance `x` when the product has several. */
export type TargetName = (target: ProbeTarget) => string;

export function foreignConnectFindings(
  results: readonly ProbeResult[],
  groups: readonly CredentialGroup[],
  targets: readonly (ProbeTarget & { readonly owner: Service })[],
  homes: ReadonlyMap<string, LiveInstance | undefined>,
  nameOf: TargetName,
): Finding[] {
  const ownerOf = new Map(targets.map((target) => [`${target.instance.name}\0${target.database}`, target.owner.key]));
  const breaches = results.filter((r): r is Connected => r.connected && r.attempt.kind === "service");
  const holderCount = groups.reduce((sum, group) => sum + group.holders.length, 0);
  const shared = groups.length === 1 && holderCount > 1 ? groups[0] : undefined;
  if (shared && breaches.length > 0) return [everyoneSharesFinding(shared, breaches, ownerOf.size, nameOf)];

  return breaches.map(({ attempt, evidence }) => {
    const intruders = foreignHolders(attempt.group, attempt.target, homes);
    const first = intruders[0]!;
    const names = intruders.map((holder) => holder.service.key).join(", ");
    const owner = ownerOf.get(`${attempt.target.instance.name}\0${attempt.target.database}`);
    return {
      rule: "isolation/foreign-connect",
      severity: "error",
      message:
        `${names} ${intruders.length > 1 ? "connect" : "connects"} as role "${attempt.group.user}" to ${nameOf(attempt.target)}, ` +
        `the database of ${owner ?? "another service"}${fromAnotherInstance(intruders, attempt.target, homes)}: ${evidence ? summarizeEvidence(evidence) : "the connection was accepted"}.`,
      service: first.service.key,
      file: first.source.file,
      line: first.source.line,
      fix: FIX_FOREIGN_CONNECT,
      ...(evidence && evidence.reachable.length > 0 && { details: describeEvidence(nameOf(attempt.target), evidence) }),
    };
  });
}

/**
 * `, with its credential for instance "a" (…)` when the credential belongs to another instance than
 * the one it got into: the same role and password were created on both, which is the leak to fix.
 */
function fromAnotherInstance(intruders: readonly ServiceCredential[], target: ProbeTarget, homes: ReadonlyMap<string, LiveInstance | undefined>): string {
  const elsewhere = [...new Set(intruders.map((holder) => homes.get(holder.service.key)?.name).filter((name): name is string => name !== undefined && name !== target.instance.name))];
  if (elsewhere.length === 0) return "";
  const their = intruders.length > 1 ? "their credentials" : "its credential";
  return `, with ${their} for instance ${elsewhere.map((name) => `"${name}"`).join(" and ")} (the same role and password work on both)`;
}

/** Everyone on one credential: the N×(N−1) breaches are one fact, said once; the matrix still lists every cell. */
function everyoneSharesFinding(group: CredentialGroup, breaches: readonly Connected[], total: number, nameOf: TargetName): Finding {
  const first = group.holders[0]!;
  const reached = breaches.map((b) => nameOf(b.attempt.target));
  const details = breaches.map(({ attempt, evidence }) =>
    evidence ? describeEvidence(nameOf(attempt.target), evidence) : `${nameOf(attempt.target)}: the connection was accepted.`,
  );
  return {
    rule: "isolation/foreign-connect",
    severity: "error",
    message:
      `All ${group.holders.length} services log in with the same credential (role "${group.user}"), so each one can connect to ` +
      `${reached.length === total ? "every other service's database" : `other services' databases (${reached.length} of ${total} reached)`}: ` +
      `no database is isolated from any service.`,
    file: first.source.file,
    line: first.source.line,
    fix: FIX_FOREIGN_CONNECT,
    details: details.join("\n"),
  };
}

/** One finding per credential and instance whose maintenance databases it still gets into. */
export function maintenanceFindings(results: readonly ProbeResult[], groups: readonly CredentialGroup[], several: boolean): Finding[] {
  // Everyone on one credential: the finding belongs to no single service.
  const sharedByAll = groups.length === 1 && groups[0]!.holders.length > 1;
  const byGroup = new Map<string, { group: CredentialGroup; instance: string; databases: string[] }>();
  for (const result of results) {
    if (!result.connected || result.attempt.kind !== "maintenance") continue;
    const key = `${result.attempt.group.identity}\0${result.attempt.target.instance.name}`;
    const entry = byGroup.get(key) ?? { group: result.attempt.group, instance: result.attempt.target.instance.name, databases: [] };
    entry.databases.push(result.attempt.target.database);
    byGroup.set(key, entry);
  }
  return [...byGroup.values()].map(({ group, instance, databases }) => {
    const first = group.holders[0]!;
    const who = sharedByAll ? `All ${group.holders.length} services` : group.holders.map((h) => h.service.key).join(", ");
    return {
      rule: "isolation/maintenance-database",
      severity: "warning",
      message: `${who} (role "${group.user}") can still connect to ${listed(databases)}${several ? ` on instance "${instance}"` : ""}.`,
      ...(!sharedByAll && { service: first.service.key }),
      file: first.source.file,
      line: first.source.line,
      fix: FIX_MAINTENANCE_DATABASE,
    };
  });
}

/** "a", "a and b", "a, b and c". */
function listed(items: readonly string[]): string {
  return items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

/** `stateful`: the services whose database lives on the instance whose catalog `databases` is. */
export function publicTempFindings(registry: Registry, stateful: readonly Service[], databases: readonly CatalogDatabase[]): Finding[] {
  const openToPublic = new Set(databases.filter((d) => d.publicTemp).map((d) => d.name));
  return stateful
    .filter((service) => openToPublic.has(service.database))
    .map((service) => ({
      rule: "isolation/public-temp",
      severity: "warning" as const,
      message: `Database "${service.database}" of ${service.key} still grants TEMP to PUBLIC: any role that gets in can create temporary tables there.`,
      service: service.key,
      ...locationOf(registry, service, "database"),
      fix: fixPublicTemp(service.database),
    }));
}
