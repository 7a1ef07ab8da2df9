/**
 * A Dockerfile read far enough to know what image a compose `build:` makes of PostgreSQL: the stage
 * that is built (`target:` or the last), the image it starts `FROM` (build arguments substituted,
 * stage references followed), and the instructions of that stage and of the stages it builds on,
 * each with its line. Parsed as BuildKit reads the file: `# escape=` directive, line continuations,
 * comment lines inside continuations, heredoc bodies skipped, `$VAR` / `${VAR:-default}` /
 * `${VAR:+alt}` substitution from `ARG`s and `ENV`s. No build is run.
 */
import { interpolate } from "./interpolate.js";
import { shellWords } from "./shell-words.js";

export interface DockerfileInstruction {
  /** Upper case: `FROM`, `COPY`, `ENV`, … */
  readonly keyword: string;
  /** Everything after the keyword, continuation lines joined, as written. */
  readonly args: string;
  /** 1-based line of the keyword. */
  readonly line: number;
}

export interface DockerfileStage {
  /** `AS <name>`, lower-cased as BuildKit compares it. */
  readonly name?: string;
  /** The `FROM` argument as written. */
  readonly fromRaw: string;
  readonly line: number;
  /** The instructions after this stage's `FROM`, up to the next one. */
  readonly instructions: readonly DockerfileInstruction[];
}

export interface ParsedDockerfile {
  /** `ARG`s before the first `FROM`: the only ones a `FROM` line may use. */
  readonly globalArgs: ReadonlyMap<string, string | undefined>;
  readonly stages: readonly DockerfileStage[];
}

/** The stage a build produces, resolved. */
export interface BuiltStage {
  /** The base image the chain of stages starts from, with build arguments substituted. */
  readonly image: string;
  /** Line of the `FROM` naming that image. */
  readonly fromLine: number;
  /** The stages from the one `FROM <image>` down to the built one: their instructions all apply. */
  readonly chain: readonly DockerfileStage[];
}

