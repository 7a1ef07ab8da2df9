/**
 * Splits a migration script into statements the way PostgreSQL's lexer sees them, without parsing
 * SQL: enough to know where each statement starts (its line) and to scan its code with comments and
 * string literals blanked out, so a `dblink` in a comment or a database name in a string is not code.
 */
import { lexSql, type SqlToken } from "../../postgres/sql-lexer.js";

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
  const tokens = lexSql(script);
  const blanked = blankCommentsAndStrings(script, tokens);
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
  // A `;` inside a string, a comment or a dollar-quoted body is part of that token, never a symbol.
  for (const token of tokens) if (token.kind === "symbol" && token.text === ";") push(token.start);
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

/** The script with comments and the contents of string literals replaced by spaces, newlines kept. */
function blankCommentsAndStrings(script: string, tokens: readonly SqlToken[]): string {
  const out = script.split("");
  const blank = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (out[k] !== "\n") out[k] = " ";
  };
  for (const token of tokens) {
    if (token.kind === "line-comment" || token.kind === "block-comment") blank(token.start, token.end);
    else if (token.kind === "string") blank(token.contentStart!, token.contentEnd!);
  }
  return out.join("");
}
