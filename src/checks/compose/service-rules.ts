import { posix, resolve } from "node:path";
import { repoRelative } from "../../core/repo-path.js";
import type { Finding } from "../../core/report-model.js";
import { isPostgresUrl, parseDatabaseUrl } from "../../postgres/database-url.js";
import type { ComposeProject, ComposeService } from "../../compose-file/model.js";
import type { PostgresService } from "../../compose-file/postgres-service.js";
import { isStateful, type Registry, type Service } from "../../registry/model.js";

/** What every per-service rule needs to know about the whole product. */
export interface ServiceRuleContext {
  readonly registry: Registry;
  readonly compose: ComposeProject;
  readonly postgres: PostgresService | undefined;
  readonly repoRoot: string;
}

const HEALTHCHECK_LOCAL_PORT = /(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\]):(\d{1,5})\b/g;

/** The port PostgreSQL listens on inside its container: 5432 unless PGPORT moves it. */
function postgresContainerPort(postgres: PostgresService): number {
  const port = Number(postgres.env.get("PGPORT"));
  return Number.isInteger(port) && port > 0 ? port : 5432;
}

/** The Dockerfile a compose `build:` uses, repo-relative: `dockerfile` resolves against the context, default `Dockerfile`. */
export function composeDockerfile(service: ComposeService, repoRoot: string): string | undefined {
  if (!service.build) return undefined;
  return repoRelative(repoRoot, resolve(service.build.context, service.build.dockerfile ?? "Dockerfile"));
}

/** All rules for one registry service that has a compose service of its hostname. */
export function serviceFindings(service: Service, composeService: ComposeService, context: ServiceRuleContext): Finding[] {
  return [
    ...databaseUrlFindings(service, composeService, context),
    ...portFindings(service, composeService, context),
    ...extraEnvFindings(service, composeService, context),
    ...dependsOnFindings(service, composeService, context),
    ...dockerfileFindings(service, composeService, context),
  ];
}

function at(context: ServiceRuleContext, service: Service, line: number): Pick<Finding, "service" | "file" | "line"> {
  return { service: service.key, file: context.compose.file, line };
}

