/**
 * A PostgreSQL credential a service holds, as its files declare it: the parts, the variables and
 * lines they are written on, and the instance its host names. What the live checks try, what the
 * static checks compare, and what findings and coverage point at.
 */

/** Where one part of a credential is written: the variable, and the file and line that set it (an env file's own line). */
export interface CredentialField {
  readonly variable: string;
  /** Repo-relative, forward slashes. */
  readonly file: string;
  readonly line: number;
}

export type CredentialPart = "url" | "host" | "port" | "database" | "user" | "password";

/**
 * `url`: one postgres:// (or libpq keyword) value; `jdbc`: a jdbc:/r2dbc: URL with its sibling
 * user/password variables; `split`: a family of variables (DB_HOST, DB_USER, …); `mapping`: the
 * variables the registry names (or, under the external runtime, the URL its config gives).
 */
export type CredentialForm = "url" | "jdbc" | "split" | "mapping";

export interface DeclaredCredential {
  /** Registry key of the service holding it. */
  readonly service: string;
  readonly form: CredentialForm;
  readonly user: string;
  /** `undefined` when the credential carries none. Never print it. */
  readonly password?: string;
  readonly host: string;
  readonly port: number;
  /** As the client would use it: libpq's default (the user name) when none is named. */
  readonly database: string;
  /** Other connection parameters it names (`sslmode`, Prisma's `schema`, …). */
  readonly params?: ReadonlyMap<string, string>;
  readonly fields: Readonly<Partial<Record<CredentialPart, CredentialField>>>;
  /** The line findings point at: the URL's line, or the user line of a split set (else its first). */
  readonly source: CredentialField;
  /** The compose name of the PostgreSQL instance its host names; `undefined` when the host names none. */
  readonly instance?: string;
}

/**
 * A credential that could not be read or bound, carried to the checks (which report it, e.g. as
 * `isolation/untested-credential`), never dropped.
 * `no-credential`: a stateful service holds none that could be read; `incomplete`: a URL or family
 * lacks a part (no user, no host, unreadable password file); `invalid`: a value does not parse;
 * `unknown-host`: its host names no PostgreSQL service; `wrong-port`: it names one on another port;
 * `mapping`: a variable the registry's mapping names is not set; `unknown-instance`: the registry's
 * `instance` names no PostgreSQL service.
 */
export interface CredentialProblem {
  readonly service: string;
  readonly kind: "no-credential" | "incomplete" | "invalid" | "unknown-host" | "wrong-port" | "mapping" | "unknown-instance";
  /** One sentence, naming the variables and where they are written; never a password. */
  readonly reason: string;
  /** Where to look: the variable's line, else the compose service's `environment:` (or its entry). */
  readonly file: string;
  readonly line: number;
  /** The variables involved. */
  readonly variables: readonly string[];
}

/** What one service holds: its credentials in precedence order (the first is its primary one), and what could not be read. */
export interface ServiceCredentials {
  readonly credentials: readonly DeclaredCredential[];
  readonly problems: readonly CredentialProblem[];
}

/** `file:line` of a field, for messages. */
export function whereWritten(field: CredentialField): string {
  return `${field.file}:${field.line}`;
}
