/**
 * The registry and the generator run the product's TypeScript in a child process, with the fastest
 * way that gives what `npx tsx` gives (src/sandbox/typescript-loader.ts): on a Node without
 * `module.registerHooks`, tsx's CommonJS hooks alone for a module tsx runs as CommonJS, the full
 * `--import tsx` otherwise. Each shape below is run both ways — the default, and the full
 * `--import tsx` the code used before — and the verdicts must be equal: the registry's value or its
 * error with file, line and column; the generator's findings (files it writes, exit code, stderr
 * tail). Real child processes, real tsx, real files; nothing mocked.
 */
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import nodeModule from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { regenerate } from "../../src/checks/drift/index.js";
import { UsageError } from "../../src/core/errors.js";
import { RecordingLogger } from "../../src/core/logger.js";
import { evaluateRegistry } from "../../src/registry/evaluate-registry.js";
import { type LoaderPreference, runsAsCommonJs } from "../../src/sandbox/typescript-loader.js";
import { copyFixture, fixtureProduct } from "../helpers/fixtures.js";

/** On Node ≥ 22.15 `--import tsx` runs its hooks in-thread: the full loader is then the fast one. */
const IN_THREAD_HOOKS = typeof (nodeModule as { registerHooks?: unknown }).registerHooks === "function";
const FULL_WAY = IN_THREAD_HOOKS ? "tsx (--import, its hooks in-thread)" : "tsx (--import, with its ESM loader thread)";
const COMMONJS_WAY = IN_THREAD_HOOKS ? FULL_WAY : "tsx's CommonJS hooks (no loader thread)";

type Files = Record<string, string>;

async function folderWith(files: Files): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "civic-ts-ways-"));
  // As root the generator runs as the unprivileged user, through the copy's link to node_modules here.
  await chmod(root, 0o755);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  return root;
}

const SERVICE = `{ database: "tax_db", owner: "tax_app", port: 4100 }`;
const CJS_PACKAGE = { "package.json": `{ "name": "product" }` };
const ESM_PACKAGE = { "package.json": `{ "name": "product", "type": "module" }` };
const ESM_ONLY_DEPENDENCY = {
  "node_modules/esm-only/package.json": `{ "name": "esm-only", "type": "module", "exports": "./index.js" }`,
  "node_modules/esm-only/index.js": `export const port = 4100;\n`,
};

// ---------------------------------------------------------------- the registry

interface RegistryShape {
  readonly name: string;
  readonly files: Files;
  /** The way the default runs it: "commonjs" or "full". */
  readonly way: "commonjs" | "full";
  /** "value", "missing" or "error": what both ways must give (guards against both being broken alike). */
  readonly verdict: "value" | "missing" | "error";
}

const REGISTRY = "infra/service-registry.ts";

