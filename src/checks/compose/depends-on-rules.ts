import type { ComposeService } from "../../compose-file/model.js";
import type { Finding } from "../../core/report-model.js";
import { isStateful, type Service } from "../../registry/model.js";
import { registryIndex } from "../../registry/registry-index.js";
import { at, dependsOnAt, type ServiceRuleContext } from "./service-rule-context.js";

// Errors: a missing dependency starts a service before what it calls; an undeclared one hides a coupling.
export function dependsOnFindings(service: Service, composeService: ComposeService, context: ServiceRuleContext): Finding[] {
  const findings: Finding[] = [];
  const name = composeService.name;
  const { byKey, byHostname } = registryIndex(context.registry);
  const declared = new Set((service.dependsOn ?? []).map((key) => byKey.get(key)?.hostname).filter((host) => host !== undefined));

  for (const hostname of declared) {
    if (composeService.dependsOn.has(hostname)) continue;
    findings.push({
      rule: "compose/depends-on",
      severity: "error",
      message: `Service "${name}" depends on "${hostname}" in the registry, but its compose depends_on does not list it.`,
      ...at(context, service, dependsOnAt(composeService)),
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
        ...at(context, service, condition),
        fix: `Remove "${dependency}" from the depends_on of "${name}", or add the service.`,
      });
    } else if (target && target.key !== service.key && !declared.has(dependency)) {
      findings.push({
        rule: "compose/depends-on",
        severity: "error",
        message: `Service "${name}" depends on "${dependency}" in compose, but the registry's dependsOn does not declare it.`,
        ...at(context, service, condition),
        fix: `Add "${target.key}" to the dependsOn of "${service.key}" in ${context.registry.file}, or remove it from depends_on.`,
      });
    }
  }
  const instance = isStateful(service) ? context.homeOf(service) : undefined;
  if (instance) {
    const postgresName = instance.name;
    const condition = composeService.dependsOn.get(postgresName);
    if (!condition) {
      findings.push({
        rule: "compose/depends-on",
        severity: "error",
        message: `Service "${name}" uses PostgreSQL but does not depend on "${postgresName}".`,
        ...at(context, service, dependsOnAt(composeService)),
        fix: `Add "${postgresName}: { condition: service_healthy }" to the depends_on of "${name}".`,
      });
    } else if (condition.value !== "service_healthy") {
      findings.push({
        rule: "compose/depends-on",
        severity: "error",
        message: `Service "${name}" waits for "${postgresName}" with condition ${condition.value}, so it may start before its database exists.`,
        ...at(context, service, condition),
        fix: `Use "condition: service_healthy" for "${postgresName}".`,
      });
    }
  }
  return findings;
}
