/** The service registry: what the product declares about its services, from whichever source holds it. */
import type { InferredFact, InferredTodo } from "../core/report-model.js";

export const LAYERS = ["platform", "shared", "domain"] as const;
export type Layer = (typeof LAYERS)[number];

/** The migration tools a registry entry may name (`migrations.tool`). */
export const MIGRATION_TOOLS = ["prisma", "sql", "flyway", "golang-migrate", "dbmate"] as const;
export type MigrationTool = (typeof MIGRATION_TOOLS)[number];

/** Where a service's migrations are and how they are applied; every part is optional (found by convention otherwise). */
export interface MigrationsSpec {
  readonly tool?: MigrationTool;
  /** Folder of the migrations, relative to the monorepo root. */
  readonly dir?: string;
  /** A shell command that applies them (run with the service's credential), instead of a built-in applier. */
  readonly command?: string;
}

/**
 * One registry entry. `hostname` and `database` are what every check needs; the rest is optional
 * here, and the `civic` profile requires the seed's fields (`port`, `dockerfile`, `routes`, `layer`,
 * `label`) through its own rule (`registry/missing-field`).
 */
export interface ServiceDefinition {
  /** Docker Compose service name, used as the hostname on the compose network. */
  readonly hostname: string;
  /** Port the service listens on inside the network. */
  readonly port?: number;
  /** PostgreSQL database name; `""` for a stateless service. The `civic` profile wants the snake_case of the key. */
  readonly database: string;
  /** Dockerfile path relative to the monorepo root; its folder is the service's module. */
  readonly dockerfile?: string;
  /** API route prefixes, without trailing slash. */
  readonly routes?: readonly string[];
  readonly layer?: Layer;
  readonly label?: string;
  /** Extra environment, e.g. URLs of the services it calls. */
  readonly extraEnv?: Readonly<Record<string, string>>;
  /** Registry keys of the services it depends on. */
  readonly dependsOn?: readonly string[];
  readonly needsRedis?: boolean;
  /** The compose name of the PostgreSQL instance its database lives on; inferred from its credential's host when absent. */
  readonly instance?: string;
  /** Which environment variables of its compose service hold its PostgreSQL credential, when no common name does. */
  readonly credentials?: CredentialMapping;
  readonly migrations?: MigrationsSpec;
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

/** The fields the seed's `ServiceDefinition` requires and the `civic` profile still asks for. */
export const CIVIC_FIELDS = ["port", "dockerfile", "routes", "layer", "label"] as const satisfies readonly (keyof ServiceDefinition)[];

/** A registry entry with where it stands. */
export interface Service extends ServiceDefinition {
  /** The registry key (kebab-case in the civic layout; the compose service name when inferred). */
  readonly key: string;
  /** 1-based line of the entry's key in the registry file (in `file` when set). */
  readonly line: number;
  /** 1-based line of each field that is present; falls back to `line`. */
  readonly fieldLines: Readonly<Partial<Record<keyof ServiceDefinition, number>>>;
  /** The file `line` is in, when it is not the registry's own file (an inferred entry from an override file). */
  readonly file?: string;
  /** The file of a field's line, when it is not the registry's own file (an inferred credential read from an env file). */
  readonly fieldFiles?: Readonly<Partial<Record<keyof ServiceDefinition, string>>>;
}

/** Where a registry comes from: the civic layout's TypeScript module, a YAML / JSON file, or inferred from the repository. */
export const REGISTRY_SOURCES = ["typescript", "yaml", "json", "inferred"] as const;
export type RegistrySource = (typeof REGISTRY_SOURCES)[number];

export interface Registry {
  /** Absolute path of the registry file (inferred: the main compose file). */
  readonly path: string;
  /** Path relative to the repository root, forward slashes: what findings carry. */
  readonly file: string;
  /** Entries in declaration order. */
  readonly services: readonly Service[];
  readonly source: RegistrySource;
  /** An inferred registry: what was read from which line, and what could not be decided. */
  readonly inference?: { readonly facts: readonly InferredFact[]; readonly todo: readonly InferredTodo[] };
}

export function isStateful(service: ServiceDefinition): boolean {
  return service.database.length > 0;
}

export function lineOf(service: Service, field: keyof ServiceDefinition): number {
  return service.fieldLines[field] ?? service.line;
}

/** Where a field of an entry is written (the entry itself when the field is absent): file and line findings carry. */
export function locationOf(registry: Pick<Registry, "file">, service: Service, field?: keyof ServiceDefinition): { file: string; line: number } {
  if (field !== undefined && service.fieldLines[field] !== undefined) {
    return { file: service.fieldFiles?.[field] ?? service.file ?? registry.file, line: service.fieldLines[field] };
  }
  return { file: service.file ?? registry.file, line: service.line };
}