const registryShapes: RegistryShape[] = [
  { name: "a .ts in a CommonJS package, `export const … satisfies`", way: "commonjs", verdict: "value", files: { ...CJS_PACKAGE, [REGISTRY]: `type S = { database: string };\nexport const serviceRegistry = { tax: ${SERVICE} } satisfies Record<string, S>;\n` } },
  { name: "a .ts with no package.json above it", way: "commonjs", verdict: "value", files: { [REGISTRY]: `export const serviceRegistry = { tax: ${SERVICE} };\n` } },
  { name: "an `export default` registry", way: "commonjs", verdict: "value", files: { ...CJS_PACKAGE, [REGISTRY]: `const port: number = 4100;\nexport default { tax: { database: "tax_db", port } };\n` } },
  { name: "an `export default { serviceRegistry }`", way: "commonjs", verdict: "value", files: { ...CJS_PACKAGE, [REGISTRY]: `export default { serviceRegistry: { tax: ${SERVICE} } };\n` } },
  { name: "both a named `serviceRegistry` and a default export", way: "commonjs", verdict: "value", files: { ...CJS_PACKAGE, [REGISTRY]: `export const serviceRegistry = { tax: ${SERVICE} };\nexport default { other: 1 };\n` } },
  { name: "`export { registry as serviceRegistry }` and no default", way: "commonjs", verdict: "value", files: { ...CJS_PACKAGE, [REGISTRY]: `const registry = { tax: ${SERVICE} };\nexport { registry as serviceRegistry };\nexport const version = 2;\n` } },
  { name: "no export at all", way: "commonjs", verdict: "value", files: { ...CJS_PACKAGE, [REGISTRY]: `const serviceRegistry = { tax: ${SERVICE} };\nvoid serviceRegistry;\n` } },
  { name: "a registry exporting something else only", way: "commonjs", verdict: "missing", files: { ...CJS_PACKAGE, [REGISTRY]: `export const services = { tax: ${SERVICE} };\n` } },
  { name: "`module.exports =` (its own export shape: the full loader)", way: "full", verdict: "value", files: { ...CJS_PACKAGE, [REGISTRY]: `module.exports = { serviceRegistry: { tax: ${SERVICE} } };\n` } },
  { name: "`export =` (its own export shape: the full loader)", way: "full", verdict: "value", files: { ...CJS_PACKAGE, [REGISTRY]: `const serviceRegistry = { tax: ${SERVICE} };\nexport = { serviceRegistry };\n` } },
  { name: "a function as module.exports with the registry on it", way: "full", verdict: "value", files: { ...CJS_PACKAGE, [REGISTRY]: `function registry() {}\nregistry.serviceRegistry = { tax: ${SERVICE} };\nmodule.exports = registry;\n` } },
  { name: "a .ts in a `\"type\": \"module\"` package with top-level await", way: "full", verdict: "value", files: { ...ESM_PACKAGE, [REGISTRY]: `const port = await Promise.resolve(4100);\nexport const serviceRegistry = { tax: { database: "tax_db", port, url: import.meta.url.slice(0, 7) } };\n` } },
  { name: "top-level await in a CommonJS package's .ts", way: "commonjs", verdict: "error", files: { ...CJS_PACKAGE, [REGISTRY]: `const port = await Promise.resolve(4100);\nexport const serviceRegistry = { tax: { database: "tax_db", port } };\n` } },
  { name: "top-level await in an imported module", way: "commonjs", verdict: "error", files: { ...CJS_PACKAGE, "infra/port.ts": `export const port = await Promise.resolve(4100);\n`, [REGISTRY]: `import { port } from "./port";\nexport const serviceRegistry = { tax: { database: "tax_db", port } };\n` } },
  { name: "a .mts imported from a CommonJS package's .ts", way: "commonjs", verdict: "value", files: { ...CJS_PACKAGE, "infra/port.mts": `export const port: number = 4100;\n`, [REGISTRY]: `import { port } from "./port.mjs";\nexport const serviceRegistry = { tax: { database: "tax_db", port } };\n` } },
  { name: "a .ts of a `\"type\": \"module\"` subfolder imported from a CommonJS .ts", way: "commonjs", verdict: "value", files: { ...CJS_PACKAGE, "infra/lib/package.json": `{ "type": "module" }`, "infra/lib/port.ts": `export const port = 4100;\n`, [REGISTRY]: `import { port } from "./lib/port";\nexport const serviceRegistry = { tax: { database: "tax_db", port } };\n` } },
  { name: "an ESM-only dependency", way: "commonjs", verdict: "value", files: { ...CJS_PACKAGE, ...ESM_ONLY_DEPENDENCY, [REGISTRY]: `import { port } from "esm-only";\nexport const serviceRegistry = { tax: { database: "tax_db", port } };\n` } },
  { name: "`import.meta.url` and `__dirname` in a CommonJS package's .ts", way: "commonjs", verdict: "value", files: { ...CJS_PACKAGE, [REGISTRY]: `import { basename } from "node:path";\nexport const serviceRegistry = { tax: { database: basename(__dirname), url: new URL(".", import.meta.url).protocol } };\n` } },
  { name: "a throw two modules deep", way: "commonjs", verdict: "error", files: { ...CJS_PACKAGE, "infra/lib/deep.ts": `interface O { x?: number }\nexport function port(o: O = {}): number {\n  throw new Error("no port " + (o.x ?? ""));\n}\n`, "infra/lib/mid.ts": `import { port } from "./deep";\nexport const value: number = port();\n`, [REGISTRY]: `import { value } from "./lib/mid";\n\nexport const serviceRegistry = { tax: { database: "tax_db", port: value } };\n` } },
  { name: "a throw in the registry's own code", way: "commonjs", verdict: "error", files: { ...CJS_PACKAGE, "infra/lib/port.ts": `export function port(n: number): number {\n  if (n > 0) throw new RangeError("bad port " + n);\n  return n;\n}\n`, [REGISTRY]: `import { port } from "./lib/port";\ntype S = { port: number };\n\nexport const serviceRegistry = { tax: { database: "tax_db", port: port(4100) } satisfies S };\n` } },
  { name: "a missing module imported two modules deep", way: "commonjs", verdict: "error", files: { ...CJS_PACKAGE, "infra/lib/mid.ts": `import { port } from "./missing";\nexport const value = port;\n`, [REGISTRY]: `import { value } from "./lib/mid";\nexport const serviceRegistry = { tax: { database: "tax_db", port: value } };\n` } },
  { name: "a missing module imported by the registry", way: "commonjs", verdict: "error", files: { ...CJS_PACKAGE, [REGISTRY]: `import { port } from "./missing";\nexport const serviceRegistry = { tax: { database: "tax_db", port } };\n` } },
  { name: "a getter that throws", way: "commonjs", verdict: "error", files: { ...CJS_PACKAGE, [REGISTRY]: `export const serviceRegistry = {\n  tax: {\n    database: "tax_db",\n    get port(): number { throw new Error("port lookup failed"); },\n  },\n};\n` } },
  { name: "a dynamic import() in the graph (tsx's ESM hooks started on demand)", way: "commonjs", verdict: "value", files: { ...CJS_PACKAGE, "infra/port.mts": `export const port = 4100;\n`, "infra/lazy.ts": `export const later = () => import("./port.mts");\nexport const name = "tax_db";\n`, [REGISTRY]: `import { name } from "./lazy";\nexport const serviceRegistry = { tax: { database: name } };\n` } },
  { name: "tsconfig paths (tsx reads tsconfig.json in the working directory, the run folder: an error both ways)", way: "commonjs", verdict: "error", files: { ...CJS_PACKAGE, "tsconfig.json": `{ "compilerOptions": { "baseUrl": ".", "paths": { "@lib/*": ["lib/*"] } } }`, "lib/port.ts": `export const port = 4100;\n`, [REGISTRY]: `import { port } from "@lib/port";\nexport const serviceRegistry = { tax: { database: "tax_db", port } };\n` } },
  { name: "`import type`, an enum, `as const` and spread of imported defaults", way: "commonjs", verdict: "value", files: { ...CJS_PACKAGE, "infra/types.ts": `export interface ServiceDefinition { database: string; port: number; layer: string }\nexport enum Layer { Core = "core", Edge = "edge" }\nexport const defaults = { port: 4100 } as const;\n`, [REGISTRY]: `import type { ServiceDefinition } from "./types";\nimport { defaults, Layer } from "./types";\nexport const serviceRegistry: Record<string, ServiceDefinition> = {\n  tax: { ...defaults, database: "tax_db", layer: Layer.Core },\n};\n` } },
  { name: "a package.json that is not JSON (the full loader gives tsx's answer)", way: "full", verdict: "error", files: { "package.json": `{ not json`, [REGISTRY]: `export const serviceRegistry = { tax: ${SERVICE} };\n` } },
];

