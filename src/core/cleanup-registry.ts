/**
 * A process-wide list of async cleanups (stop a server, remove a temp dir) that must run even when
 * the user presses Ctrl-C. The core only registers; the door (CLI, action) decides when to run them:
 * on SIGINT/SIGTERM, and before exiting. Keeping the signal handling out of here keeps the core free
 * of `process` and lets tests drive it directly.
 */

export type Cleanup = () => Promise<void>;

const cleanups = new Set<Cleanup>();

/** Registers `cleanup` to run at `runCleanups()`; the returned function removes it again. */
export function registerCleanup(cleanup: Cleanup): () => void {
  cleanups.add(cleanup);
  return () => {
    cleanups.delete(cleanup);
  };
}

/**
 * Runs every registered cleanup once, newest first (a server started last is stopped first), and
 * forgets them. A failing cleanup never stops the others: the failures are returned, for the door
 * to print as warnings.
 */
export async function runCleanups(): Promise<unknown[]> {
  const pending = [...cleanups].reverse();
  cleanups.clear();
  const failures: unknown[] = [];
  for (const cleanup of pending) {
    try {
      await cleanup();
    } catch (error) {
      failures.push(error);
    }
  }
  return failures;
}

/** How many cleanups are waiting; for tests and for a door deciding whether to wait at exit. */
export function pendingCleanups(): number {
  return cleanups.size;
}
