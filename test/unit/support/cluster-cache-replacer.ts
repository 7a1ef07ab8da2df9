/**
 * Another run, in another process, that keeps replacing one cache entry while the test copies it
 * (test/unit/cluster-cache-race.test.ts): it removes the entry as the cache's pruning and a bad
 * entry's removal do (renamed aside to `.bad-…`, then deleted), then keeps another "initdb" of the
 * same key (`store`, as a run that found no entry does), `<times>` times.
 *
 * Usage: tsx cluster-cache-replacer.ts <cache dir> <key> <work dir> <files per folder> <times>
 */
import { randomBytes } from "node:crypto";
import { mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { silentLogger } from "../../../src/core/logger.js";
import { ClusterCache } from "../../../src/runtime/embedded/cluster-cache.js";
import { writeCluster } from "./stand-in-cluster.js";

const [cacheDir, key, workDir, filesPerFolder, times] = process.argv.slice(2) as [string, string, string, string, string];
await mkdir(workDir, { recursive: true });
const cache = await ClusterCache.open(cacheDir, silentLogger);
if (!cache) throw new Error("the cache could not be opened");
// Two "initdb" runs of the same key, kept in turn: a copy mixing files of both is seen.
const clusters = [join(workDir, "a"), join(workDir, "b")];
for (const cluster of clusters) await writeCluster(cluster, randomBytes(8).toString("hex"), Number(filesPerFolder));
let replaced = 0;
while (replaced < Number(times)) {
  const aside = join(cacheDir, `.bad-${key}-${randomBytes(6).toString("hex")}`);
  await rename(join(cacheDir, key), aside).then(() => rm(aside, { recursive: true, force: true }), () => undefined);
  await cache.store(key, clusters[replaced % 2]!);
  replaced += 1;
  // Kept a while, for the test to start copying it; removed at a random point of that copy.
  await sleep(200 + Math.random() * 400);
}
process.stdout.write(`${JSON.stringify({ replaced })}\n`);
