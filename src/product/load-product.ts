import { basename, join, resolve } from "node:path";
import { type ComposeSelection, loadCompose } from "../compose-file/load-compose-file.js";
import { UsageError } from "../core/errors.js";
import { pathExists } from "../core/path-probe.js";
import { findConfigFile, loadConfigFile, type ConfigFile } from "../registry/load-config-file.js";
import { loadRegistry, REGISTRY_PATH } from "../registry/load-registry.js";
import type { Registry } from "../registry/model.js";
import { displayPath } from "../registry/parse-typescript.js";
import type { Product } from "./product.js";

export interface LoadProductOptions {
  /**
   * Loads the compose file too, interpolated with this environment (the process environment the
   * door passes: the core never reads `process.env`). Without it the product has no `compose`.
   */
  readonly composeEnv?: Readonly<Record<string, string | undefined>>;
  /** Which compose files to merge and which profiles are active (`--compose-file`, `--profile`). */
  readonly composeSelection?: ComposeSelection;
}

/**
 * The one way a `Product` is built. Its registry comes from one source: the civic layout's
 * `infra/service-registry.ts`, else the `services:` of `civic-conformance.yaml` (or `.json`);
 * the configuration file's other settings apply to either. Paths are made absolute; the
 * product's name is its folder's name.
 *
 * @throws UsageError when the registry, the configuration or the compose file cannot be read
 */
export async function loadProduct(productDir: string, repoRoot: string, options: LoadProductOptions = {}): Promise<Product> {
  const dir = resolve(productDir);
  const root = resolve(repoRoot);
  const configPath = await findConfigFile(dir);
  const [configFile, compose] = await Promise.all([
    configPath === undefined ? Promise.resolve(undefined) : loadConfigFile(configPath, root),
    options.composeEnv === undefined ? Promise.resolve(undefined) : loadCompose(dir, root, options.composeEnv, options.composeSelection),
  ]);
  const registry = await loadRegistrySource(dir, root, configFile);
  return { name: basename(dir), dir, repoRoot: root, registry, ...(compose && { compose }), ...(configFile && { config: configFile.config }) };
}

/** The registry from its one source; two sources declaring services would leave it unclear which one is checked, so that is refused. */
async function loadRegistrySource(dir: string, root: string, configFile: ConfigFile | undefined): Promise<Registry> {
  const typescript = join(dir, REGISTRY_PATH);
  if (await pathExists(typescript)) {
    if (configFile?.registry) {
      throw new UsageError(`both ${displayPath(typescript)} and this file declare services; keep them in one place (remove \`services:\` here, or the TypeScript registry)`, {
        file: displayPath(configFile.path),
        line: configFile.servicesLine ?? 1,
      });
    }
    return loadRegistry(dir, root);
  }
  if (configFile?.registry) return configFile.registry;
  return loadRegistry(dir, root);
}