// DATABASE_URL rules are errors: each is a direct breach of "one service, one database, its own".
function databaseUrlFindings(service: Service, composeService: ComposeService, context: ServiceRuleContext): Finding[] {
  const findings: Finding[] = [];
  const name = composeService.name;
  const envLine = composeService.environmentLine ?? composeService.line;
  const postgresUrls = [...composeService.environment].filter(([key, value]) => key === "DATABASE_URL" || isPostgresUrl(value.value));

  if (!isStateful(service)) {
    for (const [key, value] of postgresUrls) {
      findings.push({
        rule: "compose/stateless-database-url",
        severity: "error",
        message: `Service "${name}" is stateless in the registry (database: "") but its ${key} gives it a PostgreSQL connection.`,
        ...at(context, service, value.line),
        fix: `Remove ${key} from "${name}", or give the service a database in ${context.registry.file} and regenerate.`,
      });
    }
    return findings;
  }

  const databaseUrl = composeService.environment.get("DATABASE_URL");
  for (const duplicate of composeService.duplicateEnvironment ?? []) {
    if (duplicate.value !== "DATABASE_URL") continue;
    findings.push({
      rule: "compose/multiple-database-urls",
      severity: "error",
      message: `Service "${name}" sets DATABASE_URL more than once; compose silently keeps the last one.`,
      ...at(context, service, duplicate.line),
      fix: "Keep exactly one DATABASE_URL entry, naming the service's own database.",
    });
  }
  for (const [key, value] of postgresUrls) {
    if (key === "DATABASE_URL") continue;
    const other = parseDatabaseUrl(value.value);
    findings.push({
      rule: "compose/multiple-database-urls",
      severity: "error",
      message: `Service "${name}" has a second PostgreSQL connection in ${key}${other?.database ? ` (database "${other.database}")` : ""}; a service gets exactly one, its DATABASE_URL.`,
      ...at(context, service, value.line),
      fix: `Remove ${key}; if "${name}" needs another service's data, call that service over HTTP (extraEnv) instead.`,
    });
  }
  if (!databaseUrl) {
    findings.push({
      rule: "compose/missing-database-url",
      severity: "error",
      message: `Service "${name}" owns database "${service.database}" but has no DATABASE_URL.`,
      ...at(context, service, envLine),
      fix: `Add DATABASE_URL: postgresql://<role>:<password>@postgres:5432/${service.database} to "${name}" (regenerate from the registry).`,
    });
    return findings;
  }

  const url = parseDatabaseUrl(databaseUrl.value);
  if (!url) {
    findings.push({
      rule: "compose/invalid-database-url",
      severity: "error",
      // Naming the interpolated source helps when an unset variable (given a random value for the run) is the cause.
      message: `The DATABASE_URL of "${name}"${databaseUrl.raw.includes("$") ? ` (written as ${databaseUrl.raw})` : ""} is not a postgresql:// URL with a host and a valid port.`,
      ...at(context, service, databaseUrl.line),
      fix: `Write it as postgresql://<role>:<password>@postgres:5432/${service.database}.`,
    });
    return findings;
  }
  const owner = context.registry.services.find((candidate) => isStateful(candidate) && candidate.database === url.database);
  if (url.database !== service.database) {
    // libpq connects to the database named like the user when the URL names none.
    const named = url.database === "" ? `no database (so libpq uses "${url.user}")` : `database "${url.database}"`;
    findings.push(
      owner
        ? {
            rule: "compose/foreign-database",
            severity: "error",
            message: `The DATABASE_URL of "${name}" names database "${url.database}", which belongs to "${owner.key}"; its own is "${service.database}".`,
            ...at(context, service, databaseUrl.line),
            fix: `Point DATABASE_URL at /${service.database}; read "${owner.key}"'s data through its HTTP API.`,
          }
        : {
            rule: "compose/wrong-database",
            severity: "error",
            message: `The DATABASE_URL of "${name}" names ${named}, which is not its registry database "${service.database}".`,
            ...at(context, service, databaseUrl.line),
            fix: `Point DATABASE_URL at /${service.database}, or change the registry's database and regenerate.`,
          },
    );
  }
  if (context.postgres) {
    const expectedPort = postgresContainerPort(context.postgres);
    if (url.host !== context.postgres.service.name || url.port !== expectedPort) {
      findings.push({
        rule: "compose/database-host",
        severity: "error",
        message: `The DATABASE_URL of "${name}" points at ${url.host}:${url.port}, not at the compose PostgreSQL service ${context.postgres.service.name}:${expectedPort}.`,
        ...at(context, service, databaseUrl.line),
        fix: `Use host "${context.postgres.service.name}" and port ${expectedPort} (the container port, not the published one).`,
      });
    }
    // A warning: the live isolation check proves the consequence; this only says it early.
    if (url.user === context.postgres.user) {
      findings.push({
        rule: "compose/superuser-database-url",
        severity: "warning",
        message: `The DATABASE_URL of "${name}" logs in as "${url.user}", the PostgreSQL superuser of the compose file, which can read every service's database.`,
        ...at(context, service, databaseUrl.line),
        fix: `Give "${name}" its own login role that owns only "${service.database}" (the built-in generator does: civic-conformance generate).`,
      });
    }
  }
  return findings;
}

