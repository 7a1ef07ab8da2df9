import { access, stat } from "node:fs/promises";

/** Whether something exists at `path` (following links); never throws. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** What stands at `path` (following links): a file, a folder, or nothing usable. */
export async function pathKind(path: string): Promise<"file" | "dir" | undefined> {
  try {
    const info = await stat(path);
    return info.isFile() ? "file" : info.isDirectory() ? "dir" : undefined;
  } catch {
    return undefined;
  }
}
