/**
 * The child process the service registry is evaluated in (see evaluate-registry.ts): started as
 * `node --max-old-space-size=… --import <TypeScript loader> registry-child.js <registry path>` with
 * a minimal environment, in its own process group, under a time limit. It imports the registry
 * module, turns its value into plain data here (every getter runs in this process, so one that
 * throws is reported with its line, not in the CLI), and writes one JSON document on file
 * descriptor 3: `{ "value": … }`, `{ "error": { "message", "stack" } }` or `{ "missing": true }`.
 * Bundled on its own (dist/registry-child.js); it imports nothing of the CLI.
 */
import { writeSync } from "node:fs";
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

async function evaluate(path: string): Promise<string> {
  try {
    const namespace = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
    const value = registryExport(namespace);
    if (value === undefined) return JSON.stringify({ missing: true });
    // Reads every getter here; `undefined` and functions drop out as JSON drops them.
    return `{"value":${JSON.stringify(value) ?? "null"}}`;
  } catch (error) {
    return errorResult(error);
  }
}

send(await evaluate(process.argv[2] ?? ""));
// The registry may have left timers or sockets open: the answer is written, so the process ends.
process.exit(0);
