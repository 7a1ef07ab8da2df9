import { type Check, type CheckContext, type CheckOutput, CheckUnableError, coverageOf } from "../check.js";
import type { Coverage, CoverageItem, Finding } from "../../core/report-model.js";
import { isStateful, locationOf, type Registry, type Service } from "../../registry/model.js";
import { mapBounded } from "../../core/concurrency.js";
import { isUnreachable } from "../../postgres/sqlstate.js";
import { withConnection } from "../../postgres/connect.js";
import { isCredentialRefusal, readRoleLoginFacts, type RoleLoginFacts } from "../../postgres/login-diagnosis.js";
import type { LiveInstance } from "../../runtime/runtime.js";
import { readInstanceCatalogs } from "../shared/instance-catalogs.js";
import { fixWording, type FixWording } from "../shared/init-script-names.js";
import { productPostgres, type ProductPostgres } from "../../product/product-postgres.js";
import { liveCredentials, type ServiceCredential, type UntriedCredential } from "../shared/service-credentials.js";
import { clusterStateFindings } from "./cluster-state.js";
import { FIX_MISSING_URL, FIX_STATELESS_CREDENTIAL, fixMissingDatabase } from "./fixes.js";
import { loginFindings, sharedCredentialFindings, sharedDatabaseFindings } from "./login-findings.js";
import { probeLogin, type LoginProbe } from "./login-probe.js";
import { ownDatabaseRules } from "./rules.js";

const DEFAULT_CONCURRENCY = 16;

/**
 * `own-database`: on the live server, every registry database exists, every stateful service's
 * DATABASE_URL logs in and lands in exactly its own database, and no two services share a database
 * or a role; stateless services hold no database credential at all.
 */
export const ownDatabaseCheck: Check<"own-database"> = {
  id: "own-database",
  title: "Each service logs in to its own database",
  needs: ["postgres"],
  readsOnly: true,
  rules: Object.values(ownDatabaseRules),
  async run(context) {
    try {
      return await checkOwnDatabases(context);
    } catch (error) {
      if (context.signal.aborted) throw new CheckUnableError("own-database was interrupted before it finished");
      if (isUnreachable(error)) throw new CheckUnableError(`own-database could not reach PostgreSQL: ${(error as Error).message}`);
      throw error;
    }
  },
};

async function checkOwnDatabases(context: CheckContext): Promise<CheckOutput> {
  const { product, live } = context;
  if (!live) return { findings: [], skipped: "no live PostgreSQL server" };
  const connectOptions = { applicationName: "civic-conformance own-database" };

  const catalogs = await readInstanceCatalogs(live, connectOptions.applicationName, context.signal);
  const { credentials, untried, homes, down } = await liveCredentials(product, live);
  // A service whose instance did not start cannot be looked at: not covered, never passed.
  const stateful = product.registry.services.filter((service) => isStateful(service) && !down.has(service.key));
  const statefulCredentials = credentials.filter((credential) => isStateful(credential.service));
  const probes = await mapBounded(
    statefulCredentials,
    context.options.concurrency || DEFAULT_CONCURRENCY,
    (credential) => probeLogin(credential, connectOptions),
    context.signal,
  );

  // A service that landed in its own database proves it exists, even on a server whose catalog is
  // not read here (an external runtime may give a service a server of its own).
  const landed = new Set(probes.flatMap((probe) => (probe.loggedIn ? [`${probe.credential.instance.name}\0${probe.database}`] : [])));
  const exists = (service: Service) => {
    const home = homes.get(service.key);
    const onInstance = (name: string) => catalogs.get(name)?.databases.some((database) => database.name === service.database) || landed.has(`${name}\0${service.database}`);
    if (home) return onInstance(home.name) || (!catalogs.has(home.name) && [...landed].some((key) => key.endsWith(`\0${service.database}`)));
    return [...catalogs.keys()].some(onInstance) || [...landed].some((key) => key.endsWith(`\0${service.database}`));
  };
  const missing = stateful.filter((service) => !exists(service));
  const tried = new Set(statefulCredentials.map((credential) => credential.service.key));
  const facts = await refusedRoleFacts(probes, connectOptions.applicationName);
  const wording = await fixWording(product);
  const findings: Finding[] = [
    ...missing.map((service) => missingDatabase(product.registry, service, live.instances.size > 1 ? homes.get(service.key)?.name : undefined, wording)),
    ...stateful.filter((service) => !tried.has(service.key)).map((service) => missingUrl(product.registry, service, untried.filter((entry) => entry.service === service))),
    ...probes.flatMap((probe) => loginFindings(probe, missing, facts.get(probe.credential.instance.name)?.get(probe.credential.user), wording)),
    ...sharedDatabaseFindings(probes),
    ...sharedCredentialFindings(probes),
    ...statelessCredentialFindings(context, await productPostgres(product)),
    ...[...live.instances.values()].flatMap((instance) =>
      clusterStateFindings(
        product,
        instance.adminUrl,
        catalogs.get(instance.name)!,
        statefulCredentials.filter((credential) => credential.instance.name === instance.name),
        stateful.filter((service) => (homes.get(service.key)?.name ?? instance.name) === instance.name),
        live.instances.size > 1 ? instance.name : undefined,
        wording,
      ),
    ),
  ];
  return { findings, coverage: ownDatabaseCoverage(stateful, statefulCredentials, untried, live, down) };
}

