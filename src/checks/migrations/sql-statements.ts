/**
 * Splits a migration script into statements the way PostgreSQL's lexer sees them, without parsing
 * SQL: enough to know where each statement starts (its line) and to scan its code with comments and
 * string literals blanked out, so a `dblink` in a comment or a database name in a string is not code.
 */

export interface SqlStatement {
  /** The statement as written, without the trailing semicolon. */
  readonly text: string;
  /** Offset (UTF-16 code units) of the first character of the statement in the script. */
  readonly start: number;
  /** Offset just past the statement's last character. */
  readonly end: number;
  /** 1-based line of the statement's first token. */
  readonly line: number;
  /**
   * `text` with comments and the contents of '…' literals replaced by spaces (newlines kept), so
   * offsets and lines stay true. Dollar-quoted bodies are kept: they are code (function bodies).
   */
  readonly code: string;
}

export function splitSqlStatements(script: string): SqlStatement[] {
  const blanked = blankCommentsAndStrings(script);
  const statements: SqlStatement[] = [];
  let statementStart = 0;
  const push = (end: number) => {
    const raw = blanked.slice(statementStart, end);
    const leading = raw.length - raw.trimStart().length;
    if (raw.trim().length > 0) {
      const start = statementStart + leading;
      statements.push({
        text: script.slice(start, end).trimEnd(),
        start,
        end,
        line: lineAt(script, start),
        code: blanked.slice(start, end),
      });
    }
    statementStart = end + 1;
  };
  let dollarTag: string | undefined;
  for (let i = 0; i < blanked.length; i++) {
    const char = blanked[i];
    if (char === "$") {
      const tag = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(blanked.slice(i))?.[0];
      if (tag && (dollarTag === undefined || tag === dollarTag)) {
        dollarTag = dollarTag === undefined ? tag : undefined;
        i += tag.length - 1;
        continue;
      }
    }
    if (char === ";" && dollarTag === undefined) push(i);
  }
  push(blanked.length);
  return statements;
}

/** 1-based line of a UTF-16 offset. */
export function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/**
 * The server reports an error position in characters (code points), 1-based; JavaScript strings
 * count UTF-16 units. Converts one to the other.
 */
export function offsetOfServerPosition(text: string, position: number): number {
  let codePoints = 0;
  let offset = 0;
  while (offset < text.length && codePoints < position - 1) {
    offset += text.codePointAt(offset)! > 0xffff ? 2 : 1;
    codePoints++;
  }
  return offset;
}

function blankCommentsAndStrings(script: string): string {
  const out = script.split("");
  const blank = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (out[k] !== "\n") out[k] = " ";
  };
  let i = 0;
  while (i < script.length) {
    const rest2 = script.slice(i, i + 2);
    if (rest2 === "--") {
      const end = script.indexOf("\n", i);
      const stop = end === -1 ? script.length : end;
      blank(i, stop);
      i = stop;
    } else if (rest2 === "/*") {
      // PostgreSQL block comments nest.
      let depth = 0;
      let k = i;
      while (k < script.length) {
        if (script.startsWith("/*", k)) {
          depth++;
          k += 2;
        } else if (script.startsWith("*/", k)) {
          depth--;
          k += 2;
          if (depth === 0) break;
        } else k++;
      }
      blank(i, k);
      i = k;
    } else if (script[i] === "'") {
      // E'…' strings honour backslash escapes; standard strings only '' doubling.
      const escapes = i > 0 && /[eE]/.test(script[i - 1]!) && !/[A-Za-z0-9_]/.test(script[i - 2] ?? " ");
      let k = i + 1;
      while (k < script.length) {
        if (escapes && script[k] === "\\") k += 2;
        else if (script[k] === "'" && script[k + 1] === "'") k += 2;
        else if (script[k] === "'") break;
        else k++;
      }
      blank(i + 1, k);
      i = k + 1;
    } else if (script[i] === '"') {
      const end = script.indexOf('"', i + 1);
      i = end === -1 ? script.length : end + 1;
    } else if (script[i] === "$") {
      const tag = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(script.slice(i))?.[0];
      if (tag && !/[A-Za-z0-9_]/.test(script[i - 1] ?? " ")) {
        const end = script.indexOf(tag, i + tag.length);
        i = end === -1 ? script.length : end + tag.length;
      } else i++;
    } else i++;
  }
  return out.join("");
}