// Port mismatches are errors: callers and healthchecks use the registry port, so the service is unreachable.
function portFindings(service: Service, composeService: ComposeService, context: ServiceRuleContext): Finding[] {
  const findings: Finding[] = [];
  const name = composeService.name;
  const port = composeService.environment.get("PORT");
  if (!port) {
    findings.push({
      rule: "compose/port",
      severity: "error",
      message: `Service "${name}" has no PORT; the registry says it listens on ${service.port}.`,
      ...at(context, service, composeService.environmentLine ?? composeService.line),
      fix: `Add PORT: ${service.port} to the environment of "${name}".`,
    });
  } else if (port.value.trim() !== String(service.port)) {
    findings.push({
      rule: "compose/port",
      severity: "error",
      message: `Service "${name}" has PORT ${port.value}; the registry says ${service.port}.`,
      ...at(context, service, port.line),
      fix: `Set PORT: ${service.port}, or change the registry's port and regenerate.`,
    });
  }
  const healthcheck = composeService.healthcheck;
  if (healthcheck && !healthcheck.disabled) {
    const text = Array.isArray(healthcheck.test) ? healthcheck.test.join(" ") : String(healthcheck.test);
    for (const match of text.matchAll(HEALTHCHECK_LOCAL_PORT)) {
      if (Number(match[1]) === service.port) continue;
      findings.push({
        rule: "compose/port",
        severity: "error",
        message: `The healthcheck of "${name}" probes local port ${match[1]}; the registry says the service listens on ${service.port}.`,
        ...at(context, service, healthcheck.line),
        fix: `Probe port ${service.port} in the healthcheck.`,
      });
    }
  }
  // A warning: a service may publish a second (debug, metrics) port, but publishing none of the registry port is suspicious.
  if (composeService.ports.length > 0 && !composeService.ports.some((entry) => entry.target === service.port)) {
    findings.push({
      rule: "compose/port",
      severity: "warning",
      message: `Service "${name}" publishes container port(s) ${composeService.ports.map((entry) => entry.target).join(", ")}, but not its registry port ${service.port}.`,
      ...at(context, service, composeService.ports[0]!.line),
      fix: `Publish container port ${service.port}, or drop the ports entry.`,
    });
  }
  return findings;
}

// Errors: extraEnv holds the URLs a service calls; a different value means it calls something else.
function extraEnvFindings(service: Service, composeService: ComposeService, context: ServiceRuleContext): Finding[] {
  const findings: Finding[] = [];
  const name = composeService.name;
  for (const [key, expected] of Object.entries(service.extraEnv ?? {})) {
    const actual = composeService.environment.get(key);
    if (!actual) {
      findings.push({
        rule: "compose/extra-env",
        severity: "error",
        message: `Service "${name}" lacks ${key}, which the registry's extraEnv sets to "${expected}".`,
        ...at(context, service, composeService.environmentLine ?? composeService.line),
        fix: `Add ${key}: "${expected}" to the environment of "${name}" (regenerate from the registry).`,
      });
    } else if (actual.value !== expected) {
      findings.push({
        rule: "compose/extra-env",
        severity: "error",
        message: `Service "${name}" sets ${key} to "${actual.value}"; the registry's extraEnv says "${expected}".`,
        ...at(context, service, actual.line),
        fix: `Set ${key}: "${expected}", or change the registry and regenerate.`,
      });
    }
  }
  // A URL to another registry service that only the compose file knows is a call the registry does not declare.
  const declaredKeys = new Set(Object.keys(service.extraEnv ?? {}));
  for (const [key, value] of composeService.environment) {
    if (declaredKeys.has(key)) continue;
    const target = registryServiceCalledBy(value.value, context.registry);
    if (!target || target.key === service.key) continue;
    findings.push({
      rule: "compose/extra-env",
      severity: "error",
      message: `Service "${name}" sets ${key} to a URL of "${target.key}", but the registry's extraEnv of "${service.key}" does not declare it.`,
      ...at(context, service, value.line),
      fix: `Declare ${key} in the extraEnv (and "${target.key}" in the dependsOn) of "${service.key}" in ${context.registry.file}, then regenerate.`,
    });
  }
  return findings;
}

/** The registry service whose hostname a URL names (any scheme but PostgreSQL's), if any. */
function registryServiceCalledBy(value: string, registry: Registry): Service | undefined {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value) || isPostgresUrl(value)) return undefined;
  let host: string;
  try {
    host = new URL(value).hostname;
  } catch {
    return undefined;
  }
  return registry.services.find((candidate) => candidate.hostname === host);
}

