/**
 * Quoting for the few places a name or a value must be spliced into SQL (CREATE DATABASE, GRANT …
 * TO role, PASSWORD '…'): everything else goes through `$1` parameters. The escaping is pg's own
 * (libpq's `PQescapeIdentifier` / `PQescapeLiteral` ported); a NUL, which PostgreSQL cannot store
 * and pg would pass through, is refused here.
 */
import pg from "pg";

/** `"name"`, with embedded double quotes doubled, as PostgreSQL's `quote_ident` does for any name. */
export function quoteIdentifier(name: string): string {
  if (name.includes("\0")) throw new Error("a PostgreSQL identifier cannot contain a NUL character");
  return pg.escapeIdentifier(name);
}

/** `'text'`, single quotes doubled; a text with backslashes becomes an `E'…'` literal with them doubled. */
export function quoteLiteral(text: string): string {
  if (text.includes("\0")) throw new Error("a PostgreSQL literal cannot contain a NUL character");
  // pg prefixes a space to its `E'…'` form, for splicing after a keyword; the callers add their own.
  return pg.escapeLiteral(text).trimStart();
}
