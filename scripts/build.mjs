// Bundles the CLI (and, later, the action) into dist/. Runtime dependencies stay external for the
// CLI: npm installs them beside it. Deterministic output so CI can compare dist/ with a rebuild.
import { build } from "esbuild";
import { rm } from "node:fs/promises";

await rm(new URL("../dist", import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: { cli: "src/cli/bin.ts" },
  outdir: "dist",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  packages: "external",
  sourcemap: false,
  legalComments: "none",
  logLevel: "warning",
});
