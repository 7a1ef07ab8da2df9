import { parseDatabaseUrl, withHostPort } from "../postgres/database-url.js";
import type { ComposeProject } from "../compose-file/model.js";
import { composeServiceOf } from "../product/service-database-url.js";
import type { Registry } from "../registry/model.js";

export interface PublishedPostgres {
  /** The postgres service's name: the host its clients use inside the compose network. */
  readonly serviceName: string;
  /** The port it listens on inside the network. */
  readonly networkPort: number;
  /** Where this process reaches it. */
  readonly host: string;
  readonly port: number;
}

/**
 * `LiveEnvironment.serviceUrl` for a runtime that makes the postgres service reachable from here:
 * a service's `DATABASE_URL` that would reach the postgres service inside the compose network (its
 * name, its in-network port) is rewritten to the published address; any other URL is returned as
 * written, so the checks fail to connect exactly where the service would.
 */
export function publishedServiceUrl(registry: Registry, compose: ComposeProject, postgres: PublishedPostgres): (serviceKey: string) => string | undefined {
  return (serviceKey) => {
    const entry = registry.services.find((service) => service.key === serviceKey);
    const composeService = entry ? composeServiceOf(compose, entry) : compose.services.get(serviceKey);
    const url = composeService?.environment.get("DATABASE_URL")?.value;
    if (url === undefined) return undefined;
    const parsed = parseDatabaseUrl(url);
    return parsed?.host === postgres.serviceName && parsed.port === postgres.networkPort ? withHostPort(url, postgres.host, postgres.port) : url;
  };
}
