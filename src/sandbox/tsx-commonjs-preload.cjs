"use strict";
/**
 * Preloaded with `node --require` into the children that run the product's TypeScript on a Node
 * without `module.registerHooks` (< 22.15), where `node --import tsx` costs a loader thread with a
 * second Node environment (about 0.25 s of CPU per child). It gives what `--import tsx` gives for a
 * module that tsx runs as CommonJS (see typescript-loader.ts for when that is chosen):
 * - tsx's CommonJS hooks, the very ones `--import tsx` registers: every `require` (and every
 *   `import` statement, which esbuild turns into one) is transformed and resolved as under tsx;
 * - tsx's ESM hooks, started on demand (`tsx/esm/api`'s `register()`, what `--import tsx` calls at
 *   its start) before the first module whose source has `import(` is compiled: a dynamic import
 *   leaves the CommonJS world for Node's ESM loader, which only tsx's ESM hooks teach TypeScript.
 * - a wrapper around Node's `Module._resolveFilename`, as that `register()` installs at once: it adds
 *   one stack frame to every resolution, and a `Cannot find module` thrown two modules deep keeps
 *   the registry's own frame within V8's ten only when both ways have the same frames (the
 *   registry's line comes from the stack). The wrapper does what tsx's does (`interopCjsExports`:
 *   a request that is tsx's CommonJS-annotation URL names its file) and, once a module is
 *   resolved, looks at its source for `import(`. It is removed when tsx's own takes its place.
 * The table in test/unit/typescript-ways.test.ts compares both ways shape by shape: it is the canary
 * that fails when a tsx upgrade changes what this mirrors.
 */
const Module = require("node:module");
const { readFileSync } = require("node:fs");
const { dirname, extname, join, sep } = require("node:path");

require("tsx/cjs");

/** Set when tsx's ESM hooks were started; the registry child reports it for the verbose log. */
const STARTED = Symbol.for("civic-conformance.tsx-esm-hooks");
const SOURCE_EXTENSIONS = new Set([".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs"]);
const DYNAMIC_IMPORT = /\bimport\s*\(/;
const CJS_ANNOTATION = "data:text/javascript,";

const resolveFilename = Module._resolveFilename;

/** tsx's `interopCjsExports` (tsx/dist/require-*.mjs `getOriginalFilePath`), as its ESM `register()` installs it. */
function interopCjsExports(request) {
  if (typeof request !== "string" || !request.startsWith(CJS_ANNOTATION)) return request;
  const query = request.indexOf("?");
  if (query === -1) return request;
  const filePath = new URLSearchParams(request.slice(query + 1)).get("filePath");
  if (!filePath) return request;
  Module._cache[filePath] = Module._cache[request];
  delete Module._cache[request];
  return filePath;
}

function startEsmHooks(filename) {
  Module._resolveFilename = resolveFilename;
  process[STARTED] = filename;
  // The ESM build: tsx's CommonJS build of `tsx/esm/api` registers `./esm/index.mjs` relative to
  // its own folder, where there is none. Node 20.20 loads an ES module through require() (no
  // top-level await in it).
  require(join(dirname(require.resolve("tsx/package.json")), "dist/esm/api/index.mjs")).register();
}

/**
 * civic-conformance's own code (this file sits in src/sandbox/ or dist/): the source tree's registry
 * child is required here, and its `import()` serves only the full loader.
 */
const OWN_ROOT = __dirname.endsWith(join("src", "sandbox")) ? dirname(dirname(__dirname)) : dirname(__dirname);
const OWN_CODE = [join(OWN_ROOT, "src") + sep, join(OWN_ROOT, "dist") + sep];

function hasDynamicImport(filename) {
  if (typeof filename !== "string" || !SOURCE_EXTENSIONS.has(extname(filename))) return false;
  if (OWN_CODE.some((folder) => filename.startsWith(folder))) return false;
  try {
    return DYNAMIC_IMPORT.test(readFileSync(filename, "utf8"));
  } catch {
    return false;
  }
}

const resolveFilenameAsTsx = (request, ...rest) => {
  const filename = resolveFilename(interopCjsExports(request), ...rest);
  if (process[STARTED] === undefined && hasDynamicImport(filename)) startEsmHooks(filename);
  return filename;
};
Module._resolveFilename = resolveFilenameAsTsx;
