/**
 * Why a login was refused, asked of the server as its admin. PostgreSQL answers `28P01 password
 * authentication failed` on purpose for a role that does not exist, a role without a password and a
 * wrong password alike (it must not tell a stranger which roles exist); the admin may know, so the
 * finding says which one it is instead of the bare SQLSTATE.
 */
import type pg from "pg";
import { NO_PASSWORD, SQLSTATE, type ConnectFailure } from "./sqlstate.js";

/** What the admin catalog says about one role, as far as a refused login needs it. */
export interface RoleLoginFacts {
  readonly exists: boolean;
  readonly canLogin: boolean;
  /** `undefined`: not readable (pg_authid needs a superuser admin). */
  readonly hasPassword: boolean | undefined;
  /** `VALID UNTIL` in the past. */
  readonly expired: boolean;
}

const ROLE_SQL = `
  select r.rolname as name, r.rolcanlogin as "canLogin", coalesce(r.rolvaliduntil < now(), false) as expired
    from pg_roles r
   where r.rolname = any($1::text[])`;

// pg_authid holds the password hashes: only a superuser reads it. Only whether there is one is asked.
const PASSWORD_SQL = `select rolname as name, rolpassword is not null as "hasPassword" from pg_authid where rolname = any($1::text[])`;

/** The facts of every role named (a role absent from the answer does not exist). */
export async function readRoleLoginFacts(admin: pg.ClientBase, roles: readonly string[]): Promise<Map<string, RoleLoginFacts>> {
  const names = [...new Set(roles)];
  const facts = new Map<string, RoleLoginFacts>(names.map((name) => [name, { exists: false, canLogin: false, hasPassword: undefined, expired: false }]));
  if (names.length === 0) return facts;
  const found = await admin.query<{ name: string; canLogin: boolean; expired: boolean }>(ROLE_SQL, [names]);
  let passwords: Map<string, boolean> | undefined;
  try {
    passwords = new Map((await admin.query<{ name: string; hasPassword: boolean }>(PASSWORD_SQL, [names])).rows.map((row) => [row.name, row.hasPassword]));
  } catch {
    passwords = undefined;
  }
  for (const row of found.rows) {
    facts.set(row.name, { exists: true, canLogin: row.canLogin, expired: row.expired, hasPassword: passwords?.get(row.name) });
  }
  return facts;
}

/** Refusals whose cause the catalog can tell apart: authentication, pg_hba, and the client's missing password. */
export function isCredentialRefusal(failure: ConnectFailure): boolean {
  return failure.code === SQLSTATE.invalidPassword || failure.code === SQLSTATE.invalidAuthorization || failure.code === NO_PASSWORD;
}

/**
 * The refusal said plainly: the role does not exist, cannot log in, has no password, its password
 * expired, or the password is wrong. `facts` undefined (the catalog could not be asked): the
 * server's own reason. Never the password.
 */
export function explainLoginFailure(user: string, failure: ConnectFailure, facts: RoleLoginFacts | undefined): string {
  if (!facts || !isCredentialRefusal(failure)) return failure.reason;
  const role = `role "${user}"`;
  if (!facts.exists) return `${role} does not exist on the server (no init script creates it)`;
  if (!facts.canLogin) return `${role} exists but is NOLOGIN, so it cannot log in`;
  if (failure.code === NO_PASSWORD) {
    return facts.hasPassword === false ? `${failure.reason}, and ${role} has no password either, so no password can log it in` : failure.reason;
  }
  if (failure.code === SQLSTATE.invalidAuthorization) return `${failure.reason}: the server's pg_hba.conf refuses ${role} here, whatever the password`;
  if (facts.hasPassword === false) return `${role} has no password, so no password can log it in`;
  if (facts.expired) return `the password of ${role} has expired (VALID UNTIL is past), so password authentication fails (28P01)`;
  if (facts.hasPassword === true) return `${failure.reason}: ${role} exists and has a password, so the password is wrong`;
  return `${failure.reason}: the password is wrong, or ${role} has no password (the admin cannot read pg_authid to tell which)`;
}