/**
 * For the logins refused on authentication, what each instance's admin knows about those roles
 * (exists, LOGIN, has a password), so the finding says which it is. An instance whose admin cannot be
 * asked keeps the server's own reason.
 */
async function refusedRoleFacts(probes: readonly LoginProbe[], applicationName: string): Promise<Map<string, Map<string, RoleLoginFacts>>> {
  const byInstance = new Map<string, { instance: LiveInstance; users: string[] }>();
  for (const probe of probes) {
    if (probe.loggedIn || !isCredentialRefusal(probe.failure) || !probe.credential.instance.adminUrl) continue;
    const { instance, user } = probe.credential;
    const entry = byInstance.get(instance.name) ?? { instance, users: [] };
    entry.users.push(user);
    byInstance.set(instance.name, entry);
  }
  const facts = new Map<string, Map<string, RoleLoginFacts>>();
  for (const { instance, users } of byInstance.values()) {
    const read = await withConnection(instance.adminUrl, { applicationName }, (admin) => readRoleLoginFacts(admin, users)).catch(() => undefined);
    if (read) facts.set(instance.name, read);
  }
  return facts;
}

/** Each stateful service whose login was tried (with the line of its credential), each instance whose catalog was read; each service not tried, with why. */
function ownDatabaseCoverage(
  stateful: readonly Service[],
  tried: readonly ServiceCredential[],
  untried: readonly UntriedCredential[],
  live: NonNullable<CheckContext["live"]>,
  down: ReadonlyMap<string, string>,
): Coverage {
  const covered: CoverageItem[] = [];
  const uncovered: CoverageItem[] = [
    ...[...(live.unstarted?.causes ?? new Map<string, string>())].map(([name, cause]) => ({ kind: "instance" as const, name, reason: `did not start: ${cause.split("\n")[0]}` })),
    ...[...down].map(([key, reason]) => ({ kind: "service" as const, name: key, service: key, reason })),
  ];
  for (const service of stateful) {
    const credential = tried.find((candidate) => candidate.service === service);
    if (credential) {
      covered.push({ kind: "service", name: service.key, service: service.key, file: credential.source.file, line: credential.source.line });
      continue;
    }
    const why = untried.filter((entry) => entry.service === service);
    uncovered.push({
      kind: "service",
      name: service.key,
      service: service.key,
      reason: why.length > 0 ? why.map((entry) => entry.reason).join("; ") : "no PostgreSQL credential was found for it",
      ...(why[0] && { file: why[0].file, line: why[0].line }),
    });
  }
  covered.push(...[...live.instances.keys()].map((name) => ({ kind: "instance" as const, name })));
  const instances = live.instances.size;
  const summary = `${covered.filter((item) => item.kind === "service").length}/${stateful.length + down.size} stateful services logged in (${tried.length} credentials), catalog read on ${instances} instance${instances === 1 ? "" : "s"}`;
  return coverageOf(summary, covered, uncovered);
}

function missingDatabase(registry: Registry, service: Service, instance: string | undefined, wording: FixWording): Finding {
  return {
    rule: "own-database/missing-database",
    severity: "error",
    message: `Database "${service.database}" of ${service.key} does not exist on the server${instance ? ` of instance "${instance}"` : ""}.`,
    service: service.key,
    ...locationOf(registry, service, "database"),
    fix: fixMissingDatabase(service.database, wording, instance),
  };
}

function missingUrl(registry: Registry, service: Service, untried: readonly UntriedCredential[]): Finding {
  const why = untried.length > 0 ? `: ${untried.map((entry) => `${entry.reason} (${entry.file}:${entry.line})`).join("; ")}` : "";
  return {
    rule: "own-database/missing-url",
    severity: "error",
    message: `${service.key} is stateful (database "${service.database}") but no credential of it can be tried here, so its login cannot be proven${why}.`,
    service: service.key,
    ...locationOf(registry, service, "database"),
    fix: FIX_MISSING_URL,
  };
}

/** A stateless service holding a PostgreSQL credential: a URL-like value, or any credential whose host names an instance. */
function statelessCredentialFindings(context: CheckContext, postgres: ProductPostgres): Finding[] {
  const { product, live } = context;
  const findings: Finding[] = [];
  for (const service of product.registry.services.filter((s) => !isStateful(s))) {
    const held = live?.credentials?.get(service.key) ?? postgres.of(service.key)?.credentials ?? [];
    for (const credential of held) {
      if (credential.instance === undefined && credential.form !== "url" && credential.form !== "jdbc" && credential.form !== "mapping") continue;
      const where = credential.source;
      findings.push({
        rule: "own-database/stateless-credential",
        severity: "error",
        message: `${service.key} is stateless (database: "") but its ${where.variable} holds a PostgreSQL credential (user "${credential.user}", database "${credential.database}").`,
        service: service.key,
        file: where.file,
        line: where.line,
        fix: FIX_STATELESS_CREDENTIAL,
      });
    }
  }
  return findings;
}
