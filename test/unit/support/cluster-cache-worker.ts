/**
 * One of several processes sharing a cluster cache at once (test/unit/cluster-cache-race.test.ts):
 * each round picks one of `keys` entries, copies it from the cache as a server's start does
 * (`copyTo`) and checks the copy, or, on a miss, "initialises" a cluster and keeps it (`store`), as
 * `initialiseCluster` does. More keys than the cache keeps, so entries are pruned while other
 * processes check and copy them.
 *
 * The cluster is a stand-in for initdb's output (real files, a few hundred, fixed sizes): every file
 * carries the identity of the "initdb" that made it, so a copy mixing two entries, or missing or
 * holding extra files, is seen. Prints one JSON line: what happened, every warning the cache logged,
 * every error it threw, every bad copy.
 *
 * Usage: tsx cluster-cache-worker.ts <cache dir> <work dir> <rounds> <keys>
 */
import { randomBytes } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../../../src/core/logger.js";
import { ClusterCache } from "../../../src/runtime/embedded/cluster-cache.js";
import { copyProblem, writeCluster } from "./stand-in-cluster.js";

async function main(): Promise<void> {
  const [cacheDir, workDir, roundsText, keysText] = process.argv.slice(2) as [string, string, string, string];
  const rounds = Number(roundsText);
  const keys = Number(keysText);
  const outcome = { copies: 0, stores: 0, warnings: [] as string[], errors: [] as string[], badCopies: [] as string[] };
  const logger: Logger = {
    debug() {},
    info() {},
    warn: (message) => outcome.warnings.push(message),
    error: (message) => outcome.warnings.push(message),
  };
  await mkdir(workDir, { recursive: true });
  for (let round = 0; round < rounds; round++) {
    const key = `pg-test-${Math.floor(Math.random() * keys)}`;
    const target = join(workDir, `cluster-${round}`);
    try {
      const cache = await ClusterCache.open(cacheDir, logger);
      if (!cache) throw new Error("the cache could not be opened");
      if (await cache.copyTo(key, target, { name: "worker" })) {
        outcome.copies += 1;
        const problem = await copyProblem(target);
        if (problem) outcome.badCopies.push(`${key}: ${problem}`);
      } else {
        await rm(target, { recursive: true, force: true });
        await writeCluster(target, randomBytes(8).toString("hex"));
        await cache.store(key, target);
        outcome.stores += 1;
      }
    } catch (error) {
      outcome.errors.push(`${key}: ${(error as Error).stack ?? String(error)}`);
    } finally {
      await rm(target, { recursive: true, force: true });
    }
  }
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
}

await main();
