import { UsageError } from "../core/errors.js";
import { interpolate, InterpolationError, type VariableLookup } from "./interpolate.js";

/**
 * A `.env` / `env_file` file read the way compose reads it (compose-go `dotenv`, a godotenv fork):
 * `KEY=VALUE` lines, an optional `export ` prefix, `#` comment lines, ` #` inline comments after
 * unquoted values, single quotes literal, double quotes with backslash escapes, both may span
 * lines. Unquoted and double-quoted values are interpolated; a variable is looked up in the
 * caller's environment first, then among the keys defined earlier in the same file.
 */
export interface DotenvEntry {
  readonly value: string;
  /** 1-based line of the key. */
  readonly line: number;
}

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const DOUBLE_QUOTE_ESCAPES: Record<string, string> = { n: "\n", r: "\r", t: "\t", "\\": "\\", '"': '"', $: "$$" };

/**
 * @param file repo-relative path, for error messages
 * @param lookup the caller's environment (process environment wins over the file)
 */
export function parseDotenv(text: string, file: string, lookup: VariableLookup): Map<string, DotenvEntry> {
  const entries = new Map<string, DotenvEntry>();
  const lookupInFile: VariableLookup = (name) => lookup(name) ?? entries.get(name)?.value;
  const expand = (value: string, line: number) => {
    try {
      // Compose substitutes an empty string for a variable no one sets inside `.env`.
      return interpolate(value, { lookup: lookupInFile, missing: () => "" });
    } catch (error) {
      if (error instanceof InterpolationError) throw new UsageError(error.message, { file, line });
      throw error;
    }
  };

  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  for (let index = 0; index < lines.length; index++) {
    const lineNumber = index + 1;
    const trimmed = lines[index]!.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const statement = trimmed.startsWith("export ") ? trimmed.slice("export ".length).trimStart() : trimmed;
    const equals = statement.indexOf("=");
    const key = (equals < 0 ? statement : statement.slice(0, equals)).trim();
    if (!KEY.test(key)) throw new UsageError(`"${key}" is not a valid variable name`, { file, line: lineNumber });
    if (equals < 0) {
      // A bare `KEY` passes the caller's value through, as compose does; unset stays unset.
      const inherited = lookup(key);
      if (inherited !== undefined) entries.set(key, { value: inherited, line: lineNumber });
      continue;
    }
    let rest = statement.slice(equals + 1).trimStart();
    const quote = rest[0];
    if (quote === "'" || quote === '"') {
      // A quoted value may continue on the following lines until its closing quote.
      let body = rest.slice(1);
      let close = closingQuote(body, quote);
      while (close < 0 && index + 1 < lines.length) {
        index++;
        body += `\n${lines[index]}`;
        close = closingQuote(body, quote);
      }
      if (close < 0) throw new UsageError(`unterminated ${quote} quote in the value of ${key}`, { file, line: lineNumber });
      const raw = body.slice(0, close);
      const value =
        quote === "'" ? raw : expand(raw.replace(/\\(.)/gs, (whole, char: string) => DOUBLE_QUOTE_ESCAPES[char] ?? whole), lineNumber);
      entries.set(key, { value, line: lineNumber });
      continue;
    }
    const comment = rest.search(/\s#/);
    if (comment >= 0) rest = rest.slice(0, comment);
    entries.set(key, { value: expand(rest.trim(), lineNumber), line: lineNumber });
  }
  return entries;
}

function closingQuote(body: string, quote: string): number {
  for (let i = 0; i < body.length; i++) {
    if (quote === '"' && body[i] === "\\") i++;
    else if (body[i] === quote) return i;
  }
  return -1;
}
