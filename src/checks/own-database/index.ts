import { type Check, type CheckContext, type CheckOutput, CheckUnableError } from "../check.js";
import type { Finding } from "../../core/report-model.js";
import { isStateful, locationOf, type Registry, type Service } from "../../registry/model.js";
import { mapBounded } from "../../core/concurrency.js";
import { describeUrl, withConnection } from "../../postgres/connect.js";
import { readClusterCatalog } from "../../postgres/cluster-catalog.js";
import { isUnreachable } from "../../postgres/sqlstate.js";
import { composeServiceOf, postgresUrlsInEnvironment } from "../../product/service-database-url.js";
import { serviceCredentials } from "../shared/service-credentials.js";
import { clusterStateFindings } from "./cluster-state.js";
import { FIX_MISSING_URL, FIX_STATELESS_CREDENTIAL, fixMissingDatabase } from "./fixes.js";
import { loginFindings, sharedCredentialFindings, sharedDatabaseFindings } from "./login-findings.js";
import { probeLogin } from "./login-probe.js";
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

  const catalog = await withConnection(live.adminUrl, connectOptions, readClusterCatalog).catch((error: unknown) => {
    if (isUnreachable(error)) throw error;
    throw new CheckUnableError(`could not log in with the admin URL to read the catalog: ${(error as Error).message}`);
  });

  const stateful = product.registry.services.filter(isStateful);
  const credentials = serviceCredentials(product, live);
  const credentialOf = new Map(credentials.map((credential) => [credential.service.key, credential]));
  const withUrl = stateful.flatMap((service) => credentialOf.get(service.key) ?? []);
  const probes = await mapBounded(
    withUrl,
    context.options.concurrency || DEFAULT_CONCURRENCY,
    (credential) => probeLogin(credential, connectOptions),
    context.signal,
  );

  // A service that landed in its own database proves it exists, even on a server other than the
  // admin URL's (an external runtime may run one instance per service).
  const existing = new Set([
    ...catalog.databases.map((database) => database.name),
    ...probes.flatMap((probe) => (probe.loggedIn ? [probe.database] : [])),
  ]);
  const missing = stateful.filter((service) => !existing.has(service.database));
  const findings: Finding[] = [
    ...missing.map((service) => missingDatabase(product.registry, service)),
    ...stateful.filter((service) => !credentialOf.has(service.key)).map((service) => missingUrl(product.registry, service)),
    ...probes.flatMap((probe) => loginFindings(probe, missing)),
    ...sharedDatabaseFindings(probes),
    ...sharedCredentialFindings(probes),
    ...statelessCredentialFindings(context),
    ...clusterStateFindings(product, live.adminUrl, catalog, withUrl),
  ];
  return { findings };
}

function missingDatabase(registry: Registry, service: Service): Finding {
  return {
    rule: "own-database/missing-database",
    severity: "error",
    message: `Database "${service.database}" of ${service.key} does not exist on the server.`,
    service: service.key,
    ...locationOf(registry, service, "database"),
    fix: fixMissingDatabase(service.database),
  };
}

function missingUrl(registry: Registry, service: Service): Finding {
  return {
    rule: "own-database/missing-url",
    severity: "error",
    message: `${service.key} is stateful (database "${service.database}") but the runtime has no DATABASE_URL for it, so its login cannot be proven.`,
    service: service.key,
    ...locationOf(registry, service, "database"),
    fix: FIX_MISSING_URL,
  };
}

function statelessCredentialFindings(context: CheckContext): Finding[] {
  const { product, live } = context;
  const findings: Finding[] = [];
  for (const service of product.registry.services.filter((s) => !isStateful(s))) {
    const composeService = composeServiceOf(product.compose, service);
    const inCompose = composeService ? postgresUrlsInEnvironment(composeService) : [];
    for (const { name, value } of inCompose) {
      const target = describeUrl(value.value);
      findings.push({
        rule: "own-database/stateless-credential",
        severity: "error",
        message: `${service.key} is stateless (database: "") but its ${name} holds a PostgreSQL credential${target ? ` (user "${target.user}", database "${target.database}")` : ""}.`,
        service: service.key,
        file: value.file,
        line: value.line,
        fix: FIX_STATELESS_CREDENTIAL,
      });
    }
    if (inCompose.length === 0 && live?.serviceUrl(service.key) !== undefined) {
      findings.push({
        rule: "own-database/stateless-credential",
        severity: "error",
        message: `${service.key} is stateless (database: "") but the runtime hands it a DATABASE_URL.`,
        service: service.key,
        ...locationOf(product.registry, service, "database"),
        fix: FIX_STATELESS_CREDENTIAL,
      });
    }
  }
  return findings;
}
