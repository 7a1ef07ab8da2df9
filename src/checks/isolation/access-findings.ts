/**
 * Findings from the connection attempts themselves: a credential that got into another service's
 * database (with what it could do there), or into a maintenance database; and service databases
 * that still grant TEMP to PUBLIC.
 */
import type { SourceLine } from "../../compose-file/model.js";
import type { Finding } from "../../core/report-model.js";
import { locationOf, type Registry, type Service } from "../../registry/model.js";
import type { CatalogDatabase } from "../../postgres/cluster-catalog.js";
import type { ConnectCause } from "../../postgres/connect-privileges.js";
import type { FixWording } from "../shared/init-script-names.js";
import type { LiveInstance } from "../../runtime/runtime.js";
import type { ServiceCredential } from "../shared/service-credentials.js";
import type { CatalogVerdict, ProvenCell } from "./catalog-proof.js";
import { describeEvidence, summarizeEvidence } from "./foreign-evidence.js";
import { FIX_PROOF_MISMATCH, causeStatements, fixMaintenanceDatabase, fixPublicTemp, fixSharedRole } from "./fixes.js";
import type { InitScriptStatements } from "./init-script-statements.js";
import type { CredentialGroup, ProbeTarget } from "./probe-plan.js";
import type { ProbeResult } from "./probe.js";

type Connected = Extract<ProbeResult, { connected: true }>;

/** How findings name a database: `name`, or `name` on instance `x` when the product has several. */
export type TargetName = (target: ProbeTarget) => string;

export type OwnedTarget = ProbeTarget & { readonly owner: Service };

/** One cell of a credential row, both proofs read. */
export interface ProvenEntry {
  readonly holder: ServiceCredential;
  readonly target: OwnedTarget;
  readonly proven: ProvenCell;
  readonly result: ProbeResult | undefined;
  /** The role is the database's own (its service's, or its owner): the catalog allowing it is no breach. */
  readonly rightful: boolean;
}

/** What the findings need to say where and how to fix. */
export interface FindingContext {
  readonly wording: FixWording;
  readonly statements: (instance: string) => InitScriptStatements;
  readonly adminUser: (instance: string) => string | undefined;
  /** The roles the database's own service logs in as (its name when none is known). */
  readonly ownerRoles: (target: OwnedTarget) => readonly string[];
  /** Whether the own roles reach the database only through PUBLIC (revoking it must grant them CONNECT). */
  readonly ownerNeedsGrant: (target: OwnedTarget) => boolean;
  readonly nameOf: TargetName;
  /** Each service's home instance, to say when a credential got into another instance than its own. */
  readonly homes: ReadonlyMap<string, LiveInstance | undefined>;
}

const targetKey = (target: ProbeTarget) => `${target.instance.name}\0${target.database}`;

/** A catalog cause's statement line in the product's own init script. */
function causeLocation(cause: ConnectCause, role: string, database: string, statements: InitScriptStatements): SourceLine | undefined {
  switch (cause.kind) {
    case "superuser":
      return statements.makesSuperuser(role) ?? statements.createsRole(role);
    case "owner":
    case "public":
      return statements.createsDatabase(database);
    case "member-of-owner":
    case "membership":
      return statements.grantsRole(cause.via, role) ?? statements.createsRole(role);
    case "grant":
      return statements.grantsConnect(database, role) ?? statements.createsDatabase(database);
  }
}

interface Remedy {
  /** The cause in words, for the message. */
  readonly why: string;
  readonly statements: readonly string[];
  /** Per-service roles are the fix (a shared role, or the bootstrap superuser). */
  readonly perServiceRoles: boolean;
  readonly location: SourceLine | undefined;
}

function remedyOf(role: string, target: OwnedTarget, catalog: CatalogVerdict | undefined, rightful: boolean, context: FindingContext): Remedy {
  const owner = target.owner.key;
  if (rightful) return { why: `role "${role}" is also ${owner}'s`, statements: [], perServiceRoles: true, location: undefined };
  if (!catalog?.allowed) return { why: "the login got in although the catalog says it may not", statements: [], perServiceRoles: false, location: undefined };
  const statements: string[] = [];
  let perServiceRoles = false;
  const located = context.statements(target.instance.name);
  let location: SourceLine | undefined;
  for (const cause of catalog.causes) {
    const fix = causeStatements(cause, role, target.database, {
      adminUser: context.adminUser(target.instance.name),
      ownerRoles: context.ownerRoles(target),
      ownerNeedsGrant: context.ownerNeedsGrant(target),
    });
    if (fix) statements.push(...fix);
    else perServiceRoles = true;
    location ??= causeLocation(cause, role, target.database, located);
  }
  return { why: catalog.why, statements, perServiceRoles, location };
}

