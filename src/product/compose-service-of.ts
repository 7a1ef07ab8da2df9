/** Which compose service runs a registry service. */
import type { ComposeProject, ComposeService } from "../compose-file/model.js";
import type { Service } from "../registry/model.js";

/** The compose service of a registry entry: named after its hostname, or after its key. */
export function composeServiceOf(compose: ComposeProject | undefined, service: Service): ComposeService | undefined {
  return compose?.services.get(service.hostname) ?? compose?.services.get(service.key);
}
