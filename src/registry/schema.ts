import { z } from "zod";
import { LAYERS } from "./model.js";

/**
 * The shape of one registry entry, strict: an unknown field is a typo until proven otherwise
 * (`databse: "x"` would otherwise silently make a service stateless).
 * Value rules that deserve a finding with a fix (port range, name conventions) live in the
 * `registry` check, not here: this schema only decides whether the file can be read at all.
 */
export const serviceDefinitionSchema = z.strictObject({
  hostname: z.string(),
  port: z.number(),
  database: z.string(),
  dockerfile: z.string(),
  routes: z.array(z.string()),
  layer: z.enum(LAYERS),
  label: z.string(),
  extraEnv: z.record(z.string(), z.string()).optional(),
  dependsOn: z.array(z.string()).optional(),
  needsRedis: z.boolean().optional(),
  instance: z.string().optional(),
  credentials: z
    .strictObject({
      url: z.string().optional(),
      host: z.string().optional(),
      port: z.string().optional(),
      database: z.string().optional(),
      user: z.string().optional(),
      password: z.string().optional(),
    })
    .optional(),
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
};
