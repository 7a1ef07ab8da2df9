/**
 * PostgreSQL's lexical structure, as far as this tool needs it to read SQL without parsing it:
 * where comments, string literals, quoted identifiers and dollar-quoted bodies begin and end, and
 * psql's own syntax in init scripts (meta-commands such as `\gexec`, `:variables`). One lexer for
 * every reader: the migrations check splits statements with it, the compose check finds the
 * databases an init script creates.
 */

export type SqlTokenKind =
  | "space"
  /** `-- …` up to, not including, the end of the line. */
  | "line-comment"
  /** `/* … *\/`, nested as PostgreSQL nests them. */
  | "block-comment"
  /** `'…'` or `E'…'`; `value` holds the text, `contentStart`/`contentEnd` where it stands. */
  | "string"
  /** `"…"`; `value` holds the name as written. */
  | "quoted-identifier"
  /** `$tag$ … $tag$`: a function or DO body, kept whole. */
  | "dollar-quoted"
  /** A psql meta-command (`\gexec`, `\c db`) up to the end of its line. */
  | "psql-meta"
  /** A psql variable: `:name`, `:'name'`, `:"name"`. */
  | "psql-variable"
  /** A keyword or unquoted identifier, as written. */
  | "word"
  /** Any other single character (`;`, `(`, `%`, a digit…). */
  | "symbol";

export interface SqlToken {
  readonly kind: SqlTokenKind;
  /** Offset (UTF-16 code units) of the token's first character. */
  readonly start: number;
  /** Offset just past its last character. */
  readonly end: number;
  /** The token as written. */
  readonly text: string;
  /** Strings: the literal's value (quotes removed, escapes resolved); quoted identifiers: the name. */
  readonly value?: string;
  /** Strings: the offsets between the quotes (to the end of the text when unterminated). */
  readonly contentStart?: number;
  readonly contentEnd?: number;
}

const DOLLAR_TAG = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/;
const WORD = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/;
const PSQL_VARIABLE = /^:(?:'[^']*'|"[^"]*"|[A-Za-z_][A-Za-z0-9_]*)/;

export function lexSql(sql: string): SqlToken[] {
  const tokens: SqlToken[] = [];
  const push = (kind: SqlTokenKind, start: number, end: number, extra: Partial<SqlToken> = {}) =>
    tokens.push({ kind, start, end, text: sql.slice(start, end), ...extra });
  let i = 0;
  while (i < sql.length) {
    const char = sql[i]!;
    const next = sql[i + 1];
    const start = i;
    if (/\s/.test(char)) {
      while (i < sql.length && /\s/.test(sql[i]!)) i++;
      push("space", start, i);
    } else if (char === "-" && next === "-") {
      const newline = sql.indexOf("\n", i);
      i = newline < 0 ? sql.length : newline;
      push("line-comment", start, i);
    } else if (char === "/" && next === "*") {
      let depth = 1;
      i += 2;
      while (i < sql.length && depth > 0) {
        if (sql.startsWith("/*", i)) (depth++, (i += 2));
        else if (sql.startsWith("*/", i)) (depth--, (i += 2));
        else i++;
      }
      push("block-comment", start, i);
    } else if (char === "\\") {
      const newline = sql.indexOf("\n", i);
      i = newline < 0 ? sql.length : newline;
      push("psql-meta", start, i);
    } else if ((char === "E" || char === "e") && next === "'") {
      i = pushQuoted("string", start, start + 1, true);
    } else if (char === "'") {
      i = pushQuoted("string", start, start, false);
    } else if (char === '"') {
      i = pushQuoted("quoted-identifier", start, start, false);
    } else if (char === "$" && DOLLAR_TAG.test(sql.slice(i, i + 64))) {
      const tag = DOLLAR_TAG.exec(sql.slice(i))![0];
      const close = sql.indexOf(tag, i + tag.length);
      i = close < 0 ? sql.length : close + tag.length;
      push("dollar-quoted", start, i);
    } else if (char === ":" && next === ":") {
      // A cast: psql reads `::` as one token, so `::int` is never its variable `:int`.
      i += 2;
      push("symbol", start, i);
    } else if (char === ":" && (next === "'" || next === '"' || (next !== undefined && /[A-Za-z_]/.test(next))) && PSQL_VARIABLE.test(sql.slice(i))) {
      i += PSQL_VARIABLE.exec(sql.slice(i))![0].length;
      push("psql-variable", start, i);
    } else if (WORD.test(char)) {
      i += WORD.exec(sql.slice(i))![0].length;
      push("word", start, i);
    } else {
      i++;
      push("symbol", start, i);
    }
  }
  return tokens;

  /** A quoted token whose opening quote is at `open`; returns the offset after it. */
  function pushQuoted(kind: "string" | "quoted-identifier", start: number, open: number, backslashEscapes: boolean): number {
    const quote = sql[open]!;
    let value = "";
    let i = open + 1;
    while (i < sql.length) {
      const char = sql[i]!;
      if (backslashEscapes && char === "\\" && i + 1 < sql.length) {
        value += sql[i + 1];
        i += 2;
      } else if (char === quote && sql[i + 1] === quote) {
        value += quote;
        i += 2;
      } else if (char === quote) {
        push(kind, start, i + 1, { value, contentStart: open + 1, contentEnd: i });
        return i + 1;
      } else {
        value += char;
        i++;
      }
    }
    push(kind, start, sql.length, { value, contentStart: open + 1, contentEnd: sql.length });
    return sql.length;
  }
}
