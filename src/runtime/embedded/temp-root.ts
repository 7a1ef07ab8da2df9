import { access, constants, statfs } from "node:fs/promises";
import { tmpdir } from "node:os";

/** Linux's RAM-backed shared-memory mount, writable by every user. */
const SHARED_MEMORY = "/dev/shm";
/** Below this much free space (e.g. Docker's 64 MB default /dev/shm) a product's databases may not fit. */
const MIN_FREE_BYTES = 1024 ** 3;

/**
 * Where the embedded cluster's temp dir goes. The cluster is thrown away after the run, so durability
 * buys nothing, and on a busy disk every CREATE DATABASE (a full copy of template1 through the WAL)
 * costs seconds: measured on the property-tax fixture under load, init scripts took 4–7 s on disk
 * and 0.6–1.1 s on /dev/shm. So a roomy /dev/shm is preferred, unless the user named a TMPDIR.
 */
export async function chooseTempRoot(env: Readonly<Record<string, string | undefined>>): Promise<string> {
  if (env.TMPDIR) return tmpdir();
  try {
    await access(SHARED_MEMORY, constants.W_OK | constants.X_OK);
    const stats = await statfs(SHARED_MEMORY);
    if (stats.bavail * stats.bsize >= MIN_FREE_BYTES) return SHARED_MEMORY;
  } catch {
    // No /dev/shm (macOS) or not usable: the ordinary temp dir.
  }
  return tmpdir();
}
