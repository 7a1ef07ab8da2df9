// Compose runtime overhead, for the property-tax fixture, in one run:
//  - baseline: the product's stack booted and torn down by hand, nothing else —
//    `docker compose up -d --build` (the Compose the tool picks), poll until every container is
//    healthy, `down -v --rmi local`;
//    once before the check (it fills Docker's build cache) and once after it (compared);
//  - the whole `civic-conformance check --runtime compose` (boot, all seven checks, teardown).
// The difference is what the tool costs beyond booting and removing the stack: loading, the
// checks, the scratch server, the live probe. Target (issue 12): under 2 s. The runtime's own up/healthy
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
const TARGET_MS = 2_000;

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

// The Compose CLI the tool itself picks (v2 before v1, CIVIC_COMPOSE_COMMAND first): v1 builds one
// image after another, v2 in parallel, so a baseline on the other one measures Compose, not the tool.
const composeCommand = (process.env.CIVIC_COMPOSE_COMMAND ?? (run("docker", ["compose", "version"], { allowFailure: true }).status === 0 ? "docker compose" : "docker-compose")).split(" ");
const compose$ = (args, options) => run(composeCommand[0], [...composeCommand.slice(1), ...args], options);

/** The stack booted and removed by hand: up --build, every container healthy, down -v. */
async function byHand() {
  const up = await timed(() => compose$([...composeArgs, "up", "-d", "--build"], { env }));
  const healthy = await timed(async () => {
    const expected = compose.services.size;
    for (;;) {
      const lines = run("docker", ["ps", "-a", "--filter", label, "--format", "{{.Status}}"]).stdout.trim().split("\n").filter(Boolean);
      if (lines.length === expected && lines.every((status) => status.includes("(healthy)"))) return;
      if (lines.some((status) => status.startsWith("Exited"))) throw new Error(`baseline: a container exited:\n${lines.join("\n")}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  });
  const down = await timed(() => compose$([...composeArgs, "down", "-v", "--remove-orphans", "--rmi", "local", "-t", "5"], { env }));
  return { up: up.ms, healthy: healthy.ms, down: down.ms, total: up.ms + healthy.ms + down.ms };
}

// The first boot by hand fills Docker's build cache; the check and the second boot by hand then
// start from the same cache, and only the second is compared with the check.
const warmUp = await byHand();

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
const baseline = await byHand();
const overheadMs = check.ms - baseline.total;
const ownBootMs = Number(timing[1]) + Number(timing[2]);
const s = (ms) => `${(ms / 1000).toFixed(1)} s`;
const parts = (b) => `up --build ${s(b.up)} + healthy ${s(b.healthy)} + down -v ${s(b.down)} = ${s(b.total)}`;

console.log(`product:                      ${product}`);
console.log(`compose by hand:              ${composeCommand.join(" ")}`);
console.log(`by hand, first (fills the build cache): ${parts(warmUp)}`);
console.log(`by hand, after the check:     ${parts(baseline)}`);
console.log(`whole check --runtime compose: ${s(check.ms)}, exit ${check.value.status} (${checks})`);
console.log(`  its own boot timings:       up --build ${s(Number(timing[1]))} + healthy ${s(Number(timing[2]))}`);
console.log(`  beyond its own boot, less the teardown by hand: ${s(check.ms - ownBootMs - baseline.down)}`);
console.log(`tool overhead beyond the boot and teardown by hand: ${s(overheadMs)} (target < ${TARGET_MS / 1000} s) ${overheadMs < TARGET_MS ? "OK" : "OVER TARGET"}`);
