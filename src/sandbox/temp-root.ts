import { access, constants, stat, statfs } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, resolve } from "node:path";
import type { OsUser } from "./os-user.js";

/** Linux's RAM-backed shared-memory mount, writable by every user. */
const SHARED_MEMORY = "/dev/shm";
/** Below this much free space (e.g. Docker's 64 MB default /dev/shm) a product's databases may not fit. */
const MIN_FREE_BYTES = 1024 ** 3;
/** Where a run folder may go when neither TMPDIR nor /dev/shm will do. */
const SYSTEM_TEMP_DIRS = ["/tmp", "/var/tmp"];

/**
 * Where the run folder goes (the embedded cluster, the drift copy, product programs' HOME). The
 * cluster is thrown away after the run, so durability buys nothing, and on a busy disk every CREATE
 * DATABASE (a full copy of template1 through the WAL) costs seconds: measured on the property-tax
 * fixture under load, init scripts took 4–7 s on disk and 0.6–1.1 s on /dev/shm. So a roomy /dev/shm
 * is preferred, unless the user named a TMPDIR.
 *
 * As root, the server and product programs run as an unprivileged `user`, who must be able to
 * reach the folder: a TMPDIR (or a runner's RUNNER_TEMP) made by `mktemp -d` is 0700. Such a root
 * is passed over for the next that the user can traverse, and `passedOver` says why.
 */
export async function chooseTempRoot(
  env: Readonly<Record<string, string | undefined>>,
  user: OsUser = { name: "current user" },
): Promise<{ root: string; passedOver?: string }> {
  const preferred = namedTempDir(env) ?? ((await roomySharedMemory()) ? SHARED_MEMORY : tmpdir());
  const blocked = await blockingFolder(preferred, user);
  if (blocked === undefined) return { root: preferred };
  const passedOver = `${preferred} cannot be entered by the '${user.name}' user (${blocked} is mode ${await modeOf(blocked)})`;
  for (const candidate of [SHARED_MEMORY, ...SYSTEM_TEMP_DIRS]) {
    if (candidate === preferred || !(await writable(candidate))) continue;
    if ((await blockingFolder(candidate, user)) === undefined) return { root: candidate, passedOver };
  }
  return { root: preferred, passedOver };
}

/** Every folder a run folder may be in: where the reaper looks for what killed runs left. */
export function tempRootCandidates(env: Readonly<Record<string, string | undefined>>): string[] {
  return [...new Set([namedTempDir(env) ?? tmpdir(), SHARED_MEMORY, ...SYSTEM_TEMP_DIRS].map((path) => resolve(path)))];
}

/** The TMPDIR the caller's environment names, as `os.tmpdir()` reads it (no trailing slash). */
function namedTempDir(env: Readonly<Record<string, string | undefined>>): string | undefined {
  return env.TMPDIR ? resolve(env.TMPDIR) : undefined;
}

async function roomySharedMemory(): Promise<boolean> {
  try {
    await access(SHARED_MEMORY, constants.W_OK | constants.X_OK);
    const stats = await statfs(SHARED_MEMORY);
    return stats.bavail * stats.bsize >= MIN_FREE_BYTES;
  } catch {
    // No /dev/shm (macOS) or not usable: the ordinary temp dir.
    return false;
  }
}

async function writable(path: string): Promise<boolean> {
  try {
    await access(path, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The first folder from `path` up to `/` that `user` may not enter (no execute bit for it as owner,
 * group member or other); undefined when it can reach `path`, or when it is this process itself.
 */
export async function blockingFolder(path: string, user: OsUser): Promise<string | undefined> {
  if (user.uid === undefined) return undefined;
  for (let folder = resolve(path); ; folder = dirname(folder)) {
    try {
      const info = await stat(folder);
      const bit = info.uid === user.uid ? 0o100 : info.gid === user.gid ? 0o010 : 0o001;
      if ((info.mode & bit) === 0) return folder;
    } catch {
      return folder;
    }
    if (dirname(folder) === folder) return undefined;
  }
}

async function modeOf(path: string): Promise<string> {
  return stat(path).then(
    (info) => (info.mode & 0o777).toString(8).padStart(4, "0"),
    () => "unknown",
  );
}
