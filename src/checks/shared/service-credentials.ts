/**
 * The credential each service holds (its `DATABASE_URL`, as the runtime makes it reachable from
 * here), and where that credential is written, so findings can point at the line to change.
 * Shared by the live checks (own-database, isolation).
 */
import { createHash } from "node:crypto";
import { registerSecret } from "../../core/secrets.js";
import { parseDatabaseUrl } from "../../postgres/database-url.js";
import type { Product } from "../../product/product.js";
import { databaseUrlSource, type SourceLine } from "../../product/service-database-url.js";
import type { Service } from "../../registry/model.js";
import type { LiveEnvironment } from "../../runtime/runtime.js";

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
