/**
 * Which connection attempts prove isolation. Every credential is tried against every other
 * service's database, on the instance that database lives on, and against the maintenance
 * databases of every instance: a credential that also works on an instance that is not its own
 * (the same role and password created there) is a leak too. One attempt per distinct (secret,
 * instance, database): services that hold the very same user and password would make the same
 * attempt with the same outcome, so it is made once and its answer shared among them. Attempts are
 * never shared between different secrets, even for the same role: a wrong password is an answer too.
 */
import type { Service } from "../../registry/model.js";
import type { LiveInstance } from "../../runtime/runtime.js";
import type { ServiceCredential } from "../shared/service-credentials.js";

/** The services that hold one secret. */
export interface CredentialGroup {
  readonly identity: string;
  readonly user: string;
  /** In registry order. */
  readonly holders: readonly ServiceCredential[];
}

/** A database to try, on the instance it lives on. */
export interface ProbeTarget {
  readonly instance: LiveInstance;
  readonly database: string;
}

export interface ProbeAttempt {
  readonly group: CredentialGroup;
  readonly target: ProbeTarget;
  /** `service`: another service's database, evidence gathered on success. `maintenance`: postgres / template1 / the bootstrap database. */
  readonly kind: "service" | "maintenance";
}

export function groupCredentials(credentials: readonly ServiceCredential[]): CredentialGroup[] {
  const groups = new Map<string, ServiceCredential[]>();
  for (const credential of credentials) groups.set(credential.identity, [...(groups.get(credential.identity) ?? []), credential]);
  return [...groups.values()].map((holders) => ({ identity: holders[0]!.identity, user: holders[0]!.user, holders }));
}

/** Whether `database` on `instance` is the holder's own: its service's database, on that service's home instance. */
export function isOwn(holder: ServiceCredential, target: ProbeTarget, homes: ReadonlyMap<string, LiveInstance | undefined>): boolean {
  const home = homes.get(holder.service.key);
  return holder.service.database === target.database && (home === undefined || home.name === target.instance.name);
}

/** Holders for whom the target belongs to someone else. */
export function foreignHolders(group: CredentialGroup, target: ProbeTarget, homes: ReadonlyMap<string, LiveInstance | undefined>): ServiceCredential[] {
  return group.holders.filter((holder) => !isOwn(holder, target, homes));
}

/**
 * Each stateful service's database on its home instance (on every instance when its home cannot be
 * told), and the maintenance databases of each instance that are no service's database there.
 */
export function planTargets(
  stateful: readonly Service[],
  homes: ReadonlyMap<string, LiveInstance | undefined>,
  instances: readonly LiveInstance[],
  maintenanceOf: (instance: LiveInstance) => readonly string[],
): { services: ProbeTarget[]; maintenance: ProbeTarget[] } {
  const services = new Map<string, ProbeTarget>();
  for (const service of stateful) {
    const home = homes.get(service.key);
    for (const instance of home ? [home] : instances) services.set(`${instance.name}\0${service.database}`, { instance, database: service.database });
  }
  const maintenance: ProbeTarget[] = [];
  for (const instance of instances) {
    for (const database of maintenanceOf(instance)) {
      if (!services.has(`${instance.name}\0${database}`)) maintenance.push({ instance, database });
    }
  }
  return { services: [...services.values()], maintenance };
}

export function planAttempts(
  groups: readonly CredentialGroup[],
  targets: { services: readonly ProbeTarget[]; maintenance: readonly ProbeTarget[] },
  homes: ReadonlyMap<string, LiveInstance | undefined>,
): ProbeAttempt[] {
  const attempts: ProbeAttempt[] = [];
  for (const group of groups) {
    for (const target of targets.services) {
      if (foreignHolders(group, target, homes).length > 0) attempts.push({ group, target, kind: "service" });
    }
    for (const target of targets.maintenance) attempts.push({ group, target, kind: "maintenance" });
  }
  return attempts;
}
