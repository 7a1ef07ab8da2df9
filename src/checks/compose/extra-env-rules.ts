import type { ComposeService } from "../../compose-file/model.js";
import type { Finding } from "../../core/report-model.js";
import { isPostgresUrl } from "../../postgres/database-url.js";
import type { Registry, Service } from "../../registry/model.js";
import { registryIndex } from "../../registry/registry-index.js";
import { at, environmentAt, type ServiceRuleContext } from "./service-rule-context.js";

// Errors: extraEnv holds the URLs a service calls; a different value means it calls something else.
export function extraEnvFindings(service: Service, composeService: ComposeService, context: ServiceRuleContext): Finding[] {
  const findings: Finding[] = [];
  const name = composeService.name;
  for (const [key, expected] of Object.entries(service.extraEnv ?? {})) {
    const actual = composeService.environment.get(key);
    if (!actual) {
      findings.push({
        rule: "compose/extra-env",
        severity: "error",
        message: `Service "${name}" lacks ${key}, which the registry's extraEnv sets to "${expected}".`,
        ...at(context, service, environmentAt(composeService)),
        fix: `Add ${key}: "${expected}" to the environment of "${name}" (regenerate from the registry).`,
      });
    } else if (actual.value !== expected) {
      findings.push({
        rule: "compose/extra-env",
        severity: "error",
        message: `Service "${name}" sets ${key} to "${actual.value}"; the registry's extraEnv says "${expected}".`,
        ...at(context, service, actual),
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
      ...at(context, service, value),
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
  return registryIndex(registry).byHostname.get(host);
}
