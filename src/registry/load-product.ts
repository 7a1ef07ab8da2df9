import { existsSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { Product } from "../core/product.js";
import { loadRegistry } from "./load-registry.js";

/**
 * The monorepo root of a product folder: `<root>/products/<product>` by the layout's convention,
 * else the nearest folder upwards holding `.git` or `pnpm-workspace.yaml`, else the product folder.
 */
export function findRepoRoot(productDir: string): string {
  const dir = resolve(productDir);
  const parent = dirname(dir);
  if (basename(parent) === "products") return dirname(parent);
  for (let current = dir; ; current = dirname(current)) {
    if (existsSync(join(current, ".git")) || existsSync(join(current, "pnpm-workspace.yaml"))) return current;
    if (dirname(current) === current) return dir;
  }
}

/**
 * A product loaded from files with its registry and without a compose project: enough for the
 * checks that need only files (`registry`), and for tests. The CLI adds the compose project.
 */
export async function loadProductRegistry(productDir: string, repoRoot = findRepoRoot(productDir)): Promise<Product> {
  const dir = resolve(productDir);
  const root = resolve(repoRoot);
  return { name: basename(dir), dir, repoRoot: root, registry: await loadRegistry(dir, root) };
}
