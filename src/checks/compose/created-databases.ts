/**
 * Which databases an init SQL script creates, read statically: `CREATE DATABASE name` with plain or
 * quoted identifiers, and the psql `\gexec` idiom that builds the statement as a string
 * (`SELECT 'CREATE DATABASE x' WHERE NOT EXISTS (…)\gexec`, `SELECT format('CREATE DATABASE %I', 'x')\gexec`).
 * Comments, string literals, dollar-quoted bodies and psql meta-commands are tokenised properly, so a
 * commented-out statement does not count. Dollar-quoted bodies are not searched: CREATE DATABASE
 * cannot run inside a function or DO block, so a statement there would fail at init time anyway.
 */

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

function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const char = sql[i]!;
    const next = sql[i + 1];
    if (/\s/.test(char)) {
      i++;
    } else if (char === "-" && next === "-") {
      const end = sql.indexOf("\n", i);
      i = end < 0 ? sql.length : end + 1;
    } else if (char === "/" && next === "*") {
      // Block comments nest in PostgreSQL.
      let depth = 1;
      i += 2;
      while (i < sql.length && depth > 0) {
        if (sql[i] === "/" && sql[i + 1] === "*") (depth++, (i += 2));
        else if (sql[i] === "*" && sql[i + 1] === "/") (depth--, (i += 2));
        else i++;
      }
    } else if (char === "\\") {
      // A psql meta-command (\gexec, \getenv, \c …) runs to the end of the line.
      const end = sql.indexOf("\n", i);
      tokens.push({ kind: "other", text: sql.slice(i, end < 0 ? sql.length : end) });
      i = end < 0 ? sql.length : end + 1;
    } else if ((char === "E" || char === "e") && next === "'") {
      const { text, end } = readQuoted(sql, i + 1, "'", true);
      tokens.push({ kind: "string", text });
      i = end;
    } else if (char === "'") {
      const { text, end } = readQuoted(sql, i, "'", false);
      tokens.push({ kind: "string", text });
      i = end;
    } else if (char === '"') {
      const { text, end } = readQuoted(sql, i, '"', false);
      tokens.push({ kind: "quoted-identifier", text });
      i = end;
    } else if (char === "$" && /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.test(sql.slice(i))) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i))![0];
      const close = sql.indexOf(tag, i + tag.length);
      tokens.push({ kind: "other", text: "$body$" });
      i = close < 0 ? sql.length : close + tag.length;
    } else if (char === ":" && (next === "'" || next === '"' || (next !== undefined && /[A-Za-z_]/.test(next)))) {
      // psql variable interpolation: :name, :'name', :"name".
      const match = /^:(?:'[^']*'|"[^"]*"|[A-Za-z_][A-Za-z0-9_]*)/.exec(sql.slice(i))!;
      tokens.push({ kind: "psql-variable" });
      i += match[0].length;
    } else if (/[A-Za-z_\u0080-\uffff]/.test(char)) {
      const match = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/.exec(sql.slice(i))!;
      tokens.push({ kind: "word", text: match[0] });
      i += match[0].length;
    } else {
      tokens.push({ kind: "other", text: char });
      i++;
    }
  }
  return tokens;
}

function readQuoted(sql: string, start: number, quote: string, backslashEscapes: boolean): { text: string; end: number } {
  let text = "";
  let i = start + 1;
  while (i < sql.length) {
    const char = sql[i]!;
    if (backslashEscapes && char === "\\" && i + 1 < sql.length) {
      text += sql[i + 1];
      i += 2;
    } else if (char === quote && sql[i + 1] === quote) {
      text += quote;
      i += 2;
    } else if (char === quote) {
      return { text, end: i + 1 };
    } else {
      text += char;
      i++;
    }
  }
  return { text, end: sql.length };
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
