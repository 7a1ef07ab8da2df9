/**
 * Every PostgreSQL credential a compose service holds, read from its resolved environment in the
 * forms real repositories use, in this precedence (a variable used by one form is not reused):
 * the registry's mapping (when present, nothing else is guessed) > `DATABASE_URL` > URL-named
 * variables and any postgres:// value > JDBC URL + sibling user/password > split families. Each is
 * bound to the instance its host names. What cannot be read or bound is a problem, never dropped.
 */
import type { ComposeService } from "../../compose-file/model.js";
import type { PostgresInstance } from "../../compose-file/postgres-instances.js";
import { registerSecret } from "../../core/secrets.js";
import { isStateful, locationOf, type Service } from "../../registry/model.js";
import { bindToInstance } from "./bind-instance.js";
import { completeDraft, type CredentialDraft } from "./credential-draft.js";
import type { CredentialProblem, DeclaredCredential, ServiceCredentials } from "./declared-credential.js";
import { jdbcDrafts } from "./jdbc-form.js";
import { mappingDraft } from "./mapping-form.js";
import { ServiceEnvironment } from "./service-environment.js";
import { splitDrafts } from "./split-form.js";
import { urlDrafts } from "./url-form.js";

export interface CredentialSources {
  /** Every PostgreSQL instance of the compose file. */
  readonly instances: readonly PostgresInstance[];
  /** Repo-relative registry file, for problems about its mapping. */
  readonly registryFile: string;
}

const SEEN_LIMIT = 12;

export async function readServiceCredentials(composeService: ComposeService, service: Service, sources: CredentialSources): Promise<ServiceCredentials> {
  // The server's own POSTGRES_* are its bootstrap account, known as the admin: not a client's credential.
  if (sources.instances.some((instance) => instance.service === composeService)) return { credentials: [], problems: [] };
  const env = new ServiceEnvironment(composeService);
  const read: Array<{ drafts: CredentialDraft[]; problems: CredentialProblem[] }> = service.credentials
    ? [mappingDraft(service.key, service.credentials, env, locationOf({ file: sources.registryFile }, service, "credentials"))]
    : [urlDrafts(service.key, env), jdbcDrafts(service.key, env), await splitDrafts(service.key, env)];

  const credentials: DeclaredCredential[] = [];
  const problems: CredentialProblem[] = read.flatMap((form) => form.problems);
  const seen = new Set<string>();
  for (const draft of read.flatMap((form) => form.drafts)) {
    const complete = completeDraft(service.key, draft);
    if ("kind" in complete) {
      problems.push(complete);
      continue;
    }
    const { credential, problem } = bindToInstance(complete, sources.instances);
    if (problem) problems.push(problem);
    registerSecret(credential.password);
    // The same credential written twice (a URL and the same parts split) is one credential.
    const identity = JSON.stringify([credential.host, credential.port, credential.user, credential.password ?? null, credential.database]);
    if (seen.has(identity)) continue;
    seen.add(identity);
    credentials.push(credential);
  }
  // A family missing a part beside a complete credential is noise (a leftover DB_NAME), not a credential.
  const kept = credentials.length > 0 ? problems.filter((problem) => problem.kind !== "incomplete") : problems;
  if (isStateful(service) && credentials.length === 0 && kept.length === 0) {
    kept.push(noCredential(composeService, service));
  }
  return { credentials, problems: kept };
}

function noCredential(composeService: ComposeService, service: Service): CredentialProblem {
  const names = [...composeService.environment.keys()];
  const seen = names.length === 0 ? "its environment is empty" : `variables seen: ${names.slice(0, SEEN_LIMIT).join(", ")}${names.length > SEEN_LIMIT ? `, … (${names.length} in all)` : ""}`;
  return {
    service: service.key,
    kind: "no-credential",
    reason:
      `compose service "${composeService.name}" holds no PostgreSQL credential in a form this check reads (${seen}); ` +
      `name its variables in the registry's \`credentials\` (url, host, port, database, user, password)`,
    // The compose file that wrote its `environment:` (an override or an `extends:` file), else its own key's.
    file: composeService.environmentLine === undefined ? composeService.file : (composeService.environmentFile ?? composeService.file),
    line: composeService.environmentLine ?? composeService.line,
    variables: names,
  };
}
