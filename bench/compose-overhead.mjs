// Compose runtime overhead, for the property-tax fixture, in one run:
//  - baseline: the product's stack booted and torn down by hand, nothing else —
//    `docker-compose up -d --build`, poll until every container is healthy, `down -v --rmi local`;
//  - the whole `civic-conformance check --runtime compose` (boot, all seven checks, teardown).
// The difference is what the tool costs beyond booting and removing the stack: loading, the
// checks, the scratch server, the live probe. Target: under 5 s. The runtime's own up/healthy
// timings of the same check run are printed too.
// Needs a Docker engine with the local stand-in base images (scripts/ci/provision-docker.sh) and a
// built dist/ (npm run build).
//
// usage: node bench/compose-overhead.mjs [product-dir]
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { createJiti } from "jiti";

const root = fileURLToPath(new URL("..", import.meta.url));
const cli = `${root}bin/civic-conformance.js`;
const product = process.argv[2] ?? `${root}fixtures/property-tax/products/property-tax`;
const TARGET_MS = 5_000;

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, ...options });
  if (result.status !== 0 && !options.allowFailure) throw new Error(`${command} ${args.join(" ")} exited ${result.status}:\n${result.stderr}`);
  return result;
}

async function timed(fn) {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

// ── baseline: boot and remove the stack by hand ───────────────────────────────────────────────
const jiti = createJiti(import.meta.url, { fsCache: false });
const { loadCompose } = await jiti.import("../src/compose-file/load-compose-file.ts");
const compose = await loadCompose(product, `${product}/../..`, { PATH: process.env.PATH });
const project = `civic-bench-${randomBytes(4).toString("hex")}`;
// Every variable the file needs, as the tool would give it (random where unset).
const env = { ...process.env, ...Object.fromEntries(compose.variables) };
const composeArgs = ["-p", project, "-f", compose.path, "--project-directory", product];
const label = `label=com.docker.compose.project=${project}`;

const up = await timed(() => run("docker-compose", [...composeArgs, "up", "-d", "--build"], { env }));
const healthy = await timed(async () => {
  const expected = compose.services.size;
  for (;;) {
    const lines = run("docker", ["ps", "-a", "--filter", label, "--format", "{{.Status}}"]).stdout.trim().split("\n").filter(Boolean);
    if (lines.length === expected && lines.every((status) => status.includes("(healthy)"))) return;
    if (lines.some((status) => status.startsWith("Exited"))) throw new Error(`baseline: a container exited:\n${lines.join("\n")}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
});
const down = await timed(() => run("docker-compose", [...composeArgs, "down", "-v", "--remove-orphans", "--rmi", "local", "-t", "5"], { env }));
const baselineMs = up.ms + healthy.ms + down.ms;

// ── the whole check ───────────────────────────────────────────────────────────────────────────
const check = await timed(() =>
  run(process.execPath, [cli, "check", product, "--runtime", "compose", "--format", "json"], {
    env: { ...process.env, NO_COLOR: "1", TESTCONTAINERS_RYUK_DISABLED: process.env.TESTCONTAINERS_RYUK_DISABLED ?? "true" },
    allowFailure: true,
  }),
);
const timing = /compose: \d+ containers ready \(up (\d+) ms, healthy (\d+) ms later/.exec(check.value.stderr);
if (!timing) {
  process.stderr.write(check.value.stderr);
  throw new Error(`the check printed no boot timing (exit ${check.value.status}); see its output above`);
}
const report = JSON.parse(check.value.stdout);
const checks = report.checks.map((c) => `${c.id} ${c.status} ${c.durationMs} ms`).join(", ");
const overheadMs = check.ms - baselineMs;
const s = (ms) => `${(ms / 1000).toFixed(1)} s`;

console.log(`product:                      ${product}`);
console.log(`baseline (by hand):           up --build ${s(up.ms)} + healthy ${s(healthy.ms)} + down -v ${s(down.ms)} = ${s(baselineMs)}`);
console.log(`whole check --runtime compose: ${s(check.ms)}, exit ${check.value.status} (${checks})`);
console.log(`  its own boot timings:       up --build ${s(Number(timing[1]))} + healthy ${s(Number(timing[2]))}`);
console.log(`tool overhead beyond the boot and teardown: ${s(overheadMs)} (target < ${TARGET_MS / 1000} s) ${overheadMs < TARGET_MS ? "OK" : "OVER TARGET"}`);
