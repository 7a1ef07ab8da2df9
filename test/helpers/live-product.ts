import { silentLogger, type Logger } from "../../src/core/logger.js";
import type { Product } from "../../src/product/product.js";
import { loadProduct } from "../../src/product/load-product.js";
import { productPostgres } from "../../src/product/product-postgres.js";
import { EmbeddedRuntime } from "../../src/runtime/embedded/embedded-runtime.js";
import type { LiveEnvironment } from "../../src/runtime/runtime.js";

export interface LiveProduct extends AsyncDisposable {
  readonly live: LiveEnvironment;
  readonly product: Product;
  readonly runtime: EmbeddedRuntime;
}

/**
 * Loads a product folder (registry + compose) and starts the embedded runtime on it: a real
 * PostgreSQL 16 provisioned as the official image provisions the compose file's postgres service.
 * `await using` stops the server and removes its temp dir.
 *
 * `env` defaults to a PATH-only environment so the developer's shell never leaks into a test
 * (unset compose variables get random values, as in a CI run).
 */
export async function startLiveProduct(
  productDir: string,
  repoRoot: string,
  options: { env?: Readonly<Record<string, string | undefined>>; logger?: Logger } = {},
): Promise<LiveProduct> {
  const env = options.env ?? { PATH: process.env.PATH };
  const product: Product = await loadProduct(productDir, repoRoot, { composeEnv: env });
  const runtime = new EmbeddedRuntime({ product, env, logger: options.logger ?? silentLogger });
  const live = await runtime.start(AbortSignal.timeout(120_000));
  return {
    live,
    product,
    runtime,
    async [Symbol.asyncDispose]() {
      await runtime.stop();
    },
  };
}

/** The admin URL of a product's only PostgreSQL instance. */
export function adminUrlOf(live: LiveEnvironment): string {
  if (live.instances.size !== 1) throw new Error(`expected one PostgreSQL instance, found ${[...live.instances.keys()].join(", ") || "none"}`);
  return live.instances.values().next().value!.adminUrl;
}

/** The URL `live.reach` gives a service's first declared credential; `undefined` when it has none or it is not reached. */
export async function reachService(started: Pick<LiveProduct, "live" | "product">, serviceKey: string): Promise<string | undefined> {
  const credential = (await productPostgres(started.product)).of(serviceKey)?.credentials[0];
  return credential && started.live.reach(credential);
}
