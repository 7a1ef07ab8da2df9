/**
 * Which connection attempts prove isolation. One attempt per distinct (credential, database) pair:
 * services that hold the very same credential (same role, password and server) would make the same
 * attempt with the same outcome, so it is made once and its answer shared among them. Attempts are
 * never shared between different credentials, even for the same role: a wrong password is an answer too.
 */
import type { Service } from "../../registry/model.js";
import type { ServiceCredential } from "../shared/service-credentials.js";

/** The services that hold one credential. */
export interface CredentialGroup {
  readonly identity: string;
  readonly user: string;
  /** The URL every holder has (identical up to the database, which each attempt replaces). */
  readonly url: string;
  /** In registry order. */
  readonly holders: readonly ServiceCredential[];
}

export interface ProbeAttempt {
  readonly group: CredentialGroup;
  readonly database: string;
  /** `service`: another service's database, evidence gathered on success. `maintenance`: postgres / template1. */
  readonly kind: "service" | "maintenance";
}

export function groupCredentials(credentials: readonly ServiceCredential[]): CredentialGroup[] {
  const groups = new Map<string, ServiceCredential[]>();
  for (const credential of credentials) groups.set(credential.identity, [...(groups.get(credential.identity) ?? []), credential]);
  return [...groups.values()].map((holders) => ({
    identity: holders[0]!.identity,
    user: holders[0]!.user,
    url: holders[0]!.url,
    holders,
  }));
}

/** Holders for whom `database` belongs to someone else. */
export function foreignHolders(group: CredentialGroup, database: string): ServiceCredential[] {
  return group.holders.filter((holder) => holder.service.database !== database);
}

export function planAttempts(
  groups: readonly CredentialGroup[],
  stateful: readonly Service[],
  maintenanceDatabases: readonly string[],
): ProbeAttempt[] {
  const databases = [...new Set(stateful.map((service) => service.database))];
  const attempts: ProbeAttempt[] = [];
  for (const group of groups) {
    for (const database of databases) {
      if (foreignHolders(group, database).length > 0) attempts.push({ group, database, kind: "service" });
    }
    for (const database of maintenanceDatabases) {
      if (!databases.includes(database)) attempts.push({ group, database, kind: "maintenance" });
    }
  }
  return attempts;
}
