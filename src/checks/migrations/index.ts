import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parseDatabaseUrl } from "../../postgres/database-url.js";
import type { Finding } from "../../core/report-model.js";
import { registerSecret } from "../../core/secrets.js";
import { describeChanges } from "../../postgres/fingerprint-changes.js";
import { connect } from "../../postgres/connect.js";
import { readPrismaModule, type PrismaModule } from "../../prisma/read-module.js";
import { isStateful, type Service } from "../../registry/model.js";
import { type Check, type CheckContext, type CheckOutput, CheckUnableError } from "../check.js";
import type { MigrationScript } from "./apply-migrations.js";
import { runPass, type PassResult, type ServiceOutcome } from "./migration-pass.js";
import { readRoleAttributes, ScratchServer, messageOf, type ClusterSnapshot, type RoleAttributes } from "./scratch-server.js";
import { splitSqlStatements } from "./sql-statements.js";
import { createdTables, scanStatements, type ForeignNames, type StaticHit } from "./static-scan.js";

/** A stateful service with what the check needs to apply its migrations as its own role. */
export interface MigratingService {
  readonly service: Service;
  readonly module: PrismaModule;
  readonly scripts: readonly MigrationScript[];
  readonly user: string;
  readonly password: string | undefined;
  /** Prisma's `?schema=` of the service's URL. */
  readonly schema: string | undefined;
  readonly migrationsDir: string;
}

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
  needs: ["postgres", "scratch"],
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
  const scratch = await ScratchServer.open(scratchUrl, context.logger, context.options.concurrency).catch((error: unknown) => {
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
    baseline = await scratch.clusterSnapshot();
    took("preparing the scratch server");
    forward = await runPass(scratch, applicable, { pass: "f", runId, context });
    await scratch.restoreCluster(baseline);
    reverse = await runPass(scratch, [...applicable].reverse(), { pass: "r", runId, context });
    took("applying");
  } finally {
    // Put the cluster back before the roles this check created are dropped with the rest.
    if (baseline) {
      const left = await scratch.restoreCluster(baseline).catch((error: unknown) => [`(restoring failed: ${messageOf(error)})`]);
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

async function loadServices(context: CheckContext): Promise<{ services: MigratingService[]; missing: string[] }> {
  const { product } = context;
  const live = context.live!;
  const loaded = await Promise.all(
    product.registry.services.filter(isStateful).map(async (service) => {
      const url = live.serviceUrl(service.key);
      const parsed = url === undefined ? undefined : parseDatabaseUrl(url);
      const module = await readPrismaModule(product.repoRoot, service);
      if (!parsed) return module.migrations.length > 0 ? { missing: service.key } : {};
      registerSecret(parsed.password);
      const scripts = await Promise.all(
        module.migrations.map(async (migration) => {
          const bytes = await readFile(migration.sqlPath);
          const text = bytes.toString("utf8");
          return { migration, bytes, text, statements: splitSqlStatements(text) };
        }),
      );
      const firstDir = module.migrations[0]?.dir;
      const migrating: MigratingService = {
        service,
        module,
        scripts,
        user: parsed.user,
        password: parsed.password,
        schema: parsed.params.get("schema"),
        migrationsDir: firstDir ? dirname(firstDir) : join(module.moduleDir, "prisma", "migrations"),
      };
      return { migrating };
    }),
  );
  // Registry order is kept: it is the order of the first pass.
  return {
    services: loaded.flatMap((entry) => (entry.migrating ? [entry.migrating] : [])),
    missing: loaded.flatMap((entry) => (entry.missing ? [entry.missing] : [])),
  };
}

async function readServiceRoles(adminUrl: string, services: readonly MigratingService[]): Promise<Map<string, RoleAttributes>> {
  try {
    const admin = await connect(adminUrl, { applicationName: "civic-conformance migrations" });
    try {
      return await readRoleAttributes(admin, [...new Set(services.map((s) => s.user))]);
    } finally {
      await admin.end().catch(() => {});
    }
  } catch (error) {
    throw new CheckUnableError(`could not read the service roles on the server under test: ${messageOf(error)}`);
  }
}

function plainLoginRole(name: string): RoleAttributes {
  return { name, superuser: false, inherit: true, createRole: false, createDb: false, canLogin: true, replication: false, bypassRls: false, connectionLimit: -1 };
}

/** Static hits per migration file (repo-relative path). */
function staticHits(services: readonly MigratingService[]): Map<string, StaticHit[]> {
  const tablesOf = new Map(services.map((s) => [s.service.key, unionOf(s.scripts.map((script) => createdTables(script.statements)))]));
  const hits = new Map<string, StaticHit[]>();
  for (const current of services) {
    const own = tablesOf.get(current.service.key)!;
    const foreign: ForeignNames[] = services
      .filter((other) => other.service.key !== current.service.key)
      .map((other) => ({
        service: other.service.key,
        database: other.service.database,
        ...(other.user !== current.user && { role: other.user }),
        tables: new Set([...tablesOf.get(other.service.key)!].filter((table) => !own.has(table))),
      }));
    for (const script of current.scripts) hits.set(script.migration.file, scanStatements(script.statements, foreign));
  }
  return hits;
}

function unionOf(sets: readonly Set<string>[]): Set<string> {
  return new Set(sets.flatMap((set) => [...set]));
}

const FIX = {
  "apply-failed":
    "Make the migration apply on an empty database as the service's own role (no superuser): fix the statement, or regenerate it with `prisma migrate dev` against an empty database.",
  "order-dependent":
    "Make each service's migrations depend only on objects its own migrations create; move shared roles or grants out of migrations into the generated init SQL.",
  "outside-effect":
    "Keep migrations inside the service's own database: create roles, database grants and server settings in the generated init SQL (infra/generate.ts), not in a migration.",
  "cross-database-link":
    "Remove the dblink / postgres_fdw usage: fetch the other service's data through its HTTP API (extraEnv URL) instead.",
  "foreign-reference":
    "Do not name another service's database, role or tables: keep a copy of the identifier you need (e.g. a UUID column without a foreign key) and fetch the data over HTTP.",
} as const;

type Rule = keyof typeof FIX;

function finding(
  rule: Rule,
  message: string,
  service: string,
  file: string | undefined,
  line: number | undefined,
  severity: Finding["severity"] = "error",
): Finding {
  return {
    rule: `migrations/${rule}`,
    severity,
    message,
    service,
    ...(file !== undefined && { file }),
    ...(line !== undefined && { line }),
    fix: FIX[rule],
  };
}

function failureText(failure: ServiceOutcome["failure"]): string {
  if (!failure) return "";
  const code = failure.sqlstate ? ` (SQLSTATE ${failure.sqlstate})` : "";
  const statement = failure.statement ? ` in statement: ${failure.statement}` : "";
  return `${failure.message}${code}${statement}`;
}

/**
 * Turns static hits and the passes' outcomes into findings, one per problem: a live observation and
 * the static hit that explains it become one finding on the hit's line.
 */
function findingsFrom(
  services: readonly MigratingService[],
  hits: ReadonlyMap<string, StaticHit[]>,
  forward: PassResult | undefined,
  reverse: PassResult | undefined,
): Finding[] {
  const findings: Finding[] = [];
  for (const current of services) {
    const key = current.service.key;
    const role = current.user;
    const out = forward?.outcomes.find((o) => o.service === key);
    const back = reverse?.outcomes.find((o) => o.service === key);
    // A failure counts as the service's own when it happens in every order that was tried.
    const ownFailure = out?.failure && (!reverse || back?.failure) ? out.failure : undefined;
    const failureFile = ownFailure?.migration?.file;
    let failureReported = false;
    const serviceFindings: Finding[] = [];

    for (const script of current.scripts) {
      const file = script.migration.file;
      const folder = script.migration.name;
      const fileHits = hits.get(file) ?? [];
      const clusterChanges = out?.clusterChanges.find((c) => c.migration === script.migration.name)?.changes ?? [];
      const failsHere = failureFile === file;
      const suffix = () => {
        if (!failsHere || failureReported) return "";
        failureReported = true;
        return `; applying it as role ${role} fails: ${failureText(ownFailure)}`;
      };
      for (const hit of fileHits.filter((h) => h.kind !== "outside-effect")) {
        serviceFindings.push(finding(hit.kind, `Migration ${folder} of ${key} ${hit.what}${suffix()}.`, key, file, hit.line));
      }
      const clusterHits = fileHits.filter((h) => h.kind === "outside-effect");
      if (clusterChanges.length > 0) {
        serviceFindings.push(
          finding(
            "outside-effect",
            `Migration ${folder} of ${key} changes the server outside its own database: ${clusterChanges.join("; ")}${suffix()}.`,
            key,
            file,
            clusterHits[0]?.line,
          ),
        );
      } else {
        // Applied cleanly and nothing changed (e.g. a grant the owner already held): worth a look, not a failure.
        const harmless = out !== undefined && out.failure === undefined && out.clusterChanges.length === 0;
        for (const hit of clusterHits) {
          serviceFindings.push(
            finding(
              "outside-effect",
              `Migration ${folder} of ${key} ${hit.what}, which reaches outside its own database${suffix()}.`,
              key,
              file,
              hit.line,
              harmless ? "warning" : "error",
            ),
          );
        }
      }
    }
    if (out) {
      // A migrate command does not say which migration did it.
      const commandChanges = out.clusterChanges.filter((c) => c.migration === undefined).flatMap((c) => c.changes);
      if (commandChanges.length > 0) {
        serviceFindings.push(
          finding("outside-effect", `Applying the migrations of ${key} changes the server outside its own database: ${commandChanges.join("; ")}.`, key, current.module.schemaFile, undefined),
        );
      }
      for (const change of out.otherDatabaseChanges) {
        serviceFindings.push(
          finding("outside-effect", `Applying the migrations of ${key} changed another service's database: ${change}.`, key, current.module.schemaFile, undefined),
        );
      }
      const staticLinks = current.scripts.some((s) => (hits.get(s.migration.file) ?? []).some((h) => h.kind === "cross-database-link"));
      if (!staticLinks && out.liveLinks.length > 0) {
        serviceFindings.push(
          finding("cross-database-link", `After its migrations, the database of ${key} holds ${out.liveLinks.join(", ")}.`, key, current.module.schemaFile, undefined),
        );
      }
    }
    if (ownFailure && !failureReported) {
      const where = ownFailure.migration ? `Migration ${ownFailure.migration.name} of ${key}` : `The migrate command of ${key}`;
      serviceFindings.push(
        finding(
          "apply-failed",
          `${where} does not apply on an empty database as role ${role}: ${failureText(ownFailure)}.`,
          key,
          ownFailure.migration?.file ?? current.module.schemaFile,
          ownFailure.line,
        ),
      );
    }
    if (out && back) serviceFindings.push(...orderFindings(current, out, back));
    findings.push(...serviceFindings);
  }
  return findings;
}

function orderFindings(current: MigratingService, out: ServiceOutcome, back: ServiceOutcome): Finding[] {
  const key = current.service.key;
  if (out.failure && back.failure) return [];
  const failed = out.failure ?? back.failure;
  if (failed) {
    const order = out.failure ? "in registry order, after the services before it" : "in reverse registry order, after the services after it";
    const worksIn = out.failure ? "reverse registry order" : "registry order";
    return [
      finding(
        "order-dependent",
        `The migrations of ${key} apply in ${worksIn} but fail ${order}: ${failureText(failed)}. They depend on what another service's migrations do.`,
        key,
        failed.migration?.file ?? current.module.schemaFile,
        failed.line,
      ),
    ];
  }
  const differences = describeChanges(out.ownFingerprint!, back.ownFingerprint!);
  if (differences.length === 0) return [];
  return [
    finding(
      "order-dependent",
      `The database of ${key} ends up different when the services' migrations run in reverse registry order: ${differences.slice(0, 10).join("; ")}.`,
      key,
      current.scripts.at(-1)?.migration.file ?? current.module.schemaFile,
      undefined,
    ),
  ];
}
