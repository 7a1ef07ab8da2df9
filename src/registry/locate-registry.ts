import type { Node, Program } from "@babel/types";
import { propertyKeyName, unwrapExpression } from "./parse-typescript.js";

/** Where the registry literal and each of its keys stand in the source: the lines findings point at. */
export interface RegistryLocations {
  /** Line of the `serviceRegistry` declaration (or of `export default`); 1 when not found. */
  readonly declarationLine: number;
  /** Whether `serviceRegistry` is declared in this file at all (exported or not). */
  readonly declared: boolean;
  /** Line of a value path inside the literal (`["auth-gateway", "port"]`), or of its nearest located parent. */
  lineOf(path: readonly PropertyKey[]): number;
}

const REGISTRY_NAME = "serviceRegistry";

/**
 * Finds the registry object literal by reading the AST (`const serviceRegistry = {…} satisfies …`,
 * `export const`, `export { x as serviceRegistry }`, `export default {…}`) and records the line of
 * every property and array element in it. Entries spread in from other files keep the declaration line.
 */
export function locateRegistry(program: Program): RegistryLocations {
  const localName = exportedLocalName(program) ?? REGISTRY_NAME;
  const declaration = findConstInit(program, localName);
  const defaultExport = program.body.find((s) => s.type === "ExportDefaultDeclaration");
  const literalSource =
    declaration?.init ??
    (defaultExport?.type === "ExportDefaultDeclaration" && defaultExport.declaration.type !== "TSDeclareFunction"
      ? resolveIdentifier(defaultExport.declaration, program)
      : undefined);
  const declarationLine = (declaration?.line ?? defaultExport?.loc?.start.line) || 1;

  const lines = new Map<string, number>();
  if (literalSource) recordLines(registryLiteral(literalSource), undefined, lines);

  return {
    declarationLine,
    declared: declaration !== undefined,
    lineOf(path) {
      for (let length = path.length; length > 0; length--) {
        const line = lines.get(pathKey(path.slice(0, length)));
        if (line !== undefined) return line;
      }
      return declarationLine;
    },
  };
}

/** `registry` or `defineRegistry(registry)`: the object literal the value comes from. */
function registryLiteral(node: Node): Node {
  const value = unwrapExpression(node);
  if (value.type === "CallExpression" && value.arguments.length === 1 && value.arguments[0]) {
    return unwrapExpression(value.arguments[0]);
  }
  return value;
}

/** @param prefix `pathKey` of the path down to `node` (undefined at the root): keys are built as the walk descends. */
function recordLines(node: Node, prefix: string | undefined, lines: Map<string, number>): void {
  const value = unwrapExpression(node);
  const keyOf = (name: PropertyKey) => (prefix === undefined ? String(name) : `${prefix}\u0000${String(name)}`);
  if (value.type === "ObjectExpression") {
    for (const property of value.properties) {
      if (property.type !== "ObjectProperty") continue;
      const name = propertyKeyName(property.key, property.computed);
      if (name === undefined) continue;
      const key = keyOf(name);
      if (property.loc) lines.set(key, property.loc.start.line);
      recordLines(property.value, key, lines);
    }
  } else if (value.type === "ArrayExpression") {
    value.elements.forEach((element, index) => {
      if (!element || element.type === "SpreadElement") return;
      const key = keyOf(index);
      if (element.loc) lines.set(key, element.loc.start.line);
      recordLines(element, key, lines);
    });
  }
}

function pathKey(path: readonly PropertyKey[]): string {
  return path.map(String).join("\u0000");
}

/** `export { local as serviceRegistry }` → `local`. */
function exportedLocalName(program: Program): string | undefined {
  for (const statement of program.body) {
    if (statement.type !== "ExportNamedDeclaration" || statement.source) continue;
    for (const specifier of statement.specifiers) {
      if (specifier.type !== "ExportSpecifier") continue;
      const exported = specifier.exported.type === "Identifier" ? specifier.exported.name : specifier.exported.value;
      if (exported === REGISTRY_NAME) return specifier.local.name;
    }
  }
  return undefined;
}

function findConstInit(program: Program, name: string): { init: Node; line: number } | undefined {
  for (const statement of program.body) {
    const declaration = statement.type === "ExportNamedDeclaration" ? statement.declaration : statement;
    if (declaration?.type !== "VariableDeclaration") continue;
    for (const declarator of declaration.declarations) {
      if (declarator.id.type === "Identifier" && declarator.id.name === name && declarator.init) {
        return { init: declarator.init, line: declarator.loc?.start.line ?? 1 };
      }
    }
  }
  return undefined;
}

function resolveIdentifier(node: Node, program: Program): Node {
  const value = unwrapExpression(node);
  if (value.type !== "Identifier") return value;
  return findConstInit(program, value.name)?.init ?? value;
}
