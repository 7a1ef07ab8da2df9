/**
 * What a cluster-cache entry may hold: exactly what its manifest lists. The copy is made by `cp -a`
 * (cluster-cache.ts, `copyEntry`), which copies whatever the folder holds, so anything added to an
 * entry after it was kept — a file, a folder, a link pointing out of the cluster — must make the
 * entry unusable (removed and made again, with a warning) and never reach a server's data folder:
 * the entry's listing is checked before the copy, and the copy's listing after it (for what is
 * added in between).
 * Real files, the real ClusterCache; the cluster is a stand-in for initdb's output.
 */
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Logger } from "../../src/core/logger.js";
import { ClusterCache } from "../../src/runtime/embedded/cluster-cache.js";
import { copyProblem, writeCluster } from "./support/stand-in-cluster.js";

const temps: string[] = [];
afterAll(async () => {
  await Promise.all(temps.map((dir) => rm(dir, { recursive: true, force: true })));
});

const KEY = "pg-test-entry";

/** A cache holding one whole entry, and the logger that shows what a user would see. */
async function cacheWithEntry(): Promise<{ root: string; entry: string; cache: ClusterCache; shown: string[] }> {
  const root = await mkdtemp(join(tmpdir(), "civic-cluster-entry-"));
  temps.push(root);
  const shown: string[] = [];
  const logger: Logger = { debug() {}, info() {}, warn: (message) => shown.push(message), error: (message) => shown.push(message) };
  const cache = (await ClusterCache.open(join(root, "cache"), logger))!;
  await writeCluster(join(root, "made"), "first", 4);
  await cache.store(KEY, join(root, "made"));
  return { root, entry: join(root, "cache", KEY), cache, shown };
}

describe("a cluster-cache entry is used only when it holds exactly what its manifest lists", () => {
  it("a whole entry is copied whole", async () => {
    const { root, cache, shown } = await cacheWithEntry();
    expect(await cache.copyTo(KEY, join(root, "copy"), { name: "test" })).toBe(true);
    expect(await copyProblem(join(root, "copy"), 4)).toBeUndefined();
    expect(await readdir(join(root, "copy"))).not.toContain("civic-cluster.json");
    expect(shown).toEqual([]);
  });

  const planted: Array<[string, (entry: string, root: string) => Promise<void>, RegExp]> = [
    ["a file", (entry) => writeFile(join(entry, "base", "1", "planted"), "x"), /its files differ from its manifest/],
    ["a folder", (entry) => mkdir(join(entry, "pg_tblspc_planted")), /its folders differ from its manifest/],
    ["a link to a file outside the cluster", async (entry, root) => {
      await writeFile(join(root, "outside"), "secret");
      await symlink(join(root, "outside"), join(entry, "global", "planted"));
    }, /global\/planted is not a regular file/],
  ];
  for (const [what, plant, problem] of planted) {
    it(`an entry holding ${what} its manifest does not list is not used, and nothing of it is left in the data folder`, async () => {
      const { root, entry, cache, shown } = await cacheWithEntry();
      await plant(entry, root);
      expect(await cache.copyTo(KEY, join(root, "copy"), { name: "test" })).toBe(false);
      expect(shown).toHaveLength(1);
      expect(shown[0]).toMatch(problem);
      expect(shown[0]).toMatch(/is not used \(.*\); it is removed and made again$/);
      expect(await readdir(root)).not.toContain("copy");
      expect(await readdir(join(root, "cache"))).toEqual([]);
    });
  }
});