// Errors: a missing dependency starts a service before what it calls; an undeclared one hides a coupling.
function dependsOnFindings(service: Service, composeService: ComposeService, context: ServiceRuleContext): Finding[] {
  const findings: Finding[] = [];
  const name = composeService.name;
  const dependsOnLine = composeService.dependsOnLine ?? composeService.line;
  const byKey = new Map(context.registry.services.map((candidate) => [candidate.key, candidate]));
  const byHostname = new Map(context.registry.services.map((candidate) => [candidate.hostname, candidate]));
  const declared = new Set((service.dependsOn ?? []).map((key) => byKey.get(key)?.hostname).filter((host) => host !== undefined));

  for (const hostname of declared) {
    if (composeService.dependsOn.has(hostname)) continue;
    findings.push({
      rule: "compose/depends-on",
      severity: "error",
      message: `Service "${name}" depends on "${hostname}" in the registry, but its compose depends_on does not list it.`,
      ...at(context, service, dependsOnLine),
      fix: `Add "${hostname}" to the depends_on of "${name}".`,
    });
  }
  for (const [dependency, condition] of composeService.dependsOn) {
    const target = byHostname.get(dependency);
    if (!context.compose.services.has(dependency)) {
      findings.push({
        rule: "compose/depends-on",
        severity: "error",
        message: `Service "${name}" depends on "${dependency}", which is not a service of the compose file.`,
        ...at(context, service, condition.line),
        fix: `Remove "${dependency}" from the depends_on of "${name}", or add the service.`,
      });
    } else if (target && target.key !== service.key && !declared.has(dependency)) {
      findings.push({
        rule: "compose/depends-on",
        severity: "error",
        message: `Service "${name}" depends on "${dependency}" in compose, but the registry's dependsOn does not declare it.`,
        ...at(context, service, condition.line),
        fix: `Add "${target.key}" to the dependsOn of "${service.key}" in ${context.registry.file}, or remove it from depends_on.`,
      });
    }
  }
  if (isStateful(service) && context.postgres) {
    const postgresName = context.postgres.service.name;
    const condition = composeService.dependsOn.get(postgresName);
    if (!condition) {
      findings.push({
        rule: "compose/depends-on",
        severity: "error",
        message: `Service "${name}" uses PostgreSQL but does not depend on "${postgresName}".`,
        ...at(context, service, dependsOnLine),
        fix: `Add "${postgresName}: { condition: service_healthy }" to the depends_on of "${name}".`,
      });
    } else if (condition.value !== "service_healthy") {
      findings.push({
        rule: "compose/depends-on",
        severity: "error",
        message: `Service "${name}" waits for "${postgresName}" with condition ${condition.value}, so it may start before its database exists.`,
        ...at(context, service, condition.line),
        fix: `Use "condition: service_healthy" for "${postgresName}".`,
      });
    }
  }
  return findings;
}

// An error: the registry's dockerfile names the module; building another one runs other code under this name.
function dockerfileFindings(service: Service, composeService: ComposeService, context: ServiceRuleContext): Finding[] {
  const expected = posix.normalize(service.dockerfile.replace(/\\/g, "/")).replace(/^\.\//, "");
  const actual = composeDockerfile(composeService, context.repoRoot);
  if (actual === expected) return [];
  const build = composeService.build;
  return [
    {
      rule: "compose/dockerfile",
      severity: "error",
      message:
        actual === undefined
          ? `Service "${composeService.name}" has no build:, so it is not built from the registry's ${expected}.`
          : `Service "${composeService.name}" builds from ${actual}; the registry says ${expected}.`,
      ...at(context, service, build?.dockerfileLine ?? build?.line ?? composeService.line),
      fix: `Build "${composeService.name}" with context at the repository root and dockerfile ${expected}.`,
    },
  ];
}

