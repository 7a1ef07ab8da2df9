import type { Check } from "../../src/checks/check.js";
import type { CheckOutput } from "../../src/checks/check.js";
import { RecordingLogger } from "../../src/core/logger.js";
import { loadProduct } from "../../src/product/load-product.js";
import type { LiveEnvironment } from "../../src/runtime/runtime.js";
import type { FixtureCopy } from "./fixtures.js";

export const COMPOSE = "products/property-tax/docker-compose.yml";
export const REGISTRY = "products/property-tax/infra/service-registry.ts";
export const INIT_SQL = "products/property-tax/infra/init-databases.sql";

/** Loads a fixture copy's registry and compose file as the CLI does, and runs one check on it. */
export async function runOnCopy(check: Check, copy: FixtureCopy, live?: LiveEnvironment): Promise<CheckOutput> {
  const product = await loadProduct(copy.product, copy.root, { composeEnv: {} });
  return check.run({
    product,
    ...(live && { live }),
    options: { commandTimeoutMs: 10_000, concurrency: 2, env: {} },
    logger: new RecordingLogger(),
    signal: new AbortController().signal,
  });
}

/** 1-based line of the only occurrence of `needle` in `text`, or of the first one after `anchor`. */
export function lineOf(text: string, needle: string, anchor?: string): number {
  const start = anchor === undefined ? 0 : text.indexOf(anchor);
  if (start < 0) throw new Error(`anchor '${anchor}' not found`);
  const index = text.indexOf(needle, start);
  if (index < 0) throw new Error(`'${needle}' not found after '${anchor ?? "start"}'`);
  if (anchor === undefined && text.indexOf(needle, index + 1) >= 0) throw new Error(`'${needle}' is not unique`);
  return text.slice(0, index).split("\n").length;
}

/**
 * Replaces the first `from` after `anchor` (a unique text such as `\n  billing-invoicing:\n`) in a
 * file of the copy: one scripted mutation. Returns the edited text.
 */
export async function replaceAfter(copy: FixtureCopy, path: string, anchor: string, from: string, to: string): Promise<string> {
  await copy.edit(path, (text) => {
    const start = text.indexOf(anchor);
    if (start < 0 || text.indexOf(anchor, start + 1) >= 0) throw new Error(`anchor '${anchor}' is not unique in ${path}`);
    const index = text.indexOf(from, start);
    if (index < 0) throw new Error(`'${from}' not found after '${anchor}' in ${path}`);
    return text.slice(0, index) + to + text.slice(index + from.length);
  });
  return copy.read(path);
}
