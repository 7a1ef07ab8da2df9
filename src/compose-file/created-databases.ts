/**
 * Which databases an init SQL script creates, read statically: `CREATE DATABASE name` with plain or
 * quoted identifiers, and the psql `\gexec` idiom that builds the statement as a string
 * (`SELECT 'CREATE DATABASE x' WHERE NOT EXISTS (…)\gexec`, `SELECT format('CREATE DATABASE %I', 'x')\gexec`).
 * Comments, string literals, dollar-quoted bodies and psql meta-commands are tokenised properly, so a
 * commented-out statement does not count. Dollar-quoted bodies are not searched: CREATE DATABASE
 * cannot run inside a function or DO block, so a statement there would fail at init time anyway.
 */
import { lexSql } from "../postgres/sql-lexer.js";

export interface CreatedDatabases {
  readonly names: ReadonlySet<string>;
  /** A CREATE DATABASE whose name comes from a psql variable or another expression: the list may be incomplete. */
  readonly dynamic: boolean;
}

type Token =
  | { kind: "word"; text: string }
  | { kind: "quoted-identifier"; text: string }
  | { kind: "string"; text: string }
  | { kind: "psql-variable" }
  | { kind: "other"; text: string };

/** The lexer's tokens as this reader needs them: no whitespace or comments, literals by value. */
function tokenize(sql: string): Token[] {
  return lexSql(sql).flatMap((token): Token[] => {
    switch (token.kind) {
      case "space":
      case "line-comment":
      case "block-comment":
        return [];
      case "word":
        return [{ kind: "word", text: token.text }];
      case "string":
      case "quoted-identifier":
        return [{ kind: token.kind, text: token.value ?? "" }];
      case "psql-variable":
        return [{ kind: "psql-variable" }];
      case "dollar-quoted":
        return [{ kind: "other", text: "$body$" }];
      case "psql-meta":
      case "symbol":
        return [{ kind: "other", text: token.text }];
    }
  });
}

const isWord = (token: Token | undefined, word: string) => token?.kind === "word" && token.text.toLowerCase() === word;

/** An identifier as PostgreSQL folds it: unquoted lower-cased, quoted kept as written. */
function identifierName(token: Token | undefined): string | undefined {
  if (token?.kind === "word") return token.text.toLowerCase();
  if (token?.kind === "quoted-identifier") return token.text;
  return undefined;
}

export function createdDatabases(sql: string): CreatedDatabases {
  const names = new Set<string>();
  let dynamic = false;
  const scan = (tokens: Token[], formatArguments: readonly Token[]) => {
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i]!;
      if (token.kind === "string") {
        // The \gexec idiom: the statement is a string; a %I / %s placeholder takes the next format() argument.
        scan(tokenize(token.text), tokens.slice(i + 1));
        continue;
      }
      if (!isWord(token, "create") || !isWord(tokens[i + 1], "database")) continue;
      const target = tokens[i + 2];
      const name = identifierName(target);
      if (name !== undefined) {
        names.add(name);
      } else if (target?.kind === "other" && target.text === "%") {
        const argument = formatArguments.find((candidate) => candidate.kind === "string");
        const placeholder = tokens[i + 3];
        if (argument?.kind === "string" && placeholder?.kind === "word" && /^[Is]$/.test(placeholder.text)) {
          names.add(placeholder.text === "I" ? argument.text : argument.text.toLowerCase());
        } else {
          dynamic = true;
        }
      } else {
        dynamic = true;
      }
    }
  };
  scan(tokenize(sql), []);
  return { names, dynamic };
}
