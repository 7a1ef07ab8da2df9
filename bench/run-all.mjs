// `npm run bench`: one table, one run. For each product size, the whole `civic-conformance check`
// from a cold process (the built CLI, `--runtime embedded`, all seven checks; static checks only
// for the 2,000-service product) against a plain bash + psql script doing the three live checks by
// hand on an embedded PostgreSQL 16 started by this benchmark:
//   own-database: one psql per service, `select current_database()` with its own credential;
//   isolation:    one psql per credential × other service's database (a real login each,
//                 expected to be refused);
//   migrations:   per service, in registry order and again in reverse: `create database` as the
//                 admin, each migration file through `psql -f` as the service's role, `drop database`.
// The baseline does no catalog reads, no fingerprints and no reporting: it is the floor of the work.
// Wall is the median of N runs; CPU is user + system of the process and everything it waited for,
// from /proc/self/stat's children times: the tool's own server and backends included; for the
// baseline bash and psql only (its server keeps running between runs and is not counted).
//
// usage: node bench/run-all.mjs [--runs N] [--quick] [--rows 6,11,100,2000] [--tool-only] [--node <binary>]
//   --runs N      runs per cell (default 5)
//   --quick       one run per cell, the 6- and 11-service products only
//   --rows        the rows to measure, by service count (default: all four)
//   --tool-only   no baseline (the 100-service baseline alone takes about 11 minutes)
//   --node <bin>  the tool also under this Node binary, one more row per product against the same
//                 baseline (e.g. the Node 24 GitHub runs the action on: scripts/ci/provision-node24.sh)
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createJiti } from "jiti";
import { writeSyntheticProduct } from "./synthetic-product.mjs";

const { values: flags } = parseArgs({ options: { runs: { type: "string" }, quick: { type: "boolean" }, rows: { type: "string" }, "tool-only": { type: "boolean" }, node: { type: "string", multiple: true } } });
const RUNS = flags.quick ? 1 : Number(flags.runs ?? 5);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`--runs expects a whole number from 1, got ${flags.runs}`);

const repoRoot = new URL("..", import.meta.url).pathname;
const cli = join(repoRoot, "bin/civic-conformance.js");
const jiti = createJiti(import.meta.url, { fsCache: false });
const { adminUrlOf, reachService, startLiveProduct } = await jiti.import("../test/helpers/live-product.ts");
const { readPrismaModule } = await jiti.import("../src/prisma/read-module.ts");
/** The Node binaries the tool runs under: this one, then each `--node`, with their versions. */
const nodes = [process.execPath, ...(flags.node ?? [])].map((binary) => {
  const version = spawnSync(binary, ["--version"], { encoding: "utf8" });
  if (version.status !== 0) throw new Error(`--node ${binary}: \`${binary} --version\` failed: ${version.error?.message ?? version.stderr}`);
  return { binary, version: version.stdout.trim() };
});
const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** CPU seconds of every child this process has waited for (fields 16, 17 of /proc/self/stat). */
function childrenCpu() {
  const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * Runs `command` `RUNS` times, asynchronously: the embedded server this process started logs to a
 * pipe only this event loop drains (a blocked loop fills it, and the server's backends then hang
 * writing their log). Wall ms and CPU s medians; `check` sees the first run's result.
 */
async function measure(command, args, options = {}, check = () => undefined) {
  const walls = [];
  const cpu = [];
  for (let i = 0; i < RUNS; i++) {
    const cpuBefore = childrenCpu();
    const start = performance.now();
    const result = await new Promise((resolve, reject) => {
      const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk) => (stdout += chunk));
      child.stderr.on("data", (chunk) => (stderr += chunk));
      child.on("error", reject);
      child.on("close", (status) => resolve({ status, stdout, stderr }));
    });
    walls.push(performance.now() - start);
    cpu.push(childrenCpu() - cpuBefore);
    if (i === 0) check(result);
  }
  return { wall: median(walls), cpu: median(cpu) };
}

