import { createHash } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink } from "node:fs/promises";
import { registerCleanup } from "../../core/cleanup-registry.js";
import { concurrencyLimit } from "../../core/concurrency.js";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A throwaway copy of the monorepo for the generator to run in, so the user's tree is never
 * touched, with a content snapshot taken while copying.
 */

/** Repository-relative path (forward slashes) → content hash. Symlinks hash their target. */
export type TreeSnapshot = ReadonlyMap<string, string>;

/**
 * Not copied: version-control data and build caches no generator reads, which are also the big
 * ones. `node_modules` is not copied either but linked, so the repo's own packages still resolve.
 */
const SKIPPED_DIRS: ReadonlySet<string> = new Set([".git", ".hg", ".svn", ".turbo", ".nx", ".next", "coverage"]);
const LINKED_DIR = "node_modules";
/** Open files at once: a big monorepo copied with unbounded concurrency runs out of descriptors. */
const MAX_OPEN_FILES = 64;

export interface RepoCopy {
  /** Monorepo root of the copy. */
  readonly root: string;
  /** The tree as it was copied: what is committed. */
  readonly snapshot: TreeSnapshot;
  /** Drops the copy's entry in the process-wide cleanup registry (Ctrl-C removes the copy too). */
  readonly unregister: () => void;
}

function hashOf(content: Buffer | string): string {
  return createHash("sha256").update(content).digest("hex");
}

/** Copies `repoRoot` into a fresh temp dir. The caller removes it with `removeRepoCopy`. */
export async function copyRepo(repoRoot: string): Promise<RepoCopy> {
  const root = await mkdtemp(join(tmpdir(), "civic-conformance-drift-"));
  const unregister = registerCleanup(() => rm(root, { recursive: true, force: true }));
  const snapshot = new Map<string, string>();
  const limit = concurrencyLimit(MAX_OPEN_FILES);

  async function copyDir(relative: string): Promise<void> {
    const source = join(repoRoot, relative);
    const entries = await limit(() => readdir(source, { withFileTypes: true }));
    await Promise.all(
      entries.map(async (entry) => {
        const path = relative ? `${relative}/${entry.name}` : entry.name;
        const from = join(repoRoot, path);
        const to = join(root, path);
        if (SKIPPED_DIRS.has(entry.name)) return;
        if (entry.name === LINKED_DIR) {
          await symlink(from, to);
        } else if (entry.isDirectory()) {
          await mkdir(to);
          await copyDir(path);
        } else if (entry.isFile()) {
          // copyFile keeps the mode (start-dev.sh stays executable); the read feeds the snapshot.
          const [content] = await limit(() => Promise.all([readFile(from), copyFile(from, to)]));
          snapshot.set(path, hashOf(content));
        } else if (entry.isSymbolicLink()) {
          const target = await readlink(from);
          await symlink(target, to);
          snapshot.set(path, hashOf(`symlink:${target}`));
        }
      }),
    );
  }

  try {
    await copyDir("");
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    unregister();
    throw error;
  }
  return { root, snapshot, unregister };
}

/** The copy's tree now, with the same rules as the copy. */
export async function snapshotTree(root: string): Promise<TreeSnapshot> {
  const snapshot = new Map<string, string>();
  const limit = concurrencyLimit(MAX_OPEN_FILES);

  async function walk(relative: string): Promise<void> {
    const entries = await limit(() => readdir(join(root, relative), { withFileTypes: true }));
    await Promise.all(
      entries.map(async (entry) => {
        const path = relative ? `${relative}/${entry.name}` : entry.name;
        if (entry.name === LINKED_DIR || SKIPPED_DIRS.has(entry.name)) return;
        if (entry.isDirectory()) {
          await walk(path);
        } else if (entry.isFile()) {
          snapshot.set(path, hashOf(await limit(() => readFile(join(root, path)))));
        } else if (entry.isSymbolicLink()) {
          snapshot.set(path, hashOf(`symlink:${await readlink(join(root, path))}`));
        }
      }),
    );
  }

  await walk("");
  return snapshot;
}

/** Removes the copy. Never follows the node_modules links: `rm` unlinks symlinks, it does not descend. */
export async function removeRepoCopy(copy: RepoCopy): Promise<void> {
  await rm(copy.root, { recursive: true, force: true });
  copy.unregister();
}
