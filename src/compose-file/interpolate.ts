/**
 * Compose's variable interpolation (compose-spec "Interpolation"; compose-go `template`):
 * `$$` is a literal `$`, `$VAR` and `${VAR}` substitute, and inside braces
 * `:-` / `-` give a default (unset-or-empty / unset), `:?` / `?` demand a value,
 * `:+` / `+` give an alternative when set. Defaults and alternatives may themselves
 * contain interpolations (`${A:-${B:-x}}`), which are resolved only when used.
 * A `$` followed by anything else stays a literal `$`, as compose leaves it.
 */

/** What the caller knows about one variable; `undefined` means unset. */
export type VariableLookup = (name: string) => string | undefined;

export interface InterpolationPolicy {
  readonly lookup: VariableLookup;
  /**
   * Called for a variable that is unset where the text needs a value (`$VAR`, `${VAR}`,
   * `${VAR?…}`, `${VAR:?…}`). Compose substitutes an empty string (or fails for `?`); the loader
   * generates a value for the run instead, so a stack that needs a password still boots.
   */
  readonly missing: (name: string) => string;
}

/** Why a text could not be interpolated; the caller adds the file and line. */
export class InterpolationError extends Error {
  override readonly name = "InterpolationError";
}

const NAME_START = /[_a-zA-Z]/;
const NAME = /^[_a-zA-Z][_a-zA-Z0-9]*/;

export function interpolate(text: string, policy: InterpolationPolicy): string {
  let out = "";
  let index = 0;
  while (index < text.length) {
    const dollar = text.indexOf("$", index);
    if (dollar < 0) {
      out += text.slice(index);
      break;
    }
    out += text.slice(index, dollar);
    const next = text[dollar + 1];
    if (next === "$") {
      out += "$";
      index = dollar + 2;
    } else if (next === "{") {
      const close = closingBrace(text, dollar + 2);
      if (close < 0) throw new InterpolationError(`invalid interpolation format in "${text}": unclosed "\${"`);
      out += substituteBraced(text.slice(dollar + 2, close), text, policy);
      index = close + 1;
    } else if (next !== undefined && NAME_START.test(next)) {
      const name = NAME.exec(text.slice(dollar + 1))![0];
      out += policy.lookup(name) ?? policy.missing(name);
      index = dollar + 1 + name.length;
    } else {
      out += "$";
      index = dollar + 1;
    }
  }
  return out;
}

/** Index of the `}` closing a `${` whose body starts at `from`, counting nested `${…}`. */
function closingBrace(text: string, from: number): number {
  let depth = 1;
  for (let i = from; i < text.length; i++) {
    if (text[i] === "$" && text[i + 1] === "$") i++;
    else if (text[i] === "$" && text[i + 1] === "{") {
      depth++;
      i++;
    } else if (text[i] === "}" && --depth === 0) return i;
  }
  return -1;
}

const OPERATORS = [":-", ":?", ":+", "-", "?", "+"] as const;

function substituteBraced(body: string, whole: string, policy: InterpolationPolicy): string {
  const name = NAME.exec(body)?.[0];
  if (!name) throw new InterpolationError(`invalid interpolation format in "${whole}": "\${${body}}" does not start with a variable name`);
  const rest = body.slice(name.length);
  const value = policy.lookup(name);
  if (rest === "") return value ?? policy.missing(name);
  const operator = OPERATORS.find((op) => rest.startsWith(op));
  if (!operator) throw new InterpolationError(`invalid interpolation format in "${whole}": unexpected "${rest}" after "${name}"`);
  const argument = () => interpolate(rest.slice(operator.length), policy);
  const set = value !== undefined;
  const nonEmpty = set && value.length > 0;
  switch (operator) {
    case ":-":
      return nonEmpty ? value : argument();
    case "-":
      return set ? value : argument();
    case ":+":
      return nonEmpty ? argument() : "";
    case "+":
      return set ? argument() : "";
    case ":?":
      if (nonEmpty) return value;
      if (set) throw requiredError(name, argument());
      return policy.missing(name);
    case "?":
      return set ? value : policy.missing(name);
  }
}

function requiredError(name: string, message: string): InterpolationError {
  return new InterpolationError(`required variable ${name} is missing a value${message ? `: ${message}` : ""}`);
}
