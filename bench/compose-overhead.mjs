// Compose runtime overhead: for the property-tax fixture, the wall time of the whole
// `check --runtime compose` against the time its stack took to come up (`up -d --build`) and get
// healthy, as the runtime measured them in the same run. The difference is what the tool itself
// costs beyond booting: loading, static checks, the live checks, the scratch server, teardown.
// Target: under 5 s. Needs a Docker engine and the local stand-in base images
// (scripts/ci/provision-docker.sh) and a built dist/ (npm run build).
//
// usage: node bench/compose-overhead.mjs [product-dir]
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const cli = `${root}bin/civic-conformance.js`;
const product = process.argv[2] ?? `${root}fixtures/property-tax/products/property-tax`;
const TARGET_MS = 5_000;

const started = performance.now();
const run = spawnSync(process.execPath, [cli, "check", product, "--runtime", "compose", "--format", "json"], {
  encoding: "utf8",
  env: { ...process.env, NO_COLOR: "1", TESTCONTAINERS_RYUK_DISABLED: process.env.TESTCONTAINERS_RYUK_DISABLED ?? "true" },
  maxBuffer: 64 * 1024 * 1024,
});
const wallMs = Math.round(performance.now() - started);
const timing = /compose: \d+ containers ready \(up (\d+) ms, healthy (\d+) ms later/.exec(run.stderr);
if (!timing) {
  process.stderr.write(run.stderr);
  throw new Error(`the run printed no boot timing (exit ${run.status}); see its output above`);
}
const upMs = Number(timing[1]);
const healthyMs = Number(timing[2]);
const bootMs = upMs + healthyMs;
const overheadMs = wallMs - bootMs;
const report = JSON.parse(run.stdout);
const checks = report.checks.map((check) => `${check.id} ${check.status} ${check.durationMs} ms`).join(", ");

console.log(`product:              ${product}`);
console.log(`exit code:            ${run.status} (${checks})`);
console.log(`compose up --build:   ${(upMs / 1000).toFixed(1)} s`);
console.log(`  + until healthy:    ${(healthyMs / 1000).toFixed(1)} s`);
console.log(`whole check:          ${(wallMs / 1000).toFixed(1)} s`);
console.log(`tool overhead:        ${(overheadMs / 1000).toFixed(1)} s (target < ${TARGET_MS / 1000} s) ${overheadMs < TARGET_MS ? "OK" : "OVER TARGET"}`);
