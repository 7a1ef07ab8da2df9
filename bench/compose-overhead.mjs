// Compose runtime overhead, for the property-tax fixture (or the product given), in one run:
//  - by hand: the product's stack booted and torn down with nothing else —
//    `up -d --build` (the Compose the tool picks), poll until every container is healthy,
//    `down -v --remove-orphans --rmi local -t 5` (what the tool's teardown runs);
//  - the whole `civic-conformance check --runtime compose --verbose` (boot, all seven checks, teardown),
//    its phases read off its log as the lines arrive: before `up` (the CLI's start, loading the
//    product, the compose file's copy), `up --build` and healthy (its own timings), the live checks,
//    the teardown (its own timing) and what follows it.
// A first boot by hand fills Docker's build cache and is not compared; then N rounds, each a boot by
// hand and a check, one after the other. The tool's own cost is the check's wall less the boot and
// teardown by hand of the same round; medians over the rounds. Target (issue 12): under 2 s.
// On the vfs storage driver a boot varies by several seconds from one run to the next: read the
// boot's difference with its spread (min–max over the rounds), the checks' and preparation's alone.
// Needs a Docker engine with the local stand-in base images (scripts/ci/provision-docker.sh) and a
// built dist/ (npm run build).
//
// usage: node bench/compose-overhead.mjs [--runs N] [product-dir]
//   --runs N   rounds (default 3); each takes about 2 × (the boot + the teardown)
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createJiti } from "jiti";

const { values: flags, positionals } = parseArgs({ options: { runs: { type: "string" } }, allowPositionals: true });
const RUNS = Number(flags.runs ?? 3);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`--runs expects a whole number from 1, got ${flags.runs}`);
const root = fileURLToPath(new URL("..", import.meta.url));
const cli = `${root}bin/civic-conformance.js`;
const product = positionals[0] ?? `${root}fixtures/property-tax/products/property-tax`;
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

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const spread = (values) => `${s(Math.min(...values))}–${s(Math.max(...values))}`;
const s = (ms) => `${(ms / 1000).toFixed(1)} s`;

// ── by hand ───────────────────────────────────────────────────────────────────────────────────
const jiti = createJiti(import.meta.url, { fsCache: false });
const { loadCompose } = await jiti.import("../src/compose-file/load-compose-file.ts");
const compose = await loadCompose(product, `${product}/../..`, { PATH: process.env.PATH });
// Every variable the file needs, as the tool would give it (random where unset).
const env = { ...process.env, ...Object.fromEntries(compose.variables) };

// The Compose CLI the tool itself picks (v2 before v1, CIVIC_COMPOSE_COMMAND first): v1 builds one
// image after another, v2 in parallel, so a baseline on the other one measures Compose, not the tool.
const composeCommand = (process.env.CIVIC_COMPOSE_COMMAND ?? (run("docker", ["compose", "version"], { allowFailure: true }).status === 0 ? "docker compose" : "docker-compose")).split(" ");
const compose$ = (args, options) => run(composeCommand[0], [...composeCommand.slice(1), ...args], options);

