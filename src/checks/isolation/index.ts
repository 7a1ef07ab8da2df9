import { type Check, type CheckContext, type CheckOutput, CheckUnableError, coverageOf } from "../check.js";
import type { Coverage, CoverageItem, Finding } from "../../core/report-model.js";
import { isStateful, locationOf, type Registry, type Service } from "../../registry/model.js";
import { mapBounded } from "../../core/concurrency.js";
import { describeUrl, withConnection } from "../../postgres/connect.js";
import { type ConnectPrivileges, privilegeKey, readConnectPrivileges } from "../../postgres/connect-privileges.js";
import { productPostgres } from "../../product/product-postgres.js";
import type { LiveEnvironment } from "../../runtime/runtime.js";
import { fixWording } from "../shared/init-script-names.js";
import { initScriptStatements, readInitScriptStatements } from "./init-script-statements.js";
import { MAINTENANCE_DATABASES } from "../../postgres/cluster-catalog.js";
import { SQLSTATE, isUnreachable } from "../../postgres/sqlstate.js";
import { withFastScram } from "../../postgres/pg-scram-patch.js";
import type { LiveInstance } from "../../runtime/runtime.js";
import { readInstanceCatalogs } from "../shared/instance-catalogs.js";
import { liveCredentials, type ServiceCredential, type UntriedCredential } from "../shared/service-credentials.js";
import {
  catalogOnlyFindings,
  foreignConnectFindings,
  maintenanceFindings,
  mismatchFindings,
  publicCausesSaid,
  publicTempFindings,
  type FindingContext,
  type OwnedTarget,
} from "./access-findings.js";
import { catalogRows, credentialRows, probeKey } from "./matrix.js";
import { groupCredentials, planAttempts, planTargets, type ProbeAttempt, type ProbeTarget } from "./probe-plan.js";
import { ALL_LOGINS_UP_TO, contradicts, escalate, planLogins } from "./login-plan.js";
import { probe, type ProbeResult } from "./probe.js";
import { roleFindings } from "./role-findings.js";
import { FIX_PROOF_MISMATCH, FIX_UNTESTED_CREDENTIAL } from "./fixes.js";
import { isolationRules } from "./rules.js";

const DEFAULT_CONCURRENCY = 16;

/**
 * `isolation`: every service credential is refused by every other service's database. Proven by the
 * catalog read as each instance's admin and by real connection attempts, classified by SQLSTATE (see
 * login-plan.ts for which cells are logged into); a server that does not answer makes the check
 * `error`, never `pass`. A credential that gets in is asked, in that session, what it could read and write.
 * `allLoginsUpTo`: instances with at most this many foreign cells are logged into cell by cell.
 */
export function isolationCheckWith(options: { readonly allLoginsUpTo: number }): Check<"isolation"> {
  return {
    id: "isolation",
    title: "Service credentials are refused by every other database",
    needs: ["postgres"],
    readsOnly: true,
    rules: Object.values(isolationRules),
    async run(context) {
      try {
        return await checkIsolation(context, options.allLoginsUpTo);
      } catch (error) {
        if (context.signal.aborted) throw new CheckUnableError("isolation was interrupted before it finished");
        if (isUnreachable(error)) throw new CheckUnableError(`isolation could not reach PostgreSQL: ${(error as Error).message}`);
        throw error;
      }
    },
  };
}

export const isolationCheck: Check<"isolation"> = isolationCheckWith({ allLoginsUpTo: ALL_LOGINS_UP_TO });

