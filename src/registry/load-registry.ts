import { join, resolve } from "node:path";
import { repoRelative } from "../core/repo-path.js";
import type { z } from "zod";
import { UsageError } from "../core/errors.js";
import { readInputText } from "../core/input-files.js";
import { closestName } from "./closest-name.js";
import { type Evaluated, evaluateRegistry, type RegistrySandbox } from "./evaluate-registry.js";
import { locateRegistry, type RegistryLocations } from "./locate-registry.js";
import { LAYERS, type Registry, type Service, type ServiceDefinition } from "./model.js";
import { displayPath, parseTypeScript } from "./parse-typescript.js";
import { FIELD_TYPES, isRequiredField, registrySchema, SERVICE_FIELDS } from "./schema.js";

/** Where a product keeps its registry, relative to the product folder. */
export const REGISTRY_PATH = join("infra", "service-registry.ts");

/**
 * Loads `<productDir>/infra/service-registry.ts` into the typed model.
 *
 * The file is TypeScript that may import sibling files, so it is evaluated, in a sandboxed child
 * process (evaluate-registry.ts) with its own TypeScript loader: nothing needs to be installed in
 * the user's repository. Before that, Babel parses it so a syntax error names its line, and so
 * every entry and field can be mapped to the line findings point at. Every problem is a
 * `UsageError` (exit code 2).
 *
 * @param sandbox how the module is evaluated (time limit, environment, work folder, abort signal)
 */
export async function loadRegistry(productDir: string, repoRoot: string, sandbox: RegistrySandbox = {}): Promise<Registry> {
  const path = resolve(productDir, REGISTRY_PATH);
  const shown = displayPath(path);
  let source: string;
  try {
    source = await readInputText(path, "service registry", { shown });
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`Service registry not found: expected ${REGISTRY_PATH} in the product folder ${displayPath(productDir)}`, {
      file: shown,
    });
  }

  // The evaluation's child starts first: its start-up and the module's evaluation (a second or more
  // for thousands of services) run while Babel parses the same file here. A syntax error stops the
  // child, and Babel's error, with its line, is the one thrown.
  const stop = new AbortController();
  const evaluation = evaluateRegistry({ path, shown, source, repoRoot: resolve(repoRoot) }, { ...sandbox, signal: sandbox.signal ? AbortSignal.any([sandbox.signal, stop.signal]) : stop.signal });
  evaluation.catch(() => undefined);
  let locations: RegistryLocations;
  try {
    locations = locateRegistry(parseTypeScript(source, path).program);
  } catch (error) {
    stop.abort(error);
    await evaluation.catch(() => undefined);
    throw error;
  }
  const value = registryValue(await evaluation, shown, locations);
  const parsed = registrySchema.safeParse(value);
  if (!parsed.success) throw schemaError(parsed.error.issues, value, locations, shown);

  const services: Service[] = Object.entries(parsed.data).map(([key, definition]) => ({
    ...(definition as ServiceDefinition),
    key,
    line: locations.lineOf([key]),
    fieldLines: Object.fromEntries(Object.keys(definition).map((field) => [field, locations.lineOf([key, field])])),
  }));
  if (services.length === 0) {
    throw new UsageError("The service registry declares no services", { file: shown, line: locations.declarationLine });
  }
  return { path, file: repoRelative(resolve(repoRoot), path), services, source: "typescript" };
}

function registryValue(evaluated: Evaluated, shown: string, locations: RegistryLocations): unknown {
  if ("missing" in evaluated) {
    const hint = locations.declared
      ? "`serviceRegistry` is declared but not exported: add `export { serviceRegistry };`"
      : "export it as `export const serviceRegistry = { … } satisfies Record<string, ServiceDefinition>;`";
    throw new UsageError(`The service registry has no \`serviceRegistry\` export (nor a default export); ${hint}`, {
      file: shown,
      line: locations.declarationLine,
    });
  }
  return evaluated.value;
}

interface Problem {
  line: number;
  message: string;
}

/** All schema problems at once, sorted by line: the first gives the location, the rest follow as `file:line: …`. */
function schemaError(issues: readonly z.core.$ZodIssue[], value: unknown, locations: RegistryLocations, shown: string): UsageError {
  const problems = issues
    .flatMap((issue) => describeIssue(issue, value, locations))
    .sort((a, b) => a.line - b.line);
  const [first] = problems;
  const message = problems
    .map((problem, index) => (index === 0 ? problem.message : `${shown}:${problem.line}: ${problem.message}`))
    .join("\n");
  return new UsageError(message, { file: shown, line: first?.line ?? locations.declarationLine });
}

function describeIssue(issue: z.core.$ZodIssue, value: unknown, locations: RegistryLocations): Problem[] {
  const path = issue.path;
  const [key, field, ...rest] = path.map(String);
  const line = locations.lineOf(path);
  if (key === undefined) {
    return [{ line, message: `The service registry must be an object keyed by service name, not ${describeValue(value)}` }];
  }
  if (field === undefined) {
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((unknownField) => {
        const guess = closestName(unknownField, SERVICE_FIELDS);
        return {
          line: locations.lineOf([key, unknownField]),
          message:
            `Unknown field '${unknownField}' for service '${key}'. Expected one of ${SERVICE_FIELDS.join(", ")}` +
            (guess ? ` (did you mean '${guess}'?)` : ""),
        };
      });
    }
    return [{ line, message: `Service '${key}' must be an object of fields, not ${describeValue(valueAt(value, [key]))}` }];
  }

  const actual = valueAt(value, path);
  const expected = FIELD_TYPES[field as keyof typeof FIELD_TYPES] ?? "a valid value";
  if (actual === undefined && rest.length === 0 && isRequiredField(field)) {
    return [{ line, message: `Service '${key}' is missing the required field '${field}' (${expected})` }];
  }
  if (field === "layer" && typeof actual === "string") {
    return [{ line, message: `Unknown layer '${actual}' for service '${key}'. Expected one of ${LAYERS.join(", ")}` }];
  }
  const where = field + rest.map((segment) => (/^\d+$/.test(segment) ? `[${segment}]` : `.${segment}`)).join("");
  return [{ line, message: `Field '${where}' of service '${key}' must be ${rest.length > 0 ? "a string" : expected}, not ${describeValue(actual)}` }];
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current = root;
  for (const segment of path) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "string":
      return `the string ${JSON.stringify(value)}`;
    case "number":
    case "boolean":
      return `${typeof value} ${String(value)}`;
    case "undefined":
      return "undefined";
    case "object":
      return "an object";
    default:
      return `a ${typeof value}`;
  }
}
