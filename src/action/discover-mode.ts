import { join, relative, resolve, sep } from "node:path";
import { UsageError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import { pathKind } from "../core/path-probe.js";
import { discoverProducts } from "../product/discover-products.js";
import type { ActionSettings } from "./action-settings.js";

/**
 * `mode: discover`: the product folders under each `product` path, relative to `working-directory`,
 * for a `strategy.matrix` (GitHub Actions runs the products in parallel, one job each). Sorted and
 * without duplicates; empty when there is none (the workflow skips the matrix then).
 *
 * @throws UsageError when a folder to search does not exist
 */
export async function runDiscoverMode(settings: Pick<ActionSettings, "workingDirectory" | "products">, logger: Logger): Promise<string[]> {
  const found = new Set<string>();
  for (const searched of settings.products) {
    const root = resolve(settings.workingDirectory, searched);
    if ((await pathKind(root)) !== "dir") throw new UsageError(`Folder to search for products not found: ${searched}`, { file: searched });
    for (const product of await discoverProducts(root)) {
      const path = relative(settings.workingDirectory, join(root, product.path)).split(sep).join("/") || ".";
      if (found.has(path)) continue;
      found.add(path);
      logger.info(`product ${path} (${product.marker === "registry" ? "service registry" : product.marker === "config" ? "civic-conformance.yaml" : "compose file with PostgreSQL"})`);
    }
  }
  if (found.size === 0) logger.warn(`No product found under ${settings.products.join(", ")}: expected products/<product> folders (or the root) holding infra/service-registry.ts, civic-conformance.yaml or a compose file with a PostgreSQL service.`);
  return [...found].sort();
}
