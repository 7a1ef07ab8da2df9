import type { Finding } from "../../core/report-model.js";
import { CIVIC_FIELDS, type Registry } from "../../registry/model.js";
import { fieldFinding } from "./finding.js";

/** The seed's fields every civic-layout entry carries: the generator renders them, the compose check compares them. */
export function missingFieldFindings(registry: Registry): Finding[] {
  const findings: Finding[] = [];
  for (const service of registry.services) {
    for (const field of CIVIC_FIELDS) {
      if (service[field] !== undefined) continue;
      findings.push(
        fieldFinding(
          registry,
          service,
          field,
          "registry/missing-field",
          `Service '${service.key}' has no '${field}', which the civic layout's registry gives every service.`,
          `Add ${field} to the entry of '${service.key}' (see PRODUCT.md for the seed's ServiceDefinition), or use the portable profile if this repository does not follow the civic layout.`,
        ),
      );
    }
  }
  return findings;
}