const q = (text) => `'${String(text).replace(/'/g, `'\\''`)}'`;

function withDatabase(url, database) {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** The three live checks by hand, as one bash script of psql calls. */
async function baselineScript(started) {
  const { product, live } = started;
  const stateful = product.registry.services.filter((s) => s.database !== "");
  const adminUrl = adminUrlOf(live);
  const urls = new Map();
  for (const service of stateful) urls.set(service.key, await reachService(started, service.key));
  const lines = ["set -eu", "export PGCONNECT_TIMEOUT=10"];
  for (const service of stateful) lines.push(`psql -XAtq ${q(urls.get(service.key))} -c 'select current_database()' >/dev/null`);
  // One psql per attempt: psql ends a script at the first refused `\c`, so attempts cannot share a process.
  for (const who of stateful) {
    for (const other of stateful) {
      if (other !== who) lines.push(`psql -XAtq ${q(withDatabase(urls.get(who.key), other.database))} -c 'select 1' >/dev/null 2>&1 || true`);
    }
  }
  for (const [pass, order] of [["f", stateful], ["r", [...stateful].reverse()]]) {
    for (const service of order) {
      const scratch = `bench_scratch_${pass}_${service.database}`;
      const role = decodeURIComponent(new URL(urls.get(service.key)).username);
      lines.push(`psql -XAtq ${q(adminUrl)} -c 'create database ${scratch} owner "${role}"' >/dev/null`);
      const module = await readPrismaModule(product.repoRoot, service);
      for (const migration of module.migrations) {
        lines.push(`psql -XAtq -v ON_ERROR_STOP=1 --single-transaction ${q(withDatabase(urls.get(service.key), scratch))} -f ${q(migration.sqlPath)} >/dev/null`);
      }
      lines.push(`psql -XAtq ${q(adminUrl)} -c 'drop database ${scratch}' >/dev/null`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/** The verdict of the first run: `pass`, else what went wrong (a benchmark reports it, it does not hide the row). */
function verdictOf(result) {
  try {
    const report = JSON.parse(result.stdout);
    if (result.status === 0 && report.summary.verdict === "pass") return "pass";
    const broken = report.checks.filter((check) => check.status !== "pass" && check.status !== "skip");
    return `exit ${result.status}: ${broken.map((check) => `${check.id} ${check.status}${check.reason ? ` (${check.reason.split("\n")[0].slice(0, 80)})` : ""}`).join("; ")}`;
  } catch {
    return `exit ${result.status}, no JSON report: ${result.stderr.trim().split("\n").at(-1)?.slice(0, 120) ?? ""}`;
  }
}

const fmtMs = (ms) => (ms === undefined ? "—" : ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);
const fmtCpu = (s) => (s === undefined ? "—" : `${s.toFixed(2)} s`);

const machine = `${availableParallelism()} cores (nproc), ${cpus()[0]?.model ?? "unknown CPU"}, Node ${process.version}`;
const loadAtStart = loadavg().map((l) => l.toFixed(2)).join(" ");
console.log(`machine: ${machine}`);
console.log(`load average at start: ${loadAtStart}`);
console.log(`runs per cell: ${RUNS}${flags.quick ? " (--quick)" : ""}\n`);

const build = spawnSync("npm", ["run", "--silent", "build"], { cwd: repoRoot, stdio: "inherit" });
if (build.status !== 0) throw new Error("npm run build failed");

const env = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1" };
const cases = [
  { name: "synthetic 6 (5 databases, 2 migrations each)", services: 6, make: () => writeSyntheticProduct(6, { statelessEvery: 6, migrationsPerService: 2 }), live: true },
  { name: "fixtures/property-tax", services: 11, make: async () => ({ root: join(repoRoot, "fixtures/property-tax"), product: join(repoRoot, "fixtures/property-tax/products/property-tax"), keep: true }), live: true },
];
if (!flags.quick || flags.rows) {
  cases.push({ name: "synthetic 100", services: 100, make: () => writeSyntheticProduct(100, { statelessEvery: 0 }), live: true });
  cases.push({ name: "synthetic 2,000 (static checks)", services: 2000, make: () => writeSyntheticProduct(2000), live: false });
}

const wanted = flags.rows?.split(",").map(Number);
const rows = [];
for (const c of cases.filter((row) => !wanted || wanted.includes(row.services))) {
  const made = await c.make();
  try {
    const args = [cli, "check", made.product, "--format", "json", ...(c.live ? ["--runtime", "embedded"] : ["--only", "registry,drift,compose,dependencies"])];
    const tools = [];
    for (const node of nodes) {
      let verdict;
      const tool = await measure(node.binary, args, { env }, (result) => {
        verdict = verdictOf(result);
      });
      tools.push({ node, tool, verdict });
    }
    let baseline;
    if (c.live && !flags["tool-only"]) {
      const started = await startLiveProduct(made.product, made.root, { env: { PATH: process.env.PATH } });
      const dir = await mkdtemp(join(tmpdir(), "civic-bench-baseline-"));
      try {
        const script = join(dir, "by-hand.sh");
        await writeFile(script, await baselineScript(started));
        baseline = await measure("bash", [script], {}, (result) => {
          if (result.status !== 0) throw new Error(`${c.name}: the baseline script exited ${result.status}:\n${result.stderr.slice(-3000)}`);
        });
      } finally {
        await rm(dir, { recursive: true, force: true });
        await started[Symbol.asyncDispose]();
      }
    }
    for (const [i, { node, tool, verdict }] of tools.entries()) {
      const name = i === 0 ? c.name : `${c.name}, Node ${node.version.replace(/^v/, "")}`;
      rows.push({ name, services: c.services, tool, baseline, verdict });
      console.error(`measured ${name}: tool ${fmtMs(tool.wall)}, baseline ${fmtMs(baseline?.wall)}`);
    }
  } finally {
    if (!made.keep) await rm(made.root, { recursive: true, force: true });
  }
}

const header = ["product", "services", "tool wall", "baseline wall", "baseline/tool", "tool CPU", "baseline CPU", "tool verdict"];
const table = rows.map((r) => [
  r.name,
  String(r.services),
  fmtMs(r.tool.wall),
  fmtMs(r.baseline?.wall),
  r.baseline ? `${(r.baseline.wall / r.tool.wall).toFixed(2)}×` : "—",
  fmtCpu(r.tool.cpu),
  fmtCpu(r.baseline?.cpu),
  r.verdict,
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
const leftAligned = (i) => i < 2 || i === header.length - 1;
const line = (cells) => `| ${cells.map((cell, i) => (leftAligned(i) ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join(" | ")} |`;
console.log(line(header));
console.log(`|${widths.map((w, i) => (leftAligned(i) ? `${"-".repeat(w + 1)}-` : `${"-".repeat(w + 1)}:`)).join("|")}|`);
for (const row of table) console.log(line(row));
console.log(`\ntool: \`civic-conformance check <product> --runtime embedded --format json\` from a cold process under ${nodes.map((node) => `Node ${node.version}`).join(" and ")} (2,000: \`--only registry,drift,compose,dependencies\`); baseline: bash + psql, the three live checks by hand on a running embedded server; wall = median of ${RUNS}; CPU: the tool's includes its server, the baseline's is bash + psql only.`);
console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(" ")} (at start: ${loadAtStart})`);
