import type { ComposeService } from "../../compose-file/model.js";
import type { Finding } from "../../core/report-model.js";
import type { Service } from "../../registry/model.js";
import { at, environmentAt, type ServiceRuleContext } from "./service-rule-context.js";

const HEALTHCHECK_LOCAL_PORT = /(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\]):(\d{1,5})\b/g;

// Port mismatches are errors: callers and healthchecks use the registry port, so the service is unreachable.
export function portFindings(service: Service, composeService: ComposeService, context: ServiceRuleContext): Finding[] {
  const findings: Finding[] = [];
  // A service registered without a port (allowed outside the civic profile) has nothing to agree with.
  if (service.port === undefined) return findings;
  const name = composeService.name;
  const port = composeService.environment.get("PORT");
  if (!port) {
    findings.push({
      rule: "compose/port",
      severity: "error",
      message: `Service "${name}" has no PORT; the registry says it listens on ${service.port}.`,
      ...at(context, service, environmentAt(composeService)),
      fix: `Add PORT: ${service.port} to the environment of "${name}".`,
    });
  } else if (port.value.trim() !== String(service.port)) {
    findings.push({
      rule: "compose/port",
      severity: "error",
      message: `Service "${name}" has PORT ${port.value}; the registry says ${service.port}.`,
      ...at(context, service, port),
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
        ...at(context, service, healthcheck),
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
      ...at(context, service, composeService.ports[0]!),
      fix: `Publish container port ${service.port}, or drop the ports entry.`,
    });
  }
  return findings;
}
