/**
 * libpq's keyword/value connection strings (`host=db port=5432 dbname=app user=svc password='a b'`),
 * as `conninfo_parse` reads them: whitespace-separated `key = value`, values single-quoted with
 * backslash escapes when they hold spaces. Only the keys a credential needs are returned.
 */

export interface KeywordConninfo {
  readonly host?: string;
  readonly port?: string;
  readonly dbname?: string;
  readonly user?: string;
  readonly password?: string;
  readonly sslmode?: string;
}

const KNOWN = new Set(["host", "hostaddr", "port", "dbname", "user", "password", "sslmode", "connect_timeout", "application_name", "options", "target_session_attrs", "sslrootcert", "sslcert", "sslkey", "gssencmode", "channel_binding"]);

/** `undefined` unless every `key=` is a libpq keyword and `host` or `dbname` is among them. */
export function parseKeywordConninfo(text: string): KeywordConninfo | undefined {
  const pairs = new Map<string, string>();
  let index = 0;
  const source = text.trim();
  while (index < source.length) {
    while (index < source.length && /\s/.test(source[index]!)) index++;
    if (index >= source.length) break;
    const keyMatch = /^([a-z_]+)\s*=\s*/.exec(source.slice(index));
    if (!keyMatch) return undefined;
    const key = keyMatch[1]!;
    index += keyMatch[0].length;
    let value = "";
    if (source[index] === "'") {
      index++;
      while (index < source.length && source[index] !== "'") {
        if (source[index] === "\\" && index + 1 < source.length) index++;
        value += source[index];
        index++;
      }
      if (source[index] !== "'") return undefined;
      index++;
    } else {
      while (index < source.length && !/\s/.test(source[index]!)) {
        if (source[index] === "\\" && index + 1 < source.length) index++;
        value += source[index];
        index++;
      }
    }
    if (!KNOWN.has(key)) return undefined;
    pairs.set(key, value);
  }
  if (!pairs.has("host") && !pairs.has("hostaddr") && !pairs.has("dbname")) return undefined;
  const get = (key: string) => pairs.get(key);
  const host = get("host") ?? get("hostaddr");
  return {
    ...(host !== undefined && { host }),
    ...(get("port") !== undefined && { port: get("port") }),
    ...(get("dbname") !== undefined && { dbname: get("dbname") }),
    ...(get("user") !== undefined && { user: get("user") }),
    ...(get("password") !== undefined && { password: get("password") }),
    ...(get("sslmode") !== undefined && { sslmode: get("sslmode") }),
  };
}
