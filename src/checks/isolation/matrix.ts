/**
 * The isolation matrix for the PR table: every credential holder × every service database (own
 * included), each cell with the login's answer and the catalog's; then the LOGIN roles no credential
 * uses and PUBLIC, each × every service database of its instance, from the catalog alone.
 */
import type { MatrixCell } from "../../core/report-model.js";
import { type ConnectPrivileges, PUBLIC_ROLE, privilegeKey } from "../../postgres/connect-privileges.js";
import type { LiveInstance } from "../../runtime/runtime.js";
import type { ServiceCredential } from "../shared/service-credentials.js";
import type { CatalogOnlyRow, OwnedTarget, ProvenEntry } from "./access-findings.js";
import { catalogOnlyCell, catalogVerdict, proveCell } from "./catalog-proof.js";
import { isOwn, type ProbeTarget } from "./probe-plan.js";
import type { ProbeResult } from "./probe.js";

export function probeKey(identity: string, target: ProbeTarget): string {
  return `${identity}\0${target.instance.name}\0${target.database}`;
}

export interface CredentialRows {
  /** The foreign cells, both proofs read. */
  readonly entries: ProvenEntry[];
  readonly cells: MatrixCell[];
}

/** `withInstance`: the product has several instances, so each cell names the one its database lives on. */
export function credentialRows(
  holders: readonly ServiceCredential[],
  targets: readonly OwnedTarget[],
  homes: ReadonlyMap<string, LiveInstance | undefined>,
  results: ReadonlyMap<string, ProbeResult>,
  privileges: ReadonlyMap<string, ConnectPrivileges>,
  rightful: (target: OwnedTarget, role: string) => boolean,
  withInstance: boolean,
): CredentialRows {
  const entries: ProvenEntry[] = [];
  const cells: MatrixCell[] = [];
  for (const holder of holders) {
    for (const target of targets) {
      const base = { credentialOf: holder.service.key, database: target.database, ...(withInstance && { instance: target.instance.name }) };
      if (isOwn(holder, target, homes)) {
        cells.push({ ...base, outcome: "own" });
        continue;
      }
      const result = results.get(probeKey(holder.identity, target));
      const catalog = catalogVerdict(privileges.get(target.instance.name), holder.user, target.database);
      const isRightful = rightful(target, holder.user);
      const proven = proveCell(base, holder.user, result, catalog, isRightful);
      entries.push({ holder, target, proven, result, rightful: isRightful });
      cells.push(proven.cell);
    }
  }
  return { entries, cells };
}

export interface CatalogRows {
  readonly rows: CatalogOnlyRow[];
  /** Service databases PUBLIC may connect to. */
  readonly publicOpen: OwnedTarget[];
  readonly cells: MatrixCell[];
}

/**
 * `roles`: per instance, the LOGIN roles to show (no credential uses them; neither the admin nor a
 * superuser). A role's own databases: those it owns or that bear its name; failing both, those
 * granted to it directly.
 */
export function catalogRows(
  roles: ReadonlyMap<string, readonly string[]>,
  targets: readonly OwnedTarget[],
  privileges: ReadonlyMap<string, ConnectPrivileges>,
  withInstance: boolean,
): CatalogRows {
  const rows: CatalogOnlyRow[] = [];
  const cells: MatrixCell[] = [];
  const publicOpen: OwnedTarget[] = [];
  const byInstance = new Map<string, OwnedTarget[]>();
  for (const target of targets) byInstance.set(target.instance.name, [...(byInstance.get(target.instance.name) ?? []), target]);
  for (const [instance, onInstance] of byInstance) {
    const catalog = privileges.get(instance);
    if (!catalog) continue;
    const base = (row: string, target: OwnedTarget, role: string) => ({ credentialOf: row, role, database: target.database, ...(withInstance && { instance }) });
    for (const role of roles.get(instance) ?? []) {
      const named = onInstance.filter((target) => catalog.databases.get(target.database)?.owner === role || target.database === role);
      const own = named.length > 0 ? named : onInstance.filter((target) => catalog.cells.get(privilegeKey(target.database, role))?.causes.some((cause) => cause.kind === "grant"));
      const breaches: CatalogOnlyRow["breaches"][number][] = [];
      for (const target of onInstance) {
        const verdict = catalogVerdict(catalog, role, target.database)!;
        const isOwn = own.includes(target);
        cells.push(catalogOnlyCell(base(`role ${role}`, target, role), verdict, isOwn));
        if (verdict.allowed && !isOwn) breaches.push({ target, verdict });
      }
      rows.push({ role, service: own.length === 1 ? own[0]!.owner : undefined, breaches });
    }
    for (const target of onInstance) {
      const cell = catalog.cells.get(privilegeKey(target.database, PUBLIC_ROLE));
      const allowed = cell?.allowed === true;
      const why = cell === undefined ? `database "${target.database}" does not exist (or accepts no connections)` : allowed ? "PUBLIC has CONNECT" : "PUBLIC has no CONNECT";
      cells.push(catalogOnlyCell(base(PUBLIC_ROLE, target, PUBLIC_ROLE), { allowed, causes: allowed ? [{ kind: "public" }] : [], why }, false));
      if (allowed) publicOpen.push(target);
    }
  }
  return { rows, publicOpen, cells };
}
