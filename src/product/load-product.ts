import { basename, resolve } from "node:path";
import { loadCompose } from "../compose-file/load-compose-file.js";
import { loadRegistry } from "../registry/load-registry.js";
import type { Product } from "./product.js";

export interface LoadProductOptions {
  /**
   * Loads the compose file too, interpolated with this environment (the process environment the
   * door passes: the core never reads `process.env`). Without it the product has no `compose`.
   */
  readonly composeEnv?: Readonly<Record<string, string | undefined>>;
}

/**
 * The one way a `Product` is built: its registry, and its compose file when asked for, read in
 * parallel. Paths are made absolute; the product's name is its folder's name.
 *
 * @throws UsageError when the registry or the compose file cannot be read
 */
export async function loadProduct(productDir: string, repoRoot: string, options: LoadProductOptions = {}): Promise<Product> {
  const dir = resolve(productDir);
  const root = resolve(repoRoot);
  const [registry, compose] = await Promise.all([
    loadRegistry(dir, root),
    options.composeEnv === undefined ? Promise.resolve(undefined) : loadCompose(dir, root, options.composeEnv),
  ]);
  return { name: basename(dir), dir, repoRoot: root, registry, ...(compose && { compose }) };
}
