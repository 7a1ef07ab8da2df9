/**
 * The child process the service registry is evaluated in (see evaluate-registry.ts): started as
 * `node --max-old-space-size=… --import <TypeScript loader> registry-child.js <registry path>`, or
 * with `--require tsx-commonjs-preload.cjs … <registry path> commonjs` (sandbox/typescript-loader.ts), with
 * a minimal environment, in its own process group, under a time limit. It imports the registry
 * module, turns its value into plain data here (every getter runs in this process, so one that
 * throws is reported with its line, not in the CLI), and writes one JSON document on file
 * descriptor 3: `{ "value": … }`, `{ "error": { "message", "stack" } }` or `{ "missing": true }`.
 * Bundled on its own (dist/registry-child.js); it imports nothing of the CLI.
 */
import { writeSync } from "node:fs";
import nodeModule from "node:module";
import { pathToFileURL } from "node:url";

const RESULT_FD = 3;

function send(json: string): void {
  const bytes = Buffer.from(json, "utf8");
  for (let written = 0; written < bytes.length; ) written += writeSync(RESULT_FD, bytes, written);
}

function errorResult(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const stack = error instanceof Error ? (error.stack ?? "") : "";
  return JSON.stringify({ error: { message, stack } });
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null;

/**
 * `serviceRegistry`, else the default export. A module the loader ran as CommonJS arrives as
 * `{ default: module.exports }`, so its named export is one level down.
 */
function registryExport(namespace: Record<string, unknown>): unknown {
  if (namespace.serviceRegistry !== undefined) return namespace.serviceRegistry;
  const exported = namespace.default;
  if (isObject(exported) && exported.serviceRegistry !== undefined) return exported.serviceRegistry;
  if (isObject(exported) && exported.__esModule === true) return exported.default;
  return exported;
}

/**
 * The module as `--import tsx` hands it to `import()`, loaded with tsx's CommonJS hooks alone: the
 * parent chooses this only for a module written with ESM `export`s (no `exports`, `export =` or
 * `__esModule` of its own), which esbuild compiles to an `__esModule` object whose keys are exactly
 * its exports, as tsx's ESM hooks give them (its `default` export included). Loaded without a
 * parent, so a `Cannot find module` names the same require stack as under `import()`.
 */
function requiredNamespace(path: string): Record<string, unknown> {
  const load = (nodeModule as unknown as { _load(request: string, parent: null, isMain: boolean): unknown })._load;
  const exported = load(path, null, false);
  return isObject(exported) && exported.__esModule === true ? exported : { default: exported };
}

async function evaluate(path: string, commonJs: boolean): Promise<string> {
  try {
    const namespace = commonJs ? requiredNamespace(path) : ((await import(pathToFileURL(path).href)) as Record<string, unknown>);
    const value = registryExport(namespace);
    // Set by tsx-commonjs-preload.cjs when a module's `import(` made it start tsx's ESM hooks.
    const esmHooksFor = (process as unknown as Record<symbol, unknown>)[Symbol.for("civic-conformance.tsx-esm-hooks")];
    const note = typeof esmHooksFor === "string" ? `,"esmHooksFor":${JSON.stringify(esmHooksFor)}` : "";
    if (value === undefined) return `{"missing":true${note}}`;
    // Reads every getter here; `undefined` and functions drop out as JSON drops them.
    return `{"value":${JSON.stringify(value) ?? "null"}${note}}`;
  } catch (error) {
    return errorResult(error);
  }
}

// No top-level await: in the source tree (tests) the CommonJS way runs this file through tsx's
// CommonJS hooks (evaluate-registry.ts), where it is compiled to CommonJS.
void evaluate(process.argv[2] ?? "", process.argv[3] === "commonjs").then((json) => {
  send(json);
  // The registry may have left timers or sockets open: the answer is written, so the process ends.
  process.exit(0);
});
