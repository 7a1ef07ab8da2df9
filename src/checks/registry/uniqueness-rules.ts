import type { Finding } from "../../core/report-model.js";
import type { Registry, Service, ServiceDefinition } from "../../registry/model.js";
import { fieldFinding, type RegistryRuleId } from "./finding.js";

/**
 * Databases, hostnames, ports and route prefixes each belong to one service. The first entry that
 * claims a value owns it; every later claimant gets the finding, naming the owner.
 */
export function uniquenessFindings(registry: Registry): Finding[] {
  return [
    ...duplicates(registry, "database", "registry/duplicate-database", (s) => (s.database === "" ? [] : [s.database]), "database"),
    ...duplicates(registry, "hostname", "registry/duplicate-hostname", (s) => [s.hostname], "hostname"),
    ...duplicates(registry, "port", "registry/duplicate-port", (s) => (s.port === undefined ? [] : [s.port]), "port"),
    // Compared without a trailing slash: `/api/v1/x/` and `/api/v1/x` route the same requests.
    ...duplicates(registry, "routes", "registry/duplicate-route", (s) => (s.routes ?? []).map(normalizeRoute), "route prefix"),
    ...portRangeFindings(registry),
    ...routeFormatFindings(registry),
  ];
}

function duplicates(
  registry: Registry,
  field: keyof ServiceDefinition,
  rule: RegistryRuleId,
  valuesOf: (service: Service) => readonly (string | number)[],
  noun: string,
): Finding[] {
  const owners = new Map<string | number, Service>();
  const findings: Finding[] = [];
  for (const service of registry.services) {
    for (const value of new Set(valuesOf(service))) {
      const owner = owners.get(value);
      if (!owner) {
        owners.set(value, service);
        continue;
      }
      findings.push(
        fieldFinding(
          registry,
          service,
          field,
          rule,
          `Service '${service.key}' uses ${noun} ${JSON.stringify(value)}, already used by '${owner.key}'.`,
          `Give '${service.key}' its own ${noun}; each ${noun} belongs to exactly one service.`,
        ),
      );
    }
  }
  return findings;
}

function portRangeFindings(registry: Registry): Finding[] {
  return registry.services
    .filter((service) => service.port !== undefined && (!Number.isInteger(service.port) || service.port < 1 || service.port > 65535))
    .map((service) =>
      fieldFinding(
        registry,
        service,
        "port",
        "registry/port-range",
        `Service '${service.key}' declares port ${service.port}, which is not a TCP port (an integer from 1 to 65535).`,
        "Set port to an unused integer between 1 and 65535 (the product uses 4100 and up).",
      ),
    );
}

function routeFormatFindings(registry: Registry): Finding[] {
  const findings: Finding[] = [];
  for (const service of registry.services) {
    for (const route of service.routes ?? []) {
      const problem = routeProblem(route);
      if (!problem) continue;
      findings.push(
        fieldFinding(
          registry,
          service,
          "routes",
          "registry/route-format",
          `Route prefix ${JSON.stringify(route)} of service '${service.key}' ${problem}.`,
          `Write route prefixes as absolute paths without a trailing slash, e.g. ${JSON.stringify(suggestRoute(route))}.`,
        ),
      );
    }
  }
  return findings;
}

function routeProblem(route: string): string | undefined {
  if (!route.startsWith("/")) return "does not start with '/'";
  if (/\s/.test(route)) return "contains whitespace";
  if (route.length > 1 && route.endsWith("/")) return "ends with a trailing slash";
  return undefined;
}

function normalizeRoute(route: string): string {
  return route.length > 1 ? route.replace(/\/+$/, "") : route;
}

function suggestRoute(route: string): string {
  const trimmed = route.trim().replace(/\s+/g, "-").replace(/\/+$/, "");
  return trimmed.startsWith("/") ? trimmed || "/" : `/${trimmed}`;
}
