import { parse } from "@babel/parser";
import type { File, Node } from "@babel/types";
import { relative } from "node:path";
import { UsageError } from "../core/errors.js";

/**
 * Parses a TypeScript module with locations, turning a syntax error into a `UsageError` that names
 * file:line:column, so the user sees where to look before anything is evaluated.
 */
export function parseTypeScript(source: string, path: string): File {
  try {
    return parse(source, {
      sourceType: "module",
      plugins: ["typescript"],
      sourceFilename: path,
    });
  } catch (error) {
    const loc = (error as { loc?: { line: number; column: number } }).loc;
    const reason = (error as Error).message.replace(/\s*\(\d+:\d+\)$/, "");
    throw new UsageError(`Syntax error: ${reason}`, {
      file: displayPath(path),
      ...(loc && { line: loc.line, column: loc.column + 1 }),
    });
  }
}

/** Strips the wrappers TypeScript allows around a value: `as const`, `satisfies T`, `x!`, `<T>x`, parentheses. */
export function unwrapExpression(node: Node): Node {
  let current = node;
  for (;;) {
    switch (current.type) {
      case "TSAsExpression":
      case "TSSatisfiesExpression":
      case "TSNonNullExpression":
      case "TSTypeAssertion":
      case "ParenthesizedExpression":
        current = current.expression;
        continue;
      default:
        return current;
    }
  }
}

/** The static name of an object key (`a`, `"a"`, `["a"]`), or undefined for a computed one. */
export function propertyKeyName(key: Node, computed: boolean): string | undefined {
  if (key.type === "Identifier" && !computed) return key.name;
  if (key.type === "StringLiteral" || key.type === "NumericLiteral") return String(key.value);
  if (key.type === "TemplateLiteral" && key.expressions.length === 0) return key.quasis[0]?.value.cooked ?? undefined;
  return undefined;
}

/** A path as the user should see it in an error: relative to the working directory. */
export function displayPath(path: string): string {
  const fromCwd = relative(process.cwd(), path);
  return fromCwd.startsWith("..") || fromCwd === "" ? path : fromCwd;
}
