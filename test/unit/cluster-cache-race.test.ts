/**
 * The pristine-cluster cache shared by runs at once (vitest's parallel test files, several products
 * checked by one CLI, two CLIs on one machine): a run whose entry another run removes or replaces
 * meanwhile — the least-recently-used pruning, a bad entry's removal, a fresh copy kept under the
 * same key — falls back to initdb or copies a whole entry. It never fails, never starts from a copy
 * mixing two entries or missing files, and never warns about a "bad" entry that was only being
 * removed by someone else.
 *
 * Real files and real processes: the other runs are child processes using the same cache folder;
 * the clusters are stand-ins for initdb's output (support/stand-in-cluster.ts), the cache itself
 * is the real ClusterCache.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import type { Logger } from "../../src/core/logger.js";
import { ClusterCache } from "../../src/runtime/embedded/cluster-cache.js";
import { REPO_ROOT } from "../helpers/fixtures.js";
import { copyProblem, writeCluster } from "./support/stand-in-cluster.js";

const temps: string[] = [];
afterAll(async () => {
  await Promise.all(temps.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `civic-cluster-race-${prefix}-`));
  temps.push(dir);
  return dir;
}

/** A child `node --import tsx` running one of the support scripts. */
function child(script: string, args: readonly string[]) {
  return execa(process.execPath, ["--import", "tsx", join(REPO_ROOT, "test", "unit", "support", script), ...args], { cwd: REPO_ROOT });
}

/** A logger that keeps what a user would see (warnings, errors). */
function shownLogger(): Logger & { shown: string[] } {
  const shown: string[] = [];
  return { shown, debug() {}, info() {}, warn: (message) => shown.push(message), error: (message) => shown.push(message) };
}

