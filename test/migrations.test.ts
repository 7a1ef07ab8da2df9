import { describe, expect, it } from "vitest";
import { migrationsCheck } from "../src/checks/migrations/index.js";
import type { CheckOutput } from "../src/checks/check.js";
import { RecordingLogger } from "../src/core/logger.js";
import { copyFixture, type FixtureCopy } from "./helpers/fixtures.js";
import { startLiveProduct } from "./helpers/live-product.js";

async function runMigrations(copy: FixtureCopy): Promise<{ output: CheckOutput; logger: RecordingLogger; ms: number }> {
  await using stack = await startLiveProduct(copy.product, copy.root);
  const logger = new RecordingLogger();
  const started = performance.now();
  const output = await migrationsCheck.run({
    product: stack.product,
    live: stack.live,
    options: { commandTimeoutMs: 30_000, concurrency: 2, env: {} },
    logger,
    signal: new AbortController().signal,
  });
  return { output, logger, ms: performance.now() - started };
}

describe("migrations check", { timeout: 120_000 }, () => {
  it("passes the conformant fixture", async () => {
    await using copy = await copyFixture("property-tax");
    const { output, logger, ms } = await runMigrations(copy);
    console.log(ms, output.notes, logger.text());
    expect(output.findings).toEqual([]);
  });
});