async function checkIsolation(context: CheckContext, allLoginsUpTo: number): Promise<CheckOutput> {
  const { product, live } = context;
  if (!live) return { findings: [], skipped: "no live PostgreSQL server" };
  const connectOptions = { applicationName: "civic-conformance isolation" };

  const catalogs = await readInstanceCatalogs(live, connectOptions.applicationName, context.signal);
  const { credentials, untried, homes, down } = await liveCredentials(product, live);
  // A service whose instance did not start cannot be looked at: not covered, never passed.
  const stateful = product.registry.services.filter((service) => isStateful(service) && !down.has(service.key));
  const groups = groupCredentials(credentials);
  const instances = [...live.instances.values()];
  const several = instances.length > 1;
  // The bootstrap database (POSTGRES_DB) is as much a maintenance database as `postgres` for a service.
  const maintenanceOf = (instance: LiveInstance) => {
    const adminDatabase = describeUrl(instance.adminUrl)?.database;
    return [...new Set([...MAINTENANCE_DATABASES, ...(adminDatabase ? [adminDatabase] : [])])];
  };
  const targets = planTargets(stateful, homes, instances, maintenanceOf);
  const attempts = planAttempts(groups, targets, homes);

  // The proof that needs no credential: who may CONNECT where, as the admin of each instance sees it.
  const users = [...new Set(credentials.map((credential) => credential.user))];
  const privileges = await readPrivileges(live, users, connectOptions.applicationName, context.signal);
  const plan = planLogins(attempts, privileges, allLoginsUpTo);

  const started = performance.now();
  const concurrency = context.options.concurrency || DEFAULT_CONCURRENCY;
  const login = (batch: readonly ProbeAttempt[]) =>
    withFastScram(() => mapBounded(batch, concurrency, (attempt) => probe(attempt, connectOptions), context.signal));
  const results = await login(plan.first);
  // A login that contradicts the catalog: every cell of that credential on that instance is logged into.
  const escalated = escalate(plan, results, privileges);
  results.push(...(await login(escalated)));
  const byCatalog = attempts.length - results.length;
  context.logger.debug(
    `isolation: ${results.length} connection attempts for ${credentials.length} credentials on ${instances.length} instance(s) in ${Math.round(performance.now() - started)} ms` +
      (byCatalog > 0 || plan.samples.size > 0 ? ` (${plan.samples.size} sampled, ${escalated.length} after a contradiction; ${byCatalog} cells refused by the catalog alone)` : ""),
  );

  const byKey = new Map<string, ProbeResult>(results.map((r) => [probeKey(r.attempt.group.identity, r.attempt.target), r]));
  // Each stateful service's database where it lives (on every instance when that cannot be told).
  const ownedTargets = stateful.flatMap((owner) => {
    const home = homes.get(owner.key);
    return (home ? [home] : instances).map((instance) => ({ instance, database: owner.database, owner }));
  });
  const nameOf = (target: ProbeTarget) => (several ? `${target.database} on instance "${target.instance.name}"` : target.database);

  const adminUser = (instance: string) => describeUrl(live.instances.get(instance)?.adminUrl ?? "")?.user;
  const ownerRoles = (target: OwnedTarget) => {
    const roles = [...new Set(credentials.filter((credential) => credential.service === target.owner).map((credential) => credential.user))];
    return roles.length > 0 ? roles : [privileges.get(target.instance.name)?.databases.get(target.database)?.owner ?? target.database];
  };
  const rightful = (target: OwnedTarget, role: string) =>
    ownerRoles(target).includes(role) || privileges.get(target.instance.name)?.databases.get(target.database)?.owner === role;
  const ownerNeedsGrant = (target: OwnedTarget) =>
    ownerRoles(target).some((role) => {
      const causes = privileges.get(target.instance.name)?.cells.get(privilegeKey(target.database, role))?.causes ?? [];
      return causes.length > 0 && causes.every((cause) => cause.kind === "public");
    });
  const postgres = await productPostgres(product);
  const statements = new Map(
    await Promise.all(
      instances.map(async (instance) => [instance.name, await readInitScriptStatements(postgres.instances.find((known) => known.name === instance.name), product.repoRoot)] as const),
    ),
  );
  const wording = await fixWording(product);
  const findingContext: FindingContext = {
    wording,
    statements: (instance) => statements.get(instance) ?? initScriptStatements([]),
    adminUser,
    ownerRoles,
    ownerNeedsGrant,
    nameOf,
    homes,
  };

  const rows = credentialRows(credentials, ownedTargets, homes, byKey, privileges, rightful, several);
  const usedRoles = new Set(users);
  const catalogOnlyRoles = new Map(
    [...privileges].map(([instance, catalog]) => [
      instance,
      [...catalog.roles.values()].filter((role) => role.canLogin && !role.superuser && role.name !== adminUser(instance) && !usedRoles.has(role.name)).map((role) => role.name),
    ]),
  );
  const catalogOnly = catalogRows(catalogOnlyRoles, ownedTargets, privileges, several);

  const findings: Finding[] = [
    ...instances.flatMap((instance) => {
      // The credentials held for this instance, and any other that got in here (the same role and password created on it).
      const gotIn = new Set(results.filter((r) => r.connected && r.attempt.target.instance === instance).map((r) => r.attempt.group.identity));
      const relevant = credentials.filter((credential) => credential.instance.name === instance.name || gotIn.has(credential.identity));
      return roleFindings(relevant, catalogs.get(instance.name)!.roles, several ? instance.name : undefined, wording);
    }),
    ...foreignConnectFindings(rows.entries, groups, findingContext),
    ...catalogOnlyFindings(catalogOnly.rows, catalogOnly.publicOpen, publicCausesSaid(rows.entries, catalogOnly.rows, findingContext), product.registry, findingContext),
    ...mismatchFindings(rows.entries, findingContext),
    ...maintenanceMismatchFindings(results, privileges, nameOf),
    ...maintenanceFindings(results, groups, several, wording),
    ...instances.flatMap((instance) =>
      publicTempFindings(
        product.registry,
        stateful.filter((service) => (homes.get(service.key) ?? instance).name === instance.name),
        catalogs.get(instance.name)!.databases,
        wording,
        instance.name,
      ),
    ),
  ];
  findings.push(...untestedCredentialFindings(product.registry, stateful, credentials, untried.filter((entry) => !entry.instanceDown && !down.has(entry.service.key))));
  const byCatalogAlone = rows.entries.filter((entry) => entry.result === undefined);
  const missingInCatalog = byCatalogAlone.filter((entry) => !privileges.get(entry.target.instance.name)?.databases.has(entry.target.database)).map((entry) => nameOf(entry.target));
  const notes = refusalNotes(results, nameOf, missingInCatalog);
  const catalogRowCount = [...catalogOnlyRoles.values()].reduce((sum, list) => sum + list.length, 0);
  return {
    findings,
    ...(notes.length > 0 && { notes }),
    coverage: isolationCoverage(stateful, credentials, untried, ownedTargets, instances, several, down, live.unstarted?.causes, {
      logins: results.length,
      catalogRowCount: users.length + catalogRowCount + 1,
      foreignCells: rows.entries.length,
      byCatalogAlone: byCatalogAlone.length,
      sampled: plan.samples.size,
    }),
    data: { matrix: [...rows.cells, ...catalogOnly.cells] },
  };
}

