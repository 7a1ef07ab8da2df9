/**
 * A stand-in for what initdb writes, for the cluster cache's concurrency tests: real files, a few
 * hundred (six folders of `filesPerFolder`), of fixed sizes, each carrying the identity of the
 * "initdb" that made it and its own path, so a copy that mixes two clusters, lacks a file or holds
 * a torn one is seen.
 */
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

const FOLDERS = ["base/1", "base/4", "base/5", "global", "pg_wal", "pg_xact"];
/** Files per folder unless told: 240 files in all. */
export const FILES_PER_FOLDER = 40;
const FILE_SIZE = 2048;

/** A stand-in cluster at `dir`: every file holds `identity`, its own path, and padding to a fixed size. */
export async function writeCluster(dir: string, identity: string, filesPerFolder = FILES_PER_FOLDER): Promise<void> {
  await mkdir(dir, { mode: 0o700 });
  for (const folder of FOLDERS) {
    await mkdir(join(dir, folder), { recursive: true, mode: 0o700 });
    for (let i = 0; i < filesPerFolder; i++) {
      const path = `${folder}/${i}`;
      await writeFile(join(dir, path), `${identity} ${path} `.padEnd(FILE_SIZE, "."), { mode: 0o600 });
    }
  }
}

/** What is wrong with the copy at `dir`, or undefined when it is one whole cluster. */
export async function copyProblem(dir: string, filesPerFolder = FILES_PER_FOLDER): Promise<string | undefined> {
  const found = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile()).length;
  if (found !== FOLDERS.length * filesPerFolder) return `${found} files, not ${FOLDERS.length * filesPerFolder}`;
  const identities = new Set<string>();
  for (const folder of FOLDERS) {
    for (let i = 0; i < filesPerFolder; i++) {
      const path = `${folder}/${i}`;
      const text = await readFile(join(dir, path), "utf8").catch(() => "");
      const [identity, named] = text.split(" ");
      if (text.length !== FILE_SIZE || named !== path) return `${path} is not whole`;
      identities.add(identity!);
    }
  }
  return identities.size === 1 ? undefined : `files of ${identities.size} different clusters mixed`;
}