type RegistryVerdict = { kind: "value" | "missing"; value?: unknown } | { kind: "error"; message: string; location: unknown };

async function evaluateBoth(root: string, loader: LoaderPreference): Promise<{ verdict: RegistryVerdict; log: string[] }> {
  const path = join(root, REGISTRY);
  const log: string[] = [];
  try {
    const evaluated = await evaluateRegistry({ path, shown: REGISTRY, source: await readFile(path, "utf8") }, { loader, log: (message) => log.push(message) });
    return { verdict: "missing" in evaluated ? { kind: "missing" } : { kind: "value", value: evaluated.value }, log };
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return { verdict: { kind: "error", message: error.message, location: error.location }, log };
  }
}

describe("the registry gives, whichever way it runs, what `--import tsx` gives", { timeout: 60_000 }, () => {
  for (const shape of registryShapes) {
    it(shape.name, async () => {
      const root = await folderWith(shape.files);
      try {
        const full = await evaluateBoth(root, "tsx-import");
        const fastest = await evaluateBoth(root, "fastest");
        expect(fastest.verdict).toEqual(full.verdict);
        expect(full.verdict.kind).toBe(shape.verdict);
        expect(full.log[0]).toBe(`registry: evaluated with ${FULL_WAY}`);
        expect(fastest.log[0]).toContain(`registry: evaluated with ${shape.way === "commonjs" ? COMMONJS_WAY : FULL_WAY}`);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    });
  }

  it("says in the verbose log when a module's import() started tsx's ESM hooks", async () => {
    const shape = registryShapes.find((candidate) => candidate.name.startsWith("a dynamic import()"))!;
    const root = await folderWith(shape.files);
    try {
      const { log } = await evaluateBoth(root, "fastest");
      if (!IN_THREAD_HOOKS) {
        expect(log).toEqual([`registry: evaluated with ${COMMONJS_WAY}; tsx's ESM hooks started for ${join(root, "infra/lazy.ts")}, which has import()`]);
      } else {
        expect(log).toEqual([`registry: evaluated with ${FULL_WAY}`]);
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------- the generator

interface GeneratorShape {
  readonly name: string;
  readonly files: Files;
  readonly way: "commonjs" | "full";
  /** What both ways must give: files written (a drift finding each), or a failure. */
  readonly verdict: "wrote" | "failed";
}

const WRITE = `import { writeFileSync } from "node:fs";\nimport { join } from "node:path";\n`;

const generatorShapes: GeneratorShape[] = [
  { name: "a .ts in a CommonJS package, with __dirname", way: "commonjs", verdict: "wrote", files: { ...CJS_PACKAGE, "infra/generate.ts": `${WRITE}const kind: string = typeof require;\nwriteFileSync(join(__dirname, "out.txt"), "cjs " + kind + "\\n");\n` } },
  { name: "a `require.main === module` guard", way: "commonjs", verdict: "wrote", files: { ...CJS_PACKAGE, "infra/generate.ts": `${WRITE}function main(): void {\n  writeFileSync(join(__dirname, "out.txt"), "main ran\\n");\n}\nif (require.main === module) main();\n` } },
  { name: "`import.meta.url` in a CommonJS package's .ts", way: "commonjs", verdict: "wrote", files: { ...CJS_PACKAGE, "infra/generate.ts": `${WRITE}import { fileURLToPath } from "node:url";\nconst here = fileURLToPath(new URL(".", import.meta.url));\nwriteFileSync(join(here, "out.txt"), "meta\\n");\n` } },
  { name: "a .ts in a `\"type\": \"module\"` package with top-level await", way: "full", verdict: "wrote", files: { ...ESM_PACKAGE, "infra/generate.ts": `${WRITE}const text = await Promise.resolve("esm " + typeof __dirname);\nwriteFileSync(new URL("out.txt", import.meta.url), text + "\\n");\n` } },
  { name: "a .mts with top-level await", way: "full", verdict: "wrote", files: { ...CJS_PACKAGE, "infra/generate.mts": `${WRITE}const text: string = await Promise.resolve("mts");\nwriteFileSync(new URL("out.txt", import.meta.url), text + "\\n");\n` } },
  { name: "a .cts in a CommonJS package", way: "commonjs", verdict: "wrote", files: { ...CJS_PACKAGE, "infra/generate.cts": `${WRITE}writeFileSync(join(__dirname, "out.txt"), String(require.main === module) + "\\n");\n` } },
  { name: "a .cts in a `\"type\": \"module\"` package", way: "full", verdict: "wrote", files: { ...ESM_PACKAGE, "infra/generate.cts": `${WRITE}writeFileSync(join(__dirname, "out.txt"), String(require.main === module) + "\\n");\n` } },
  { name: "top-level await in a CommonJS package's .ts", way: "commonjs", verdict: "failed", files: { ...CJS_PACKAGE, "infra/generate.ts": `${WRITE}const text = await Promise.resolve("x");\nwriteFileSync(join(__dirname, "out.txt"), text);\n` } },
  { name: "top-level await in an imported module", way: "commonjs", verdict: "failed", files: { ...CJS_PACKAGE, "infra/text.ts": `export const text = await Promise.resolve("x");\n`, "infra/generate.ts": `${WRITE}import { text } from "./text";\nwriteFileSync(join(__dirname, "out.txt"), text);\n` } },
  { name: "a .mts imported from a CommonJS package's .ts", way: "commonjs", verdict: "wrote", files: { ...CJS_PACKAGE, "infra/text.mts": `export const text: string = "from mts";\n`, "infra/generate.ts": `${WRITE}import { text } from "./text.mjs";\nwriteFileSync(join(__dirname, "out.txt"), text + "\\n");\n` } },
  { name: "an ESM-only dependency", way: "commonjs", verdict: "wrote", files: { ...CJS_PACKAGE, ...ESM_ONLY_DEPENDENCY, "infra/generate.ts": `${WRITE}import { port } from "esm-only";\nwriteFileSync(join(__dirname, "out.txt"), port + "\\n");\n` } },
  { name: "an async main() with a dynamic import of the registry", way: "commonjs", verdict: "wrote", files: { ...CJS_PACKAGE, "infra/service-registry.ts": `export const serviceRegistry = { tax: ${SERVICE} };\n`, "infra/generate.ts": `${WRITE}async function main(): Promise<void> {\n  const { serviceRegistry } = await import("./service-registry");\n  writeFileSync(join(__dirname, "out.txt"), Object.keys(serviceRegistry).join(",") + "\\n");\n}\nvoid main();\n` } },
  { name: "a dynamic import of a .mts whose failure would be caught", way: "commonjs", verdict: "wrote", files: { ...CJS_PACKAGE, "infra/text.mts": `export const text = "loaded";\n`, "infra/generate.ts": `${WRITE}import("./text.mts").then(\n  (m) => writeFileSync(join(__dirname, "out.txt"), m.text + "\\n"),\n  () => writeFileSync(join(__dirname, "out.txt"), "fell back\\n"),\n);\n` } },
  { name: "an uncaught throw (stderr tail: tsx's frames and caret)", way: "commonjs", verdict: "failed", files: { ...CJS_PACKAGE, "infra/generate.ts": `\nconst a: number = 1;\n\nfunction f(): never { throw new Error("bad " + a) }\nf();\n` } },
  { name: "a file written, then a throw", way: "commonjs", verdict: "failed", files: { ...CJS_PACKAGE, "infra/generate.ts": `${WRITE}writeFileSync(join(__dirname, "half.txt"), "half\\n");\nthrow new Error("half-way");\n` } },
  { name: "process.exit(3) after a message", way: "commonjs", verdict: "failed", files: { ...CJS_PACKAGE, "infra/generate.ts": `console.error("cannot render: no services");\nprocess.exit(3);\n` } },
  { name: "a missing import", way: "commonjs", verdict: "failed", files: { ...CJS_PACKAGE, "infra/generate.ts": `import { x } from "./missing";\nconsole.log(x);\n` } },
  // Shapes seen in public repositories' generator scripts: a shebang, `.js` specifiers naming .ts
  // files, `import * as path`, a plain `require()` in TypeScript, `main().catch(… process.exit(1))`.
  { name: "a shebang, `.js` specifiers for .ts files and `main().catch(exit 1)`", way: "commonjs", verdict: "wrote", files: { ...CJS_PACKAGE, "infra/render.ts": `export function render(names: string[]): string {\n  return names.join("\\n") + "\\n";\n}\n`, "infra/generate.ts": `#!/usr/bin/env node\nimport * as path from "path";\nimport { writeFileSync } from "node:fs";\nimport { render } from "./render.js";\nasync function main(): Promise<void> {\n  writeFileSync(path.join(__dirname, "out.txt"), render(["a", "b"]));\n}\nmain().catch((error: unknown) => {\n  console.error(error);\n  process.exit(1);\n});\n` } },
  { name: "the same `main().catch(exit 1)` failing", way: "commonjs", verdict: "failed", files: { ...CJS_PACKAGE, "infra/generate.ts": `#!/usr/bin/env node\nasync function main(): Promise<void> {\n  throw new Error("services.json not found");\n}\nmain().catch((error: unknown) => {\n  console.error(error);\n  process.exit(1);\n});\n` } },
  { name: "a plain require() in TypeScript", way: "commonjs", verdict: "wrote", files: { ...CJS_PACKAGE, "infra/names.json": `["a", "b"]`, "infra/generate.ts": `const fs = require("fs");\nconst names: string[] = require("./names.json");\nfs.writeFileSync(require("path").join(__dirname, "out.txt"), names.join(",") + "\\n");\n` } },
  { name: "tsconfig paths", way: "commonjs", verdict: "wrote", files: { ...CJS_PACKAGE, "tsconfig.json": `{ "compilerOptions": { "baseUrl": ".", "paths": { "@lib/*": ["lib/*"] } } }`, "lib/text.ts": `export const text = "paths";\n`, "infra/generate.ts": `${WRITE}import { text } from "@lib/text";\nwriteFileSync(join(__dirname, "out.txt"), text + "\\n");\n` } },
];

async function regenerateWith(root: string, loader: LoaderPreference): Promise<{ findings: unknown; log: string }> {
  const logger = new RecordingLogger();
  const output = await regenerate({
    repoRoot: root,
    productDir: root,
    options: { commandTimeoutMs: 20_000, concurrency: 2, env: { PATH: process.env.PATH } },
    logger,
    signal: new AbortController().signal,
    loader,
  });
  // Each run has its own copy: its path, in a stack or a require stack, is the one difference allowed.
  const findings = JSON.parse(JSON.stringify(output?.findings ?? []).replace(/[^\s"'()]*\/civic-conformance-run-[^/]+\/drift-[^/\s"']+/g, "<copy>")) as unknown;
  return { findings, log: logger.text() };
}

describe("the generator gives, whichever way it runs, what `--import tsx` gives", { timeout: 60_000 }, () => {
  for (const shape of generatorShapes) {
    it(shape.name, async () => {
      const root = await folderWith(shape.files);
      try {
        const full = await regenerateWith(root, "tsx-import");
        const fastest = await regenerateWith(root, "fastest");
        expect(fastest.findings).toEqual(full.findings);
        const rules = (full.findings as { rule: string }[]).map((finding) => finding.rule);
        expect(rules.length).toBeGreaterThan(0);
        expect(rules).toEqual([shape.verdict === "wrote" ? "drift/created" : "drift/generator-failed"]);
        expect(full.log).toContain(`drift: ran infra/generate.${shape.files["infra/generate.mts"] ? "mts" : shape.files["infra/generate.cts"] ? "cts" : "ts"} with ${FULL_WAY}`);
        expect(fastest.log).toContain(` with ${shape.way === "commonjs" ? COMMONJS_WAY : FULL_WAY}`);
        const reran = fastest.log.includes("failed under tsx's CommonJS hooks: rerun with the full tsx in a fresh copy");
        expect(reran).toBe(shape.verdict === "failed" && shape.way === "commonjs" && !IN_THREAD_HOOKS);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    });
  }
});

describe("the built CLI says in --verbose which way each child ran", { timeout: 60_000 }, () => {
  async function verboseWays(product: string): Promise<string[]> {
    const result = await execa(process.execPath, ["bin/civic-conformance.js", "check", product, "--only", "registry,drift", "--format", "json", "--verbose"], {
      reject: false,
      env: { PATH: process.env.PATH },
      extendEnv: false,
    });
    expect(result.exitCode).toBe(0);
    return result.stderr.split("\n").filter((line) => line.includes("registry: evaluated with") || line.includes("drift: ran infra/generate.ts with")).sort();
  }

  it("names the full tsx for the property-tax fixture, a `\"type\": \"module\"` package (dist/, as users run it)", async () => {
    expect(await verboseWays(fixtureProduct("property-tax"))).toEqual([`debug: drift: ran infra/generate.ts with ${FULL_WAY}`, `debug: registry: evaluated with ${FULL_WAY}`]);
  });

  it("names tsx's CommonJS hooks once the fixture's package is CommonJS (dist/, as users run it)", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.edit("package.json", (text) => text.replace(/,\s*"type": "module"/, ""));
    expect(await verboseWays(copy.product)).toEqual([`debug: drift: ran infra/generate.ts with ${COMMONJS_WAY}`, `debug: registry: evaluated with ${COMMONJS_WAY}`]);
  });
});

describe("choosing the way reads the repository's package.json as bounded input", () => {
  it("a package.json that is a FIFO, a device or too large is not read: the full loader decides, and nothing hangs", async () => {
    const root = await mkdtemp(join(tmpdir(), "civic-ways-package-"));
    try {
      const entry = (name: string) => join(root, name, "infra", "service-registry.ts");
      for (const name of ["fifo", "device", "large", "plain"]) await mkdir(dirname(entry(name)), { recursive: true });
      // Opening a FIFO nobody writes to blocks forever: a synchronous read would hang the CLI.
      await execa("mkfifo", [join(root, "fifo", "package.json")]);
      await symlink("/dev/zero", join(root, "device", "package.json"));
      await writeFile(join(root, "large", "package.json"), `{"type":"commonjs","padding":"${"x".repeat(2 * 1024 * 1024)}"}`);
      await writeFile(join(root, "plain", "package.json"), `{"type":"commonjs"}`);
      expect(["fifo", "device", "large"].map((name) => runsAsCommonJs(entry(name)))).toEqual([false, false, false]);
      expect(runsAsCommonJs(entry("plain"))).toBe(true);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
