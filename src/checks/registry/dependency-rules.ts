import type { Finding } from "../../core/report-model.js";
import type { Registry, Service } from "../../registry/model.js";
import { fieldFinding } from "./finding.js";

/** `dependsOn` names existing registry keys, never the service itself, and never loops. */
export function dependencyFindings(registry: Registry): Finding[] {
  const byKey = new Map(registry.services.map((service) => [service.key, service]));
  const findings: Finding[] = [];
  for (const service of registry.services) {
    for (const dependency of service.dependsOn ?? []) {
      if (dependency === service.key) {
        findings.push(
          fieldFinding(
            registry,
            service,
            "dependsOn",
            "registry/self-dependency",
            `Service '${service.key}' lists itself in dependsOn.`,
            `Remove '${service.key}' from its own dependsOn.`,
          ),
        );
      } else if (!byKey.has(dependency)) {
        findings.push(
          fieldFinding(
            registry,
            service,
            "dependsOn",
            "registry/unknown-dependency",
            `Service '${service.key}' depends on '${dependency}', which is not a registry key.`,
            `Use the registry key of an existing service in dependsOn (keys: ${[...byKey.keys()].join(", ")}), or remove '${dependency}'.`,
          ),
        );
      }
    }
  }
  for (const cycle of dependencyCycles(registry.services, byKey)) {
    const start = cycle[0]!;
    findings.push(
      fieldFinding(
        registry,
        start,
        "dependsOn",
        "registry/dependency-cycle",
        `Services depend on each other in a cycle: ${[...cycle, start].map((s) => s.key).join(" → ")}.`,
        "Break the cycle: remove one dependsOn edge, and have that call go the other way (or through events).",
      ),
    );
  }
  return findings;
}

/**
 * Each cycle found by a depth-first walk in registry order, once: a cycle is reported starting at
 * its member declared first, so `a → b → a` and `b → a → b` are the same finding.
 */
function dependencyCycles(services: readonly Service[], byKey: ReadonlyMap<string, Service>): Service[][] {
  const order = new Map(services.map((service, index) => [service.key, index]));
  const state = new Map<string, "visiting" | "done">();
  const path: Service[] = [];
  const seen = new Set<string>();
  const cycles: Service[][] = [];

  const visit = (service: Service): void => {
    state.set(service.key, "visiting");
    path.push(service);
    for (const key of service.dependsOn ?? []) {
      const next = byKey.get(key);
      if (!next || next === service) continue;
      const nextState = state.get(key);
      if (nextState === "visiting") {
        const cycle = path.slice(path.indexOf(next));
        const rotated = rotateToFirstDeclared(cycle, order);
        const id = rotated.map((s) => s.key).join("\u0000");
        if (!seen.has(id)) {
          seen.add(id);
          cycles.push(rotated);
        }
      } else if (nextState === undefined) {
        visit(next);
      }
    }
    path.pop();
    state.set(service.key, "done");
  };

  for (const service of services) if (!state.has(service.key)) visit(service);
  return cycles;
}

function rotateToFirstDeclared(cycle: Service[], order: ReadonlyMap<string, number>): Service[] {
  let start = 0;
  cycle.forEach((service, index) => {
    if (order.get(service.key)! < order.get(cycle[start]!.key)!) start = index;
  });
  return [...cycle.slice(start), ...cycle.slice(0, start)];
}
