import { readFileSync, statSync } from "node:fs";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import nodeModule from "node:module";

/**
 * The TypeScript loader product code runs under (the registry module, `infra/generate.ts`),
 * resolved from this package rather than the user's repository: tsx, which is what
 * `npx tsx infra/generate.ts` runs (TypeScript, ESM or CommonJS, `import.meta.url` and `__dirname`,
 * nothing installed in the repository). Where tsx cannot be resolved (the action's self-contained
 * bundle carries no native esbuild) jiti's hooks stand in: the same semantics, slower to start.
 *
 * `node --import tsx` on a Node without `module.registerHooks` (< 22.15) registers tsx's ESM hooks
 * with `module.register`, which boots a loader thread with a second Node environment: about 0.25 s
 * of CPU before the first line runs. A module tsx runs as CommonJS needs none of it: its `import`
 * statements become `require` calls, which tsx's CommonJS hooks serve in both ways. So such a
 * module is run with `--require` of tsx-commonjs-preload.cjs (tsx's CommonJS hooks; its ESM hooks
 * only if a module of the graph has `import(`), everything else with the full `--import tsx`.
 */

/** How a child runs the product's TypeScript. */
export type TypeScriptWay = "tsx-commonjs" | "tsx" | "jiti";

/** Which way a caller allows: the fastest that gives what `npx tsx` gives, or the full `--import tsx`. */
export type LoaderPreference = "fastest" | "tsx-import";

export interface TypeScriptRun {
  readonly way: TypeScriptWay;
  /** The Node flags that install it, before the entry. */
  readonly nodeArgs: readonly string[];
  /** For the verbose log: "tsx's CommonJS hooks (no loader thread)". */
  readonly description: string;
}

const IN_THREAD_HOOKS = typeof (nodeModule as { registerHooks?: unknown }).registerHooks === "function";

const DESCRIPTIONS: Record<TypeScriptWay, string> = {
  "tsx-commonjs": "tsx's CommonJS hooks (no loader thread)",
  tsx: IN_THREAD_HOOKS ? "tsx (--import, its hooks in-thread)" : "tsx (--import, with its ESM loader thread)",
  jiti: "jiti (--import jiti/register)",
};

function resolved(specifier: string): string | undefined {
  try {
    return fileURLToPath(import.meta.resolve(specifier));
  } catch {
    return undefined;
  }
}

/**
 * The loader handed to `node --import`: tsx, else jiti. Resolved once: the answer does not change
 * while the process runs.
 */
let importLoader: { readonly way: "tsx" | "jiti"; readonly path: string } | undefined;
function fullLoader(): { readonly way: "tsx" | "jiti"; readonly path: string } {
  if (importLoader) return importLoader;
  const tsx = resolved("tsx");
  const jiti = tsx === undefined ? resolved("jiti/register") : undefined;
  if (tsx !== undefined) importLoader = { way: "tsx", path: tsx };
  else if (jiti !== undefined) importLoader = { way: "jiti", path: jiti };
  else throw new Error("neither tsx nor jiti can be resolved from civic-conformance's own installation");
  return importLoader;
}

/**
 * Node ≥ 22.15 has `module.registerHooks`: tsx registers its hooks in-thread, and `--import tsx`
 * costs no loader thread. Below Node 20.19 `require()` cannot load an ES module, which the preload
 * needs to start tsx's ESM hooks on demand.
 */
const COMMONJS_WAY_PAYS = !IN_THREAD_HOOKS && (process.features as { require_module?: boolean }).require_module === true;

/** Beside this module in the source tree, beside the bundle in dist/ (scripts/build.mjs copies it). */
const COMMONJS_PRELOAD = fileURLToPath(new URL("./tsx-commonjs-preload.cjs", import.meta.url));

/** Larger package.json files are not read here (the biggest on npm are a few hundred kB). */
const PACKAGE_JSON_BYTES = 1024 * 1024;

/** The extensions tsx runs as CommonJS unless the package says `"type": "module"` (.mts/.mjs are always ESM). */
const PACKAGE_TYPED = new Set([".ts", ".tsx", ".js", ".jsx"]);
/** Always CommonJS under tsx; as Node's main module, still ESM-loaded in a `"type": "module"` package. */
const ALWAYS_COMMONJS = new Set([".cts", ".cjs"]);

/**
 * The `"type"` of the package scope a file is in: Node's rule, the nearest package.json up the
 * tree decides (even one without `type`). Undefined when that file cannot be read as JSON: then
 * only the full loader gives tsx's own answer.
 */
function packageType(file: string): string | null | undefined {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const path = join(dir, "package.json");
    // The repository's file, read in this process: only a regular file of a sane size (a FIFO would
    // block the read forever, a device never end); anything else, and the full loader decides.
    const info = statSync(path, { throwIfNoEntry: false });
    if (info !== undefined && (!info.isFile() || info.size > PACKAGE_JSON_BYTES)) return undefined;
    let text: string | undefined;
    try {
      if (info !== undefined) text = readFileSync(path, "utf8");
    } catch {
      // Unreadable: look further up, as Node does.
    }
    if (text !== undefined) {
      try {
        const parsed = JSON.parse(text) as { type?: unknown } | null;
        return typeof parsed?.type === "string" ? parsed.type : null;
      } catch {
        return undefined;
      }
    }
    if (dirname(dir) === dir) return null;
  }
}

/** True when tsx runs `entry` as CommonJS (a `.ts` outside a `"type": "module"` package, a `.cts`…). */
export function runsAsCommonJs(entry: string): boolean {
  const extension = extname(entry);
  if (!PACKAGE_TYPED.has(extension) && !ALWAYS_COMMONJS.has(extension)) return false;
  // A .cts/.cjs main module in a "type": "module" package still goes to Node's ESM loader first.
  const type = packageType(entry);
  return type !== undefined && type !== "module";
}

/**
 * How to run `entry` (the registry module, the generator script). `commonJsAllowed` lets the caller
 * veto the CommonJS way for a reason of its own (the registry's export shape).
 */
export function typescriptRun(entry: string, preference: LoaderPreference = "fastest", commonJsAllowed = true): TypeScriptRun {
  const loader = fullLoader();
  const way: TypeScriptWay = loader.way === "tsx" && preference === "fastest" && COMMONJS_WAY_PAYS && commonJsAllowed && runsAsCommonJs(entry) ? "tsx-commonjs" : loader.way;
  const nodeArgs = way === "tsx-commonjs" ? ["--require", COMMONJS_PRELOAD] : ["--import", loader.path];
  return { way, nodeArgs, description: DESCRIPTIONS[way] };
}

/** Variables that keep the loaders from writing a disk cache (the run leaves nothing behind; each copy is new anyway). */
export const LOADER_CACHES_OFF: Readonly<Record<string, string>> = { JITI_FS_CACHE: "false", TSX_DISABLE_CACHE: "1" };
