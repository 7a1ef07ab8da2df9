import type { CredentialField, CredentialForm, CredentialPart, CredentialProblem, DeclaredCredential } from "./declared-credential.js";

/** A credential as one form read it, before it is checked for completeness and bound to an instance. */
export interface CredentialDraft {
  readonly form: CredentialForm;
  readonly host?: string | undefined;
  /** As written; 5432 when absent. */
  readonly port?: string | undefined;
  readonly database?: string | undefined;
  readonly user?: string | undefined;
  readonly password?: string | undefined;
  readonly params?: ReadonlyMap<string, string>;
  readonly fields: Readonly<Partial<Record<CredentialPart, CredentialField>>>;
  readonly source: CredentialField;
}

const DEFAULT_PORT = 5432;

/**
 * The draft as a credential a client could use, with libpq's defaults (port 5432, database = user);
 * or the problem that keeps it from being one: no host (libpq would use a socket no other
 * container shares), no user (libpq would use the OS user, unknowable here), a port that is not one.
 */
export function completeDraft(service: string, draft: CredentialDraft): DeclaredCredential | CredentialProblem {
  const variables = Object.values(draft.fields).map((field) => field.variable);
  const missing = [!draft.host && "host", !draft.user && "user"].filter((part): part is string => !!part);
  const at = { service, file: draft.source.file, line: draft.source.line, variables: [...new Set(variables)] };
  if (missing.length > 0) {
    return { ...at, kind: "incomplete", reason: `the credential in ${describeFields(draft)} names no ${missing.join(" and no ")}` };
  }
  const port = draft.port === undefined || draft.port === "" ? DEFAULT_PORT : Number(draft.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    const where = draft.fields.port ?? draft.source;
    return { ...at, kind: "invalid", reason: `${where.variable} (${where.file}:${where.line}) is not a port number: "${draft.port}"` };
  }
  return {
    service,
    form: draft.form,
    user: draft.user!,
    ...(draft.password !== undefined && { password: draft.password }),
    host: draft.host!,
    port,
    database: draft.database || draft.user!,
    ...(draft.params && draft.params.size > 0 && { params: draft.params }),
    fields: draft.fields,
    source: draft.source,
  };
}

/** "DB_HOST, DB_USER (services/x/.env:2–5)"-like text naming the variables of a draft and where they are. */
export function describeFields(draft: Pick<CredentialDraft, "fields" | "source">): string {
  const fields = [...new Map(Object.values(draft.fields).map((field) => [field.variable, field])).values()];
  if (fields.length === 0) return `${draft.source.variable} (${draft.source.file}:${draft.source.line})`;
  return fields.map((field) => `${field.variable} (${field.file}:${field.line})`).join(", ");
}
