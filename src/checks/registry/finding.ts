import type { Finding, Severity } from "../../core/report-model.js";
import { locationOf, type Registry, type Service, type ServiceDefinition } from "../../registry/model.js";
import type { registryRules } from "./rules.js";

export type RegistryRuleId = keyof typeof registryRules;

/** A registry finding about one field of one entry: the file is the registry, the line is the field's. */
export function fieldFinding(
  registry: Registry,
  service: Service,
  field: keyof ServiceDefinition,
  rule: RegistryRuleId,
  message: string,
  fix: string,
  severity: Severity = "error",
): Finding {
  return {
    rule,
    severity,
    message,
    service: service.key,
    ...locationOf(registry, service, field),
    fix,
  };
}

/** `tax-billing-instalment` → `tax_billing_instalment`: the database name the convention expects. */
export function snakeCase(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]+/g, "_");
}
