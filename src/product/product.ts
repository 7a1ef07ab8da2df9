import { basename, resolve } from "node:path";
import type { ComposeProject } from "../compose-file/model.js";
import { type ConformanceConfig, EMPTY_CONFIG, type Profile } from "../core/conformance-config.js";
import type { Registry } from "../registry/model.js";

/** A product folder (`products/<product>`, or any folder with a compose file) inside its monorepo, loaded from files. */
export interface Product {
  /** The product's name: its folder name. */
  readonly name: string;
  /** Absolute path of the product folder. */
  readonly dir: string;
  /** Absolute path of the monorepo root (Dockerfile and module paths are relative to it). */
  readonly repoRoot: string;
  readonly registry: Registry;
  /** Loaded only when a selected check needs it (always when the registry is inferred from it). */
  readonly compose?: ComposeProject;
  /** What `civic-conformance.yaml` configures (profile, rule levels, suppressions); absent without one. */
  readonly config?: ConformanceConfig;
}

/** Where a product is, known before it is loaded: what a runtime needs to start before the registry is read. */
export type ProductPlace = Pick<Product, "name" | "dir" | "repoRoot">;

/** The place `loadProduct` gives the product in `productDir` of the monorepo at `repoRoot`. */
export function productPlace(productDir: string, repoRoot: string): ProductPlace {
  const dir = resolve(productDir);
  return { name: basename(dir), dir, repoRoot: resolve(repoRoot) };
}

/**
 * The rule profile in force: the configuration file's, else `civic` for the civic layout's
 * TypeScript registry and `portable` for every other source.
 */
export function profileOf(product: Pick<Product, "registry" | "config">): Profile {
  return product.config?.profile ?? (product.registry.source === "typescript" ? "civic" : "portable");
}

export function configOf(product: Pick<Product, "config">): ConformanceConfig {
  return product.config ?? EMPTY_CONFIG;
}