const PROOF_WORDS: Readonly<Record<string, string>> = { login: "login", catalog: "the catalog", "login+catalog": "login and the catalog" };

/**
 * One finding per credential (the services holding the same user and password are one credential),
 * listing every database of another service it reaches by login or that the catalog allows its
 * role, with the cause and the smallest fix, at the init script line that should change (the
 * credential's line when the cause is the credential itself: a shared role).
 */
export function foreignConnectFindings(entries: readonly ProvenEntry[], groups: readonly CredentialGroup[], context: FindingContext): Finding[] {
  const holderCount = groups.reduce((sum, group) => sum + group.holders.length, 0);
  const shared = groups.length === 1 && holderCount > 1 ? groups[0] : undefined;
  const findings: Finding[] = [];
  for (const group of groups) {
    const seen = new Set<string>();
    const breaches = entries.filter((entry) => {
      if (entry.holder.identity !== group.identity || !entry.proven.breach || seen.has(targetKey(entry.target))) return false;
      seen.add(targetKey(entry.target));
      return true;
    });
    if (breaches.length === 0) continue;
    if (group === shared) {
      findings.push(everyoneSharesFinding(group, breaches, new Set(entries.map((entry) => targetKey(entry.target))).size, context));
      continue;
    }
    findings.push(credentialFinding(group, breaches, entries, context));
  }
  return findings;
}

function credentialFinding(group: CredentialGroup, breaches: readonly ProvenEntry[], entries: readonly ProvenEntry[], context: FindingContext): Finding {
  const intruders = group.holders.filter((holder) => entries.some((entry) => entry.holder === holder && entry.proven.breach));
  const first = intruders[0] ?? group.holders[0]!;
  const names = intruders.map((holder) => holder.service.key).join(", ");
  const verb = intruders.length > 1 ? "connect" : "connects";
  const remedies = breaches.map((entry) => remedyOf(group.user, entry.target, entry.proven.catalog, entry.rightful, context));
  const evidenceOf = (entry: ProvenEntry) => (entry.result?.connected ? (entry.result as Connected).evidence : undefined);

  let message: string;
  if (breaches.length === 1) {
    const [entry] = breaches;
    const evidence = evidenceOf(entry!);
    const what = evidence ? summarizeEvidence(evidence) : entry!.result?.connected ? "the connection was accepted" : `the catalog allows it (${remedies[0]!.why})`;
    message = `${names} ${verb} as role "${group.user}" to ${context.nameOf(entry!.target)}, the database of ${entry!.target.owner.key}${fromAnotherInstance(intruders, breaches, context.homes)}: ${what}.`;
  } else {
    const whys = [...new Set(remedies.map((remedy) => remedy.why))];
    const proofs = [...new Set(breaches.map((entry) => PROOF_WORDS[entry.proven.cell.proof ?? "login"]))];
    message =
      `${names} ${verb} as role "${group.user}" to ${breaches.length} databases of other services: ${listed(breaches.map((entry) => context.nameOf(entry.target)))}${fromAnotherInstance(intruders, breaches, context.homes)}` +
      ` (${whys.length <= 3 ? whys.join("; ") : "the cause of each is in the details"}; proven by ${proofs.join(", ")}).`;
  }
  const details = breaches.map((entry, index) => {
    const evidence = evidenceOf(entry);
    const head = `${context.nameOf(entry.target)} (database of ${entry.target.owner.key}): ${remedies[index]!.why}; proven by ${PROOF_WORDS[entry.proven.cell.proof ?? "login"]}.`;
    return evidence ? [head, ...describeEvidence(context.nameOf(entry.target), evidence).split("\n")].join("\n") : head;
  });
  const location = remedies.find((remedy) => remedy.location)?.location ?? first.source;
  return {
    rule: "isolation/foreign-connect",
    severity: "error",
    message,
    service: first.service.key,
    file: location.file,
    line: location.line,
    fix: fixFor(group.user, remedies, intruders.length > 0 ? intruders : group.holders, breaches[0]!.target.instance.name, context),
    details: details.join("\n"),
  };
}

