import { chmod, mkdir, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The name the main step saves the run's temp root under, for the `post:` step. */
export const TEMP_ROOT_STATE = "temp-root";

/**
 * Gives this run a temp root of its own and points TMPDIR at it, so every temp dir the core makes
 * (embedded clusters, compose copies, drift copies) lands inside it. A cancelled run's `post:`
 * step then finds all its leftovers under one folder, and nobody else's.
 */
export async function scopeTempDir(runnerTemp: string | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  const base = runnerTemp || tmpdir();
  await mkdir(base, { recursive: true });
  const root = await mkdtemp(join(base, "civic-run-"));
  // Traversable, not listable: as root the embedded server runs as `postgres` and must reach its own dir inside.
  await chmod(root, 0o711);
  env.TMPDIR = root;
  return root;
}
