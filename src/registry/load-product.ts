import { basename, resolve } from "node:path";
import type { Product } from "../core/product.js";
import { loadRegistry } from "./load-registry.js";

/**
 * A product loaded from files with its registry and without a compose project: enough for the
 * checks that need only files (`registry`) and for tests. The CLI (`run-check.ts`) adds the rest.
 */
export async function loadProductRegistry(productDir: string, repoRoot: string): Promise<Product> {
  const dir = resolve(productDir);
  const root = resolve(repoRoot);
  return { name: basename(dir), dir, repoRoot: root, registry: await loadRegistry(dir, root) };
}
