import { readdir } from "node:fs/promises";
import { basename, dirname, join, relative, resolve } from "node:path";
import { UsageError } from "../core/errors.js";
import { COMPOSE_FILE_NAMES } from "../compose-file/load-compose-file.js";
import { CONFIG_FILE_NAMES } from "../registry/load-config-file.js";
import { REGISTRY_PATH } from "../registry/load-registry.js";
import { pathExists } from "../core/path-probe.js";

export interface ProductLocation {
  /** Absolute product folder (holds `infra/service-registry.ts`, `civic-conformance.yaml` or a compose file). */
  readonly productDir: string;
  /** Absolute monorepo root: Dockerfile paths in the registry are relative to it. */
  readonly repoRoot: string;
}

/**
 * Accepts a product folder (the civic layout's, with `infra/service-registry.ts`), a monorepo root
 * holding exactly one `products/<product>`, or any folder with `civic-conformance.yaml` or a compose
 * file (its registry is then read from that file, or inferred).
 * The repo root is `--repo-root` when given, else the folder two levels up from `products/<product>`,
 * else the nearest ancestor with `.git` or `pnpm-workspace.yaml`, else the product folder itself.
 */
export async function locateProduct(path: string, cwd: string, repoRootOverride?: string): Promise<ProductLocation> {
  const given = resolve(cwd, path);
  if (!(await pathExists(given))) throw new UsageError(`Product folder not found: ${path}`, { file: path });
  let productDir = given;
  if (!(await pathExists(join(given, REGISTRY_PATH)))) {
    const candidates = await productsUnder(given);
    if (candidates.length === 1) productDir = candidates[0]!;
    else if (candidates.length > 1) {
      const names = candidates.map((c) => relative(cwd, c) || ".").join(", ");
      throw new UsageError(`${path} holds several products (${names}). Name one of them.`, { file: path });
    } else if (!(await holdsAnyOf(given, [...CONFIG_FILE_NAMES, ...COMPOSE_FILE_NAMES]))) {
      throw new UsageError(
        `Nothing to check in ${path}: expected ${REGISTRY_PATH}, a monorepo with products/<product>/${REGISTRY_PATH}, ` +
          `${CONFIG_FILE_NAMES[0]}, or a compose file (${COMPOSE_FILE_NAMES.join(", ")}).`,
        { file: path },
      );
    }
  }
  const repoRoot = repoRootOverride ? resolve(cwd, repoRootOverride) : await findRepoRoot(productDir);
  return { productDir, repoRoot };
}

async function holdsAnyOf(dir: string, names: readonly string[]): Promise<boolean> {
  for (const name of names) if (await pathExists(join(dir, name))) return true;
  return false;
}

async function productsUnder(root: string): Promise<string[]> {
  const productsDir = join(root, "products");
  let entries: string[];
  try {
    entries = (await readdir(productsDir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
  const found = await Promise.all(
    entries.sort().map(async (name) => ((await pathExists(join(productsDir, name, REGISTRY_PATH))) ? join(productsDir, name) : undefined)),
  );
  return found.filter((dir): dir is string => dir !== undefined);
}

async function findRepoRoot(productDir: string): Promise<string> {
  const parent = dirname(productDir);
  if (basename(parent) === "products") return dirname(parent);
  for (let dir = productDir; ; dir = dirname(dir)) {
    if ((await pathExists(join(dir, ".git"))) || (await pathExists(join(dir, "pnpm-workspace.yaml")))) return dir;
    if (dirname(dir) === dir) return productDir;
  }
}
