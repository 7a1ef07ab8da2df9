import { describe, expect, it } from "vitest";
import { templateCheck } from "../../src/checks/_template/index.js";
import { loadRegistry } from "../../src/registry/load-registry.js";
import { silentLogger } from "../../src/core/logger.js";
import type { CheckContext } from "../../src/checks/check.js";
import { copyFixture } from "../helpers/fixtures.js";

async function contextFor(productDir: string, repoRoot: string): Promise<CheckContext> {
  const registry = await loadRegistry(productDir, repoRoot);
  return {
    product: { name: "property-tax", dir: productDir, repoRoot, registry },
    options: { commandTimeoutMs: 30_000, concurrency: 4, env: {} },
    logger: silentLogger,
    signal: new AbortController().signal,
  };
}

describe("the check template", () => {
  it("passes the conformant fixture", async () => {
    await using copy = await copyFixture("property-tax");
    const output = await templateCheck.run(await contextFor(copy.product, copy.root));
    expect(output.findings).toEqual([]);
  });

  it("reports template/empty-label on the label's line", async () => {
    await using copy = await copyFixture("property-tax");
    const registryPath = "products/property-tax/infra/service-registry.ts";
    await copy.edit(registryPath, (text) => text.replace('label: "Tax Levy Rate"', 'label: ""'));
    const line = (await copy.read(registryPath)).split("\n").findIndex((l) => l.includes('label: ""')) + 1;
    const output = await templateCheck.run(await contextFor(copy.product, copy.root));
    expect(output.findings).toEqual([
      expect.objectContaining({ rule: "template/empty-label", service: "tax-levy-rate", file: registryPath, line }),
    ]);
  });
});
