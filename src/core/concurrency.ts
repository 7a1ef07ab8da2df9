/**
 * Bounded concurrency: the one way this tool limits how much runs at once (connections, processes,
 * open files).
 */

import { setTimeout as sleep } from "node:timers/promises";

/** A wrapper that runs at most `limit` tasks at once; the rest wait their turn, first come first served. */
export function concurrencyLimit(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  const slots = Math.max(1, Math.floor(limit) || 1);
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (active >= slots) await new Promise<void>((resolve) => waiting.push(resolve));
    active += 1;
    try {
      return await task();
    } finally {
      active -= 1;
      waiting.shift()?.();
    }
  };
}

/**
 * Runs `work` over `items` with at most `limit` in flight, results in input order. The first failure
 * stops new work from starting (a dead server should end the run quickly, not after every remaining
 * attempt has timed out) and is rethrown once the work already in flight has settled, so no
 * connection outlives the call.
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
  signal?: AbortSignal,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  const run = concurrencyLimit(Math.min(Math.floor(limit) || 1, items.length));
  let failure: { error: unknown } | undefined;
  await Promise.all(
    items.map((item, index) =>
      run(async () => {
        if (failure !== undefined) return;
        if (signal?.aborted) {
          failure = { error: signal.reason ?? new Error("aborted") };
          return;
        }
        try {
          results[index] = await work(item, index);
        } catch (error) {
          failure ??= { error };
        }
      }),
    ),
  );
  if (failure !== undefined) throw failure.error;
  return results;
}

/** Waits `ms`; when `signal` aborts first, rejects with its reason (the run's "why"), not Node's generic AbortError. */
export async function pause(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, signal ? { signal } : undefined);
  } catch (error) {
    signal?.throwIfAborted();
    throw error;
  }
}
