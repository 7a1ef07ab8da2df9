import { basename, resolve } from "node:path";
import { loadCompose } from "../compose-file/load-compose-file.js";
import type { RegistrySandbox } from "../registry/evaluate-registry.js";
import { loadRegistry } from "../registry/load-registry.js";
import type { Product } from "./product.js";

export interface LoadProductOptions {
  /**
   * Loads the compose file too, interpolated with this environment (the process environment the
   * door passes: the core never reads `process.env`). Without it the product has no `compose`.
   */
  readonly composeEnv?: Readonly<Record<string, string | undefined>>;
  /** Read files whose real path is outside the repository (`--allow-outside-links`). */
  readonly allowOutsideLinks?: boolean;
  /** How the registry module is evaluated (time limit, environment, work folder, abort signal). */
  readonly registrySandbox?: RegistrySandbox;
}

/**
 * The one way a `Product` is built: its registry, and its compose file when asked for, read in
 * parallel. Paths are made absolute; the product's name is its folder's name. When the compose file
 * cannot be read, the registry's evaluation is stopped (not left running in its child process) and
 * awaited before the error is thrown.
 *
 * @throws UsageError when the registry or the compose file cannot be read
 */
export async function loadProduct(productDir: string, repoRoot: string, options: LoadProductOptions = {}): Promise<Product> {
  const dir = resolve(productDir);
  const root = resolve(repoRoot);
  const composeFailed = new AbortController();
  const outer = options.registrySandbox?.signal;
  const signal = outer ? AbortSignal.any([outer, composeFailed.signal]) : composeFailed.signal;
  const [registry, compose] = await Promise.allSettled([
    loadRegistry(dir, root, { ...options.registrySandbox, signal }),
    options.composeEnv === undefined
      ? Promise.resolve(undefined)
      : loadCompose(dir, root, options.composeEnv, { allowOutsideLinks: options.allowOutsideLinks ?? false }).catch((error: unknown) => {
          composeFailed.abort(error);
          throw error;
        }),
  ]);
  // The registry's own error first, unless it only stopped because the compose file failed.
  if (registry.status === "rejected" && !(composeFailed.signal.aborted && compose.status === "rejected")) throw registry.reason;
  if (compose.status === "rejected") throw compose.reason;
  if (registry.status === "rejected") throw registry.reason;
  return { name: basename(dir), dir, repoRoot: root, registry: registry.value, ...(compose.value && { compose: compose.value }) };
}
