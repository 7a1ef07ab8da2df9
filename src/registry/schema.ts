import * as z from "zod";
import { LAYERS, MIGRATION_TOOLS } from "./model.js";

/** An environment variable name, as compose accepts it. */
const variableName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, "an environment variable name");

export const credentialVariablesSchema = z.strictObject({
  url: variableName.optional().meta({ description: "Variable holding a postgres:// URL (or a JDBC URL)." }),
  host: variableName.optional().meta({ description: "Variable holding the host." }),
  port: variableName.optional().meta({ description: "Variable holding the port." }),
  database: variableName.optional().meta({ description: "Variable holding the database name." }),
  user: variableName.optional().meta({ description: "Variable holding the role." }),
  password: variableName.optional().meta({ description: "Variable holding the password." }),
});

export const migrationsSpecSchema = z.strictObject({
  tool: z.enum(MIGRATION_TOOLS).optional().meta({ description: "The migration tool; found by convention when absent." }),
  dir: z.string().min(1).optional().meta({ description: "Folder of the migrations (relative to this file in civic-conformance.yaml, to the monorepo root in service-registry.ts)." }),
  command: z.string().min(1).optional().meta({ description: "Shell command that applies the migrations with the service's credential, instead of a built-in applier." }),
});

/**
 * The shape of one registry entry, strict: an unknown field is a typo until proven otherwise
 * (`databse: "x"` would otherwise silently make a service stateless).
 * Value rules that deserve a finding with a fix (port range, name conventions, the fields the
 * `civic` profile asks for) live in the `registry` check, not here: this schema only decides
 * whether the file can be read at all.
 */
export const serviceDefinitionSchema = z.strictObject({
  hostname: z.string().meta({ description: "Compose service name: the hostname on the compose network." }),
  port: z.number().optional().meta({ description: "Port the service listens on inside the network." }),
  database: z.string().meta({ description: 'The PostgreSQL database the service owns; "" for a stateless service.' }),
  dockerfile: z.string().optional().meta({ description: "The service's Dockerfile; its folder is the service's module." }),
  routes: z.array(z.string()).optional().meta({ description: "API route prefixes (civic layout)." }),
  layer: z.enum(LAYERS).optional().meta({ description: "Layer of the service (civic layout)." }),
  label: z.string().optional().meta({ description: "Human-readable name (civic layout)." }),
  extraEnv: z.record(z.string(), z.string()).optional().meta({ description: "Extra environment, e.g. URLs of the services it calls." }),
  dependsOn: z.array(z.string()).optional().meta({ description: "Keys of the services it calls." }),
  needsRedis: z.boolean().optional().meta({ description: "Whether it needs the shared Redis (civic layout)." }),
  instance: z.string().optional().meta({ description: "Compose name of the PostgreSQL service holding its database, when there are several." }),
  credentials: credentialVariablesSchema.optional().meta({ description: "The environment variables holding its credential, when they follow no common form." }),
  migrations: migrationsSpecSchema.optional().meta({ description: "Where its migrations are and how they apply; found by convention when absent." }),
});

export const registrySchema = z.record(z.string(), serviceDefinitionSchema);

/** Field names in the order the registry documents them, for "expected one of" messages. */
export const SERVICE_FIELDS = Object.keys(serviceDefinitionSchema.shape) as (keyof typeof serviceDefinitionSchema.shape)[];

const REQUIRED_FIELDS = new Set(
  SERVICE_FIELDS.filter((field) => !serviceDefinitionSchema.shape[field].safeParse(undefined).success),
);

export function isRequiredField(field: string): boolean {
  return REQUIRED_FIELDS.has(field as (typeof SERVICE_FIELDS)[number]);
}

/** How each field's expected type reads in a message. */
export const FIELD_TYPES: Readonly<Record<(typeof SERVICE_FIELDS)[number], string>> = {
  hostname: "a string",
  port: "a number",
  database: 'a string ("" for a stateless service)',
  dockerfile: "a string",
  routes: "an array of strings",
  layer: `one of ${LAYERS.join(", ")}`,
  label: "a string",
  extraEnv: "an object of string values",
  dependsOn: "an array of registry keys",
  needsRedis: "a boolean",
  instance: "a string (the compose name of its PostgreSQL service)",
  credentials: "an object naming variables: { url?, host?, port?, database?, user?, password? }",
  migrations: `an object { tool?: ${MIGRATION_TOOLS.join(" | ")}; dir?: string; command?: string }`,
};
