import { createRequire as __civicCreateRequire } from "node:module";
const require = __civicCreateRequire(import.meta.url);

// src/registry/registry-child.ts
import { writeSync } from "node:fs";
import nodeModule from "node:module";
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
function requiredNamespace(path) {
  const load = nodeModule._load;
  const exported = load(path, null, false);
  return isObject(exported) && exported.__esModule === true ? exported : { default: exported };
}
async function evaluate(path, commonJs) {
  try {
    const namespace = commonJs ? requiredNamespace(path) : await import(pathToFileURL(path).href);
    const value = registryExport(namespace);
    const esmHooksFor = process[/* @__PURE__ */ Symbol.for("civic-conformance.tsx-esm-hooks")];
    const note = typeof esmHooksFor === "string" ? `,"esmHooksFor":${JSON.stringify(esmHooksFor)}` : "";
    if (value === void 0) return `{"missing":true${note}}`;
    return `{"value":${JSON.stringify(value) ?? "null"}${note}}`;
  } catch (error) {
    return errorResult(error);
  }
}
void evaluate(process.argv[2] ?? "", process.argv[3] === "commonjs").then((json) => {
  send(json);
  process.exit(0);
});
