// Live checks benchmark (own-database, isolation, migrations) on a real embedded PostgreSQL 16.
//  1. The tool's three live checks on the 11-service fixture, against a plain sequential `psql`
//     script doing the same work on the same server in the same run: every service's login and
//     current_database(), every credential × every other service's database, and every service's
//     migrations applied as its own role on a fresh scratch database, one file per psql call, in
//     registry order and again in reverse order (the check's two passes; the baseline skips the
//     catalog fingerprints the check takes).
//  2. The isolation matrix of a generated 100-service product (9,900 foreign attempts).
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createJiti } from "jiti";
import { writeSyntheticProduct } from "./synthetic-product.mjs";

const jiti = createJiti(import.meta.url, { fsCache: false });
const { adminUrlOf, reachService, startLiveProduct } = await jiti.import("../test/helpers/live-product.ts");
const { ownDatabaseCheck } = await jiti.import("../src/checks/own-database/index.ts");
const { isolationCheck } = await jiti.import("../src/checks/isolation/index.ts");
const { migrationsCheck } = await jiti.import("../src/checks/migrations/index.ts");
const { readPrismaModule } = await jiti.import("../src/prisma/read-module.ts");
const { silentLogger } = await jiti.import("../src/core/logger.ts");

const repoRoot = new URL("..", import.meta.url).pathname;
const env = { PATH: process.env.PATH };

function contextFor(started) {
  return {
    product: started.product,
    live: started.live,
    options: { commandTimeoutMs: 120_000, concurrency: 16, env },
    logger: silentLogger,
    signal: new AbortController().signal,
  };
}

async function timed(fn) {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

function withDatabase(url, database) {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

const q = (text) => `'${text.replace(/'/g, `'\\''`)}'`;

/** The same work as the three checks, as a plain sequential shell script of psql calls. */
async function psqlScript(started) {
  const { product, live } = started;
  const stateful = product.registry.services.filter((s) => s.database !== "");
  const adminUrl = adminUrlOf(live);
  const urls = new Map();
  for (const service of stateful) urls.set(service.key, await reachService(started, service.key));
  const lines = ["set -u", "export PGCONNECT_TIMEOUT=10"];
  for (const service of stateful) lines.push(`psql -XAtq ${q(urls.get(service.key))} -c 'select current_database()' >/dev/null`);
  for (const who of stateful) {
    for (const other of stateful) {
      if (other === who) continue;
      lines.push(`psql -XAtq ${q(withDatabase(urls.get(who.key), other.database))} -c 'select 1' >/dev/null 2>&1 || true`);
    }
  }
  for (const [pass, order] of [["f", stateful], ["r", [...stateful].reverse()]]) for (const service of order) {
    const scratch = `bench_scratch_${pass}_${service.database}`;
    const role = new URL(urls.get(service.key)).username;
    lines.push(`psql -XAtq ${q(adminUrl)} -c 'create database ${scratch} owner ${role}' >/dev/null`);
    const module = await readPrismaModule(product.repoRoot, service);
    for (const migration of module.migrations) {
      lines.push(`psql -XAtq -v ON_ERROR_STOP=1 --single-transaction ${q(withDatabase(urls.get(service.key), scratch))} -f ${q(migration.sqlPath)} >/dev/null`);
    }
    lines.push(`psql -XAtq ${q(adminUrl)} -c 'drop database ${scratch}' >/dev/null`);
  }
  return lines.join("\n");
}

// ── 0. the whole CLI, all seven checks, embedded runtime ──────────────────────────────────────
{
  const cli = join(repoRoot, "bin/civic-conformance.js");
  const samples = [];
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    execFileSync(process.execPath, [cli, "check", join(repoRoot, "fixtures/property-tax"), "--runtime", "embedded", "--format", "json"], { stdio: ["ignore", "ignore", "ignore"], env: { ...process.env, NO_COLOR: "1" } });
    samples.push(performance.now() - start);
  }
  const median = samples.sort((a, b) => a - b)[1];
  console.log(`npx civic-conformance check fixtures/property-tax --runtime embedded (all seven checks, exit 0): ${median.toFixed(0)} ms median of 3 (target < 5 000 ms)\n`);
}

// ── 1. fixture: tool vs plain psql ────────────────────────────────────────────────────────────
{
  const product = join(repoRoot, "fixtures/property-tax/products/property-tax");
  const started = await startLiveProduct(product, join(repoRoot, "fixtures/property-tax"), { env });
  try {
    const context = contextFor(started);
    const tool = await timed(async () => {
      const results = [];
      for (const check of [ownDatabaseCheck, isolationCheck, migrationsCheck]) {
        const { ms, value } = await timed(() => check.run(context));
        const errors = value.findings.filter((f) => f.severity === "error").length;
        if (errors > 0 || value.skipped) throw new Error(`${check.id} did not pass on the conformant fixture: ${JSON.stringify(value).slice(0, 500)}`);
        results.push(`${check.id} ${ms.toFixed(0)} ms`);
      }
      return results;
    });
    const dir = await mkdtemp(join(tmpdir(), "civic-bench-psql-"));
    try {
      const script = join(dir, "same-work.sh");
      await writeFile(script, await psqlScript(started));
      const calls = (await readFile(script, "utf8")).split("\n").filter((l) => l.startsWith("psql")).length;
      const baseline = await timed(async () => execFileSync("bash", [script], { stdio: ["ignore", "ignore", "inherit"] }));
      console.log("live checks on fixtures/property-tax (11 services, embedded PostgreSQL 16)");
      console.log(`  civic-conformance: ${tool.ms.toFixed(0)} ms  (${tool.value.join(", ")})`);
      console.log(`  plain sequential psql script, same work (${calls} psql calls): ${baseline.ms.toFixed(0)} ms`);
      console.log(`  speed-up: ${(baseline.ms / tool.ms).toFixed(1)}× (target ≥ 3×)\n`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  } finally {
    await started[Symbol.asyncDispose]();
  }
}

// ── 2. isolation matrix of a 100-service product ──────────────────────────────────────────────
{
  const { root, product } = await writeSyntheticProduct(100, { statelessEvery: 0 });
  try {
    const started = await startLiveProduct(product, root, { env });
    try {
      const { ms, value } = await timed(() => isolationCheck.run(contextFor(started)));
      const stateful = started.product.registry.services.filter((s) => s.database !== "").length;
      const foreign = value.data.matrix.filter((cell) => cell.role === undefined && cell.outcome !== "own").length;
      const errors = value.findings.filter((f) => f.severity === "error").length;
      console.log(`isolation matrix, synthetic product: ${stateful} stateful services, ${foreign} foreign cells, ${errors} error findings`);
      console.log(`  ${ms.toFixed(0)} ms (target < 30 000 ms): ${ms < 30_000 ? "OK" : "OVER"}`);
    } finally {
      await started[Symbol.asyncDispose]();
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
