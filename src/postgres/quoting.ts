/**
 * Quoting for the few places a name must be spliced into SQL (CREATE DATABASE, GRANT … TO role):
 * everything else goes through `$1` parameters.
 */

/** `"name"`, with embedded double quotes doubled, as PostgreSQL's `quote_ident` does for any name. */
export function quoteIdentifier(name: string): string {
  if (name.includes("\0")) throw new Error("a PostgreSQL identifier cannot contain a NUL character");
  return `"${name.replaceAll('"', '""')}"`;
}

/** `'text'`, with embedded single quotes doubled; standard_conforming_strings is on since 9.1. */
export function quoteLiteral(text: string): string {
  if (text.includes("\0")) throw new Error("a PostgreSQL literal cannot contain a NUL character");
  return `'${text.replaceAll("'", "''")}'`;
}
