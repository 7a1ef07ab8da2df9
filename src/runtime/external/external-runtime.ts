import { connect } from "../../postgres/connect.js";
import { parseDatabaseUrl } from "../../postgres/database-url.js";
import { sameServer } from "../../postgres/server-identity.js";
import { EnvironmentError, UsageError } from "../../core/errors.js";
import type { Logger } from "../../core/logger.js";
import { maskSecrets } from "../../core/secrets.js";
import type { DeclaredCredential } from "../../product/credentials/declared-credential.js";
import { credentialUrl } from "../credential-url.js";
import type { LiveEnvironment, LiveInstance, Runtime } from "../runtime.js";
import { envKeyOf, EXTERNAL_ENV, type ExternalConfig } from "./external-config.js";

/** What the external runtime knows of the product, to name its instances and point findings at the repository. */
export interface ExternalProductView {
  /** The compose file's PostgreSQL instances: a single `admin` URL stands for the only one. */
  readonly instanceNames: readonly string[];
  /** Where each service's credential is declared in the repository (compose line, else registry entry): findings point there. */
  readonly declaredAt: (serviceKey: string) => { readonly file: string; readonly line: number };
}

/** The instance name a single `admin` URL gets when the product's compose file does not give one. */
export const SINGLE_INSTANCE_NAME = "admin";

/**
 * Servers someone else runs (e.g. production's instance per service). Nothing is started; `start`
 * only proves each admin URL answers. Read-only unless the config says `readOnly: false`: the
 * checks only read and log in there, and scratch databases go only to a separately named server,
 * proven not to be any server under test.
 *
 * The per-service URLs of the config are those services' credentials here (form `mapping`), tried
 * exactly as given; a service without one keeps what its compose file declares, which is reached
 * only when its host names a configured instance by its compose name (never guessed).
 */
export class ExternalRuntime implements Runtime {
  readonly name = "external" as const;

  constructor(
    private readonly config: ExternalConfig,
    private readonly options: { readonly logger: Logger; readonly connectTimeoutMs?: number; readonly product?: ExternalProductView },
  ) {}

  async start(signal: AbortSignal): Promise<LiveEnvironment> {
    signal.throwIfAborted();
    const named = this.instanceUrls();
    for (const [name, url] of named) await this.probe(url, named.size > 1 ? `admin (${name})` : "admin");
    const readOnly = this.config.readOnly ?? true;
    this.options.logger.debug(`external runtime: ${[...named.values()].map((url) => maskSecrets(url)).join(", ")} (${readOnly ? "read-only" : "read-write"})`);
    let separateScratch: Promise<string | undefined> | undefined;
    const instances = new Map<string, LiveInstance>();
    for (const [name, url] of named) {
      const parsed = parseDatabaseUrl(url)!;
      const scratchAdminUrl = readOnly
        ? () => (separateScratch ??= this.separateScratchServer([...named.values()]))
        : () => Promise.resolve(this.config.scratchAdmin ?? url);
      instances.set(name, { name, adminUrl: url, host: parsed.host, port: parsed.port, scratchAdminUrl });
    }
    const credentials = this.serviceCredentials(instances);
    const given = new Set([...credentials.values()].flat());
    return {
      runtime: "external",
      instances,
      credentials,
      reach: (credential) => {
        if (given.has(credential)) return credentialUrl(credential, credential.host, credential.port);
        const instance = credential.instance === undefined ? undefined : instances.get(credential.instance);
        return instance && credentialUrl(credential, instance.host, instance.port);
      },
      servicesRunning: false,
    };
  }

  /**
   * The server a read-only run's migrations check may write to: `scratchAdmin` only, and only when
   * it is none of the servers under test (asked of the servers themselves: two URLs may name one
   * server through different hosts, ports or a pooler).
   *
   * @throws EnvironmentError when `scratchAdmin` is a server under test or does not answer
   */
  private async separateScratchServer(underTest: readonly string[]): Promise<string | undefined> {
    const { scratchAdmin } = this.config;
    if (scratchAdmin === undefined) return undefined;
    const timeout = { connectTimeoutMs: this.options.connectTimeoutMs ?? 10_000 };
    for (const admin of underTest) {
      let same: boolean;
      try {
        same = await sameServer(admin, scratchAdmin, timeout);
      } catch (error) {
        throw new EnvironmentError(`the external scratch server ${maskSecrets(scratchAdmin)} does not answer: ${maskSecrets((error as Error).message)}`);
      }
      if (same) {
        throw new EnvironmentError(
          `the scratch server (scratchAdmin, ${EXTERNAL_ENV.scratchAdmin}) is a server under test, and the external runtime is read-only: ` +
            "name a separate server, or set readOnly: false in the external config to let the migrations check create and drop its scratch databases there",
        );
      }
    }
    return scratchAdmin;
  }

  /** Nothing to stop: the servers are not ours. */
  async stop(): Promise<void> {}

  /** Instance name → admin URL; a single `admin` is the product's only instance (or `admin`). */
  private instanceUrls(): Map<string, string> {
    if (this.config.instances) return new Map(Object.entries(this.config.instances));
    const names = this.options.product?.instanceNames ?? [];
    return new Map([[names.length === 1 ? names[0]! : SINGLE_INSTANCE_NAME, this.config.admin!]]);
  }

  /** The config's per-service URLs as credentials, each bound to the configured instance at its host and port. */
  private serviceCredentials(instances: ReadonlyMap<string, LiveInstance>): Map<string, DeclaredCredential[]> {
    const credentials = new Map<string, DeclaredCredential[]>();
    for (const [service, url] of Object.entries(this.config.services)) {
      const parsed = parseDatabaseUrl(url);
      if (!parsed) continue;
      const declared = this.options.product?.declaredAt(service) ?? { file: "(external runtime config)", line: 1 };
      const field = { variable: `${EXTERNAL_ENV.servicePrefix}${envKeyOf(service)} (external runtime)`, file: declared.file, line: declared.line };
      const instance = [...instances.values()].find((candidate) => candidate.host === parsed.host && candidate.port === parsed.port)?.name;
      credentials.set(service, [
        {
          service,
          form: "mapping",
          user: parsed.user,
          ...(parsed.password !== undefined && { password: parsed.password }),
          host: parsed.host,
          port: parsed.port,
          database: parsed.database || parsed.user,
          params: parsed.params,
          fields: { url: field },
          source: field,
          ...(instance && { instance }),
        },
      ]);
    }
    return credentials;
  }

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
