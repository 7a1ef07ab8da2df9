import { createHash } from "node:crypto";
import { copyFileSync, lchownSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";

/**
 * A throwaway copy of the monorepo for product code to run in (the generator; the registry module
 * where the unprivileged user cannot read the checkout), so the user's tree is never
 * touched, with a content snapshot taken while copying.
 *
 * The file work is synchronous, one folder at a time with a turn of the event loop between folders
 * (the other checks and a Ctrl-C still get their turn): a monorepo has thousands of small files, and
 * through the promise API the thread-pool hop and the promise of each call cost several times the
 * system call itself (a 2,000-service product's 5,600 files: about 4 s of the run's CPU, 1 s now).
 */

/** Repository-relative path (forward slashes) → content hash. Symlinks hash their target. */
export type TreeSnapshot = ReadonlyMap<string, string>;

/**
 * Not copied: version-control data and build caches no generator reads, which are also the big
 * ones. `node_modules` is not copied either but linked, so the repo's own packages still resolve.
 */
const SKIPPED_DIRS: ReadonlySet<string> = new Set([".git", ".hg", ".svn", ".turbo", ".nx", ".next", "coverage"]);
const LINKED_DIR = "node_modules";

export interface RepoCopy {
  /** Monorepo root of the copy. */
  readonly root: string;
  /** The tree as it was copied: what is committed. */
  readonly snapshot: TreeSnapshot;
}

export interface CopyOptions {
  /** Hands every folder, file and link of the copy (the links themselves) to this user: the generator's, when the run is root's. */
  readonly owner?: { readonly uid: number; readonly gid: number };
}

function hashOf(content: Buffer | string): string {
  return createHash("sha256").update(content).digest("hex");
}

/**
 * Walks the tree under `root` folder by folder (breadth first), skipping what is never copied, and
 * calls `visit` with each entry's repository-relative path; yields to the event loop between folders.
 */
async function walkTree(
  root: string,
  visit: (path: string, entry: { isDirectory(): boolean; isFile(): boolean; isSymbolicLink(): boolean; name: string }) => "descend" | void,
): Promise<void> {
  const folders = [""];
  for (let index = 0; index < folders.length; index++) {
    const relative = folders[index]!;
    for (const entry of readdirSync(join(root, relative), { withFileTypes: true })) {
      if (SKIPPED_DIRS.has(entry.name)) continue;
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      if (visit(path, entry) === "descend") folders.push(path);
    }
    await nextTurn();
  }
}

/**
 * Copies `repoRoot` into `root`, an empty folder of the run (removed with the run folder, also on
 * Ctrl-C). The caller removes it earlier with `removeRepoCopy`.
 */
export async function copyRepo(repoRoot: string, root: string, { owner }: CopyOptions = {}): Promise<RepoCopy> {
  const snapshot = new Map<string, string>();
  const own = owner ? (path: string) => lchownSync(path, owner.uid, owner.gid) : () => undefined;
  try {
    await walkTree(repoRoot, (path, entry) => {
      const from = join(repoRoot, path);
      const to = join(root, path);
      if (entry.name === LINKED_DIR) {
        symlinkSync(from, to);
        own(to);
      } else if (entry.isDirectory()) {
        mkdirSync(to);
        own(to);
        return "descend";
      } else if (entry.isFile()) {
        // copyFile keeps the mode (start-dev.sh stays executable); the read feeds the snapshot.
        snapshot.set(path, hashOf(readFileSync(from)));
        copyFileSync(from, to);
        own(to);
      } else if (entry.isSymbolicLink()) {
        const target = readlinkSync(from);
        symlinkSync(target, to);
        own(to);
        snapshot.set(path, hashOf(`symlink:${target}`));
      }
      return undefined;
    });
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
  return { root, snapshot };
}

/** The copy's tree now, with the same rules as the copy. */
export async function snapshotTree(root: string): Promise<TreeSnapshot> {
  const snapshot = new Map<string, string>();
  await walkTree(root, (path, entry) => {
    if (entry.name === LINKED_DIR) return undefined;
    if (entry.isDirectory()) return "descend";
    if (entry.isFile()) snapshot.set(path, hashOf(readFileSync(join(root, path))));
    else if (entry.isSymbolicLink()) snapshot.set(path, hashOf(`symlink:${readlinkSync(join(root, path))}`));
    return undefined;
  });
  return snapshot;
}

/** Removes the copy. Never follows the node_modules links: `rm` unlinks symlinks, it does not descend. */
export async function removeRepoCopy(copy: RepoCopy): Promise<void> {
  rmSync(copy.root, { recursive: true, force: true });
}
