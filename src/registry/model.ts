/** The service registry as the product declares it (`infra/service-registry.ts`). */

export const LAYERS = ["platform", "shared", "domain"] as const;
export type Layer = (typeof LAYERS)[number];

/** One registry entry, field for field as PRODUCT.md and the seed document define it. */
export interface ServiceDefinition {
  /** Docker Compose service name, used as the hostname on the compose network. */
  readonly hostname: string;
  /** Port the service listens on inside the network. */
  readonly port: number;
  /** PostgreSQL database name, snake_case of the key; `""` for a stateless service. */
  readonly database: string;
  /** Dockerfile path relative to the monorepo root; its folder is the service's module. */
  readonly dockerfile: string;
  /** API route prefixes, without trailing slash. */
  readonly routes: readonly string[];
  readonly layer: Layer;
  readonly label: string;
  /** Extra environment, e.g. URLs of the services it calls. */
  readonly extraEnv?: Readonly<Record<string, string>>;
  /** Registry keys of the services it depends on. */
  readonly dependsOn?: readonly string[];
  readonly needsRedis?: boolean;
  /** The compose name of the PostgreSQL instance its database lives on; inferred from its credential's host when absent. */
  readonly instance?: string;
  /** Which environment variables of its compose service hold its PostgreSQL credential, when no common name does. */
  readonly credentials?: CredentialMapping;
}

/**
 * Names of the variables holding each part of a service's credential (e.g. `{ host: "DB_SERVER",
 * user: "DB_ADMIN_LOGIN" }`); `url` names one holding a whole URL (postgres://, jdbc:postgresql://
 * or libpq keywords), whose parts the others override. When present, nothing else is guessed.
 */
export interface CredentialMapping {
  readonly url?: string;
  readonly host?: string;
  readonly port?: string;
  readonly database?: string;
  readonly user?: string;
  readonly password?: string;
}

/** A registry entry with where it stands in the registry file. */
export interface Service extends ServiceDefinition {
  /** The registry key (kebab-case). */
  readonly key: string;
  /** 1-based line of the entry's key in the registry file. */
  readonly line: number;
  /** 1-based line of each field that is present; falls back to `line`. */
  readonly fieldLines: Readonly<Partial<Record<keyof ServiceDefinition, number>>>;
}

export interface Registry {
  /** Absolute path of the registry file. */
  readonly path: string;
  /** Path relative to the repository root, forward slashes: what findings carry. */
  readonly file: string;
  /** Entries in declaration order. */
  readonly services: readonly Service[];
}

export function isStateful(service: ServiceDefinition): boolean {
  return service.database.length > 0;
}

export function lineOf(service: Service, field: keyof ServiceDefinition): number {
  return service.fieldLines[field] ?? service.line;
}
