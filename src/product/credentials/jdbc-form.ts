/**
 * Credentials written as a JDBC (or R2DBC) URL with the user and password beside it in variables of
 * the same stem: Spring's `SPRING_DATASOURCE_URL` + `_USERNAME` / `_PASSWORD`, Keycloak's `KC_DB_URL`
 * + `KC_DB_USERNAME`, Quarkus's `QUARKUS_DATASOURCE_JDBC_URL` + `QUARKUS_DATASOURCE_USERNAME`. A
 * sibling wins over a `user=`/`password=` property of the URL, as driver properties do.
 */
import { isJdbcPostgresUrl, parseJdbcUrl } from "../../postgres/jdbc-url.js";
import type { CredentialDraft } from "./credential-draft.js";
import type { CredentialField, CredentialProblem } from "./declared-credential.js";
import type { ServiceEnvironment } from "./service-environment.js";

const URL_SUFFIX = /(?:_JDBC)?_(?:URL|URI)$/;

export function jdbcDrafts(service: string, env: ServiceEnvironment): { drafts: CredentialDraft[]; problems: CredentialProblem[] } {
  const drafts: CredentialDraft[] = [];
  const problems: CredentialProblem[] = [];
  for (const entry of env.available()) {
    if (!isJdbcPostgresUrl(entry.value)) continue;
    env.consume(entry.name);
    const url = parseJdbcUrl(entry.value);
    if (!url) {
      problems.push({
        service,
        kind: "invalid",
        reason: `${entry.name} (${entry.field.file}:${entry.field.line}) is not a jdbc:postgresql:// URL with a valid port`,
        file: entry.field.file,
        line: entry.field.line,
        variables: [entry.name],
      });
      continue;
    }
    const stem = entry.name.replace(URL_SUFFIX, "");
    const sibling = (suffixes: readonly string[]) => {
      if (stem === entry.name) return undefined;
      for (const suffix of suffixes) {
        const found = env.isAvailable(`${stem}_${suffix}`) ? env.get(`${stem}_${suffix}`) : undefined;
        if (found) {
          env.consume(found.name);
          return found;
        }
      }
      return undefined;
    };
    const user = sibling(["USERNAME", "USER"]);
    const password = sibling(["PASSWORD"]);
    const fields: Partial<Record<"url" | "user" | "password", CredentialField>> = {
      url: entry.field,
      ...(user && { user: user.field }),
      ...(password && { password: password.field }),
    };
    drafts.push({
      form: "jdbc",
      host: url.host,
      port: String(url.port),
      database: url.database,
      user: user?.value ?? url.user,
      password: password?.value ?? url.password,
      // The URL's own user/password properties are parts, not parameters: they must not travel on.
      params: new Map([...url.params].filter(([key]) => key !== "user" && key !== "password")),
      fields,
      source: entry.field,
    });
  }
  return { drafts, problems };
}
