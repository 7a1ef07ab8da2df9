import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import * as z from "zod";
import { UsageError } from "../../core/errors.js";
import { maskSecrets, registerSecret } from "../../core/secrets.js";
import { isPostgresUrl, parseDatabaseUrl } from "../../postgres/database-url.js";

/** Servers someone else runs: what `--runtime external` checks. */
export interface ExternalConfig {
  /** Superuser (or monitoring-role) URL of the server under test, when the product has one instance. */
  readonly admin?: string;
  /** Instance name (the compose name of its PostgreSQL service) → its admin URL, for a product with several. */
  readonly instances?: Readonly<Record<string, string>>;
  /** Registry key → the URL that service uses in that environment (each may be its own instance). */
  readonly services: Readonly<Record<string, string>>;
  /** A separate server where the migrations check may create scratch databases (for every instance). */
  readonly scratchAdmin?: string;
  /**
   * `true` (the default): nothing is created or altered on the servers under test. The checks there
   * only read and log in; the migrations check needs `scratchAdmin`, and refuses one that is a
   * server under test. `false`: the migrations check may create (and drop again) its scratch
   * databases and roles on each server under test, which then also stands in when `scratchAdmin` is absent.
   */
  readonly readOnly?: boolean;
}

/** Environment variables read when no config file is given (or to fill what the file leaves out). */
export const EXTERNAL_ENV = {
  admin: "CIVIC_ADMIN_URL",
  scratchAdmin: "CIVIC_SCRATCH_ADMIN_URL",
  /** Followed by the registry key in UPPER_SNAKE: `assessment-roll` → `CIVIC_DATABASE_URL_ASSESSMENT_ROLL`. */
  servicePrefix: "CIVIC_DATABASE_URL_",
} as const;

const postgresUrl = z.string().refine(isPostgresUrl, { message: "expected a postgres:// or postgresql:// URL" });
const configFileSchema = z.strictObject({
  admin: postgresUrl.optional(),
  instances: z.record(z.string(), postgresUrl).optional(),
  services: z.record(z.string(), postgresUrl).optional(),
  scratchAdmin: postgresUrl.optional(),
  readOnly: z.boolean().optional(),
});

/** `assessment-roll` → `ASSESSMENT_ROLL`. */
export function envKeyOf(serviceKey: string): string {
  return serviceKey.replace(/[^A-Za-z0-9]+/g, "_").toUpperCase();
}

/**
 * Reads the external servers from `file` (JSON or YAML: `{ admin | instances: { name: url }, services: { key: url }, scratchAdmin?, readOnly? }`)
 * and from the `CIVIC_*` environment variables; the file wins where both name the same thing.
 *
 * @throws UsageError when the file is unreadable or malformed, or no admin URL is given at all
 */
export async function readExternalConfig(
  file: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  serviceKeys: readonly string[],
): Promise<ExternalConfig> {
  const fromFile = file === undefined ? {} : await readConfigFile(file);
  const fromEnv: Record<string, string> = {};
  for (const key of serviceKeys) {
    const value = env[`${EXTERNAL_ENV.servicePrefix}${envKeyOf(key)}`];
    if (value) fromEnv[key] = value;
  }
  const instances = fromFile.instances && Object.keys(fromFile.instances).length > 0 ? fromFile.instances : undefined;
  const admin = fromFile.admin ?? (instances ? undefined : env[EXTERNAL_ENV.admin]);
  if (!admin && !instances) {
    throw new UsageError(
      `--runtime external needs the admin URL of the server under test: set ${EXTERNAL_ENV.admin}, or pass --external-config with { "admin": "postgresql://…" } (or { "instances": { "<name>": "postgresql://…" } } for several)`,
      file === undefined ? undefined : { file },
    );
  }
  if (admin && instances) {
    throw new UsageError("the external runtime config names both `admin` and `instances`: give one admin URL per instance under `instances`", file === undefined ? undefined : { file });
  }
  const scratchAdmin = fromFile.scratchAdmin ?? env[EXTERNAL_ENV.scratchAdmin];
  const config: ExternalConfig = {
    ...(admin && { admin }),
    ...(instances && { instances }),
    services: { ...fromEnv, ...fromFile.services },
    ...(scratchAdmin && { scratchAdmin }),
    ...(fromFile.readOnly !== undefined && { readOnly: fromFile.readOnly }),
  };
  for (const url of [config.admin, config.scratchAdmin, ...Object.values(config.instances ?? {}), ...Object.values(config.services)]) {
    if (url) registerSecret(parseDatabaseUrl(url)?.password);
  }
  return config;
}

async function readConfigFile(file: string): Promise<z.infer<typeof configFileSchema>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new UsageError("the external runtime config file cannot be read", { file });
  }
  let value: unknown;
  try {
    // YAML is a superset of JSON: one parser reads both.
    value = parseYaml(text);
  } catch (error) {
    throw new UsageError(`the external runtime config is neither JSON nor YAML: ${(error as Error).message.split("\n")[0]}`, { file });
  }
  const parsed = configFileSchema.safeParse(value ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
    throw new UsageError(`invalid external runtime config: ${where}${maskSecrets(issue.message)}`, { file });
  }
  return parsed.data;
}
