/**
 * Where each service's PostgreSQL credential is written: its compose service's `DATABASE_URL`,
 * else its registry entry. Findings point at these lines.
 */
import type { ComposeEnvValue, ComposeProject, ComposeService } from "../compose-file/model.js";
import { isPostgresUrl } from "../postgres/database-url.js";
import { locationOf, type Service } from "../registry/model.js";
import type { Product } from "./product.js";

export const DATABASE_URL_VARIABLE = "DATABASE_URL";

export interface SourceLine {
  /** Repo-relative, forward slashes. */
  readonly file: string;
  readonly line: number;
}

/** The compose service of a registry entry: named after its hostname, or after its key. */
export function composeServiceOf(compose: ComposeProject | undefined, service: Service): ComposeService | undefined {
  return compose?.services.get(service.hostname) ?? compose?.services.get(service.key);
}

/** Environment entries of a compose service that hold a PostgreSQL credential (`DATABASE_URL`, or any postgres:// value). */
export function postgresUrlsInEnvironment(composeService: ComposeService): Array<{ name: string; value: ComposeEnvValue }> {
  return [...composeService.environment]
    .filter(([name, value]) => name === DATABASE_URL_VARIABLE || isPostgresUrl(value.value))
    .map(([name, value]) => ({ name, value }));
}

/** Where the service's `DATABASE_URL` is written; the registry entry when the compose file has none. */
export function databaseUrlSource(product: Product, service: Service): SourceLine {
  const composeService = composeServiceOf(product.compose, service);
  const entry = composeService?.environment.get(DATABASE_URL_VARIABLE);
  // For a value from an `env_file`, `line` is the compose file's `env_file` entry: still the place to look.
  if (product.compose && entry) return { file: entry.file, line: entry.line };
  return locationOf(product.registry, service, "database");
}
