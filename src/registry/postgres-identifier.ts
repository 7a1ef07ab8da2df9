/**
 * Names from the registry end up unquoted in SQL (`CREATE DATABASE auth_gateway;` in the generated
 * init script). This decides whether a name can go there as it is. Anything that fails must never
 * be interpolated into SQL; callers report it instead.
 */

/**
 * PostgreSQL 16 keywords that cannot be a database or role name unquoted: the `reserved` and
 * `reserved (can be function or type)` categories (`pg_get_keywords()` catcode R and T).
 */
export const POSTGRES_RESERVED_WORDS: ReadonlySet<string> = new Set([
  // catcode R
  "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "both", "case", "cast",
  "check", "collate", "column", "constraint", "create", "current_catalog", "current_date", "current_role",
  "current_time", "current_timestamp", "current_user", "default", "deferrable", "desc", "distinct", "do",
  "else", "end", "except", "false", "fetch", "for", "foreign", "from", "grant", "group", "having", "in",
  "initially", "intersect", "into", "lateral", "leading", "limit", "localtime", "localtimestamp", "not",
  "null", "offset", "on", "only", "or", "order", "placing", "primary", "references", "returning", "select",
  "session_user", "some", "symmetric", "system_user", "table", "then", "to", "trailing", "true", "union",
  "unique", "user", "using", "variadic", "when", "where", "window", "with",
  // catcode T
  "authorization", "binary", "collation", "concurrently", "cross", "current_schema", "freeze", "full",
  "ilike", "inner", "is", "isnull", "join", "left", "like", "natural", "notnull", "outer", "overlaps",
  "right", "similar", "tablesample", "verbose",
]);

/** Databases every cluster already has; a service database by that name would be shared with the server itself. */
const SYSTEM_DATABASES: ReadonlySet<string> = new Set(["postgres", "template0", "template1"]);

const UNQUOTED_IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
/** NAMEDATALEN - 1: PostgreSQL silently truncates longer names, so two long names could collide. */
const MAX_IDENTIFIER_BYTES = 63;

/** Why `name` cannot be used as an unquoted database name, or undefined when it can. */
export function databaseNameProblem(name: string): string | undefined {
  if (!UNQUOTED_IDENTIFIER.test(name)) {
    return "is not a plain PostgreSQL identifier (lower-case letters, digits and underscores, not starting with a digit)";
  }
  if (Buffer.byteLength(name, "utf8") > MAX_IDENTIFIER_BYTES) {
    return `is longer than ${MAX_IDENTIFIER_BYTES} bytes, and PostgreSQL would truncate it`;
  }
  if (POSTGRES_RESERVED_WORDS.has(name)) return "is a reserved word in PostgreSQL";
  if (SYSTEM_DATABASES.has(name)) return "is a database every PostgreSQL server already has";
  return undefined;
}

/** A hostname on the compose network: one DNS label (RFC 1123), lower-case. */
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Why `hostname` cannot be a compose service name / DNS label, or undefined when it can. */
export function hostnameProblem(hostname: string): string | undefined {
  if (!DNS_LABEL.test(hostname)) {
    return "is not a valid hostname (one DNS label: lower-case letters, digits and inner hyphens, at most 63 characters)";
  }
  return undefined;
}
