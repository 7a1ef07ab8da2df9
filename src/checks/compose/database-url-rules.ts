import type { ComposeService } from "../../compose-file/model.js";
import type { Finding } from "../../core/report-model.js";
import { isPostgresUrl, parseDatabaseUrl } from "../../postgres/database-url.js";
import { isStateful, type Service } from "../../registry/model.js";
import { registryIndex } from "../../registry/registry-index.js";
import { at, environmentAt, instanceNamed, type ServiceRuleContext } from "./service-rule-context.js";

// DATABASE_URL rules are errors: each is a direct breach of "one service, one database, its own".
export function databaseUrlFindings(service: Service, composeService: ComposeService, context: ServiceRuleContext): Finding[] {
  const findings: Finding[] = [];
  const name = composeService.name;
  const postgresUrls = [...composeService.environment].filter(([key, value]) => key === "DATABASE_URL" || isPostgresUrl(value.value));

  if (!isStateful(service)) {
    for (const [key, value] of postgresUrls) {
      findings.push({
        rule: "compose/stateless-database-url",
        severity: "error",
        message: `Service "${name}" is stateless in the registry (database: "") but its ${key} gives it a PostgreSQL connection.`,
        ...at(context, service, value),
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
      ...at(context, service, duplicate),
      fix: "Keep exactly one DATABASE_URL entry, naming the service's own database.",
    });
  }
  // A connection under another name is a second one beside DATABASE_URL, or beside the first such one.
  const otherUrls = postgresUrls.filter(([key]) => key !== "DATABASE_URL");
  for (const [key, value] of databaseUrl ? otherUrls : otherUrls.slice(1)) {
    const other = parseDatabaseUrl(value.value);
    findings.push({
      rule: "compose/multiple-database-urls",
      severity: "error",
      message: `Service "${name}" has a second PostgreSQL connection in ${key}${other?.database ? ` (database "${other.database}")` : ""}; a service gets exactly one, its DATABASE_URL.`,
      ...at(context, service, value),
      fix: `Remove ${key}; if "${name}" needs another service's data, call that service over HTTP (extraEnv) instead.`,
    });
  }
  if (!databaseUrl) {
    findings.push({
      rule: "compose/missing-database-url",
      severity: "error",
      message: `Service "${name}" owns database "${service.database}" but has no DATABASE_URL.`,
      ...at(context, service, environmentAt(composeService)),
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
      ...at(context, service, databaseUrl),
      fix: `Write it as postgresql://<role>:<password>@postgres:5432/${service.database}.`,
    });
    return findings;
  }
  const owner = registryIndex(context.registry).byDatabase.get(url.database);
  if (url.database !== service.database) {
    // libpq connects to the database named like the user when the URL names none.
    const named = url.database === "" ? `no database (so libpq uses "${url.user}")` : `database "${url.database}"`;
    findings.push(
      owner
        ? {
            rule: "compose/foreign-database",
            severity: "error",
            message: `The DATABASE_URL of "${name}" names database "${url.database}", which belongs to "${owner.key}"; its own is "${service.database}".`,
            ...at(context, service, databaseUrl),
            fix: `Point DATABASE_URL at /${service.database}; read "${owner.key}"'s data through its HTTP API.`,
          }
        : {
            rule: "compose/wrong-database",
            severity: "error",
            message: `The DATABASE_URL of "${name}" names ${named}, which is not its registry database "${service.database}".`,
            ...at(context, service, databaseUrl),
            fix: `Point DATABASE_URL at /${service.database}, or change the registry's database and regenerate.`,
          },
    );
  }
  if (context.instances.length > 0) {
    const reached = instanceNamed(context.instances, url.host);
    if (!reached || url.port !== reached.networkPort) {
      const expected = reached ?? context.instances[0]!;
      const names = context.instances.map((instance) => `${instance.name}:${instance.networkPort}`).join(", ");
      findings.push({
        rule: "compose/database-host",
        severity: "error",
        message: `The DATABASE_URL of "${name}" points at ${url.host}:${url.port}, not at ${context.instances.length === 1 ? "the compose PostgreSQL service" : "a compose PostgreSQL service"} ${names}.`,
        ...at(context, service, databaseUrl),
        fix: `Use host "${expected.name}" and port ${expected.networkPort} (the container port, not the published one).`,
      });
    }
    // A warning: the live isolation check proves the consequence; this only says it early.
    if (reached && url.user === reached.user) {
      findings.push({
        rule: "compose/superuser-database-url",
        severity: "warning",
        message: `The DATABASE_URL of "${name}" logs in as "${url.user}", the bootstrap superuser of PostgreSQL service "${reached.name}", which can read every database there.`,
        ...at(context, service, databaseUrl),
        fix: `Give "${name}" its own login role that owns only "${service.database}" (the built-in generator does: civic-conformance generate).`,
      });
    }
  }
  return findings;
}
