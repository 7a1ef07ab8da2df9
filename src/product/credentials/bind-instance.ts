/**
 * The disambiguator of every credential form: its host. A credential belongs to the PostgreSQL
 * instance its host names inside the compose network (service name, `container_name`, `hostname`,
 * network aliases). `localhost` and names of nothing are reported, never guessed: inside a
 * container `localhost` is that container.
 */
import type { PostgresInstance } from "../../compose-file/postgres-instances.js";
import type { CredentialProblem, DeclaredCredential } from "./declared-credential.js";

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|::1|0\.0\.0\.0)$/i;

export function bindToInstance(credential: DeclaredCredential, instances: readonly PostgresInstance[]): { credential: DeclaredCredential; problem?: CredentialProblem } {
  const host = credential.host.toLowerCase();
  const instance = instances.find((candidate) => candidate.aliases.some((alias) => alias.toLowerCase() === host));
  const hostField = credential.fields.host ?? credential.fields.url ?? credential.source;
  const at = { service: credential.service, file: hostField.file, line: hostField.line, variables: [hostField.variable] };
  const names = instances.map((candidate) => candidate.name).join(", ") || "none";
  if (!instance) {
    const why = LOOPBACK.test(host)
      ? `which inside the service's container is the container itself, not a PostgreSQL service (${names})`
      : `which is no PostgreSQL service of the compose file (${names})`;
    return { credential, problem: { ...at, kind: "unknown-host", reason: `${hostField.variable} (${hostField.file}:${hostField.line}) names host "${credential.host}", ${why}` } };
  }
  const bound = { ...credential, instance: instance.name };
  if (credential.port === instance.networkPort) return { credential: bound };
  const portField = credential.fields.port ?? hostField;
  return {
    credential: bound,
    problem: {
      ...at,
      kind: "wrong-port",
      reason: `${portField.variable} (${portField.file}:${portField.line}) names port ${credential.port} of "${instance.name}", which listens on ${instance.networkPort} inside the network`,
      variables: [...new Set([hostField.variable, portField.variable])],
    },
  };
}
