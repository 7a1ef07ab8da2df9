import type { Finding } from "../../core/report-model.js";
import type { Registry } from "../../registry/model.js";
import { databaseNameProblem, hostnameProblem } from "../../registry/postgres-identifier.js";
import { fieldFinding, snakeCase } from "./finding.js";

/**
 * Names follow from the key: `database` is its snake_case, `hostname` is the key itself, and both
 * must be safe where they end up (unquoted SQL, DNS on the compose network).
 */
export function namingFindings(registry: Registry): Finding[] {
  const findings: Finding[] = [];
  for (const service of registry.services) {
    const expectedDatabase = snakeCase(service.key);
    if (service.database !== "" && service.database !== expectedDatabase) {
      findings.push(
        fieldFinding(
          registry,
          service,
          "database",
          "registry/database-name",
          `Service '${service.key}' uses database ${JSON.stringify(service.database)}, but its database must be named after its key: '${expectedDatabase}'.`,
          `Set database: "${expectedDatabase}" (or "" if the service is stateless), then regenerate the infra files.`,
        ),
      );
    }
    // Error, not warning: the compose service is named after the key, so any other hostname does not
    // resolve on the compose network and every URL built from it (extraEnv of callers) is dead.
    if (service.hostname !== service.key) {
      findings.push(
        fieldFinding(
          registry,
          service,
          "hostname",
          "registry/hostname",
          `Service '${service.key}' declares hostname ${JSON.stringify(service.hostname)}, but the compose service (and so the hostname on the network) is the registry key '${service.key}'.`,
          `Set hostname: "${service.key}" and update every extraEnv URL that calls this service.`,
        ),
      );
    }
    const databaseProblem = service.database === "" ? undefined : databaseNameProblem(service.database);
    if (databaseProblem) {
      findings.push(
        fieldFinding(
          registry,
          service,
          "database",
          "registry/unsafe-identifier",
          `Database name ${JSON.stringify(service.database)} of service '${service.key}' ${databaseProblem}; it cannot be put in SQL unquoted.`,
          `Rename the database to a lower-case snake_case name that is not a PostgreSQL keyword, e.g. '${safeSuggestion(expectedDatabase)}'.`,
        ),
      );
    }
    const hostProblem = hostnameProblem(service.hostname);
    if (hostProblem) {
      findings.push(
        fieldFinding(
          registry,
          service,
          "hostname",
          "registry/unsafe-identifier",
          `Hostname ${JSON.stringify(service.hostname)} of service '${service.key}' ${hostProblem}.`,
          "Use the kebab-case registry key as the hostname, and make the key a valid DNS label.",
        ),
      );
    }
  }
  return findings;
}

/** A suggestion that itself passes: the snake_case key, suffixed when it is a keyword. */
function safeSuggestion(expected: string): string {
  const base = expected.replace(/^([0-9])/, "_$1").slice(0, 63) || "service_db";
  return databaseNameProblem(base) ? `${base.slice(0, 60)}_db` : base;
}
