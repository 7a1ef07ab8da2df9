import { randomBytes } from "node:crypto";
import type { Finding } from "../../core/report-model.js";
import { type Check, type CheckContext, type CheckOutput, CheckUnableError } from "../check.js";
import { type ClusterSnapshot, restoreCluster, takeClusterSnapshot } from "./cluster-snapshot.js";
import { findingsFrom } from "./findings.js";
import { loadServices, plainLoginRole, readServiceRoles } from "./migrating-services.js";
import { runPass, type PassResult } from "./migration-pass.js";
import { migrationsRules } from "./rules.js";
import { messageOf, ScratchDatabases } from "./scratch-databases.js";
import { staticHits } from "./static-scan.js";

/**
 * `migrations`: each stateful service's Prisma migrations
 *  (a) apply on a fresh empty scratch database, as the service's own role, the way `prisma migrate
 *      deploy` applies them → `migrations/apply-failed`;
 *  (b) give the same schemas when all services' migrations run in registry order and in reverse
 *      → `migrations/order-dependent`;
 *  (c) change nothing outside the service's database (other databases' catalogs, cluster-wide roles,
 *      memberships, databases, ACLs, settings) → `migrations/outside-effect`;
 *  (d) use no dblink / postgres_fdw / foreign servers → `migrations/cross-database-link`, and name no
 *      other service's database, role or table → `migrations/foreign-reference`.
 *
 * The registry-order pass applies each service's migrations to its own fresh database with the
 * cluster fingerprinted before and after every migration; then, with the cluster put back, the
 * reverse-order pass does the same on fresh databases and the two sets of fingerprints are compared.
 * (While nothing leaks out of a database the second pass cannot differ — a session writes only its
 * own database's catalogs and the cluster-wide ones — but it is what proves it, and it is cheap.)
 *
 * `options.migrateCommand` replaces the built-in applier: a shell command run in the module folder
 * with `DATABASE_URL` (the scratch database, as the service's role), `SERVICE` (the registry key) and
 * `MIGRATIONS_DIR` set; exit code 0 means the migrations applied.
 */
export const migrationsCheck: Check<"migrations"> = {
  id: "migrations",
  title: "Migrations apply alone, in any order, and stay inside their database",
  needs: ["postgres", "scratch-server"],
  rules: Object.values(migrationsRules),
  run: runMigrationsCheck,
};

async function runMigrationsCheck(context: CheckContext): Promise<CheckOutput> {
  const live = context.live!;
  const scratchUrl = await live.scratchAdminUrl();
  if (scratchUrl === undefined) {
    return {
      findings: [],
      skipped: "no scratch PostgreSQL server is available: migrations are never applied to the databases under test",
    };
  }
  const notes: string[] = [];
  let mark = performance.now();
  const took = (what: string) => {
    const now = performance.now();
    context.logger.debug(`migrations: ${what} took ${Math.round(now - mark)} ms`);
    mark = now;
  };
  const { services, missing } = await loadServices(context);
  for (const key of missing) notes.push(`${key} has no DATABASE_URL the runtime can reach: its migrations were not applied`);

  const hits = staticHits(services);
  const findings: Finding[] = [];
  const applicable = services.filter((s) => s.scripts.length > 0);
  if (applicable.length === 0) return { findings: findingsFrom(services, hits, undefined, undefined), notes };

  took("reading the migrations");
  const roles = await readServiceRoles(live.adminUrl, applicable);
  const runId = randomBytes(4).toString("hex");
  const scratch = await ScratchDatabases.open(scratchUrl, context.logger, context.options.concurrency).catch((error: unknown) => {
    throw new CheckUnableError(`could not connect to the scratch server: ${messageOf(error)}`);
  });
  let forward: PassResult | undefined;
  let reverse: PassResult | undefined;
  let baseline: ClusterSnapshot | undefined;
  try {
    for (const service of applicable) {
      const attributes = roles.get(service.user) ?? plainLoginRole(service.user);
      if (!roles.has(service.user)) {
        notes.push(`role ${service.user} of ${service.service.key} does not exist on the server under test: a plain login role stood in for it`);
      }
      await scratch.ensureRole(attributes, service.password);
    }
    baseline = await takeClusterSnapshot(scratch.admin);
    took("preparing the scratch server");
    forward = await runPass(scratch, applicable, { pass: "f", runId, context });
    await restoreCluster(scratch, baseline);
    reverse = await runPass(scratch, [...applicable].reverse(), { pass: "r", runId, context });
    took("applying");
  } finally {
    // Put the cluster back before the roles this check created are dropped with the rest.
    if (baseline) {
      const left = await restoreCluster(scratch, baseline).catch((error: unknown) => [`(restoring failed: ${messageOf(error)})`]);
      if (left.length > 0) {
        const text = `the migrations left changes on the scratch server that could not be undone: ${left.join("; ")}`;
        notes.push(text);
        context.logger.warn(`migrations: ${text}`);
      }
    }
    await scratch.cleanup();
    took("restoring and cleaning up");
  }
  findings.push(...findingsFrom(services, hits, forward, reverse));
  return { findings, notes };
}
