import { resolveUnprivilegedUser } from "../../sandbox/os-user.js";
import { RunFolder } from "../../sandbox/run-folder.js";
import type { CheckContext } from "../check.js";

/**
 * Runs `work` with the run's folder, or, for a check run on its own (tests, the `_template`), with a
 * folder made for it and removed afterwards: product programs always get a throwaway HOME and
 * TMPDIR, and as root the unprivileged user.
 */
export async function withRunFolder<T>(context: Pick<CheckContext, "runFolder" | "options">, work: (folder: RunFolder) => Promise<T>): Promise<T> {
  if (context.runFolder) return work(context.runFolder);
  const folder = await RunFolder.create(context.options.env, await resolveUnprivilegedUser(process.getuid?.()));
  try {
    return await work(folder);
  } finally {
    await folder.remove();
  }
}