describe("cluster cache shared by concurrent runs", { timeout: 120_000 }, () => {
  /**
   * Two runs in one process (several products checked by one CLI): one copies the entry while the
   * other removes it — after 0, 1, 2… turns of the event loop, then 1, 2, 3… ms more, so the removal
   * lands between each pair of the copying run's file-system calls in turn and during its `cp` — and,
   * with `keptAgain`, keeps a new one of the same key at once, as a run that found none does.
   */
  // Small: what matters here is where the removal lands among the copying run's awaits, not the copy's length.
  const FILES_PER_FOLDER = 8;

  async function interleaved(keptAgain: boolean): Promise<{ shown: string[]; failures: string[]; badCopies: string[]; copied: number }> {
    const root = await tempDir(keptAgain ? "replaced-in-process" : "removed-in-process");
    const cacheDir = join(root, "cache");
    const key = "pg-test-interleaved";
    const logger = shownLogger();
    const copying = (await ClusterCache.open(cacheDir, logger))!;
    const other = (await ClusterCache.open(cacheDir, shownLogger()))!;
    const outcome = { shown: logger.shown, failures: [] as string[], badCopies: [] as string[], copied: 0 };
    // Past 40 turns, on until one copy finished before the removal: every await of the copy was swept.
    for (let turns = 0; turns < 40 || (outcome.copied === 0 && turns < 400); turns++) {
      const made = join(root, `made-${turns}`);
      await writeCluster(made, randomBytes(8).toString("hex"), FILES_PER_FOLDER);
      await copying.store(key, made);
      const target = join(root, `copy-${turns}`);
      const copy = copying.copyTo(key, target, { name: "test" }).then(
        (copied) => copied,
        (error: unknown) => {
          outcome.failures.push((error as Error).message);
          return false;
        },
      );
      // The copy itself is a child process (`cp -a`, one long await): past 40 turns the removal
      // waits a further millisecond per round, so it also lands during the copy and after it.
      for (let turn = 0; turn < Math.min(turns, 40); turn++) await new Promise((resolve) => setImmediate(resolve));
      if (turns > 40) await sleep(turns - 40);
      // What pruning and a bad entry's removal do: set aside, then deleted.
      const aside = join(cacheDir, `.bad-${key}-${turns}`);
      await rename(join(cacheDir, key), aside).then(() => rm(aside, { recursive: true, force: true }), () => undefined);
      if (keptAgain) await other.store(key, made);
      if (await copy) {
        outcome.copied += 1;
        const problem = await copyProblem(target, FILES_PER_FOLDER);
        if (problem) outcome.badCopies.push(`after ${turns} turns: ${problem}`);
      }
      await rm(target, { recursive: true, force: true });
      await rm(made, { recursive: true, force: true });
      await rm(join(cacheDir, key), { recursive: true, force: true });
    }
    return outcome;
  }

  it("an entry pruned while another run of the same process checks and copies it: that run makes its own cluster, without a warning", async () => {
    const { copied, ...seen } = await interleaved(false);
    expect(seen).toEqual({ shown: [], failures: [], badCopies: [] });
    expect(copied, "some copies finished before the removal").toBeGreaterThan(0);
  });

  it("an entry pruned and kept again while another run of the same process checks and copies it: a whole copy or its own cluster, without a warning or a failure", async () => {
    const { copied, ...seen } = await interleaved(true);
    expect(seen).toEqual({ shown: [], failures: [], badCopies: [] });
    expect(copied).toBeGreaterThan(0);
  });

  it("an entry removed and kept again by another process while this one checks and copies it: a whole copy or initdb, never a warning or a failure", async () => {
    const root = await tempDir("replaced");
    const cacheDir = join(root, "cache");
    const key = "pg-test-replaced";
    // Large enough that checking and copying it overlaps the other process's removals.
    const filesPerFolder = 60;
    const logger = shownLogger();
    const cache = (await ClusterCache.open(cacheDir, logger))!;
    await writeCluster(join(root, "first"), randomBytes(8).toString("hex"), filesPerFolder);
    await cache.store(key, join(root, "first"));

    const replacer = child("cluster-cache-replacer.ts", [cacheDir, key, join(root, "replacer"), String(filesPerFolder), "40"]);
    let replacing = true;
    const replaced = replacer.then((result) => (JSON.parse(result.stdout) as { replaced: number }).replaced).finally(() => (replacing = false));
    const outcomes = { copied: 0, missed: 0, failures: [] as string[], badCopies: [] as string[] };
    for (let round = 0; replacing; round++) {
      const target = join(root, `copy-${round}`);
      try {
        if (await cache.copyTo(key, target, { name: "test" })) {
          outcomes.copied += 1;
          const problem = await copyProblem(target, filesPerFolder);
          if (problem) outcomes.badCopies.push(problem);
        } else {
          outcomes.missed += 1;
          await sleep(5);
        }
      } catch (error) {
        outcomes.failures.push((error as Error).message);
      }
      await rm(target, { recursive: true, force: true });
    }

    expect(await replaced).toBe(40);
    expect(outcomes.copied, "copies made while the other process replaced the entry").toBeGreaterThan(0);
    expect({ failures: outcomes.failures, badCopies: outcomes.badCopies, shown: logger.shown }).toEqual({ failures: [], badCopies: [], shown: [] });
  });

  it("six processes copying and keeping more keys than the cache holds: every copy whole, no warning, no failure, at most 12 entries and nothing set aside left", async () => {
    const root = await tempDir("many");
    const cacheDir = join(root, "cache");
    const workers = await Promise.all(Array.from({ length: 6 }, (_, i) => child("cluster-cache-worker.ts", [cacheDir, join(root, `work-${i}`), "20", "20"])));
    const outcomes = workers.map((worker) => JSON.parse(worker.stdout) as { copies: number; stores: number; warnings: string[]; errors: string[]; badCopies: string[] });

    expect(outcomes.flatMap((outcome) => [...outcome.warnings, ...outcome.errors, ...outcome.badCopies])).toEqual([]);
    expect(outcomes.reduce((sum, outcome) => sum + outcome.copies, 0)).toBeGreaterThan(0);
    expect(outcomes.reduce((sum, outcome) => sum + outcome.stores, 0)).toBeGreaterThan(12);
    const left = await readdir(cacheDir);
    expect(left.filter((name) => name.startsWith("."))).toEqual([]);
    expect(left.length).toBeLessThanOrEqual(12);
  });
});
