import type { Finding } from "../../core/report-model.js";
import { locationOf, type Registry, type Service } from "../../registry/model.js";
import { registryIndex } from "../../registry/registry-index.js";
import type { ComposeProject } from "../../compose-file/model.js";
import type { Check, CheckContext } from "../check.js";
import { probeDependencies } from "./probe.js";
import { dependenciesRules } from "./rules.js";

/**
 * `dependencies`: every URL in a service's extraEnv names a registry service at its hostname and
 * registered port, declared in dependsOn; every dependsOn names a registry service, is used by some
 * extraEnv URL, and appears in the compose depends_on. Hosts that are compose services outside the
 * registry (redis, rabbitmq…) are infrastructure, not service dependencies.
 * Live part, only where the compose runtime booted the stack: each such call is made from inside
 * the caller's container, and the coverage lists every URL probed. Elsewhere the check fails on its
 * static findings, or else is `skip` saying the live part needs the compose runtime: never `pass`
 * without the live probe.
 */
export const dependenciesCheck: Check<"dependencies"> = {
  id: "dependencies",
  title: "Service dependencies name registry services",
  needs: ["compose", "stack"],
  rules: Object.values(dependenciesRules),
  async run(context) {
    const { registry } = context.product;
    const compose = context.product.compose!;
    const findings: Finding[] = [];
    for (const service of registry.services) findings.push(...staticFindings(service, registry, compose));

    const stack = context.live?.servicesRunning ? context.live.stack : undefined;
    if (!stack) {
      const why = `needs the compose runtime (--runtime compose), and ${liveProbeSkipReason(context)}`;
      if (findings.some((finding) => finding.severity === "error")) return { findings, notes: [`live probe skipped: it ${why}`] };
      return { findings, skipped: `the static part found nothing wrong; the live probe ${why}` };
    }
    const live = await probeDependencies(context, stack);
    return { findings: [...findings, ...live.findings], notes: live.notes, coverage: live.coverage };
  },
};

function liveProbeSkipReason(context: CheckContext): string {
  const live = context.live;
  if (!live) return "no service of the product is running";
  if (live.unstarted && live.runtime === "compose") return `not every service runs: instance(s) ${[...live.unstarted.causes.keys()].join(", ")} did not start`;
  if (!live.servicesRunning) return `the ${live.runtime} runtime does not start the product's services`;
  return `the ${live.runtime} runtime gives no access to the running containers`;
}

const URL_VALUE = /^[a-z][a-z0-9+.-]*:\/\/\S+$/i;
const DEFAULT_PORTS: Readonly<Record<string, number>> = { "http:": 80, "https:": 443, "ws:": 80, "wss:": 443 };

interface ExtraEnvUrl {
  readonly variable: string;
  readonly value: string;
  readonly host: string;
  readonly port: number | undefined;
}

function extraEnvUrls(service: Service): ExtraEnvUrl[] {
  const urls: ExtraEnvUrl[] = [];
  for (const [variable, value] of Object.entries(service.extraEnv ?? {})) {
    if (!URL_VALUE.test(value)) continue;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      continue;
    }
    const port = url.port === "" ? DEFAULT_PORTS[url.protocol] : Number(url.port);
    urls.push({ variable, value, host: url.hostname, port });
  }
  return urls;
}

// Every rule but `unused` is an error: a URL to the wrong host or port is a call that fails in
// production, and an undeclared call is a coupling the start order and the docs do not know about.
// `unused` warns: a declared dependency nobody calls is dead weight, not a breakage.
function staticFindings(service: Service, registry: Registry, compose: ComposeProject): Finding[] {
  const findings: Finding[] = [];
  const { byHostname, byKey } = registryIndex(registry);
  const declared = new Set(service.dependsOn ?? []);
  const atExtraEnv = { service: service.key, ...locationOf(registry, service, "extraEnv") };
  const atDependsOn = { service: service.key, ...locationOf(registry, service, "dependsOn") };
  const called = new Set<string>();

  for (const url of extraEnvUrls(service)) {
    const target = byHostname.get(url.host);
    if (!target) {
      if (compose.services.has(url.host)) continue;
      findings.push({
        rule: "dependencies/unknown-host",
        severity: "error",
        message: `${url.variable} of "${service.key}" points at host "${url.host}", which is neither a registry service nor a compose service.`,
        ...atExtraEnv,
        fix: `Use the hostname of the registry service it calls (e.g. http://<hostname>:<port>), or add that service to the registry.`,
      });
      continue;
    }
    called.add(target.key);
    // A service registered without a port (allowed outside the civic profile) cannot be called on a wrong one.
    if (target.port !== undefined && url.port !== target.port) {
      findings.push({
        rule: "dependencies/wrong-port",
        severity: "error",
        message: `${url.variable} of "${service.key}" calls "${target.hostname}" on port ${url.port ?? "(none)"}; "${target.key}" is registered on port ${target.port}.`,
        ...atExtraEnv,
        fix: `Use http://${target.hostname}:${target.port} in ${url.variable}.`,
      });
    }
    if (target.key !== service.key && !declared.has(target.key)) {
      findings.push({
        rule: "dependencies/undeclared",
        severity: "error",
        message: `"${service.key}" calls "${target.key}" through ${url.variable} but does not declare it in dependsOn.`,
        ...atExtraEnv,
        fix: `Add "${target.key}" to the dependsOn of "${service.key}" and regenerate.`,
      });
    }
  }

  const composeService = compose.services.get(service.hostname);
  for (const key of declared) {
    const target = byKey.get(key);
    if (!target) {
      findings.push({
        rule: "dependencies/unknown-service",
        severity: "error",
        message: `"${service.key}" depends on "${key}", which is not a registry service.`,
        ...atDependsOn,
        fix: `Remove "${key}" from dependsOn, or use the registry key of the service meant.`,
      });
      continue;
    }
    if (composeService && !composeService.dependsOn.has(target.hostname)) {
      findings.push({
        rule: "dependencies/compose-depends-on",
        severity: "error",
        message: `"${service.key}" depends on "${key}" in the registry, but compose service "${composeService.name}" does not list "${target.hostname}" in depends_on.`,
        service: service.key,
        file: composeService.dependsOnFile ?? composeService.file,
        line: composeService.dependsOnLine ?? composeService.line,
        fix: `Add "${target.hostname}" to the depends_on of "${composeService.name}" (regenerate from the registry).`,
      });
    }
    if (!called.has(key)) {
      findings.push({
        rule: "dependencies/unused",
        severity: "warning",
        message: `"${service.key}" declares a dependency on "${key}", but no extraEnv URL of it calls "${target.hostname}".`,
        ...atDependsOn,
        fix: `Add the URL it calls to extraEnv (e.g. ${key.toUpperCase().replace(/-/g, "_")}_URL: "http://${target.hostname}${target.port === undefined ? "" : `:${target.port}`}"), or remove "${key}" from dependsOn.`,
      });
    }
  }
  return findings;
}