/** Each instance's CONNECT privileges, read as its admin (with the credentials' roles named, LOGIN or not). */
async function readPrivileges(live: LiveEnvironment, users: readonly string[], applicationName: string, signal: AbortSignal): Promise<Map<string, ConnectPrivileges>> {
  const instances = [...live.instances.values()];
  const read = await mapBounded(
    instances,
    instances.length,
    (instance) =>
      withConnection(instance.adminUrl, { applicationName }, (admin) => readConnectPrivileges(admin, users)).catch((error: unknown) => {
        if (isUnreachable(error)) throw error;
        const which = live.instances.size > 1 ? ` of instance "${instance.name}"` : "";
        throw new CheckUnableError(`could not read who may connect where with the admin URL${which}: ${(error as Error).message}`);
      }),
    signal,
  );
  return new Map(instances.map((instance, index) => [instance.name, read[index]!]));
}

/** A login into a maintenance database that contradicts the catalog: the catalog proves nothing there either. */
function maintenanceMismatchFindings(results: readonly ProbeResult[], privileges: ReadonlyMap<string, ConnectPrivileges>, nameOf: (target: ProbeTarget) => string): Finding[] {
  return results
    .filter((result) => result.attempt.kind === "maintenance" && contradicts(result, privileges.get(result.attempt.target.instance.name)))
    .map(({ attempt, connected }) => {
      const holder = attempt.group.holders[0]!;
      return {
        rule: isolationRules["isolation/proof-mismatch"].id,
        severity: "error" as const,
        message: `${holder.service.key}'s credential (role "${attempt.group.user}") at maintenance database ${nameOf(attempt.target)}: the login ${connected ? "got in" : "was refused"}, but the catalog says ${connected ? "it may not" : "it may"}.`,
        service: holder.service.key,
        file: holder.source.file,
        line: holder.source.line,
        fix: FIX_PROOF_MISMATCH,
      };
    });
}

/**
 * A stateful service whose credential could not be read, bound or reached was not tried: its
 * isolation is unknown, so it is an error finding at the line to look at, never a note beside a pass.
 * A stateful service of which nothing at all was read is one too, at its registry entry.
 */
function untestedCredentialFindings(
  registry: Registry,
  stateful: readonly Service[],
  credentials: readonly ServiceCredential[],
  untried: readonly UntriedCredential[],
): Finding[] {
  const findings: Finding[] = untried.map((entry) => ({
    rule: isolationRules["isolation/untested-credential"].id,
    severity: "error",
    service: entry.service.key,
    file: entry.file,
    line: entry.line,
    message: `A credential of ${entry.service.key} was not tried, so its isolation is unknown: ${entry.reason}.`,
    fix: FIX_UNTESTED_CREDENTIAL,
  }));
  for (const service of stateful) {
    if (credentials.some((credential) => credential.service === service) || untried.some((entry) => entry.service === service)) continue;
    findings.push({
      rule: isolationRules["isolation/untested-credential"].id,
      severity: "error",
      service: service.key,
      ...locationOf(registry, service, "database"),
      message: `No PostgreSQL credential of ${service.key} was found, so its isolation is unknown.`,
      fix: FIX_UNTESTED_CREDENTIAL,
    });
  }
  return findings;
}