function fixFor(role: string, remedies: readonly Remedy[], holders: readonly ServiceCredential[], instance: string, context: FindingContext): string {
  const statements = [...new Set(remedies.flatMap((remedy) => remedy.statements))];
  const parts: string[] = [];
  if (statements.length > 0) {
    const publicNote = statements.some((statement) => statement.endsWith("FROM PUBLIC;")) ? " Each database then keeps only its owner and the roles granted CONNECT." : "";
    parts.push(`In ${context.wording.where(instance)}: ${statements.join(" ")}${publicNote} Then recreate the database volume so the init scripts run again.`);
  }
  if (remedies.some((remedy) => remedy.perServiceRoles)) parts.push(fixSharedRole(role, holders.map((holder) => holder.service.database).filter(Boolean), context.wording, instance));
  if (parts.length === 0) parts.push(FIX_PROOF_MISMATCH);
  return parts.join(" ");
}

/**
 * `, with its credential for instance "a" (…)` when the credential belongs to another instance than
 * the one it got into: the same role and password were created on both, which is the leak to fix.
 */
function fromAnotherInstance(intruders: readonly ServiceCredential[], breaches: readonly ProvenEntry[], homes: ReadonlyMap<string, LiveInstance | undefined>): string {
  const elsewhere = [
    ...new Set(
      intruders
        .map((holder) => homes.get(holder.service.key)?.name)
        .filter((home): home is string => home !== undefined && breaches.some((entry) => entry.target.instance.name !== home)),
    ),
  ];
  if (elsewhere.length === 0) return "";
  const their = intruders.length > 1 ? "their credentials" : "its credential";
  return `, with ${their} for instance ${elsewhere.map((name) => `"${name}"`).join(" and ")} (the same role and password work on both)`;
}

/** Everyone on one credential: the N×(N−1) breaches are one fact, said once; the matrix still lists every cell. */
function everyoneSharesFinding(group: CredentialGroup, breaches: readonly ProvenEntry[], total: number, context: FindingContext): Finding {
  const first = group.holders[0]!;
  const reached = breaches.map((entry) => context.nameOf(entry.target));
  const details = breaches.map(({ target, result }) => {
    const evidence = result?.connected ? (result as Connected).evidence : undefined;
    return evidence ? describeEvidence(context.nameOf(target), evidence) : `${context.nameOf(target)}: ${result?.connected ? "the connection was accepted" : "the catalog allows it"}.`;
  });
  return {
    rule: "isolation/foreign-connect",
    severity: "error",
    message:
      `All ${group.holders.length} services log in with the same credential (role "${group.user}"), so each one can connect to ` +
      `${reached.length === total ? "every other service's database" : `other services' databases (${reached.length} of ${total} reached)`}: ` +
      `no database is isolated from any service.`,
    file: first.source.file,
    line: first.source.line,
    fix: fixSharedRole(group.user, group.holders.map((holder) => holder.service.database).filter(Boolean), context.wording, first.instance.name),
    details: details.join("\n"),
  };
}

/** A catalog-only row: a LOGIN role no credential uses, and the service databases the catalog lets it into that are not its own. */
export interface CatalogOnlyRow {
  readonly role: string;
  /** The stateful service whose database is the role's own, when there is one. */
  readonly service: Service | undefined;
  readonly breaches: readonly { readonly target: OwnedTarget; readonly verdict: CatalogVerdict }[];
}

/**
 * Findings the catalog alone proves: one per LOGIN role no credential uses that can connect to
 * another service's database, and one for PUBLIC when a service database it can connect to is not
 * already named (with that cause) by a finding above.
 */
