/**
 * The PostgreSQL JDBC driver's URL (`jdbc:postgresql://host[:port][,host2…]/database[?user=…&password=…]`,
 * pgjdbc's `Driver.parseURL`), and R2DBC's (`r2dbc:postgresql://user:pw@host:port/database`). Only
 * the first host of a list is kept: it is the one the driver tries first.
 */
import { parseDatabaseUrl } from "./database-url.js";

export interface JdbcUrl {
  readonly host: string;
  readonly port: number;
  /** `""` when the URL names none. */
  readonly database: string;
  /** `user` / `password` properties of the URL itself; sibling variables win over them, as driver properties do. */
  readonly user: string | undefined;
  readonly password: string | undefined;
  readonly params: ReadonlyMap<string, string>;
}

const JDBC = /^jdbc:postgresql:/i;
const R2DBC = /^r2dbc:postgres(?:ql)?:\/\//i;
const DEFAULT_PORT = 5432;

export function isJdbcPostgresUrl(text: string): boolean {
  return JDBC.test(text.trim()) || R2DBC.test(text.trim());
}

/** `undefined` when the text is not such a URL or names no usable port. */
export function parseJdbcUrl(text: string): JdbcUrl | undefined {
  const trimmed = text.trim();
  if (R2DBC.test(trimmed)) {
    const parsed = parseDatabaseUrl(trimmed.replace(R2DBC, "postgresql://"));
    if (!parsed) return undefined;
    return { host: parsed.host, port: parsed.port, database: parsed.database, user: parsed.user || undefined, password: parsed.password, params: parsed.params };
  }
  if (!JDBC.test(trimmed)) return undefined;
  let rest = trimmed.replace(JDBC, "");
  const queryStart = rest.indexOf("?");
  const query = queryStart < 0 ? "" : rest.slice(queryStart + 1);
  if (queryStart >= 0) rest = rest.slice(0, queryStart);
  const params = new Map<string, string>();
  for (const pair of query.split("&")) {
    if (pair === "") continue;
    const equals = pair.indexOf("=");
    params.set(decode(equals < 0 ? pair : pair.slice(0, equals)), decode(equals < 0 ? "" : pair.slice(equals + 1)));
  }
  let host = "localhost";
  let port = DEFAULT_PORT;
  let database: string;
  if (rest.startsWith("//")) {
    const slash = rest.indexOf("/", 2);
    const hosts = slash < 0 ? rest.slice(2) : rest.slice(2, slash);
    database = slash < 0 ? "" : decode(rest.slice(slash + 1));
    const first = hosts.split(",")[0] ?? "";
    const match = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(first);
    if (!match) return undefined;
    host = match[1]!.replace(/^\[|\]$/g, "") || "localhost";
    if (match[2]) port = Number(match[2]);
  } else {
    // `jdbc:postgresql:database` and `jdbc:postgresql:/`: localhost, default port.
    database = decode(rest.replace(/^\//, ""));
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host, port, database, user: params.get("user"), password: params.get("password"), params };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
