import { type Check, type CheckContext, type CheckOutput, CheckUnableError } from "../check.js";
import { isStateful } from "../../registry/model.js";
import { mapBounded } from "../../core/concurrency.js";
import { describeUrl, withConnection } from "../../postgres/connect.js";
import { MAINTENANCE_DATABASES, readClusterCatalog } from "../../postgres/cluster-catalog.js";
import { SQLSTATE, isUnreachable } from "../../postgres/sqlstate.js";
import { withFastScram } from "../../postgres/pg-scram-patch.js";
import { serviceCredentials } from "../shared/service-credentials.js";
import { foreignConnectFindings, maintenanceFindings, publicTempFindings } from "./access-findings.js";
import { isolationMatrix, probeKey } from "./matrix.js";
import { groupCredentials, planAttempts } from "./probe-plan.js";
import { probe, type ProbeResult } from "./probe.js";
import { roleFindings } from "./role-findings.js";
import { isolationRules } from "./rules.js";

const DEFAULT_CONCURRENCY = 16;

/**
 * `isolation`: every service credential is refused by every other service's database. Proven by real
 * connection attempts, classified by SQLSTATE; a server that does not answer makes the check `error`,
 * never `pass`. A credential that gets in is asked, in that session, what it could read and write.
 */
export const isolationCheck: Check<"isolation"> = {
  id: "isolation",
  title: "Service credentials are refused by every other database",
  needs: ["postgres"],
  rules: Object.values(isolationRules),
  async run(context) {
    try {
      return await checkIsolation(context);
    } catch (error) {
      if (context.signal.aborted) throw new CheckUnableError("isolation was interrupted before it finished");
      if (isUnreachable(error)) throw new CheckUnableError(`isolation could not reach PostgreSQL: ${(error as Error).message}`);
      throw error;
    }
  },
};

async function checkIsolation(context: CheckContext): Promise<CheckOutput> {
  const { product, live } = context;
  if (!live) return { findings: [], skipped: "no live PostgreSQL server" };
  const connectOptions = { applicationName: "civic-conformance isolation" };

  const catalog = await withConnection(live.adminUrl, connectOptions, readClusterCatalog).catch((error: unknown) => {
    if (isUnreachable(error)) throw error;
    throw new CheckUnableError(`could not log in with the admin URL to read the catalog: ${(error as Error).message}`);
  });

  const stateful = product.registry.services.filter(isStateful);
  const credentials = serviceCredentials(product, live);
  const groups = groupCredentials(credentials);
  // The bootstrap database (POSTGRES_DB) is as much a maintenance database as `postgres` for a service.
  const adminDatabase = describeUrl(live.adminUrl)?.database;
  const maintenance = [...new Set([...MAINTENANCE_DATABASES, ...(adminDatabase ? [adminDatabase] : [])])];
  const attempts = planAttempts(groups, stateful, maintenance);

  const started = performance.now();
  const results = await withFastScram(() =>
    mapBounded(attempts, context.options.concurrency || DEFAULT_CONCURRENCY, (attempt) => probe(attempt, connectOptions), context.signal),
  );
  context.logger.debug(`isolation: ${attempts.length} connection attempts for ${credentials.length} credentials in ${Math.round(performance.now() - started)} ms`);

  const byKey = new Map<string, ProbeResult>(results.map((r) => [probeKey(r.attempt.group.identity, r.attempt.database), r]));
  const findings = [
    ...roleFindings(credentials, catalog.roles),
    ...foreignConnectFindings(results, groups, stateful),
    ...maintenanceFindings(results, groups),
    ...publicTempFindings(product.registry, stateful, catalog.databases),
  ];
  const notes = refusalNotes(results, stateful.filter((s) => !credentials.some((c) => c.service.key === s.key)).map((s) => s.key));
  return {
    findings,
    ...(notes.length > 0 && { notes }),
    data: { matrix: isolationMatrix(credentials, stateful, byKey) },
  };
}

/** Refusals that are not proof of isolation, said plainly so a green matrix cell is not over-read. */
function refusalNotes(results: readonly ProbeResult[], withoutUrl: readonly string[]): string[] {
  const notes: string[] = [];
  const refused = results.filter((r): r is Extract<ProbeResult, { connected: false }> => !r.connected && r.attempt.kind === "service");
  const missing = [...new Set(refused.filter((r) => r.failure.code === SQLSTATE.invalidCatalogName).map((r) => r.attempt.database))];
  if (missing.length > 0) {
    notes.push(`Database ${missing.join(", ")} does not exist, so refusals there prove nothing about its grants (own-database reports it).`);
  }
  const badPassword = [
    ...new Set(
      refused
        .filter((r) => r.failure.code === SQLSTATE.invalidPassword || r.failure.code === "no-password")
        .flatMap((r) => r.attempt.group.holders.map((h) => h.service.key)),
    ),
  ];
  if (badPassword.length > 0) {
    notes.push(`The credential of ${badPassword.join(", ")} fails password authentication, so its refusals prove nothing about grants (own-database reports it).`);
  }
  if (withoutUrl.length > 0) notes.push(`No DATABASE_URL for ${withoutUrl.join(", ")}: their credentials were not tried.`);
  return notes;
}
