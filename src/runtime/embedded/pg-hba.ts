/**
 * The client-authentication file of the embedded server, derived from the one `initdb` wrote.
 *
 * The official image runs initdb without `--auth` (every `local` and loopback `host` line is
 * `trust`) and appends `host all all all <POSTGRES_HOST_AUTH_METHOD or scram-sha-256>`. The checks
 * play the part of the other containers, which reach the server from another host, so here they
 * must meet exactly that appended line: the loopback `host` lines are dropped (otherwise a TCP
 * connection from 127.0.0.1 would be trusted and a wrong password accepted), `local` lines stay
 * for the init phase over the socket. `all` as the address matches IPv4 and IPv6 alike.
 */
export function containerHba(initdbHba: string, hostAuthMethod: string): string {
  const kept = initdbHba
    .split("\n")
    .filter((line) => !/^\s*host(ssl|nossl|gssenc|nogssenc)?\s/.test(line));
  return [
    ...kept,
    "",
    "# civic-conformance: the official postgres image's rule for connections from other hosts.",
    `host all all all ${hostAuthMethod}`,
    "",
  ].join("\n");
}
