/**
 * What a failed connection attempt means. The live checks must tell "the server said no" (proof of
 * isolation, or a broken credential) from "there was no answer" (the check could not look at all):
 * mixing the two up turns a dead server into a passing isolation check.
 */

/** The SQLSTATEs the checks name; https://www.postgresql.org/docs/16/errcodes-appendix.html */
export const SQLSTATE = {
  /** `permission denied for database`: no CONNECT privilege. */
  insufficientPrivilege: "42501",
  /** pg_hba.conf rejects the connection, or has no entry for it. */
  invalidAuthorization: "28000",
  /** Password authentication failed (also reported for a role that does not exist). */
  invalidPassword: "28P01",
  /** The database does not exist. */
  invalidCatalogName: "3D000",
  /** `database is not currently accepting connections` (datallowconn = false, e.g. template0). */
  objectNotInPrerequisiteState: "55000",
  /** Too many connections (server-wide, per role or per database). */
  tooManyConnections: "53300",
  /** The server is starting up or shutting down. */
  cannotConnectNow: "57P03",
} as const;

export type ConnectFailureKind =
  /** The server answered and refused: the SQLSTATE says why. */
  | "refused"
  /** The server answered but is momentarily full or starting: worth another try. */
  | "busy"
  /** No usable answer: nothing listening, timeout, connection cut, server shutting down. */
  | "unreachable";

export interface ConnectFailure {
  readonly kind: ConnectFailureKind;
  /** SQLSTATE for server errors, the errno code (`ECONNREFUSED`) for network ones. */
  readonly code?: string;
  /** A short phrase for reports and matrix cells, e.g. `no CONNECT privilege (42501)`. Never a password. */
  readonly reason: string;
}

const REFUSAL_REASONS: Readonly<Record<string, string>> = {
  [SQLSTATE.insufficientPrivilege]: "no CONNECT privilege",
  [SQLSTATE.invalidAuthorization]: "rejected by pg_hba.conf",
  [SQLSTATE.invalidPassword]: "password authentication failed",
  [SQLSTATE.invalidCatalogName]: "database does not exist",
  [SQLSTATE.objectNotInPrerequisiteState]: "database does not accept connections",
};

/** Not a SQLSTATE: the client had no password to answer the server's password request with. */
export const NO_PASSWORD = "no-password";
export const NO_PASSWORD_REASON = "the credential has no password and the server asks for one";
/** pg's own wording for it (`SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string`): never shown. */
export const CLIENT_HAS_NO_PASSWORD = /client password must be a (non-empty )?string/;

const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "EPIPE"]);

/** SQLSTATE class 08 (connection exception) and 57P01/57P02 (shutdown, crash) mean nobody is answering. */
const UNREACHABLE_SQLSTATE = /^(08...|57P0[12])$/;

export function classifyConnectError(error: unknown): ConnectFailure {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  if (code !== undefined && code in REFUSAL_REASONS) {
    return { kind: "refused", code, reason: `${REFUSAL_REASONS[code]} (${code})` };
  }
  if (code === SQLSTATE.tooManyConnections || code === SQLSTATE.cannotConnectNow) {
    return { kind: "busy", code, reason: `${message} (${code})` };
  }
  if (code !== undefined && (NETWORK_CODES.has(code) || UNREACHABLE_SQLSTATE.test(code))) {
    return { kind: "unreachable", code, reason: `${message} (${code})` };
  }
  // pg refuses client side when the server asks for a password the credential does not have.
  if (code === NO_PASSWORD || CLIENT_HAS_NO_PASSWORD.test(message)) {
    return { kind: "refused", code: NO_PASSWORD, reason: NO_PASSWORD_REASON };
  }
  if (/timeout|terminated|ended unexpectedly|closed/i.test(message)) {
    return { kind: "unreachable", ...(code !== undefined && { code }), reason: message };
  }
  // Any other server error during startup (e.g. an unknown role option) is a refusal the SQLSTATE names.
  if (code !== undefined && /^[0-9A-Z]{5}$/.test(code)) return { kind: "refused", code, reason: `${message} (${code})` };
  return { kind: "unreachable", ...(code !== undefined && { code }), reason: message };
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null || !("code" in error)) return undefined;
  const code = (error as { code: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

/** True for any error that means the server stopped answering (at connect or mid-session). */
export function isUnreachable(error: unknown): boolean {
  if (error instanceof Error && error.name === "PostgresUnreachableError") return true;
  return classifyConnectError(error).kind === "unreachable";
}
