import { constants } from "node:fs";
import { type FileHandle, mkdir, open, rm, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { UsageError } from "../core/errors.js";
import type { OutputTarget } from "../core/settings.js";

/** An `--output` file, opened before any check runs. */
export interface ReportFile {
  readonly target: OutputTarget & { readonly file: string };
  /** Replaces the file's content. */
  write(text: string): Promise<void>;
}

/** The run's `--output` files, all open: written once the report exists, or given back untouched. */
export interface ReportFiles extends AsyncDisposable {
  readonly files: readonly ReportFile[];
  /** The run made no report (bad input, interrupted): remove the files this run created, leave the others as they were. */
  discard(): Promise<void>;
}

/**
 * Opens every `--output` file before any work, so an unwritable path is exit 2 naming it, in
 * milliseconds, not after every check ran. Missing parent folders are created one at a time from
 * the deepest that exists (a recursive mkdir never returns for a path under /proc on Node 20); a
 * file that exists keeps its content until the report replaces it.
 *
 * @throws UsageError naming the `--output` path and why it cannot be written
 */
export async function openReportFiles(targets: readonly OutputTarget[], cwd: string): Promise<ReportFiles> {
  const opened: Array<{ file: ReportFile; handle: FileHandle; created: boolean; path: string }> = [];
  const closeAll = async () => {
    for (const { handle } of opened) await handle.close().catch(() => undefined);
  };
  try {
    for (const target of targets) {
      if (target.file === undefined) continue;
      const path = resolve(cwd, target.file);
      const fail = (why: string): never => {
        throw new UsageError(`cannot write --output ${target.file}: ${why}`);
      };
      // ENOTDIR: some folder above is a file, which `createParents` then names.
      const existing = await stat(path).catch((error: NodeJS.ErrnoException) => (error.code === "ENOENT" || error.code === "ENOTDIR" ? undefined : fail(reasonOf(error, path))));
      if (existing?.isDirectory()) fail("it is a folder; name a file inside it");
      if (!existing) await createParents(dirname(path), fail);
      const handle = await open(path, constants.O_WRONLY | constants.O_CREAT).catch((error: NodeJS.ErrnoException) => fail(reasonOf(error, path)));
      const file: ReportFile = {
        target: { ...target, file: target.file },
        async write(text) {
          await handle.truncate(0);
          await handle.write(text, 0, "utf8");
        },
      };
      opened.push({ file, handle, created: existing === undefined, path });
    }
  } catch (error) {
    await closeAll();
    for (const { created, path } of opened) if (created) await rm(path, { force: true });
    throw error;
  }
  return {
    files: opened.map(({ file }) => file),
    async discard() {
      await closeAll();
      for (const { created, path } of opened) if (created) await rm(path, { force: true }).catch(() => undefined);
    },
    async [Symbol.asyncDispose]() {
      await closeAll();
    },
  };
}

/** Creates the missing folders above a file, shallowest first, each with a plain (non-recursive) mkdir. */
async function createParents(folder: string, fail: (why: string) => never): Promise<void> {
  const missing: string[] = [];
  for (let current = folder; ; current = dirname(current)) {
    const info = await stat(current).catch((error: NodeJS.ErrnoException) => (error.code === "ENOENT" ? undefined : fail(reasonOf(error, current))));
    if (info) {
      if (!info.isDirectory()) fail(`${current} is a file, not a folder`);
      break;
    }
    missing.unshift(current);
    if (dirname(current) === current) break;
  }
  for (const path of missing) {
    await mkdir(path).catch((error: NodeJS.ErrnoException) => (error.code === "EEXIST" ? undefined : fail(`cannot create the folder ${path} (${reasonOf(error, path)})`)));
  }
}

function reasonOf(error: NodeJS.ErrnoException, path: string): string {
  switch (error.code) {
    case "ENOTDIR":
      return `a part of ${path} is a file, not a folder`;
    case "EISDIR":
      return "it is a folder; name a file inside it";
    case "EACCES":
    case "EPERM":
      return `permission denied (${path})`;
    case "EROFS":
      return `read-only file system (${path})`;
    case "ENOENT":
      return `no such file or folder (${path})`;
    default:
      return `${error.code ?? "error"}: ${error.message}`;
  }
}
