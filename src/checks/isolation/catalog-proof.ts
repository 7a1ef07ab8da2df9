/**
 * The two proofs of each matrix cell, put side by side: what the login attempt answered and what the
 * catalog (read as the admin) allows the credential's role. A cell is `connected` when either proves
 * a way in, `refused` when a proof keeps it out, and `error` when they contradict each other (never a
 * green cell nobody proved). What the catalog allows a role in a database that is not its own is a
 * breach even when the login could not be tried or was refused for its password.
 */
import type { MatrixCell } from "../../core/report-model.js";
import { type ConnectCause, type ConnectPrivileges, privilegeKey } from "../../postgres/connect-privileges.js";
import { isCredentialRefusal } from "../../postgres/login-diagnosis.js";
import type { ProbeResult } from "./probe.js";

export interface CatalogVerdict {
  readonly allowed: boolean;
  /** Every path that allows it (empty when denied). */
  readonly causes: readonly ConnectCause[];
  /** One phrase: the causes, or why it is denied. */
  readonly why: string;
}

/** The catalog's answer for `role` at `database`; `undefined` when that instance's catalog was not read. */
export function catalogVerdict(privileges: ConnectPrivileges | undefined, role: string, database: string): CatalogVerdict | undefined {
  if (!privileges) return undefined;
  if (!privileges.databases.has(database)) return { allowed: false, causes: [], why: `database "${database}" does not exist (or accepts no connections)` };
  const facts = privileges.roles.get(role);
  if (!facts) return { allowed: false, causes: [], why: `role "${role}" does not exist` };
  if (!facts.canLogin) return { allowed: false, causes: [], why: `role "${role}" is NOLOGIN` };
  const cell = privileges.cells.get(privilegeKey(database, role));
  if (!cell?.allowed) return { allowed: false, causes: [], why: "no CONNECT privilege" };
  return { allowed: true, causes: cell.causes, why: cell.causes.map(describeCause).join(", ") || "allowed" };
}

export function describeCause(cause: ConnectCause): string {
  switch (cause.kind) {
    case "superuser":
      return "superuser";
    case "owner":
      return "owns it";
    case "member-of-owner":
      return `member of its owner "${cause.granted}"${cause.via === cause.granted ? "" : ` (through "${cause.via}")`}`;
    case "public":
      return "PUBLIC has CONNECT";
    case "grant":
      return "granted CONNECT";
    case "membership":
      return `member of "${cause.granted}"${cause.via === cause.granted ? "" : ` (through "${cause.via}")`}, which has CONNECT`;
  }
}

/** What one cell of a credential row is, with both proofs; `mismatch` when they contradict each other. */
export interface ProvenCell {
  readonly cell: MatrixCell;
  /** The credential gets in: by login, or the catalog allows its role in a database that is not its own. */
  readonly breach: boolean;
  readonly catalog: CatalogVerdict | undefined;
  /** Why login and catalog disagree; a finding. */
  readonly mismatch?: string;
}

/**
 * `rightful`: the role is one the database's own service uses (or its owner), so the catalog
 * allowing it is the database's own access, not a breach; the login alone says whether this
 * credential gets in.
 */
export function proveCell(base: Omit<MatrixCell, "outcome">, role: string, result: ProbeResult | undefined, catalog: CatalogVerdict | undefined, rightful: boolean): ProvenCell {
  const login = result === undefined ? {} : { login: result.connected ? ("connected" as const) : ("refused" as const) };
  const fromCatalog = catalog === undefined ? {} : { catalog: catalog.allowed ? ("allowed" as const) : ("denied" as const), cause: catalog.why };
  const cell = { ...base, ...login, ...fromCatalog };
  const loginReason = result && !result.connected ? result.failure.reason : undefined;
  // A refusal on authentication or pg_hba says nothing about grants; one for want of privilege (or database) does.
  const loginKeepsOut = result !== undefined && !result.connected && !isCredentialRefusal(result.failure);

  if (result?.connected) {
    if (catalog && !catalog.allowed) {
      return {
        cell: { ...cell, outcome: "connected", proof: "login", reason: `connected, although the catalog says ${catalog.why}` },
        breach: true,
        catalog,
        mismatch: `the login got in, but the catalog says ${catalog.why}`,
      };
    }
    return { cell: { ...cell, outcome: "connected", proof: catalog ? "login+catalog" : "login" }, breach: true, catalog };
  }
  if (catalog?.allowed && loginKeepsOut) {
    return {
      cell: { ...cell, outcome: "error", reason: `login refused (${loginReason}), but the catalog allows role "${role}" (${catalog.why})` },
      breach: false,
      catalog,
      mismatch: `the login was refused (${loginReason}), but the catalog allows role "${role}" (${catalog.why})`,
    };
  }
  if (catalog?.allowed && !rightful) {
    const how = result === undefined ? "" : `; the login was refused (${loginReason}), which proves nothing about grants`;
    return { cell: { ...cell, outcome: "connected", proof: "catalog", reason: `the catalog allows role "${role}": ${catalog.why}${how}` }, breach: true, catalog };
  }
  // Any refusal proves this credential, as held, stays out; the catalog proves its role does.
  const refused = result !== undefined && !result.connected;
  if (catalog && !catalog.allowed) {
    return {
      cell: { ...cell, outcome: "refused", proof: refused ? "login+catalog" : "catalog", reason: loginReason ?? catalog.why },
      breach: false,
      catalog,
    };
  }
  if (refused) {
    // The catalog allows the role here (it is the database's own) or was not read: the login alone keeps this credential out.
    const allowedBy = catalog?.allowed ? `; the catalog allows role "${role}" (${catalog.why})` : "";
    return { cell: { ...cell, outcome: "refused", proof: "login", reason: `${loginReason}${allowedBy}` }, breach: false, catalog };
  }
  return { cell: { ...cell, outcome: "error", reason: "not attempted, and no catalog was read" }, breach: false, catalog };
}

/** A catalog-only cell (a LOGIN role no credential uses, or PUBLIC). */
export function catalogOnlyCell(base: Omit<MatrixCell, "outcome">, verdict: CatalogVerdict, own: boolean): MatrixCell {
  if (own) return { ...base, outcome: "own", catalog: verdict.allowed ? "allowed" : "denied", cause: verdict.why };
  return { ...base, outcome: verdict.allowed ? "connected" : "refused", catalog: verdict.allowed ? "allowed" : "denied", cause: verdict.why, proof: "catalog", reason: verdict.why };
}