/** The stack booted and removed by hand, under a project name of its own: up --build, every container healthy, down. */
async function byHand() {
  const project = `civic-bench-${randomBytes(4).toString("hex")}`;
  const composeArgs = ["-p", project, "-f", compose.path, "--project-directory", product];
  const label = `label=com.docker.compose.project=${project}`;
  const up = await timed(() => compose$([...composeArgs, "up", "-d", "--build"], { env }));
  const healthy = await timed(async () => {
    const expected = compose.services.size;
    for (;;) {
      const lines = run("docker", ["ps", "-a", "--filter", label, "--format", "{{.Status}}"]).stdout.trim().split("\n").filter(Boolean);
      if (lines.length === expected && lines.every((status) => status.includes("(healthy)"))) return;
      if (lines.some((status) => status.startsWith("Exited"))) throw new Error(`by hand: a container exited:\n${lines.join("\n")}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  });
  const down = await timed(() => compose$([...composeArgs, "down", "-v", "--remove-orphans", "--rmi", "local", "-t", "5"], { env }));
  return { up: up.ms, healthy: healthy.ms, down: down.ms, total: up.ms + healthy.ms + down.ms };
}

// ── the whole check ───────────────────────────────────────────────────────────────────────────
/** The check, its stderr lines stamped with their arrival (ms since the spawn). */
function check() {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [cli, "check", product, "--runtime", "compose", "--format", "json", "--verbose"], {
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const lines = [];
    let stdout = "";
    let pending = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => {
      const at = performance.now() - started;
      pending += chunk;
      const parts = pending.split("\n");
      pending = parts.pop();
      for (const text of parts) lines.push({ at, text });
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (pending) lines.push({ at: performance.now() - started, text: pending });
      resolve({ ms: performance.now() - started, code, stdout, lines });
    });
  });
}

/** The check's phases, from its log: each ms. */
function phases(result) {
  const at = (pattern) => result.lines.find((line) => pattern.test(line.text));
  const booting = at(/^compose: booting project /);
  const ready = at(/^compose: \d+ containers ready \(up (\d+) ms, healthy (\d+) ms later/);
  const tornDown = at(/compose: project \S+ torn down in (\d+) ms/);
  if (!booting || !ready || !tornDown) {
    process.stderr.write(result.lines.map((line) => line.text).join("\n"));
    throw new Error(`the check (exit ${result.code}) did not log its boot and teardown; see its log above`);
  }
  const [, up, healthy] = /up (\d+) ms, healthy (\d+) ms later/.exec(ready.text).map(Number);
  const teardown = Number(/torn down in (\d+) ms/.exec(tornDown.text)[1]);
  // The live checks run from readiness until the teardown starts (it ends when its line arrives).
  const checksEnd = tornDown.at - teardown;
  const report = JSON.parse(result.stdout);
  return {
    total: result.ms,
    beforeUp: booting.at,
    up,
    healthy,
    checks: checksEnd - ready.at,
    teardown,
    after: result.ms - tornDown.at,
    summary: report.checks.map((c) => `${c.id} ${c.status} ${c.durationMs} ms`).join(", "),
    // Checks that started on the PostgreSQL instances while the rest of the stack booted (not in the live checks' time).
    early: result.lines.filter((line) => / started on the PostgreSQL instances while the rest of the stack boots$/.test(line.text)).map((line) => line.text.replace(/^debug: /, "").split(":")[0]),
    exit: result.code,
  };
}

console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), load average at start ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
console.log(`product: ${product}; compose by hand: ${composeCommand.join(" ")}; rounds: ${RUNS}`);
const warmUp = await byHand();
console.log(`by hand, first (fills the build cache, not compared): up --build ${s(warmUp.up)} + healthy ${s(warmUp.healthy)} + down ${s(warmUp.down)}`);
const rounds = [];
for (let round = 1; round <= RUNS; round++) {
  const hand = await byHand();
  const tool = phases(await check());
  const own = tool.total - hand.total;
  rounds.push({ hand, tool, own });
  console.log(
    `round ${round}: by hand ${s(hand.total)} (up --build ${s(hand.up)}, healthy ${s(hand.healthy)}, down ${s(hand.down)}); ` +
      `check ${s(tool.total)}, exit ${tool.exit} (before up ${s(tool.beforeUp)}, up --build ${s(tool.up)}, healthy ${s(tool.healthy)}, ` +
      `live checks ${s(tool.checks)}, teardown ${s(tool.teardown)}, after it ${s(tool.after)}); own cost ${s(own)}`,
  );
  console.log(`  checks: ${tool.summary}${tool.early.length > 0 ? `; started beside the boot: ${tool.early.join(", ")}` : ""}`);
}
const m = (pick) => median(rounds.map(pick));
const all = (pick) => rounds.map(pick);
console.log(`\nmedians of ${RUNS} rounds (min–max):`);
console.log(`  by hand:   up --build ${s(m((r) => r.hand.up))}, healthy ${s(m((r) => r.hand.healthy))}, down ${s(m((r) => r.hand.down))}; in all ${s(m((r) => r.hand.total))} (${spread(all((r) => r.hand.total))})`);
console.log(`  the check: ${s(m((r) => r.tool.total))} (${spread(all((r) => r.tool.total))})`);
console.log(`  its boot beyond the boot by hand:      ${s(m((r) => r.tool.up + r.tool.healthy - r.hand.up - r.hand.healthy))} (${spread(all((r) => r.tool.up + r.tool.healthy - r.hand.up - r.hand.healthy))})`);
console.log(`  its teardown beyond the down by hand:  ${s(m((r) => r.tool.teardown - r.hand.down))} (${spread(all((r) => r.tool.teardown - r.hand.down))})`);
console.log(`  before up (CLI start, product, copy):  ${s(m((r) => r.tool.beforeUp))} (${spread(all((r) => r.tool.beforeUp))})`);
console.log(`  the live checks:                       ${s(m((r) => r.tool.checks))} (${spread(all((r) => r.tool.checks))})`);
console.log(`  after the teardown (report, folder):   ${s(m((r) => r.tool.after))} (${spread(all((r) => r.tool.after))})`);
const own = m((r) => r.own);
console.log(`tool's own cost beyond the boot and teardown by hand: ${s(own)} (${spread(all((r) => r.own))}; target < ${TARGET_MS / 1000} s) ${own < TARGET_MS ? "OK" : "OVER TARGET"}`);
console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
