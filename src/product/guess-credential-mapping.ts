import type { ComposeService } from "../compose-file/model.js";
import type { PostgresInstance } from "../compose-file/postgres-instances.js";
import type { CredentialMapping } from "../registry/model.js";

/** A mapping read off variable names, with the variable whose value names the instance. */
export interface GuessedMapping {
  readonly mapping: CredentialMapping;
  /** The variable whose value is a PostgreSQL instance's name. */
  readonly hostVariable: string;
  readonly instance: string;
}

/** Last words of a variable name for each part, beside the host variable's family (`DB_SERVER` → `DB_…`). */
const PART_WORDS: ReadonlyArray<readonly [keyof CredentialMapping, RegExp]> = [
  ["port", /_PORT$/],
  ["database", /_(CATALOG|NAME|DATABASE|DB|DBNAME|SCHEMA_NAME)$/],
  ["user", /_(LOGIN|USER|USERNAME|UID|ROLE)$/],
  ["password", /_(PASSWORD|PASS|PWD)$/],
];

/**
 * For zero-config only: a service none of the credential reader's forms matched, but one of whose
 * variables is set to a PostgreSQL instance's name (`DB_SERVER=db`), talks to that database under
 * names no convention covers (`DB_CATALOG`, `DB_ADMIN_LOGIN`). Its mapping is read off the words
 * its variables end with, within the host variable's family (the words before its first `_`). A
 * guess is only made when the database and the user are both found; the inference reports it, and
 * `init` writes it for the team to confirm. Calling the service stateless instead would leave its
 * credential untested.
 */
export function guessCredentialMapping(service: ComposeService, instances: readonly PostgresInstance[]): GuessedMapping | undefined {
  const names = [...service.environment.keys()];
  for (const hostVariable of names) {
    const value = service.environment.get(hostVariable)!.value.trim().toLowerCase();
    const instance = instances.find((candidate) => candidate.aliases.some((alias) => alias.toLowerCase() === value));
    if (!instance) continue;
    const family = hostVariable.includes("_") ? hostVariable.slice(0, hostVariable.indexOf("_") + 1) : "";
    const mapping: { -readonly [K in keyof CredentialMapping]: CredentialMapping[K] } = { host: hostVariable };
    for (const [part, words] of PART_WORDS) {
      const match = names.find((name) => name !== hostVariable && name.startsWith(family) && words.test(name));
      if (match) mapping[part] = match;
    }
    if (mapping.database && mapping.user) return { mapping, hostVariable, instance: instance.name };
  }
  return undefined;
}