/**
 * Every credential tried (role@instance), every database tried against, every instance whose catalog
 * was read; how many foreign cells a login proved and how many the catalog alone; what was not tried, with why.
 */
function isolationCoverage(
  stateful: readonly Service[],
  credentials: readonly ServiceCredential[],
  untried: readonly UntriedCredential[],
  targets: readonly (ProbeTarget & { readonly owner: Service })[],
  instances: readonly LiveInstance[],
  several: boolean,
  down: ReadonlyMap<string, string>,
  unstarted: ReadonlyMap<string, string> | undefined,
  proofs: { readonly logins: number; readonly catalogRowCount: number; readonly foreignCells: number; readonly byCatalogAlone: number; readonly sampled: number },
): Coverage {
  const covered: CoverageItem[] = [
    ...credentials.map((credential) => ({
      kind: "credential" as const,
      name: `${credential.user}@${credential.instance.name}`,
      service: credential.service.key,
      file: credential.source.file,
      line: credential.source.line,
    })),
    ...targets.map((target) => ({ kind: "database" as const, name: several ? `${target.database}@${target.instance.name}` : target.database, service: target.owner.key })),
    ...instances.map((instance) => ({ kind: "instance" as const, name: instance.name })),
  ];
  const uncovered: CoverageItem[] = [
    ...[...(unstarted ?? new Map<string, string>())].map(([name, cause]) => ({ kind: "instance" as const, name, reason: `did not start: ${cause.split("\n")[0]}` })),
    ...[...down].map(([key, reason]) => ({ kind: "service" as const, name: key, service: key, reason })),
  ];
  uncovered.push(...untried.filter((entry) => !down.has(entry.service.key)).map((entry) => ({
    kind: "credential" as const,
    name: entry.service.key,
    service: entry.service.key,
    reason: entry.reason,
    file: entry.file,
    line: entry.line,
  })));
  for (const service of stateful) {
    if (credentials.some((credential) => credential.service === service) || untried.some((entry) => entry.service === service)) continue;
    uncovered.push({ kind: "service", name: service.key, service: service.key, reason: "no PostgreSQL credential was found for it" });
  }
  const triedServices = stateful.filter((service) => credentials.some((credential) => credential.service === service)).length;
  const statefulCount = stateful.length + down.size;
  const databases = new Set(targets.map((target) => `${target.instance.name}\0${target.database}`)).size;
  const summary =
    `${triedServices}/${statefulCount} stateful services, ${credentials.length} credentials x ${databases} databases ` +
    `(${proofs.logins} logins; catalog read on ${instances.length} instance${instances.length === 1 ? "" : "s"}: ${proofs.catalogRowCount} roles incl. PUBLIC x ${databases} databases` +
    // Said only when the catalog alone proved some cells: otherwise every foreign cell was logged into.
    (proofs.byCatalogAlone > 0
      ? `; of ${proofs.foreignCells} foreign cells, ${proofs.foreignCells - proofs.byCatalogAlone} proved by login and ${proofs.byCatalogAlone} refused by the catalog alone, which ${proofs.sampled} sampled logins agree with`
      : "") +
    ")" +
    (uncovered.length > 0 ? `, ${uncovered.length} not covered` : "");
  return coverageOf(summary, covered, uncovered);
}

/** Refusals that are not proof of isolation, said plainly so a green matrix cell is not over-read. `missingInCatalog`: databases of cells only the catalog refused, which it does not hold. */
function refusalNotes(results: readonly ProbeResult[], nameOf: (target: ProbeTarget) => string, missingInCatalog: readonly string[]): string[] {
  const notes: string[] = [];
  const refused = results.filter((r): r is Extract<ProbeResult, { connected: false }> => !r.connected && r.attempt.kind === "service");
  const missing = [...new Set([...refused.filter((r) => r.failure.code === SQLSTATE.invalidCatalogName).map((r) => nameOf(r.attempt.target)), ...missingInCatalog])];
  if (missing.length > 0) {
    notes.push(`Database ${missing.join(", ")} does not exist, so refusals there prove nothing about its grants (own-database reports it).`);
  }
  // On another instance a role that does not exist is refused the same way: only its own instance's answer says the credential is broken.
  const badPassword = [
    ...new Set(
      refused
        .filter((r) => r.failure.code === SQLSTATE.invalidPassword || r.failure.code === "no-password")
        .flatMap((r) => r.attempt.group.holders.filter((h) => h.instance.name === r.attempt.target.instance.name).map((h) => h.service.key)),
    ),
  ];
  if (badPassword.length > 0) {
    notes.push(`The credential of ${badPassword.join(", ")} fails password authentication, so its refusals prove nothing about grants (own-database reports it).`);
  }
  return notes;
}
