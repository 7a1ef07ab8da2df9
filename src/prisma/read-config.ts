import type { Node, ObjectExpression, Program } from "@babel/types";
import { readdir } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { readInputText } from "../core/input-files.js";
import { parseTypeScript, propertyKeyName, unwrapExpression } from "../registry/parse-typescript.js";

/** Where a datasource URL comes from, and the line that says so. */
export type DatasourceUrl =
  | { kind: "env"; variable: string; file: string; line: number }
  | { kind: "literal" | "missing" | "other"; file: string; line: number };

/** What a module's `prisma.config.ts` says, read without executing it. */
export interface PrismaConfigFacts {
  /** Absolute path of the config file. */
  path: string;
  /** `datasource.url` (Prisma 7), when the config declares a datasource. */
  datasourceUrl?: DatasourceUrl;
  /** Absolute schema path from `schema: "…"`, when given as a string literal. */
  schemaPath?: string;
  /** Absolute migrations folder from `migrations: { path: "…" }`, when given as a string literal. */
  migrationsPath?: string;
}

/** The names Prisma looks for, in its own order of preference. */
const CONFIG_NAMES = [
  "prisma.config.ts",
  "prisma.config.mts",
  "prisma.config.cts",
  "prisma.config.js",
  "prisma.config.mjs",
  "prisma.config.cjs",
  join(".config", "prisma.ts"),
];

/**
 * Reads `prisma.config.ts` of a module textually (Babel AST): executing it would need the user's
 * `prisma` package installed, and the checks must run on a bare checkout.
 */
export async function readPrismaConfig(
  moduleDir: string,
  toRepoFile: (path: string) => string,
): Promise<PrismaConfigFacts | undefined> {
  // One listing instead of a failed open per name (thousands of modules have no config at all);
  // lower-cased, so a case-insensitive file system still finds what an open would.
  const listed = new Set((await readdir(moduleDir).catch(() => [] as string[])).map((name) => name.toLowerCase()));
  for (const name of CONFIG_NAMES) {
    if (!listed.has(name.split(sep)[0]!.toLowerCase())) continue;
    const path = join(moduleDir, name);
    let source: string;
    try {
      source = await readInputText(path, "Prisma schema", { shown: path });
    } catch {
      continue;
    }
    return readConfigSource(source, path, toRepoFile(path));
  }
  return undefined;
}

function readConfigSource(source: string, path: string, file: string): PrismaConfigFacts {
  const program = parseTypeScript(source, path).program;
  const facts: PrismaConfigFacts = { path };
  const base = dirname(path);
  visitObjects(program, (object) => {
    for (const property of object.properties) {
      if (property.type !== "ObjectProperty") continue;
      const name = propertyKeyName(property.key, property.computed);
      const value = unwrapExpression(property.value);
      const line = property.loc?.start.line ?? 1;
      if (name === "schema" && value.type === "StringLiteral") facts.schemaPath = resolve(base, value.value);
      if (name === "migrations" && value.type === "ObjectExpression") {
        const migrationsPath = stringProperty(value, "path");
        if (migrationsPath !== undefined) facts.migrationsPath = resolve(base, migrationsPath);
      }
      if (name === "datasource" && value.type === "ObjectExpression" && !facts.datasourceUrl) {
        const url = value.properties.find(
          (p) => p.type === "ObjectProperty" && propertyKeyName(p.key, p.computed) === "url",
        );
        facts.datasourceUrl =
          url && url.type === "ObjectProperty"
            ? classifyUrlExpression(url.value, program, file, url.loc?.start.line ?? line)
            : { kind: "missing", file, line };
      }
    }
  });
  return facts;
}

/**
 * `env("X")` (from `prisma/config`) and `process.env.X` both read variable X; a literal is a
 * hard-coded URL; anything else (a fallback `??`, string building) cannot be proven to be X alone.
 */
function classifyUrlExpression(expression: Node, program: Program, file: string, line: number): DatasourceUrl {
  const value = resolveConst(unwrapExpression(expression), program);
  const variable = envVariableOf(value);
  if (variable !== undefined) return { kind: "env", variable, file, line };
  if (value.type === "StringLiteral" || (value.type === "TemplateLiteral" && value.expressions.length === 0)) {
    return { kind: "literal", file, line };
  }
  return { kind: "other", file, line };
}

function envVariableOf(node: Node): string | undefined {
  if (node.type === "CallExpression" && node.callee.type === "Identifier" && node.callee.name === "env") {
    const [first] = node.arguments;
    return first?.type === "StringLiteral" ? first.value : undefined;
  }
  if (node.type === "MemberExpression" || node.type === "OptionalMemberExpression") {
    const owner = unwrapExpression(node.object);
    const isProcessEnv =
      (owner.type === "MemberExpression" || owner.type === "OptionalMemberExpression") &&
      owner.object.type === "Identifier" &&
      owner.object.name === "process" &&
      propertyKeyName(owner.property, owner.computed) === "env";
    return isProcessEnv ? propertyKeyName(node.property, node.computed) : undefined;
  }
  return undefined;
}

/** Follows `url: databaseUrl` to a top-level `const databaseUrl = …` once. */
function resolveConst(node: Node, program: Program): Node {
  if (node.type !== "Identifier") return node;
  for (const statement of program.body) {
    const declaration = statement.type === "ExportNamedDeclaration" ? statement.declaration : statement;
    if (declaration?.type !== "VariableDeclaration" || declaration.kind !== "const") continue;
    for (const declarator of declaration.declarations) {
      if (declarator.id.type === "Identifier" && declarator.id.name === node.name && declarator.init) {
        return unwrapExpression(declarator.init);
      }
    }
  }
  return node;
}

function stringProperty(object: ObjectExpression, key: string): string | undefined {
  for (const property of object.properties) {
    if (property.type !== "ObjectProperty" || propertyKeyName(property.key, property.computed) !== key) continue;
    const value = unwrapExpression(property.value);
    if (value.type === "StringLiteral") return value.value;
  }
  return undefined;
}

/** Calls `visit` for every object literal in the file, outermost first. */
function visitObjects(root: Node, visit: (object: ObjectExpression) => void): void {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const current = stack.pop();
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push(current[i]);
      continue;
    }
    if (!isNode(current)) continue;
    if (current.type === "ObjectExpression") visit(current);
    for (const [key, child] of Object.entries(current)) {
      if (key === "loc" || key === "leadingComments" || key === "trailingComments" || key === "innerComments") continue;
      if (typeof child === "object" && child !== null) stack.push(child);
    }
  }
}

function isNode(value: unknown): value is Node {
  return typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string";
}
