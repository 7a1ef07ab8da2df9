import * as z from "zod";
import { PROFILES, RULE_LEVELS } from "../core/conformance-config.js";
import { serviceDefinitionSchema } from "./schema.js";

/** A compose service name, as compose accepts it. */
export const SERVICE_KEY = /^[a-zA-Z0-9._-]+$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

const isRealDate = (text: string) => {
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(text);
};

/**
 * One service in `civic-conformance.yaml`: the registry entry without the civic layout's
 * obligations. `hostname` defaults to the key, `database` to `""` (stateless); paths
 * (`dockerfile`, `migrations.dir`) are relative to the file's folder.
 */
export const configServiceSchema = serviceDefinitionSchema
  .extend({
    hostname: z.string().optional().meta({ description: "Compose service name (the hostname on the compose network); default: the key." }),
    database: z.string().optional().meta({ description: 'The PostgreSQL database the service owns; "" or absent for a stateless service.' }),
  })
  .meta({ description: "One service of the product." });

export const suppressionSchema = z
  .strictObject({
    rule: z.string().regex(/^[a-z-]+\/[a-z0-9-]+$/, "a rule id such as isolation/superuser").meta({ description: "The rule id, e.g. isolation/superuser." }),
    service: z.string().min(1).optional().meta({ description: "The service (registry key) the findings are about; absent = every service." }),
    file: z.string().min(1).optional().meta({ description: "The file the findings point at (relative to the repository root); absent = any file." }),
    reason: z.string().trim().min(1, "a reason saying why the finding is accepted").meta({ description: "Why the finding is accepted for now: shown in every report." }),
    expires: z
      .string()
      .regex(ISO_DATE, "a date YYYY-MM-DD")
      .refine(isRealDate, "a date that exists")
      .meta({ description: "YYYY-MM-DD, the last day the suppression holds; after it, the suppression fails the run." }),
  })
  .refine((value) => value.service !== undefined || value.file !== undefined, { message: "must name a service or a file" })
  .meta({ description: "A finding the team accepts until a date." });

/** `civic-conformance.yaml` / `.json`: the services (when there is no TypeScript registry) and the configuration. */
export const configFileSchema = z
  .strictObject({
    $schema: z.string().optional().meta({ description: "The JSON Schema of this file (for editors)." }),
    version: z.literal(1).optional().meta({ description: "Format version of this file: 1." }),
    profile: z.enum(PROFILES).optional().meta({
      description: "civic: the seed's house rules are errors (default with infra/service-registry.ts); portable: only isolation-relevant rules fail (default otherwise).",
    }),
    services: z
      .record(z.string().regex(SERVICE_KEY, "a compose service name"), configServiceSchema)
      .optional()
      .meta({ description: "The product's services, keyed by compose service name. Leave out when infra/service-registry.ts holds them." }),
    rules: z
      .record(z.string().regex(/^[a-z-]+\/[a-z0-9-]+$/, "a rule id such as registry/database-name"), z.enum(RULE_LEVELS as ["error", "warning", "off"]))
      .optional()
      .meta({ description: "Severity per rule id, over the profile: error, warning or off." }),
    suppressions: z.array(suppressionSchema).optional().meta({ description: "Findings accepted for now, each with a reason and an expiry date." }),
  })
  .meta({ title: "civic-conformance configuration", description: "Services and settings of civic-conformance for one product." });

export type ConfigFileContent = z.infer<typeof configFileSchema>;
