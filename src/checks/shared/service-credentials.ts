/**
 * The credentials each service holds (read from its files by the credential reader, or given to
 * the runtime for it), as the runtime makes them reachable from here, with where each is written so
 * findings can point at the line to change; the home instance of each service; and every credential
 * that could not be tried, with why. Shared by the live checks (own-database, isolation, migrations).
 */
import { createHash } from "node:crypto";
import type { SourceLine } from "../../compose-file/model.js";
import { registerSecret } from "../../core/secrets.js";
import type { DeclaredCredential } from "../../product/credentials/declared-credential.js";
import type { Product } from "../../product/product.js";
import { productPostgres } from "../../product/product-postgres.js";
import { isStateful, type Service } from "../../registry/model.js";
import type { LiveEnvironment, LiveInstance } from "../../runtime/runtime.js";

export interface ServiceCredential {
  readonly service: Service;
  readonly declared: DeclaredCredential;
  /** The URL reaching its instance from here (`live.reach`). Contains the password: never print it. */
  readonly url: string;
  /** The role it logs in as. */
  readonly user: string;
  /** The database it names (libpq's default, the user, when none). */
  readonly database: string;
  /** The live instance `url` reaches. */
  readonly instance: LiveInstance;
  /** `host:port` reached from here: two instances are two servers. */
  readonly server: string;
  /**
   * Identity of the secret: equal exactly when user and password are equal. A hash, so it can be a
   * map key without a password sitting in memory dumps or debug output. The same secret tried on
   * every instance gives the same answers wherever it is held.
   */
  readonly identity: string;
  /** Where findings point: the variable's line (an env file's own line), or the registry entry. */
  readonly source: SourceLine;
}

/** A credential of a stateful service that no check can try here, and why. */
export interface UntriedCredential {
  readonly service: Service;
  readonly reason: string;
  readonly file: string;
  readonly line: number;
  /** Its instance did not start (the runtime's cause is reported once): not the credential's fault. */
  readonly instanceDown?: boolean;
}

export interface LiveCredentials {
  /** Every credential the runtime reaches, registry order, each service's in precedence order. */
  readonly credentials: readonly ServiceCredential[];
  /** Stateful services' credentials that could not be read, bound or reached. */
  readonly untried: readonly UntriedCredential[];
  /** Registry key → the live instance its database lives on; `undefined` when it cannot be told. */
  readonly homes: ReadonlyMap<string, LiveInstance | undefined>;
  /** Registry key → why it cannot be looked at: its database lives on an instance that did not start. */
  readonly down: ReadonlyMap<string, string>;
}

export async function liveCredentials(product: Product, live: LiveEnvironment): Promise<LiveCredentials> {
  const postgres = await productPostgres(product);
  const credentials: ServiceCredential[] = [];
  const untried: UntriedCredential[] = [];
  const homes = new Map<string, LiveInstance | undefined>();
  const down = new Map<string, string>();
  const unstarted = live.unstarted?.causes ?? new Map<string, string>();
  const didNotStart = (name: string) => `instance "${name}" did not start (${unstarted.get(name)!.split("\n")[0]})`;
  const onlyInstance = live.instances.size === 1 && !live.unstarted ? live.instances.values().next().value : undefined;
  for (const service of product.registry.services) {
    const declaredEntry = postgres.of(service.key);
    const given = live.credentials?.get(service.key);
    const declared = given ?? declaredEntry?.credentials ?? [];
    if (!given && isStateful(service)) {
      for (const problem of declaredEntry?.problems ?? []) untried.push({ service, reason: problem.reason, file: problem.file, line: problem.line });
    }
    for (const credential of declared) {
      const url = live.reach(credential);
      const instance = url === undefined ? undefined : reachedInstance(credential, live, url);
      if (url === undefined || !instance) {
        if (isStateful(service) && !given && !declaredEntry?.problems.some((problem) => problem.variables.includes(credential.source.variable))) {
          const isDown = credential.instance !== undefined && unstarted.has(credential.instance);
          const reason = isDown ? `${credential.source.variable} (${credential.source.file}:${credential.source.line}): ${didNotStart(credential.instance!)}` : notReachedReason(credential, live);
          untried.push({ service, reason, file: credential.source.file, line: credential.source.line, ...(isDown && { instanceDown: true }) });
        }
        continue;
      }
      registerSecret(credential.password);
      credentials.push({
        service,
        declared: credential,
        url,
        user: credential.user,
        database: credential.database,
        instance,
        server: `${instance.host}:${instance.port}`,
        identity: createHash("sha256").update([credential.user, credential.password ?? ""].join("\0")).digest("hex").slice(0, 16),
        source: { file: credential.source.file, line: credential.source.line },
      });
    }
    const registered = service.instance === undefined ? undefined : live.instances.get(service.instance);
    const reachedHome = credentials.find((credential) => credential.service === service)?.instance;
    const declaredHome = declaredEntry?.home && live.instances.get(declaredEntry.home.name);
    homes.set(service.key, registered ?? declaredHome ?? reachedHome ?? onlyInstance);
    const homeName = service.instance ?? declaredEntry?.home?.name;
    if (isStateful(service) && homeName !== undefined && unstarted.has(homeName)) down.set(service.key, didNotStart(homeName));
  }
  return { credentials, untried, homes, down };
}

/** The instance a reached URL lands on: the credential's own, else (a URL the runtime was given) the one at its host and port. */
function reachedInstance(credential: DeclaredCredential, live: LiveEnvironment, url: string): LiveInstance | undefined {
  const bound = credential.instance === undefined ? undefined : live.instances.get(credential.instance);
  if (bound) return bound;
  const at = /@([^/@]+)\//.exec(url)?.[1];
  const byAddress = [...live.instances.values()].find((instance) => `${instance.host.includes(":") ? `[${instance.host}]` : instance.host}:${instance.port}` === at);
  if (byAddress) return byAddress;
  // A URL given for the service points at a server of its own: a stand-in instance for it.
  return { name: `${credential.host}:${credential.port}`, adminUrl: "", host: credential.host, port: credential.port, scratchAdminUrl: () => Promise.resolve(undefined) };
}

function notReachedReason(credential: DeclaredCredential, live: LiveEnvironment): string {
  const where = `${credential.source.variable} (${credential.source.file}:${credential.source.line})`;
  if (credential.instance === undefined) return `${where} names host "${credential.host}", which is no PostgreSQL instance of the product`;
  if (!live.instances.has(credential.instance)) return `${where} names instance "${credential.instance}", which the ${live.runtime} runtime has no server for`;
  return `${where} names port ${credential.port} of "${credential.instance}", which is not the port it listens on`;
}
