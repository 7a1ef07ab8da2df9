// `node bench/cli-start.mjs [--runs N]`: what the CLI costs before it does anything. Three commands,
// each from a cold process, median of N (default 9) wall and CPU (user + system of the process and
// its children):
//   node -e 0                          the floor: Node itself;
//   civic-conformance --version        dist/cli.js as shipped (its pure-JavaScript dependencies bundled in);
//   the same, dependencies external    the same source bundled with `packages: "external"` (how
//                                      dist/cli.js was built before): node resolves and reads each
//                                      dependency's modules from node_modules at start.
// The external build is made by this benchmark in a temp folder inside the repository (so node_modules
// resolves) and removed after.
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { build } from "esbuild";

const { values: flags } = parseArgs({ options: { runs: { type: "string" } } });
const RUNS = Number(flags.runs ?? 9);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`--runs expects a whole number from 1, got ${flags.runs}`);

const repoRoot = new URL("..", import.meta.url).pathname;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Wall ms and CPU ms of `node args`, median of RUNS; the command must exit 0. */
function measure(args) {
  const walls = [];
  const cpu = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    const result = spawnSync("/usr/bin/time", ["-f", "%U %S", process.execPath, ...args], { cwd: repoRoot, encoding: "utf8" });
    walls.push(performance.now() - start);
    if (result.status !== 0) throw new Error(`node ${args.join(" ")} exited ${result.status}: ${result.stderr}`);
    const [user, system] = result.stderr.trim().split("\n").at(-1).split(" ").map(Number);
    cpu.push((user + system) * 1000);
  }
  return { wall: median(walls), cpu: median(cpu) };
}

const loadAtStart = loadavg().map((l) => l.toFixed(2)).join(" ");
console.log(`machine: ${availableParallelism()} cores (nproc), ${cpus()[0]?.model ?? "unknown CPU"}, Node ${process.version}`);
console.log(`load average at start: ${loadAtStart}; runs per row: ${RUNS}\n`);

const external = await mkdtemp(join(repoRoot, ".bench-cli-external-"));
try {
  await build({
    entryPoints: { cli: join(repoRoot, "src/cli/bin.ts") },
    outdir: external,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    packages: "external",
    logLevel: "warning",
  });
  await writeFile(join(external, "main.mjs"), 'import { cli } from "./cli.js";\nawait cli();\n');
  const rows = [
    ["node -e 0", measure(["-e", "0"])],
    ["civic-conformance --version (dist/cli.js)", measure(["bin/civic-conformance.js", "--version"])],
    ["the same, dependencies external", measure([join(external, "main.mjs"), "--version"])],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  console.log(`| ${"command".padEnd(width)} | wall ms | CPU ms |`);
  console.log(`|-${"-".repeat(width)}-|--------:|-------:|`);
  for (const [name, { wall, cpu }] of rows) console.log(`| ${name.padEnd(width)} | ${String(Math.round(wall)).padStart(7)} | ${String(Math.round(cpu)).padStart(6)} |`);
} finally {
  await rm(external, { recursive: true, force: true });
}
console.log(`\nload average at end: ${loadavg().map((l) => l.toFixed(2)).join(" ")} (at start: ${loadAtStart})`);
