/**
 * The credential each service holds (its `DATABASE_URL`, as the runtime makes it reachable from
 * here), and where that credential is written, so findings can point at the line to change.
 */
import { createHash } from "node:crypto";
import { isPostgresUrl, parseDatabaseUrl } from "../compose/database-url.js";
import type { ComposeEnvValue, ComposeProject, ComposeService } from "../compose/model.js";
import type { Product } from "../core/product.js";
import { registerSecret } from "../core/secrets.js";
import { lineOf, type Service } from "../registry/model.js";
import type { LiveEnvironment } from "../runtime/runtime.js";

export const DATABASE_URL_VARIABLE = "DATABASE_URL";

export interface SourceLine {
  /** Repo-relative, forward slashes. */
  readonly file: string;
  readonly line: number;
}

export interface ServiceCredential {
  readonly service: Service;
  /** The URL as the runtime rewrote it to reach the server from here. Contains the password: never print it. */
  readonly url: string;
  /** The role the URL logs in as (decoded). */
  readonly user: string;
  /** The database the URL names (decoded). */
  readonly database: string;
  /** `host:port` the URL reaches: an external runtime may give each service its own server. */
  readonly server: string;
  /**
   * Identity of the credential: equal exactly when user, password and server are equal. A hash, so
   * it can be a map key without a password sitting in memory dumps or debug output.
   */
  readonly identity: string;
  /** The compose line that hands the service this URL, else the registry entry's `database` line. */
  readonly source: SourceLine;
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
  if (product.compose && entry) return { file: product.compose.file, line: entry.line };
  return { file: product.registry.file, line: lineOf(service, "database") };
}

/** Every registry service for which the runtime has a usable URL, in registry order. */
export function serviceCredentials(product: Product, live: LiveEnvironment): ServiceCredential[] {
  const credentials: ServiceCredential[] = [];
  for (const service of product.registry.services) {
    const url = live.serviceUrl(service.key);
    const parsed = url === undefined ? undefined : parseDatabaseUrl(url);
    if (url === undefined || parsed === undefined) continue;
    registerSecret(parsed.password);
    const identity = createHash("sha256")
      .update([parsed.user, parsed.password ?? "", parsed.host, String(parsed.port)].join("\0"))
      .digest("hex")
      .slice(0, 16);
    credentials.push({
      service,
      url,
      user: parsed.user,
      database: parsed.database,
      server: `${parsed.host}:${parsed.port}`,
      identity,
      source: databaseUrlSource(product, service),
    });
  }
  return credentials;
}
