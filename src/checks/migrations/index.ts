import { randomBytes } from "node:crypto";
import type { CoverageItem, Finding } from "../../core/report-model.js";
import { repoRelative } from "../../core/repo-path.js";
import { withFastScram } from "../../postgres/pg-scram-patch.js";
import { type Check, type CheckContext, type CheckOutput, CheckUnableError, coverageOf } from "../check.js";
import { type ClusterSnapshot, restoreCluster, takeClusterSnapshot } from "./cluster-snapshot.js";
import { readBlueprints } from "./database-blueprint.js";
import { findingsFrom } from "./findings.js";
import { locationOf, type Service } from "../../registry/model.js";
import { loadServices, type MigratingService, plainLoginRole, readServiceRoles, type Unapplicable } from "./migrating-services.js";
import { containedPass, type InterferenceWatch, runPass, runPassesTogether, type PassResult, type ServiceOutcome } from "./migration-pass.js";
import { migrationsRules } from "./rules.js";
import { messageOf, ScratchDatabases, standInFor, standInName } from "./scratch-databases.js";
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
 *      other service's database, role or table → `migrations/foreign-reference`;
 *  (e) reach no program or file of the server host (COPY … PROGRAM, lo_import, pg_read_file, ALTER
 *      SYSTEM, untrusted languages) → `migrations/server-side-io` (static: names the line).
 *
 * Migrations never run with superuser rights: a service role that is a superuser (isolation reports
 * it) or a member of a host-reaching predefined role is replaced by a non-superuser stand-in with its
 * ordinary attributes, so repository SQL cannot run a program on the host through `TO PROGRAM`.
 *
 * The registry-order pass applies each service's migrations to its own fresh database with the
 * cluster fingerprinted before and after every migration; then, with the cluster put back, the
 * reverse-order pass does the same on fresh databases and the two sets of fingerprints are compared.
 * (While nothing leaks out of a database the second pass cannot differ — a session writes only its
 * own database's catalogs and the cluster-wide ones — but it is what proves it, and it is cheap.)
 * The other services' databases are watched as `InterferenceWatch` says: fingerprinted after every
 * service (`sweep`), or, where no migration can reach another database (`containedPass`), before
 * and after their own service and at the end (`verify`), with the pass run again as a sweep on
 * anything a verify pass did not expect. Two verify passes run at the same time
 * (`runPassesTogether`), on scratch databases all made before either starts and dropped after both
 * end, so that nothing but a migration changes the cluster meanwhile: on any cluster change, or
 * anything else either did not expect, the cluster is put back and both are applied again one after
 * the other as sweeps. Sweep passes, and passes whose databases would not all get a kept
 * connection, run one after the other.
 *
 * `options.migrateCommand` replaces the built-in applier: a shell command run in the module folder
 * with `DATABASE_URL` (the scratch database, as the service's role), `SERVICE` (the registry key) and
 * `MIGRATIONS_DIR` set; exit code 0 means the migrations applied.
 */
export const migrationsCheck: Check<"migrations"> = {
  id: "migrations",
  title: "Migrations apply alone, in any order, and stay inside their database",
  needs: ["postgres", "scratch-server"],
  // Reads roles and how the databases are made on the instances (their init scripts' work, done
  // before they are ready); applies the migrations on a scratch server of its own under compose.
  beforeStackReady: true,
  rules: Object.values(migrationsRules),
  run: runMigrationsCheck,
};

async function runMigrationsCheck(context: CheckContext): Promise<CheckOutput> {
  const live = context.live!;
  const { services: loaded, missing, unapplicable, notes } = await loadServices(context);
  for (const key of missing) notes.push(`${key} has no credential the runtime can reach: its migrations were not applied`);
  // A set the tool would apply nothing of, with no command to run instead, applies nothing: it covers nothing either.
  const empty = loaded.filter((s) => s.scripts.length === 0 && s.command === undefined);
  const services = loaded.filter((s) => !empty.includes(s));
  const cannotApply: Unapplicable[] = [
    ...unapplicable,
    ...empty.map((s) => ({ service: s.service, reason: `its migration folder ${repoRelative(context.product.repoRoot, s.migrationsDir)} holds no migration ${s.tool ?? "the tool"} would apply` })),
  ];
  const noMigrations = cannotApply.map(({ service, reason }) => noMigrationsFinding(context, service, reason));

  const hits = staticHits(services);
  const applicable = services;
  // Each instance's services are applied on that instance's scratch server, as that instance knows their roles.
  const byInstance = new Map<string, MigratingService[]>();
  for (const service of applicable) byInstance.set(service.instance.name, [...(byInstance.get(service.instance.name) ?? []), service]);
  const scratchUrls = new Map<string, string>();
  for (const [name, group] of byInstance) {
    const url = await group[0]!.instance.scratchAdminUrl();
    if (url !== undefined) scratchUrls.set(name, url);
  }
  if (scratchUrls.size === 0 && (byInstance.size > 0 || (await anyScratchServer(live)) === undefined)) {
    return {
      findings: noMigrations,
      skipped: "no scratch PostgreSQL server is available: migrations are never applied to the databases under test",
    };
  }
  // A set that could not be applied leaves the coverage incomplete: the check is then never pass.
  const uncovered: CoverageItem[] = [
    ...missing.map((key) => ({ kind: "migration-set" as const, name: key, service: key, reason: "no credential of it the runtime can reach" })),
    ...cannotApply.map(({ service, reason }) => ({ kind: "migration-set" as const, name: service.key, service: service.key, reason })),
  ];
  const covered: CoverageItem[] = [];
  const coverage = () =>
    coverageOf(
      `${covered.length} migration set${covered.length === 1 ? "" : "s"} applied on ${scratchUrls.size} scratch server${scratchUrls.size === 1 ? "" : "s"}` +
        (uncovered.length > 0 ? `, ${uncovered.length} not applied (${uncovered.map((item) => item.service ?? item.name).join(", ")})` : ""),
      covered,
      uncovered,
    );
  if (applicable.length === 0) return { findings: [...noMigrations, ...findingsFrom(services, hits, undefined, undefined)], notes, coverage: coverage() };

  const forward: ServiceOutcome[] = [];
  const reverse: ServiceOutcome[] = [];
  // A service whose role reaches the server host is applied as a stand-in (per instance): its findings name it.
  const appliedAs = new Map<string, MigratingService>();
  for (const [name, group] of byInstance) {
    const scratchUrl = scratchUrls.get(name);
    if (scratchUrl === undefined) {
      notes.push(`no scratch server for instance "${name}": the migrations of ${group.map((service) => service.service.key).join(", ")} were not applied`);
      for (const service of group) uncovered.push({ kind: "migration-set", name: setName(context, service), service: service.service.key, reason: `no scratch server for instance "${name}"` });
      continue;
    }
    // Every scratch database is fingerprinted over an admin connection of its own and each role logs in once per pass: one SCRAM derivation per credential.
    // Its connections closed, the scratch server is no longer needed: a runtime that made it for this run removes it now.
    const passes = await withFastScram(() => applyOnInstance(context, group, scratchUrl, notes)).finally(() => group[0]!.instance.releaseScratch?.());
    forward.push(...passes.forward.outcomes);
    reverse.push(...passes.reverse.outcomes);
    for (const [key, service] of passes.appliedAs) appliedAs.set(key, service);
    for (const service of group) {
      const loginFailure = passes.forward.outcomes.find((outcome) => outcome.service === service.service.key)?.loginFailure;
      if (loginFailure !== undefined) uncovered.push({ kind: "migration-set", name: setName(context, service), service: service.service.key, reason: loginFailure });
      else covered.push({ kind: "migration-set", name: setName(context, service), service: service.service.key });
    }
  }
  const findings: Finding[] = [...noMigrations, ...findingsFrom(services.map((service) => appliedAs.get(service.service.key) ?? service), hits, { outcomes: forward }, { outcomes: reverse })];
  return { findings, notes, coverage: coverage() };
}

/** `migrations/no-migrations` at the service's registry (or compose) entry, with why nothing of it can be applied. */
function noMigrationsFinding(context: CheckContext, service: Service, reason: string): Finding {
  const rule = migrationsRules["migrations/no-migrations"];
  return {
    rule: rule.id,
    severity: rule.severity,
    message: `The migrations of ${service.key} cannot be applied, so nothing proves they stay inside its database: ${reason}.`,
    service: service.key,
    ...locationOf(context.product.registry, service, "migrations"),
    fix: rule.help,
  };
}

/** A migration set by its folder, relative to the repository root. */
function setName(context: CheckContext, service: MigratingService): string {
  return repoRelative(context.product.repoRoot, service.migrationsDir);
}

/** The first instance's scratch server, to tell "no scratch server at all" from "nothing to apply". */
async function anyScratchServer(live: NonNullable<CheckContext["live"]>): Promise<string | undefined> {
  const first = live.instances.values().next().value;
  return first?.scratchAdminUrl();
}

/**
 * The registry-order and reverse-order passes for the services of one instance, on its scratch
 * server, the cluster put back between and after them.
 */
async function applyOnInstance(
  context: CheckContext,
  applicable: readonly MigratingService[],
  scratchUrl: string,
  notes: string[],
): Promise<{ forward: PassResult; reverse: PassResult; appliedAs: ReadonlyMap<string, MigratingService> }> {
  let mark = performance.now();
  const took = (what: string) => {
    const now = performance.now();
    context.logger.debug(`migrations: ${what} took ${Math.round(now - mark)} ms`);
    mark = now;
  };
  const instance = applicable[0]!.instance;
  // A scratch server removed after the run: what the passes leave there is never seen again.
  const disposable = instance.scratchDisposable === true;
  // Three independent reads, each over its own connection, at once.
  const rolesRead = readServiceRoles(instance.adminUrl, applicable);
  // The scratch databases are made like the real ones: what the init scripts gave each (owner, grants, extensions).
  const blueprintsRead = readBlueprints(
    instance.adminUrl,
    applicable.map((service) => service.service.database),
    context.options.concurrency,
  ).catch((error: unknown) => {
    throw new CheckUnableError(`could not read how the service databases are made on the server under test: ${messageOf(error)}`);
  });
  const opening = ScratchDatabases.open(scratchUrl, context.logger, context.options.concurrency).catch((error: unknown) => {
    throw new CheckUnableError(`could not connect to the scratch server: ${messageOf(error)}`);
  });
  const [roles, blueprints, scratch] = await Promise.all([rolesRead, blueprintsRead, opening]).catch(async (error: unknown) => {
    await opening.then(
      (opened) => opened.cleanup(),
      () => undefined,
    );
    throw error;
  });
  const runId = randomBytes(4).toString("hex");
  let forward: PassResult = { outcomes: [] };
  let reverse: PassResult = { outcomes: [] };
  let baseline: ClusterSnapshot | undefined;
  // The migrations are applied as each service's own role, unless that role reaches the server host.
  const appliedAs = new Map<string, MigratingService>();
  try {
    for (const service of applicable) {
      const attributes = roles.get(service.user) ?? plainLoginRole(service.user);
      if (!roles.has(service.user)) {
        notes.push(`role ${service.user} of ${service.service.key} does not exist on the server under test: a plain login role stood in for it`);
      }
      const standIn = standInFor(attributes, standInName(service.service.key, runId), randomBytes(18).toString("base64url"));
      if (standIn) {
        await scratch.createStandIn(standIn);
        appliedAs.set(service.service.key, { ...service, user: standIn.attributes.name, password: standIn.password, standInFor: service.user });
        notes.push(
          `role ${service.user} of ${service.service.key} ${standIn.because}: its migrations were applied as ${standIn.attributes.name}, a stand-in without superuser rights or host file and program access, so they could not reach the server host`,
        );
      } else {
        await scratch.ensureRole(attributes, service.password);
      }
    }
    const toApply = applicable.map((service) => appliedAs.get(service.service.key) ?? service);
    baseline = await takeClusterSnapshot(scratch.admin);
    let watch: InterferenceWatch = (await containedPass(scratch, toApply)) ? "verify" : "sweep";
    took("preparing the scratch server");
    const blueprintNotes: string[] = [];
    const start = baseline;
    const options = { runId, context, blueprints, notes: blueprintNotes, disposable };
    const pass = async (name: string, order: readonly MigratingService[], last: boolean): Promise<PassResult> => {
      const result = await runPass(scratch, order, { ...options, pass: name, watch, last });
      if ("outcomes" in result) return result;
      // Something only the sweep attributes: the cluster put back, the pass again on fresh databases.
      context.logger.debug(`migrations pass ${name}: ${result.unverified}; applying again with every database fingerprinted after every service`);
      await restoreCluster(scratch, start);
      // What made this pass unverified will likely do so in the other order too.
      watch = "sweep";
      const again = await runPass(scratch, order, { ...options, pass: `${name}s`, watch: "sweep", last });
      if (!("outcomes" in again)) throw new Error(`a sweep pass is never unverified (${again.unverified})`);
      return again;
    };
    const oneAfterTheOther = async (names: readonly [string, string]): Promise<void> => {
      forward = await pass(names[0], toApply, false);
      // The cluster is fingerprinted after every migration: where none changed it, there is nothing to put back.
      if (forward.outcomes.some((outcome) => outcome.clusterChanges.length > 0)) await restoreCluster(scratch, start);
      reverse = await pass(names[1], [...toApply].reverse(), true);
    };
    // Two verify passes may run at once (two lanes at least, a kept connection into each database): anything either did not expect, and they run again one after the other.
    if (watch === "verify" && context.options.concurrency >= 2 && scratch.keepsOpen(2 * toApply.length)) {
      const together = await runPassesTogether(scratch, [{ name: "f", services: toApply }, { name: "r", services: [...toApply].reverse() }], options);
      if ("unverified" in together) {
        context.logger.debug(`migrations passes f and r: ${together.unverified}; applying again, one pass after the other, with every database fingerprinted after every service`);
        await restoreCluster(scratch, start);
        watch = "sweep";
        await oneAfterTheOther(["fs", "rs"]);
      } else {
        [forward, reverse] = together;
      }
    } else {
      await oneAfterTheOther(["f", "r"]);
    }
    notes.push(...new Set(blueprintNotes));
    took("applying");
    // Both passes saw the cluster unchanged after every migration: there is nothing to put back.
    if (![...forward.outcomes, ...reverse.outcomes].some((outcome) => outcome.clusterChanges.length > 0)) baseline = undefined;
  } finally {
    // Put the cluster back before the roles this check created are dropped with the rest; on a
    // disposable server, neither: it goes with the run.
    if (baseline && !disposable) {
      const left = await restoreCluster(scratch, baseline).catch((error: unknown) => [`(restoring failed: ${messageOf(error)})`]);
      if (left.length > 0) {
        const text = `the migrations left changes on the scratch server that could not be undone: ${left.join("; ")}`;
        notes.push(text);
        context.logger.warn(`migrations: ${text}`);
      }
    }
    await scratch.cleanup({ undo: !disposable });
    if (disposable) context.logger.debug(`migrations: the scratch server is removed after the run: its ${scratch.made} scratch databases are left to that removal`);
    took("restoring and cleaning up");
  }
  return { forward, reverse, appliedAs };
}
