/** What one `.prisma` file says about its datasource; lines are 1-based. */
export interface SchemaDatasourceFacts {
  /** Line of `datasource <name> {`, when the file has one. */
  datasourceLine?: number;
  /** The `url = …` assignment inside the datasource block, when there is one (Prisma ≤ 6). */
  url?: { kind: "env"; variable: string; line: number } | { kind: "literal" | "other"; line: number };
}

const DATASOURCE_OPEN = /^\s*datasource\s+\w+\s*\{/;
const URL_ASSIGNMENT = /^\s*url\s*=\s*(.+?)\s*$/;
const ENV_CALL = /^env\(\s*"([^"]+)"\s*\)$/;
const STRING_LITERAL = /^"(?:[^"\\]|\\.)*"$/;

/**
 * Reads the datasource block of a Prisma schema textually. The schema language is line-based
 * (one attribute per line, `//` comments), so a line scan is exact enough and needs no Prisma install.
 */
export function readSchemaDatasource(schemaText: string): SchemaDatasourceFacts {
  const lines = schemaText.split(/\r?\n/);
  const facts: SchemaDatasourceFacts = {};
  let insideDatasource = false;
  for (const [index, rawLine] of lines.entries()) {
    const line = stripComment(rawLine);
    if (!insideDatasource) {
      if (DATASOURCE_OPEN.test(line) && facts.datasourceLine === undefined) {
        facts.datasourceLine = index + 1;
        insideDatasource = !line.includes("}");
      }
      continue;
    }
    if (line.trim().startsWith("}")) {
      insideDatasource = false;
      continue;
    }
    const assignment = URL_ASSIGNMENT.exec(line);
    if (assignment) facts.url = classifyUrl(assignment[1]!, index + 1);
  }
  return facts;
}

function classifyUrl(expression: string, line: number): NonNullable<SchemaDatasourceFacts["url"]> {
  const env = ENV_CALL.exec(expression);
  if (env) return { kind: "env", variable: env[1]!, line };
  if (STRING_LITERAL.test(expression)) return { kind: "literal", line };
  return { kind: "other", line };
}

/** Drops a `//` comment, leaving `//` inside a string literal (a literal URL) alone. */
function stripComment(line: string): string {
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (char === "\\" && inString) i++;
    else if (char === '"') inString = !inString;
    else if (!inString && char === "/" && line[i + 1] === "/") return line.slice(0, i);
  }
  return line;
}
