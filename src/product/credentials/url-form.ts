/**
 * Credentials written as one value: `DATABASE_URL`, then variables named like a connection URL
 * (`*_DATABASE_URL`, `*_DB_URL`, `*_DSN`, …, e.g. HedgeDoc's `CMD_DB_URL`, PostgREST's
 * `PGRST_DB_URI`), then any other variable whose value is a postgres:// URL, whatever its name.
 * libpq keyword strings (`host=… dbname=…`) are read under the URL-like names only.
 */
import { isPostgresUrl, parseDatabaseUrl } from "../../postgres/database-url.js";
import { parseKeywordConninfo } from "../../postgres/keyword-conninfo.js";
import type { CredentialDraft } from "./credential-draft.js";
import type { CredentialProblem } from "./declared-credential.js";
import type { EnvEntry, ServiceEnvironment } from "./service-environment.js";

const URL_LIKE_NAME = /(?:^|_)(?:DATABASE_URL|DATABASE_URI|DB_URL|DB_URI|DSN|CONNECTION_STRING|CONN_STRING|CONNSTR|CONNECTION_URL|CONNECTION_URI)$/;

export function urlDrafts(service: string, env: ServiceEnvironment): { drafts: CredentialDraft[]; problems: CredentialProblem[] } {
  const drafts: CredentialDraft[] = [];
  const problems: CredentialProblem[] = [];
  const entries = env.available();
  const ordered = [
    ...entries.filter((entry) => entry.name === "DATABASE_URL"),
    ...entries.filter((entry) => entry.name !== "DATABASE_URL" && URL_LIKE_NAME.test(entry.name)),
    ...entries.filter((entry) => entry.name !== "DATABASE_URL" && !URL_LIKE_NAME.test(entry.name) && isPostgresUrl(entry.value)),
  ];
  for (const entry of ordered) {
    const read = readUrl(service, entry);
    if (!read) continue;
    env.consume(entry.name);
    if ("kind" in read) problems.push(read);
    else drafts.push(read);
  }
  return { drafts, problems };
}

function readUrl(service: string, entry: EnvEntry): CredentialDraft | CredentialProblem | undefined {
  const fields = { url: entry.field };
  if (isPostgresUrl(entry.value)) {
    const url = parseDatabaseUrl(entry.value);
    if (!url) {
      return {
        service,
        kind: "invalid",
        reason: `${entry.name} (${entry.field.file}:${entry.field.line}) is not a postgres:// URL with a host and a valid port`,
        file: entry.field.file,
        line: entry.field.line,
        variables: [entry.name],
      };
    }
    return {
      form: "url",
      host: url.host,
      port: String(url.port),
      database: url.database,
      user: url.user,
      password: url.password,
      params: url.params,
      fields,
      source: entry.field,
    };
  }
  if (!URL_LIKE_NAME.test(entry.name)) return undefined;
  const keywords = parseKeywordConninfo(entry.value);
  if (!keywords) return undefined;
  return {
    form: "url",
    host: keywords.host,
    port: keywords.port,
    database: keywords.dbname,
    user: keywords.user,
    password: keywords.password,
    ...(keywords.sslmode !== undefined && { params: new Map([["sslmode", keywords.sslmode]]) }),
    fields,
    source: entry.field,
  };
}
