/**
 * Which cells the isolation check logs into once the catalog is read (login-plan.ts). Plain data:
 * the catalog is built here as `readConnectPrivileges` returns it; the live path is proven in
 * test/postgres/isolation-catalog-proof.test.ts against real servers.
 */
import { describe, expect, it } from "vitest";
import { contradicts, escalate, planLogins } from "../../src/checks/isolation/login-plan.js";
import type { CredentialGroup, ProbeAttempt } from "../../src/checks/isolation/probe-plan.js";
import type { ProbeResult } from "../../src/checks/isolation/probe.js";
import { type ConnectPrivilege, type ConnectPrivileges, privilegeKey } from "../../src/postgres/connect-privileges.js";
import type { ServiceCredential } from "../../src/checks/shared/service-credentials.js";
import type { LiveInstance } from "../../src/runtime/runtime.js";

const instance: LiveInstance = { name: "postgres", adminUrl: "postgresql://admin@127.0.0.1:1/postgres", host: "127.0.0.1", port: 1, scratchAdminUrl: async () => undefined };
const names = (count: number) => Array.from({ length: count }, (_, i) => `s${String(i).padStart(2, "0")}`);

function group(user: string): CredentialGroup {
  return { identity: `id-${user}`, user, holders: [{ user, service: { database: user } } as unknown as ServiceCredential] };
}

/** `count` services, each role with CONNECT on its own database only; `allowed` adds (role, database) grants; `unknown` roles are left out of the catalog. */
function world(count: number, options: { allowed?: readonly [string, string][]; unknown?: readonly string[] } = {}) {
  const services = names(count);
  const groups = services.map(group);
  const attempts: ProbeAttempt[] = groups.flatMap((g) => [
    ...services.filter((database) => database !== g.user).map((database) => ({ group: g, target: { instance, database }, kind: "service" as const })),
    { group: g, target: { instance, database: "postgres" }, kind: "maintenance" as const },
  ]);
  const cells = new Map<string, ConnectPrivilege>();
  for (const database of services) {
    for (const role of services) {
      const allowed = role === database || (options.allowed ?? []).some(([r, d]) => r === role && d === database);
      cells.set(privilegeKey(database, role), { database, role, allowed, causes: allowed ? [{ kind: role === database ? "owner" : "grant" }] : [] });
    }
  }
  const privileges: ConnectPrivileges = {
    databases: new Map(services.map((database) => [database, { owner: database }])),
    roles: new Map(services.filter((role) => !(options.unknown ?? []).includes(role)).map((role) => [role, { name: role, canLogin: true, superuser: false }])),
    cells,
  };
  return { attempts, privileges: new Map([["postgres", privileges]]) };
}

const cell = (attempt: ProbeAttempt) => `${attempt.group.user}>${attempt.target.database}`;

