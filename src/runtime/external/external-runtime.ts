import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { connect } from "../../postgres/connect.js";
import { isPostgresUrl, parseDatabaseUrl } from "../../postgres/database-url.js";
import { sameServer } from "../../postgres/server-identity.js";
import { EnvironmentError, UsageError } from "../../core/errors.js";
import type { Logger } from "../../core/logger.js";
import { maskSecrets, registerSecret } from "../../core/secrets.js";
import type { LiveEnvironment, LiveInstance, Runtime } from "../runtime.js";

/** Servers someone else runs: what `--runtime external` checks. */
export interface ExternalConfig {
  /** Superuser (or monitoring-role) URL of the server under test. */
  readonly admin: string;
  /** Registry key → the URL that service uses in that environment (each may be its own instance). */
  readonly services: Readonly<Record<string, string>>;
  /** A separate server where the migrations check may create scratch databases. */
  readonly scratchAdmin?: string;
  /**
   * `true` (the default): nothing is created or altered on the server under test. The checks there
   * only read and log in; the migrations check needs `scratchAdmin`, and refuses one that is the
   * server under test. `false`: the migrations check may create (and drop again) its scratch
   * databases and roles on the server under test, which then also stands in when `scratchAdmin` is absent.
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
  services: z.record(z.string(), postgresUrl).optional(),
  scratchAdmin: postgresUrl.optional(),
  readOnly: z.boolean().optional(),
});

/** `assessment-roll` → `ASSESSMENT_ROLL`. */
export function envKeyOf(serviceKey: string): string {
  return serviceKey.replace(/[^A-Za-z0-9]+/g, "_").toUpperCase();
}

/**
 * Reads the external servers from `file` (JSON or YAML: `{ admin, services: { key: url }, scratchAdmin?, readOnly? }`)
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
  const admin = fromFile.admin ?? env[EXTERNAL_ENV.admin];
  if (!admin) {
    throw new UsageError(
      `--runtime external needs the admin URL of the server under test: set ${EXTERNAL_ENV.admin}, or pass --external-config with { "admin": "postgresql://…" }`,
      file === undefined ? undefined : { file },
    );
  }
  const scratchAdmin = fromFile.scratchAdmin ?? env[EXTERNAL_ENV.scratchAdmin];
  const config: ExternalConfig = {
    admin,
    services: { ...fromEnv, ...fromFile.services },
    ...(scratchAdmin && { scratchAdmin }),
    ...(fromFile.readOnly !== undefined && { readOnly: fromFile.readOnly }),
  };
  for (const url of [config.admin, config.scratchAdmin, ...Object.values(config.services)]) {
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

/**
 * Servers someone else runs (e.g. production's instance per service). Nothing is started; `start`
 * only proves the admin URL answers. Read-only unless the config says `readOnly: false`: the
 * checks only read and log in there, and scratch databases go only to a separately named server,
 * proven not to be the one under test.
 */
export class ExternalRuntime implements Runtime {
  readonly name = "external" as const;

  constructor(
    private readonly config: ExternalConfig,
    private readonly options: { readonly logger: Logger; readonly connectTimeoutMs?: number },
  ) {}

  async start(signal: AbortSignal): Promise<LiveEnvironment> {
    signal.throwIfAborted();
    await this.probe(this.config.admin, "admin");
    const { config } = this;
    const readOnly = config.readOnly ?? true;
    this.options.logger.debug(`external runtime: ${maskSecrets(config.admin)} (${readOnly ? "read-only" : "read-write"})`);
    let scratch: Promise<string | undefined> | undefined;
    const scratchAdminUrl = () => (scratch ??= this.scratchServer(readOnly));
    const admin = parseDatabaseUrl(config.admin)!;
    const instances = new Map<string, LiveInstance>([["admin", { name: "admin", adminUrl: config.admin, host: admin.host, port: admin.port, scratchAdminUrl }]]);
    return {
      runtime: "external",
      instances,
      reach: () => undefined,
      adminUrl: config.admin,
      serviceUrl: (serviceKey) => config.services[serviceKey],
      servicesRunning: false,
      scratchAdminUrl,
    };
  }

  /**
   * The server the migrations check may write to. Read-only, that is `scratchAdmin` only, and only
   * when it is another server than the one under test (asked of the servers themselves: two URLs
   * may name one server through different hosts, ports or a pooler).
   *
   * @throws EnvironmentError when read-only and `scratchAdmin` is the server under test
   */
  private async scratchServer(readOnly: boolean): Promise<string | undefined> {
    const { admin, scratchAdmin } = this.config;
    if (!readOnly) return scratchAdmin ?? admin;
    if (scratchAdmin === undefined) return undefined;
    const timeout = { connectTimeoutMs: this.options.connectTimeoutMs ?? 10_000 };
    let same: boolean;
    try {
      same = await sameServer(admin, scratchAdmin, timeout);
    } catch (error) {
      throw new EnvironmentError(`the external scratch server ${maskSecrets(scratchAdmin)} does not answer: ${maskSecrets((error as Error).message)}`);
    }
    if (same) {
      throw new EnvironmentError(
        `the scratch server (scratchAdmin, ${EXTERNAL_ENV.scratchAdmin}) is the server under test, and the external runtime is read-only: ` +
          "name a separate server, or set readOnly: false in the external config to let the migrations check create and drop its scratch databases there",
      );
    }
    return scratchAdmin;
  }

  /** Nothing to stop: the servers are not ours. */
  async stop(): Promise<void> {}

  private async probe(url: string, what: string): Promise<void> {
    if (!parseDatabaseUrl(url)) throw new UsageError(`the external ${what} URL ${maskSecrets(url)} is not a postgres:// URL with a host`);
    try {
      const client = await connect(url, { connectTimeoutMs: this.options.connectTimeoutMs ?? 10_000, applicationName: "civic-conformance external" });
      try {
        await client.query("SELECT 1");
      } finally {
        await client.end().catch(() => undefined);
      }
    } catch (error) {
      throw new EnvironmentError(`the external ${what} server ${maskSecrets(url)} does not answer: ${maskSecrets((error as Error).message)}`);
    }
  }
}
