import { basename, join, resolve } from "node:path";
import { type ComposeSelection, loadCompose } from "../compose-file/load-compose-file.js";
import { UsageError } from "../core/errors.js";
import { pathExists } from "../core/path-probe.js";
import { findConfigFile, loadConfigFile, type ConfigFile } from "../registry/load-config-file.js";
import { loadRegistry, REGISTRY_PATH } from "../registry/load-registry.js";
import type { Registry } from "../registry/model.js";
import { displayPath } from "../registry/parse-typescript.js";
import { inferRegistry } from "./infer-registry.js";
import type { Product } from "./product.js";

export interface LoadProductOptions {
  /**
   * Loads the compose file too, interpolated with this environment (the process environment the
   * door passes: the core never reads `process.env`). Without it the product has no `compose`.
   */
  readonly composeEnv?: Readonly<Record<string, string | undefined>>;
  /** Which compose files to merge and which profiles are active (`--compose-file`, `--profile`). */
  readonly composeSelection?: ComposeSelection;
  /**
   * Whether to load the compose file (default: when `composeEnv` is given). A product without a
   * registry always loads it: its registry is inferred from it.
   */
  readonly withCompose?: boolean;
}

/**
 * The one way a `Product` is built. Its registry comes from one source: the civic layout's
 * `infra/service-registry.ts`, else the `services:` of `civic-conformance.yaml` (or `.json`), else
 * it is inferred from the compose project (`infer-registry.ts`); the configuration file's other
 * settings apply to any of them. Paths are made absolute; the
 * product's name is its folder's name.
 *
 * @throws UsageError when the registry, the configuration or the compose file cannot be read
 */
export async function loadProduct(productDir: string, repoRoot: string, options: LoadProductOptions = {}): Promise<Product> {
  const dir = resolve(productDir);
  const root = resolve(repoRoot);
  const configPath = await findConfigFile(dir);
  const configFile = configPath === undefined ? undefined : await loadConfigFile(configPath, root);
  const declared = await declaredRegistry(dir, root, configFile);
  const withCompose = options.withCompose ?? options.composeEnv !== undefined;
  const compose = withCompose || !declared ? await loadCompose(dir, root, options.composeEnv ?? {}, options.composeSelection) : undefined;
  let registry = declared;
  if (!registry) {
    const inferred = await inferRegistry(compose!, root);
    registry = { ...inferred.registry, inference: { facts: inferred.inference.facts, todo: inferred.inference.todo } };
  }
  return { name: basename(dir), dir, repoRoot: root, registry, ...(compose && { compose }), ...(configFile && { config: configFile.config }) };
}

/**
 * The registry from its one declared source, or undefined when there is none (it is then inferred);
 * two sources declaring services would leave it unclear which one is checked, so that is refused.
 */
async function declaredRegistry(dir: string, root: string, configFile: ConfigFile | undefined): Promise<Registry | undefined> {
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
  return configFile?.registry;
}