describe("planLogins", () => {
  it("logs into every cell of an instance with no more cells than the limit", () => {
    const { attempts, privileges } = world(5);
    const plan = planLogins(attempts, privileges, 20);
    expect(plan.first).toHaveLength(attempts.length);
    expect(plan.samples.size).toBe(0);
    expect([...plan.deferred.values()].flat()).toEqual([]);
  });

  it("past the limit: one sampled refused cell per credential, going round the databases, and every maintenance database", () => {
    const { attempts, privileges } = world(5);
    const plan = planLogins(attempts, privileges, 19);
    expect([...plan.samples].map(cell)).toEqual(["s00>s01", "s01>s02", "s02>s03", "s03>s04", "s04>s00"]);
    expect(plan.first.filter((attempt) => attempt.kind === "maintenance")).toHaveLength(5);
    expect(plan.first).toHaveLength(10);
    // Every cell is either logged into or left to the catalog, once.
    const deferred = [...plan.deferred.values()].flat();
    expect(deferred).toHaveLength(15);
    expect(new Set([...plan.first, ...deferred])).toEqual(new Set(attempts));
  });

  it("is deterministic: the same attempts give the same sample", () => {
    const a = world(12);
    const b = world(12);
    expect([...planLogins(a.attempts, a.privileges, 0).samples].map(cell)).toEqual([...planLogins(b.attempts, b.privileges, 0).samples].map(cell));
  });

  it("logs into every cell the catalog allows, and every cell of a role the catalog does not know", () => {
    const { attempts, privileges } = world(5, { allowed: [["s01", "s03"]], unknown: ["s02"] });
    const plan = planLogins(attempts, privileges, 0);
    const first = plan.first.filter((attempt) => attempt.kind === "service").map(cell);
    expect(first).toContain("s01>s03");
    expect(first.filter((name) => name.startsWith("s02>"))).toEqual(["s02>s00", "s02>s01", "s02>s03", "s02>s04"]);
    expect([...plan.deferred.values()].flat().map(cell)).not.toContain("s01>s03");
    expect(plan.deferred.has("id-s02\0postgres")).toBe(false);
  });

  it("treats a maintenance database the catalog lists like any other cell: refused there, it is the catalog's, allowed, it is logged into", () => {
    const { attempts, privileges } = world(5);
    const catalog = privileges.get("postgres")!;
    (catalog.databases as Map<string, { owner: string }>).set("postgres", { owner: "admin" });
    for (const role of names(5)) {
      const allowed = role === "s02";
      (catalog.cells as Map<string, ConnectPrivilege>).set(privilegeKey("postgres", role), { database: "postgres", role, allowed, causes: allowed ? [{ kind: "grant" }] : [] });
    }
    const plan = planLogins(attempts, privileges, 0);
    expect(plan.first.filter((attempt) => attempt.kind === "maintenance").map(cell)).toEqual(["s02>postgres"]);
    expect([...plan.deferred.values()].flat().filter((attempt) => attempt.kind === "maintenance")).toHaveLength(4);
    // The samples stay among the service databases.
    expect([...plan.samples].every((attempt) => attempt.kind === "service")).toBe(true);
  });

  it("logs into every cell of a database the catalog does not list (a template still open to connections is left out of it)", () => {
    const { attempts, privileges } = world(5);
    (privileges.get("postgres")!.databases as Map<string, { owner: string }>).delete("s04");
    const plan = planLogins(attempts, privileges, 0);
    expect(plan.first.filter((attempt) => attempt.target.database === "s04").map(cell)).toEqual(["s00>s04", "s01>s04", "s02>s04", "s03>s04"]);
    expect([...plan.deferred.values()].flat().filter((attempt) => attempt.target.database === "s04")).toEqual([]);
  });
});

describe("escalate", () => {
  const { attempts, privileges } = world(5);
  const plan = planLogins(attempts, privileges, 0);
  const refused = (attempt: ProbeAttempt, code = "42501"): ProbeResult => ({ attempt, connected: false, failure: { kind: "refused", code, reason: "no CONNECT privilege (42501)" } as never });

  it("leaves the catalog's refusals alone when every login agrees with it", () => {
    expect(escalate(plan, [...plan.samples].map((attempt) => refused(attempt)), privileges)).toEqual([]);
  });

  it("logs into every other cell of a credential whose sampled login got in where the catalog refuses", () => {
    const sample = [...plan.samples].find((attempt) => attempt.group.user === "s03")!;
    const results = [...plan.samples].map((attempt): ProbeResult => (attempt === sample ? { attempt, connected: true } : refused(attempt)));
    expect(contradicts(results.find((result) => result.attempt === sample)!, privileges.get("postgres"))).toBe(true);
    expect(escalate(plan, results, privileges).map(cell).sort()).toEqual(["s03>s00", "s03>s01", "s03>s02"]);
  });

  it("treats a login told the database does not exist, where the catalog read it, as a contradiction", () => {
    const sample = [...plan.samples][0]!;
    expect(contradicts(refused(sample, "3D000"), privileges.get("postgres"))).toBe(true);
    expect(contradicts(refused(sample, "28P01"), privileges.get("postgres"))).toBe(false);
  });
});
