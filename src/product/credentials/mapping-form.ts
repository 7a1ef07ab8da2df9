/**
 * The credential a registry entry's `credentials:` names variable by variable, for layouts no
 * common name covers (e.g. `DB_SERVER`, `DB_CATALOG`, `DB_ADMIN_LOGIN`). `url` may name a
 * postgres://, jdbc:postgresql:// or libpq keyword value; the other names override its parts.
 */
import { isPostgresUrl, parseDatabaseUrl } from "../../postgres/database-url.js";
import { isJdbcPostgresUrl, parseJdbcUrl } from "../../postgres/jdbc-url.js";
import { parseKeywordConninfo } from "../../postgres/keyword-conninfo.js";
import type { CredentialMapping } from "../../registry/model.js";
import type { CredentialDraft } from "./credential-draft.js";
import type { CredentialField, CredentialPart, CredentialProblem } from "./declared-credential.js";
import type { EnvEntry, ServiceEnvironment } from "./service-environment.js";

/** Where the mapping itself is written, for problems about it. */
export interface MappingLocation {
  readonly file: string;
  readonly line: number;
}

export function mappingDraft(
  service: string,
  mapping: CredentialMapping,
  env: ServiceEnvironment,
  at: MappingLocation,
): { drafts: CredentialDraft[]; problems: CredentialProblem[] } {
  const named = Object.entries(mapping).filter((entry): entry is [CredentialPart, string] => typeof entry[1] === "string");
  const unset = named.filter(([, variable]) => !env.get(variable));
  if (unset.length > 0) {
    const composeName = env.composeService.name;
    return {
      drafts: [],
      problems: [
        {
          service,
          kind: "mapping",
          reason: `the registry's credentials of ${service} name ${unset.map(([part, variable]) => `${variable} (${part})`).join(", ")}, which compose service "${composeName}" does not set`,
          file: at.file,
          line: at.line,
          variables: unset.map(([, variable]) => variable),
        },
      ],
    };
  }
  const entry = (part: CredentialPart): EnvEntry | undefined => (mapping[part] ? env.get(mapping[part]) : undefined);
  env.consume(...named.map(([, variable]) => variable));
  const fields: Partial<Record<CredentialPart, CredentialField>> = {};
  for (const [part] of named) fields[part] = entry(part)!.field;

  let fromUrl: Omit<CredentialDraft, "form" | "fields" | "source"> = {};
  const url = entry("url");
  if (url) {
    const parsed = parseUrlValue(url.value);
    if (!parsed) {
      return {
        drafts: [],
        problems: [
          {
            service,
            kind: "invalid",
            reason: `${url.name} (${url.field.file}:${url.field.line}), named by the registry's credentials of ${service}, is not a postgres://, jdbc:postgresql:// or libpq keyword connection string`,
            file: url.field.file,
            line: url.field.line,
            variables: [url.name],
          },
        ],
      };
    }
    fromUrl = parsed;
  }
  const draft: CredentialDraft = {
    form: "mapping",
    host: entry("host")?.value ?? fromUrl.host,
    port: entry("port")?.value ?? fromUrl.port,
    database: entry("database")?.value ?? fromUrl.database,
    user: entry("user")?.value ?? fromUrl.user,
    password: entry("password")?.value ?? fromUrl.password,
    ...(fromUrl.params && { params: fromUrl.params }),
    fields,
    source: fields.url ?? fields.user ?? fields.database ?? fields.host ?? Object.values(fields)[0] ?? { variable: "credentials", file: at.file, line: at.line },
  };
  return { drafts: [draft], problems: [] };
}

function parseUrlValue(value: string): Omit<CredentialDraft, "form" | "fields" | "source"> | undefined {
  if (isPostgresUrl(value)) {
    const url = parseDatabaseUrl(value);
    return url && { host: url.host, port: String(url.port), database: url.database, user: url.user || undefined, password: url.password, params: url.params };
  }
  if (isJdbcPostgresUrl(value)) {
    const url = parseJdbcUrl(value);
    return url && { host: url.host, port: String(url.port), database: url.database, user: url.user, password: url.password };
  }
  const keywords = parseKeywordConninfo(value);
  return keywords && { host: keywords.host, port: keywords.port, database: keywords.dbname, user: keywords.user, password: keywords.password };
}