const DIRECTIVE = /^#\s*([a-zA-Z]+)\s*=\s*(.*?)\s*$/;
const HEREDOC = /<<-?\s*(["']?)([A-Za-z_][A-Za-z0-9_]*)\1/g;

export function parseDockerfile(text: string): ParsedDockerfile {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  let escape = "\\";
  let index = 0;
  // Parser directives: only at the very top, before any comment, blank line or instruction.
  for (; index < lines.length; index++) {
    const match = DIRECTIVE.exec(lines[index]!);
    if (!match) break;
    if (match[1]!.toLowerCase() === "escape" && (match[2] === "`" || match[2] === "\\")) escape = match[2];
  }

  const instructions: DockerfileInstruction[] = [];
  while (index < lines.length) {
    const first = lines[index]!;
    const lineNumber = index + 1;
    index++;
    const trimmed = first.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    let text = trimmed;
    while (text.endsWith(escape) && index <= lines.length) {
      text = text.slice(0, -1);
      // Comment lines inside a continuation are dropped, blank ones too.
      while (index < lines.length && /^\s*(#.*)?$/.test(lines[index]!)) index++;
      if (index >= lines.length) break;
      text += ` ${lines[index]!.trim()}`;
      index++;
    }
    const space = text.search(/\s/);
    const keyword = (space < 0 ? text : text.slice(0, space)).toUpperCase();
    const args = space < 0 ? "" : text.slice(space + 1).trim();
    instructions.push({ keyword, args, line: lineNumber });
    // A heredoc's body is data, not instructions: skip to each delimiter.
    for (const heredoc of args.matchAll(HEREDOC)) {
      const delimiter = heredoc[2]!;
      while (index < lines.length && lines[index]!.replace(/^\t+/, "") !== delimiter) index++;
      index++;
    }
  }

  const globalArgs = new Map<string, string | undefined>();
  const stages: DockerfileStage[] = [];
  let current: { name?: string; fromRaw: string; line: number; instructions: DockerfileInstruction[] } | undefined;
  for (const instruction of instructions) {
    if (instruction.keyword === "FROM") {
      const words = instruction.args.split(/\s+/).filter((word) => !word.startsWith("--"));
      const as = words.findIndex((word) => word.toLowerCase() === "as");
      current = {
        fromRaw: words[0] ?? "",
        line: instruction.line,
        instructions: [],
        ...(as > 0 && words[as + 1] && { name: words[as + 1]!.toLowerCase() }),
      };
      stages.push(current);
    } else if (current) {
      current.instructions.push(instruction);
    } else if (instruction.keyword === "ARG") {
      for (const [name, value] of argDeclarations(instruction.args)) globalArgs.set(name, value);
    }
  }
  return { globalArgs, stages };
}

/**
 * The stage `target` (default the last) with the image it starts from. A `FROM` naming an earlier
 * stage continues that stage; build arguments (`args`, compose's `build.args`) override the
 * global `ARG` defaults. `undefined` when the target does not exist or the chain loops.
 */
export function builtStage(dockerfile: ParsedDockerfile, target: string | undefined, args: ReadonlyMap<string, string> = new Map()): BuiltStage | undefined {
  const lookup = (name: string) => (dockerfile.globalArgs.has(name) ? (args.get(name) ?? dockerfile.globalArgs.get(name)) : undefined);
  let stage = target === undefined ? dockerfile.stages.at(-1) : dockerfile.stages.find((candidate) => candidate.name === target.toLowerCase());
  const chain: DockerfileStage[] = [];
  while (stage && !chain.includes(stage)) {
    chain.unshift(stage);
    const image = substitute(stage.fromRaw, lookup);
    const position = dockerfile.stages.indexOf(stage);
    const parent = dockerfile.stages.slice(0, position).find((candidate) => candidate.name === image.toLowerCase());
    if (!parent) return { image, fromLine: stage.line, chain };
    stage = parent;
  }
  return undefined;
}

/** `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR:+alt}` as the Dockerfile frontend substitutes them; unset is empty. */
export function substitute(text: string, lookup: (name: string) => string | undefined): string {
  try {
    return interpolate(text, { lookup, missing: () => "" });
  } catch {
    return text;
  }
}

/** `ARG a=1 b` → [[a, "1"], [b, undefined]]. */
export function argDeclarations(args: string): Array<[string, string | undefined]> {
  return wordsOf(args).map((word) => {
    const equals = word.indexOf("=");
    return equals < 0 ? [word, undefined] : [word.slice(0, equals), word.slice(equals + 1)];
  });
}

/** `ENV a=1 b="two words"` or the legacy `ENV a one value` → pairs, values not yet substituted. */
export function envDeclarations(args: string): Array<[string, string]> {
  const words = wordsOf(args);
  if (words.length > 0 && !words[0]!.includes("=")) {
    const space = args.search(/\s/);
    return space < 0 ? [] : [[args.slice(0, space), unquote(args.slice(space + 1).trim())]];
  }
  return words.flatMap((word): Array<[string, string]> => {
    const equals = word.indexOf("=");
    return equals < 0 ? [] : [[word.slice(0, equals), word.slice(equals + 1)]];
  });
}

/** A `COPY`/`ADD`: its `--flag=value` options, sources and destination (JSON or plain form). */
export interface CopyInstruction {
  readonly flags: ReadonlyMap<string, string>;
  readonly sources: readonly string[];
  readonly destination: string;
}

export function copyInstruction(args: string): CopyInstruction | undefined {
  const flags = new Map<string, string>();
  let rest = args.trim();
  for (;;) {
    const flag = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(rest);
    if (!flag) break;
    flags.set(flag[1]!, flag[2] ?? "true");
    rest = rest.slice(flag[0].length);
  }
  let words: string[];
  if (rest.startsWith("[")) {
    try {
      const parsed: unknown = JSON.parse(rest);
      if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === "string")) return undefined;
      words = parsed as string[];
    } catch {
      return undefined;
    }
  } else {
    words = wordsOf(rest);
  }
  if (words.length < 2) return undefined;
  return { flags, sources: words.slice(0, -1), destination: words.at(-1)! };
}

/** Whitespace-separated words (shell-words.ts); an unclosed quote runs to the end. */
function wordsOf(text: string): string[] {
  return shellWords(text, "close")!;
}

function unquote(text: string): string {
  return wordsOf(text).join(" ");
}

/** The `ENV` a built image carries: every `ENV` of the stage chain, in order, `ARG`s substituted. */
export function imageEnvironment(chain: readonly DockerfileStage[], args: ReadonlyMap<string, string> = new Map()): Map<string, string> {
  const variables = new Map<string, string>();
  const environment = new Map<string, string>();
  for (const stage of chain) {
    for (const instruction of stage.instructions) {
      const lookup = (name: string) => environment.get(name) ?? variables.get(name);
      if (instruction.keyword === "ARG") {
        for (const [name, value] of argDeclarations(instruction.args)) {
          const given = args.get(name) ?? (value === undefined ? undefined : substitute(value, lookup));
          if (given !== undefined) variables.set(name, given);
        }
      } else if (instruction.keyword === "ENV") {
        for (const [name, value] of envDeclarations(instruction.args)) environment.set(name, substitute(value, lookup));
      }
    }
  }
  return environment;
}
