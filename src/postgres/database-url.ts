/**
 * PostgreSQL connection URLs (`postgres://` / `postgresql://`, libpq's URI form), parsed by hand
 * rather than with WHATWG `URL`: compose-interpolated passwords are often not percent-encoded
 * (`#`, `/`, spaces), and `URL` would cut them at a `#` or a `/`. Never put `password` in a message;
 * `redactUrl` masks it.
 */

export interface DatabaseUrl {
  readonly scheme: "postgres" | "postgresql";
  /** Percent-decoded; `""` when the URL names none (libpq then uses the OS user). */
  readonly user: string;
  /** Percent-decoded; `undefined` when the URL has none. */
  readonly password: string | undefined;
  readonly host: string;
  /** 5432 when the URL names none, as libpq does. */
  readonly port: number;
  /** Percent-decoded; `""` when the URL names none (libpq then uses the user name). */
  readonly database: string;
  readonly params: ReadonlyMap<string, string>;
}

const POSTGRES_URL = /^(postgres|postgresql):\/\//i;
const DEFAULT_PORT = 5432;

export function isPostgresUrl(text: string): boolean {
  return POSTGRES_URL.test(text.trim());
}

interface UrlParts {
  scheme: string;
  /** Raw `user[:password]`, still percent-encoded, or undefined. */
  userinfo: string | undefined;
  hostPort: string;
  /** Raw path after the `/`, or undefined when there is no `/`. */
  path: string | undefined;
  /** Raw query after the `?`, or undefined. */
  query: string | undefined;
}

function split(text: string): UrlParts | undefined {
  const match = POSTGRES_URL.exec(text.trim());
  if (!match) return undefined;
  const rest = text.trim().slice(match[0].length);
  const queryStart = rest.indexOf("?");
  const beforeQuery = queryStart < 0 ? rest : rest.slice(0, queryStart);
  const query = queryStart < 0 ? undefined : rest.slice(queryStart + 1);
  // The last `@` ends the userinfo: an unencoded `@` is more likely in a password than in a host.
  const at = beforeQuery.lastIndexOf("@");
  const userinfo = at < 0 ? undefined : beforeQuery.slice(0, at);
  const afterUser = beforeQuery.slice(at + 1);
  const slash = afterUser.indexOf("/");
  return {
    scheme: match[1]!.toLowerCase(),
    userinfo,
    hostPort: slash < 0 ? afterUser : afterUser.slice(0, slash),
    path: slash < 0 ? undefined : afterUser.slice(slash + 1),
    query,
  };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    // A stray `%` in an unencoded password: compose passes it through, so does libpq's parser in practice.
    return text;
  }
}

function splitHostPort(hostPort: string): { host: string; port: string | undefined } {
  if (hostPort.startsWith("[")) {
    const close = hostPort.indexOf("]");
    const port = hostPort.slice(close + 1).replace(/^:/, "");
    return { host: hostPort.slice(1, close), port: port === "" ? undefined : port };
  }
  const colon = hostPort.lastIndexOf(":");
  return colon < 0 ? { host: hostPort, port: undefined } : { host: hostPort.slice(0, colon), port: hostPort.slice(colon + 1) };
}

/** Parses a PostgreSQL URL; `undefined` when the text is not one (other scheme, bad port, no host). */
export function parseDatabaseUrl(text: string): DatabaseUrl | undefined {
  const parts = split(text);
  if (!parts) return undefined;
  const { host, port } = splitHostPort(parts.hostPort);
  const portNumber = port === undefined ? DEFAULT_PORT : Number(port);
  if (host === "" || !Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65535) return undefined;
  const colon = parts.userinfo?.indexOf(":") ?? -1;
  const params = new Map<string, string>();
  for (const pair of parts.query?.split("&") ?? []) {
    if (pair === "") continue;
    const equals = pair.indexOf("=");
    params.set(decode(equals < 0 ? pair : pair.slice(0, equals)), decode(equals < 0 ? "" : pair.slice(equals + 1)));
  }
  return {
    scheme: parts.scheme as DatabaseUrl["scheme"],
    user: parts.userinfo === undefined ? "" : decode(colon < 0 ? parts.userinfo : parts.userinfo.slice(0, colon)),
    password: parts.userinfo === undefined || colon < 0 ? undefined : decode(parts.userinfo.slice(colon + 1)),
    host: decode(host),
    port: portNumber,
    database: decode(parts.path ?? ""),
    params,
  };
}

/**
 * The same URL pointing at another server (e.g. the embedded one, or a published compose port):
 * userinfo, database and parameters are kept exactly as written, encoding included.
 */
export function withHostPort(url: string, host: string, port: number): string {
  const parts = split(url);
  if (!parts) throw new Error("withHostPort needs a postgres:// or postgresql:// URL");
  const hostText = host.includes(":") ? `[${host}]` : host;
  return (
    `${parts.scheme}://` +
    (parts.userinfo === undefined ? "" : `${parts.userinfo}@`) +
    `${hostText}:${port}` +
    (parts.path === undefined ? "" : `/${parts.path}`) +
    (parts.query === undefined ? "" : `?${parts.query}`)
  );
}

/** Builds a URL from parts, percent-encoding each (for URLs this tool writes itself). */
export function formatDatabaseUrl(url: Omit<DatabaseUrl, "scheme" | "params"> & { scheme?: DatabaseUrl["scheme"] }): string {
  const userinfo =
    url.user === "" && url.password === undefined
      ? ""
      : `${encodeURIComponent(url.user)}${url.password === undefined ? "" : `:${encodeURIComponent(url.password)}`}@`;
  const hostText = url.host.includes(":") ? `[${url.host}]` : url.host;
  return `${url.scheme ?? "postgresql"}://${userinfo}${hostText}:${url.port}/${encodeURIComponent(url.database)}`;
}
