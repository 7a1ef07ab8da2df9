/**
 * A declared credential as a URL to a server this process reaches: its user, password, database
 * and `sslmode` as written, at the server's host and port. Built from the parts, never by editing
 * the text the service holds (a JDBC URL or a split family has none to edit).
 */
import { formatDatabaseUrl } from "../postgres/database-url.js";
import type { PostgresInstance } from "../compose-file/postgres-instances.js";
import type { DeclaredCredential } from "../product/credentials/declared-credential.js";
import type { LiveInstance } from "./runtime.js";

export function credentialUrl(credential: DeclaredCredential, host: string, port: number, database = credential.database): string {
  const url = formatDatabaseUrl({ user: credential.user, password: credential.password, host, port, database });
  const sslmode = credential.params?.get("sslmode");
  return sslmode ? `${url}?sslmode=${encodeURIComponent(sslmode)}` : url;
}

/**
 * `LiveEnvironment.reach` for a runtime that runs the compose file's instances where this process
 * reaches them: a credential bound to an instance, naming the port it listens on inside the
 * network, is rewritten to that instance's address here.
 */
export function reachThrough(
  declared: readonly PostgresInstance[],
  running: ReadonlyMap<string, LiveInstance>,
): (credential: DeclaredCredential) => string | undefined {
  return (credential) => {
    const instance = credential.instance === undefined ? undefined : declared.find((candidate) => candidate.name === credential.instance);
    const live = credential.instance === undefined ? undefined : running.get(credential.instance);
    if (!instance || !live || credential.port !== instance.networkPort) return undefined;
    return credentialUrl(credential, live.host, live.port);
  };
}
