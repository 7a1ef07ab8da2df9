/**
 * Which cells are logged into, once the catalog has been read. PostgreSQL refuses every connection
 * of a role that is not a superuser and has no CONNECT on the database (checked after
 * authentication, whatever pg_hba.conf or the password say), and `has_database_privilege` is the
 * very test the server applies; so a catalog that says "no CONNECT, not superuser" for a role that
 * exists proves the cell refused on its own. Logins are still made for:
 * - every cell of an instance with at most `allLoginsUpTo` cells (none by default): both proofs;
 * - every cell the catalog says is reachable (a finding, which a login confirms or contradicts);
 * - every cell of a credential whose role the catalog does not know, and every cell of a database it
 *   does not list (one that was dropped, or accepts no connections: only a login proves those);
 * - a sample of the catalog-refused cells: one per credential and instance, spread over the
 *   instance's service databases (a maintenance database when it has no refused service cell
 *   there), chosen from the registry order and names alone (deterministic), so the server itself
 *   shows the catalog agrees with it.
 * The maintenance databases (postgres, template1, POSTGRES_DB) are cells like the others.
 * A sampled login that contradicts the catalog is a proof mismatch, and then every cell of that
 * credential on that instance is logged into (`escalate`). A cell that is neither logged into nor
 * denied by a catalog that was read stays an error cell (`proveCell`): never a pass nobody proved.
 */
import type { ConnectPrivileges } from "../../postgres/connect-privileges.js";
import { isCredentialRefusal } from "../../postgres/login-diagnosis.js";
import { SQLSTATE } from "../../postgres/sqlstate.js";
import { catalogVerdict } from "./catalog-proof.js";
import type { ProbeAttempt } from "./probe-plan.js";
import type { ProbeResult } from "./probe.js";

/**
 * Instances with at most this many foreign credential cells would be logged into cell by cell, every
 * cell keeping both proofs. None is: the catalog proves the refusals and sampled logins check the
 * catalog at every size. Logging into every cell was the rule up to 100 cells, but it was no longer
 * cheap: on the 11-service property-tax fixture (90 cells and 30 maintenance logins) the check took
 * 475 ms of a 3.6 s run on the 2-core machine, 412 ms of it for its 120 logins, against 110 ms with
 * its 10 sampled logins (49 ms), with the same verdicts, findings and cell outcomes
 * (test/postgres/isolation.test.ts compares the two). A test passes `Infinity` to see the server's
 * answer for every cell, as a contradicted credential's cells get it.
 */
export const ALL_LOGINS_UP_TO = 0;

export interface LoginPlan {
  /** The attempts to make straight away. */
  readonly first: readonly ProbeAttempt[];
  /** The catalog-refused cells left to the catalog, by credential and instance (`sliceKey`). */
  readonly deferred: ReadonlyMap<string, readonly ProbeAttempt[]>;
  /** The sampled catalog-refused cells among `first`. */
  readonly samples: ReadonlySet<ProbeAttempt>;
}

export const sliceKey = (attempt: ProbeAttempt) => `${attempt.group.identity}\0${attempt.target.instance.name}`;

export function planLogins(attempts: readonly ProbeAttempt[], privileges: ReadonlyMap<string, ConnectPrivileges>, allLoginsUpTo: number): LoginPlan {
  const cellsOn = new Map<string, number>();
  for (const attempt of attempts) {
    if (attempt.kind === "service") cellsOn.set(attempt.target.instance.name, (cellsOn.get(attempt.target.instance.name) ?? 0) + 1);
  }
  const first: ProbeAttempt[] = [];
  const refusedBySlice = new Map<string, ProbeAttempt[]>();
  for (const attempt of attempts) {
    const instance = attempt.target.instance.name;
    const catalog = privileges.get(instance);
    const catalogRefuses =
      (cellsOn.get(instance) ?? 0) > allLoginsUpTo &&
      catalog?.roles.has(attempt.group.user) === true &&
      // A database the catalog read leaves out (a template that still accepts connections, or one missing) is the login's to prove.
      catalog.databases.has(attempt.target.database) &&
      catalogVerdict(catalog, attempt.group.user, attempt.target.database)?.allowed === false;
    if (!catalogRefuses) {
      first.push(attempt);
      continue;
    }
    refusedBySlice.set(sliceKey(attempt), [...(refusedBySlice.get(sliceKey(attempt)) ?? []), attempt]);
  }

  // One sample per credential and instance: the first of its refused cells after its own service's
  // database in the instance's databases by name (after the n-th for the n-th credential in registry
  // order when its database is not there), so with one credential per database each is sampled once.
  const databasesOn = new Map<string, string[]>();
  for (const attempt of attempts) {
    if (attempt.kind !== "service") continue;
    const list = databasesOn.get(attempt.target.instance.name) ?? [];
    if (!list.includes(attempt.target.database)) list.push(attempt.target.database);
    databasesOn.set(attempt.target.instance.name, list);
  }
  for (const list of databasesOn.values()) list.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const ordinal = new Map<string, number>();
  const samples = new Set<ProbeAttempt>();
  const deferred = new Map<string, ProbeAttempt[]>();
  for (const [key, refused] of refusedBySlice) {
    const instance = refused[0]!.target.instance.name;
    const databases = databasesOn.get(instance)!;
    const n = ordinal.get(instance) ?? 0;
    ordinal.set(instance, n + 1);
    const own = databases.indexOf(refused[0]!.group.holders[0]!.service.database);
    const start = ((own >= 0 ? own : n) + 1) % databases.length;
    const position = (attempt: ProbeAttempt) => (databases.indexOf(attempt.target.database) - start + databases.length) % databases.length;
    const services = refused.filter((attempt) => attempt.kind === "service");
    const sample = services.length > 0 ? services.reduce((best, attempt) => (position(attempt) < position(best) ? attempt : best)) : refused[0]!;
    samples.add(sample);
    first.push(sample);
    deferred.set(key, refused.filter((attempt) => attempt !== sample));
  }
  return { first, deferred, samples };
}

/** The login answered otherwise than the catalog said: it got in where the catalog denies, or the other way round. */
export function contradicts(result: ProbeResult, privileges: ConnectPrivileges | undefined): boolean {
  const { group, target } = result.attempt;
  const verdict = catalogVerdict(privileges, group.user, target.database);
  if (!verdict) return false;
  if (result.connected) return !verdict.allowed;
  if (verdict.allowed) return !isCredentialRefusal(result.failure);
  // The server says the database is missing while the catalog read it: they are not looking at the same thing.
  return result.failure.code === SQLSTATE.invalidCatalogName && privileges!.databases.has(target.database);
}

/** The deferred cells to log into after all: every one of each credential and instance where a login contradicted the catalog. */
export function escalate(plan: LoginPlan, results: readonly ProbeResult[], privileges: ReadonlyMap<string, ConnectPrivileges>): ProbeAttempt[] {
  const slices = new Set(results.filter((result) => contradicts(result, privileges.get(result.attempt.target.instance.name))).map((result) => sliceKey(result.attempt)));
  return [...slices].flatMap((key) => plan.deferred.get(key) ?? []);
}
