import { UsageError } from "../core/errors.js";
import { POSTGRES_RESERVED_WORDS } from "../registry/postgres-identifier.js";
import { CIVIC_FIELDS, isStateful, lineOf, type Registry, type Service, type ServiceDefinition } from "../registry/model.js";

/** A registry entry with every field of the seed's shape, which the built-in generator renders. */
export type CivicService = Service & Required<Pick<ServiceDefinition, (typeof CIVIC_FIELDS)[number]>>;
export interface CivicRegistry extends Registry {
  readonly services: readonly CivicService[];
}

/**
 * Every name the generator writes into SQL, YAML or shell comes from the registry, so each one is
 * checked here before anything is rendered. A name that fails stops the generator with a
 * UsageError pointing at the registry line: nothing is ever emitted from an unsafe name.
 */

const SQL_IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
/** NAMEDATALEN - 1: PostgreSQL silently truncates longer names, so two long names could collide. */
const MAX_IDENTIFIER_BYTES = 63;
/** Databases and role names every server already has or refuses (`CREATE ROLE public` fails). */
const TAKEN_NAMES: ReadonlySet<string> = new Set(["postgres", "template0", "template1", "public", "none"]);
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Set by the generator itself; a registry value would either clash or point a service at another database. */
const GENERATED_ENV: ReadonlySet<string> = new Set(["PORT", "NODE_ENV", "DATABASE_URL", "REDIS_URL"]);

function fail(registry: Registry, service: Service, field: keyof ServiceDefinition, message: string): never {
  throw new UsageError(`Cannot generate infra files: ${message}`, { file: registry.file, line: lineOf(service, field) });
}

/**
 * Checks every registry value the generator interpolates, and that each entry has the seed's
 * fields (port, dockerfile, routes, layer, label); throws on the first unsafe or missing one.
 */
export function assertRenderable(registry: Registry): CivicRegistry {
  const keys = new Set(registry.services.map((service) => service.key));
  const hostnames = new Set<string>();
  const databases = new Set<string>();
  for (const entry of registry.services) {
    const { key } = entry;
    for (const field of CIVIC_FIELDS) {
      if (entry[field] === undefined) fail(registry, entry, field, `service '${key}' has no '${field}', which the built-in generator renders`);
    }
    const service = entry as CivicService;
    if (!DNS_LABEL.test(service.hostname)) {
      fail(registry, service, "hostname", `hostname '${service.hostname}' of service '${key}' is not a compose service name (one lower-case DNS label)`);
    }
    if (hostnames.has(service.hostname)) {
      fail(registry, service, "hostname", `hostname '${service.hostname}' of service '${key}' is used by another service`);
    }
    hostnames.add(service.hostname);
    if (!Number.isInteger(service.port) || service.port < 1 || service.port > 65535) {
      fail(registry, service, "port", `port ${service.port} of service '${key}' is not a TCP port (1-65535)`);
    }
    if (isStateful(service)) {
      const database = service.database;
      if (!SQL_IDENTIFIER.test(database)) {
        fail(registry, service, "database", `database '${database}' of service '${key}' is not a plain PostgreSQL identifier (${SQL_IDENTIFIER.source})`);
      }
      if (Buffer.byteLength(database, "utf8") > MAX_IDENTIFIER_BYTES) {
        fail(registry, service, "database", `database '${database}' of service '${key}' is longer than ${MAX_IDENTIFIER_BYTES} bytes; PostgreSQL would truncate it`);
      }
      if (TAKEN_NAMES.has(database) || database.startsWith("pg_")) {
        fail(registry, service, "database", `database '${database}' of service '${key}' is a name PostgreSQL reserves for itself`);
      }
      if (databases.has(database)) {
        fail(registry, service, "database", `database '${database}' of service '${key}' belongs to another service`);
      }
      databases.add(database);
    }
    if (service.dockerfile.length === 0 || /[\0\r\n]/.test(service.dockerfile)) {
      fail(registry, service, "dockerfile", `dockerfile of service '${key}' must be a path relative to the monorepo root`);
    }
    for (const name of Object.keys(service.extraEnv ?? {})) {
      if (!ENV_NAME.test(name)) fail(registry, service, "extraEnv", `extraEnv name '${name}' of service '${key}' is not an environment variable name`);
      if (GENERATED_ENV.has(name)) fail(registry, service, "extraEnv", `extraEnv of service '${key}' sets ${name}, which the generator sets itself`);
    }
    for (const dependency of service.dependsOn ?? []) {
      if (!keys.has(dependency) || dependency === key) {
        fail(registry, service, "dependsOn", `dependsOn of service '${key}' names '${dependency}', which is not another registry service`);
      }
    }
  }
  return registry as CivicRegistry;
}

/** The identifier as SQL needs it: as it is, or double-quoted when it is a reserved word. */
export function sqlIdentifier(name: string): string {
  return POSTGRES_RESERVED_WORDS.has(name) ? `"${name}"` : name;
}

/** The container variable holding a service role's password, e.g. `AUTH_GATEWAY_DB_PASSWORD`. */
export function passwordVariable(database: string): string {
  return `${database.toUpperCase()}_DB_PASSWORD`;
}

/** Free text (keys, labels) made safe for a one-line comment in SQL, YAML or shell. */
export function commentText(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, " ");
}
