import { join } from "node:path";
import { type ComposeSelection, loadCompose } from "../compose-file/load-compose-file.js";
import type { ComposeProject } from "../compose-file/model.js";
import { UsageError } from "../core/errors.js";
import { pathExists } from "../core/path-probe.js";
import { findConfigFile, loadConfigFile, type ConfigFile } from "../registry/load-config-file.js";
import type { RegistrySandbox } from "../registry/evaluate-registry.js";
import { loadRegistry, REGISTRY_PATH } from "../registry/load-registry.js";
import type { Registry } from "../registry/model.js";
import { displayPath } from "../registry/parse-typescript.js";
import { inferRegistry } from "./infer-registry.js";
import { type Product, productPlace } from "./product.js";

export interface LoadProductOptions {
  /**
   * Loads the compose file too, interpolated with this environment (the process environment the
   * door passes: the core never reads `process.env`). Without it the product has no `compose`.
   */
  readonly composeEnv?: Readonly<Record<string, string | undefined>>;
  /** Read files whose real path is outside the repository (`--allow-outside-links`). */
  readonly allowOutsideLinks?: boolean;
  /** How a TypeScript registry module is evaluated (time limit, environment, work folder, abort signal). */
  readonly registrySandbox?: RegistrySandbox;
  /** Which compose files to merge and which profiles are active (`--compose-file`, `--profile`). */
  readonly composeSelection?: ComposeSelection;
  /**
   * Whether to load the compose file (default: when `composeEnv` is given). A product without a
   * registry always loads it: its registry is inferred from it.
   */
  readonly withCompose?: boolean;
  /**
   * Called with the compose project as soon as it is read, while the registry may still be
   * evaluating: the embedded runtime starts its servers from it. The product returned later holds
   * the same project.
   */
  readonly composeLoaded?: (compose: ComposeProject) => void;
}

/**
 * The one way a `Product` is built. Its registry comes from one source: the civic layout's
 * `infra/service-registry.ts`, else the `services:` of `civic-conformance.yaml` (or `.json`), else
 * it is inferred from the compose project (`infer-registry.ts`); the configuration file's other
 * settings apply to any of them. Paths are made absolute; the product's name is its folder's name.
 * The registry module and the compose project are read in parallel; when the compose project cannot
 * be read, the registry's evaluation is stopped (not left running in its child process) and awaited
 * before the error is thrown.
 *
 * @throws UsageError when the registry, the configuration or the compose file cannot be read
 */
export async function loadProduct(productDir: string, repoRoot: string, options: LoadProductOptions = {}): Promise<Product> {
  const place = productPlace(productDir, repoRoot);
  const { dir, repoRoot: root } = place;
  const configPath = await findConfigFile(dir);
  const configFile = configPath === undefined ? undefined : await loadConfigFile(configPath, root, { allowOutsideLinks: options.allowOutsideLinks ?? false });
  const typescript = await declaredTypescriptRegistry(dir, configFile);
  const withCompose = options.withCompose ?? options.composeEnv !== undefined;
  const needsCompose = withCompose || (!typescript && !configFile?.registry);

  const composeFailed = new AbortController();
  const outer = options.registrySandbox?.signal;
  const signal = outer ? AbortSignal.any([outer, composeFailed.signal]) : composeFailed.signal;
  const [declared, compose] = await Promise.allSettled([
    typescript ? loadRegistry(dir, root, { ...options.registrySandbox, signal }) : Promise.resolve(configFile?.registry),
    needsCompose
      ? loadCompose(dir, root, options.composeEnv ?? {}, { ...options.composeSelection, allowOutsideLinks: options.allowOutsideLinks ?? false }).then(
          (project) => {
            options.composeLoaded?.(project);
            return project;
          },
          (error: unknown) => {
            composeFailed.abort(error);
            throw error;
          },
        )
      : Promise.resolve(undefined),
  ]);
  // The registry's own error first, unless it only stopped because the compose file failed.
  if (declared.status === "rejected" && !(composeFailed.signal.aborted && compose.status === "rejected")) throw declared.reason;
  if (compose.status === "rejected") throw compose.reason;
  if (declared.status === "rejected") throw declared.reason;

  let registry: Registry | undefined = declared.value;
  if (!registry) {
    const inferred = await inferRegistry(compose.value!, root);
    registry = { ...inferred.registry, inference: { facts: inferred.inference.facts, todo: inferred.inference.todo } };
  }
  return { ...place, registry, ...(compose.value && { compose: compose.value }), ...(configFile && { config: configFile.config }) };
}

/**
 * The civic layout's TypeScript registry when the product has one. Two sources declaring services
 * would leave it unclear which one is checked, so a configuration file with `services:` beside it is
 * refused.
 */
async function declaredTypescriptRegistry(dir: string, configFile: ConfigFile | undefined): Promise<string | undefined> {
  const typescript = join(dir, REGISTRY_PATH);
  if (!(await pathExists(typescript))) return undefined;
  if (configFile?.registry) {
    throw new UsageError(`both ${displayPath(typescript)} and this file declare services; keep them in one place (remove \`services:\` here, or the TypeScript registry)`, {
      file: displayPath(configFile.path),
      line: configFile.servicesLine ?? 1,
    });
  }
  return typescript;
}
