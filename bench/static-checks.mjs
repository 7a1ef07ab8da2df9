// Static checks benchmark (registry, drift, compose, dependencies): wall time of the real CLI on the
// 11-service fixture and on synthetic products of 50, 100 and 200 services, against two plain
// baselines measured in the same run: a bare `node` start, and the product's own generator run alone
// (the floor of the drift check, which must run it). Prints medians of several runs.
import { execFileSync, spawnSync } from "node:child_process";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeSyntheticProduct } from "./synthetic-product.mjs";

const repoRoot = new URL("..", import.meta.url).pathname;
const cli = join(repoRoot, "bin/civic-conformance.js");
// The loader the drift check runs generators under.
const tsxLoader = import.meta.resolve("tsx");
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function time(fn) {
  const samples = [];
  for (let i = 0; i < RUNS; i++) {
    const start = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(samples);
}

function checkOnce(product) {
  const result = spawnSync(process.execPath, [cli, "check", product, "--only", "registry,drift,compose,dependencies", "--format", "json"], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  if (result.status !== 0) throw new Error(`check exited ${result.status} on ${product}:\n${result.stderr}\n${result.stdout.slice(0, 2000)}`);
  return JSON.parse(result.stdout);
}

async function generatorAlone(product, root) {
  const scratch = await mkdtemp(join(tmpdir(), "civic-bench-gen-"));
  await cp(root, scratch, { recursive: true });
  const copyProduct = join(scratch, product.slice(root.length));
  try {
    return time(() => execFileSync(process.execPath, ["--import", tsxLoader, "infra/generate.ts"], { cwd: copyProduct }));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

execFileSync("npm", ["run", "--silent", "build"], { cwd: repoRoot, stdio: "inherit" });
const nodeStart = time(() => execFileSync(process.execPath, ["-e", "0"]));
console.log(`baseline: bare node start ${nodeStart.toFixed(0)} ms (median of ${RUNS})\n`);

const cases = [{ name: "fixtures/property-tax", count: 11, root: join(repoRoot, "fixtures/property-tax"), product: join(repoRoot, "fixtures/property-tax/products/property-tax"), synthetic: false }];
for (const count of [50, 100, 200]) cases.push({ name: `synthetic ${count}`, count, ...(await writeSyntheticProduct(count)), synthetic: true });

console.log("product                 services  check wall ms  per service  generator alone  checks' own ms");
const rows = [];
try {
  for (const c of cases) {
    const report = checkOnce(c.product);
    if (report.summary.verdict !== "pass") throw new Error(`${c.name}: expected a pass, got ${JSON.stringify(report.summary)}`);
    const wall = time(() => checkOnce(c.product));
    const generator = await generatorAlone(c.product, c.root);
    const own = report.checks.map((check) => `${check.id} ${check.durationMs}`).join(", ");
    rows.push({ ...c, wall });
    console.log(`${c.name.padEnd(22)}  ${String(c.count).padStart(8)}  ${wall.toFixed(0).padStart(13)}  ${(wall / c.count).toFixed(1).padStart(11)}  ${generator.toFixed(0).padStart(15)}  ${own}`);
  }
} finally {
  await Promise.all(cases.filter((c) => c.synthetic).map((c) => rm(c.root, { recursive: true, force: true })));
}

const fixture = rows[0];
const [r100, r200] = [rows.find((r) => r.count === 100), rows.find((r) => r.count === 200)];
console.log(`\n11-service fixture: ${fixture.wall.toFixed(0)} ms wall for the four static checks (target < 1000 ms): ${fixture.wall < 1000 ? "OK" : "OVER"}`);
const marginal = (r200.wall - r100.wall) / 100;
const marginalLow = (r100.wall - rows.find((r) => r.count === 50).wall) / 50;
console.log(`scaling: ${marginalLow.toFixed(2)} ms per added service from 50→100, ${marginal.toFixed(2)} ms from 100→200 (linear when these agree; quadratic would double)`);