export function catalogOnlyFindings(
  rows: readonly CatalogOnlyRow[],
  publicOpen: readonly OwnedTarget[],
  alreadySaid: ReadonlySet<string>,
  registry: Registry,
  context: FindingContext,
): Finding[] {
  const findings: Finding[] = [];
  for (const row of rows) {
    if (row.breaches.length === 0) continue;
    const remedies = row.breaches.map(({ target, verdict }) => remedyOf(row.role, target, verdict, false, context));
    const names = row.breaches.map(({ target }) => context.nameOf(target));
    const whys = [...new Set(remedies.map((remedy) => remedy.why))];
    const location = remedies.find((remedy) => remedy.location)?.location ?? context.statements(row.breaches[0]!.target.instance.name).createsRole(row.role);
    const fallback = row.service ? locationOf(registry, row.service, "database") : { file: registry.file };
    findings.push({
      rule: "isolation/foreign-connect",
      severity: "error",
      message:
        `Role "${row.role}"${row.service ? ` (the role of ${row.service.key}'s database, which no credential read here uses)` : " (no credential of the product uses it)"} ` +
        `can connect to ${names.length === 1 ? `${names[0]}, the database of ${row.breaches[0]!.target.owner.key}` : `${names.length} databases of other services: ${listed(names)}`}` +
        ` (${whys.join("; ")}; proven by the catalog).`,
      ...(row.service && { service: row.service.key }),
      ...(location ? { file: location.file, line: location.line } : fallback),
      fix: fixFor(row.role, remedies, [], row.breaches[0]!.target.instance.name, context),
      details: row.breaches.map(({ target, verdict }) => `${context.nameOf(target)} (database of ${target.owner.key}): ${verdict.why}.`).join("\n"),
    });
  }
  const unsaid = publicOpen.filter((target) => !alreadySaid.has(targetKey(target)));
  if (unsaid.length > 0) {
    const statements = unsaid.flatMap((target) =>
      causeStatements({ kind: "public" }, "PUBLIC", target.database, {
        adminUser: undefined,
        ownerRoles: context.ownerRoles(target),
        ownerNeedsGrant: context.ownerNeedsGrant(target),
      })!,
    );
    const first = unsaid[0]!;
    const location = context.statements(first.instance.name).createsDatabase(first.database) ?? locationOf(registry, first.owner, "database");
    findings.push({
      rule: "isolation/foreign-connect",
      severity: "error",
      message: `${unsaid.length === 1 ? "Database" : "Databases"} ${listed(unsaid.map(context.nameOf))} still ${unsaid.length === 1 ? "grants" : "grant"} CONNECT to PUBLIC: every LOGIN role on the server, of any service or none, can connect (proven by the catalog).`,
      file: location.file,
      ...(location.line !== undefined && { line: location.line }),
      fix: `In ${context.wording.where(first.instance.name)}: ${[...new Set(statements)].join(" ")} Each database then keeps only its owner and the roles granted CONNECT.`,
    });
  }
  return findings;
}

/**
 * The targets a finding above already covers for PUBLIC: named with PUBLIC's CONNECT as (one of) the
 * cause(s), or reached through a shared role or the bootstrap superuser, whose fix (per-service roles,
 * each database closed to PUBLIC) closes it too.
 */
export function publicCausesSaid(entries: readonly ProvenEntry[], rows: readonly CatalogOnlyRow[], context: Pick<FindingContext, "adminUser">): Set<string> {
  const said = new Set<string>();
  for (const entry of entries) {
    if (!entry.proven.breach) continue;
    const causes = entry.proven.catalog?.causes ?? [];
    const perServiceRoles = entry.rightful || (entry.holder.user === context.adminUser(entry.target.instance.name) && causes.some((cause) => cause.kind === "superuser"));
    if (perServiceRoles || causes.some((cause) => cause.kind === "public")) said.add(targetKey(entry.target));
  }
  for (const row of rows) for (const { target, verdict } of row.breaches) if (verdict.causes.some((cause) => cause.kind === "public")) said.add(targetKey(target));
  return said;
}

/** One `isolation/proof-mismatch` per cell where the login and the catalog contradict each other. */
export function mismatchFindings(entries: readonly ProvenEntry[], context: FindingContext): Finding[] {
  return entries
    .filter((entry) => entry.proven.mismatch)
    .map(({ holder, target, proven }) => ({
      rule: "isolation/proof-mismatch",
      severity: "error" as const,
      message: `${holder.service.key}'s credential (role "${holder.user}") at ${context.nameOf(target)}, the database of ${target.owner.key}: ${proven.mismatch}.`,
      service: holder.service.key,
      file: holder.source.file,
      line: holder.source.line,
      fix: FIX_PROOF_MISMATCH,
    }));
}

/** One finding per credential and instance whose maintenance databases it still gets into. */
export function maintenanceFindings(results: readonly ProbeResult[], groups: readonly CredentialGroup[], several: boolean, wording?: FixWording): Finding[] {
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
      fix: fixMaintenanceDatabase(wording, instance),
    };
  });
}

/** "a", "a and b", "a, b and c". */
function listed(items: readonly string[]): string {
  return items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

/** `stateful`: the services whose database lives on the instance whose catalog `databases` is. */
export function publicTempFindings(registry: Registry, stateful: readonly Service[], databases: readonly CatalogDatabase[], wording?: FixWording, instance?: string): Finding[] {
  const openToPublic = new Set(databases.filter((d) => d.publicTemp).map((d) => d.name));
  return stateful
    .filter((service) => openToPublic.has(service.database))
    .map((service) => ({
      rule: "isolation/public-temp",
      severity: "warning" as const,
      message: `Database "${service.database}" of ${service.key} still grants TEMP to PUBLIC: any role that gets in can create temporary tables there.`,
      service: service.key,
      ...locationOf(registry, service, "database"),
      fix: fixPublicTemp(service.database, wording, instance),
    }));
}
