import { createRequire as __civicCreateRequire } from "node:module";
const require = __civicCreateRequire(import.meta.url);

// src/registry/registry-child.ts
import { writeSync } from "node:fs";
import { pathToFileURL } from "node:url";
var RESULT_FD = 3;
function send(json) {
  const bytes = Buffer.from(json, "utf8");
  for (let written = 0; written < bytes.length; ) written += writeSync(RESULT_FD, bytes, written);
}
function errorResult(error) {
  const message = error instanceof Error ? error.message : String(error);
  const stack = error instanceof Error ? error.stack ?? "" : "";
  return JSON.stringify({ error: { message, stack } });
}
var isObject = (value) => typeof value === "object" && value !== null;
function registryExport(namespace) {
  if (namespace.serviceRegistry !== void 0) return namespace.serviceRegistry;
  const exported = namespace.default;
  if (isObject(exported) && exported.serviceRegistry !== void 0) return exported.serviceRegistry;
  if (isObject(exported) && exported.__esModule === true) return exported.default;
  return exported;
}
async function evaluate(path) {
  try {
    const namespace = await import(pathToFileURL(path).href);
    const value = registryExport(namespace);
    if (value === void 0) return JSON.stringify({ missing: true });
    return `{"value":${JSON.stringify(value) ?? "null"}}`;
  } catch (error) {
    return errorResult(error);
  }
}
send(await evaluate(process.argv[2] ?? ""));
process.exit(0);
