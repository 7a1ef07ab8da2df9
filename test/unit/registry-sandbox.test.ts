/**
 * The registry module is evaluated in a sandboxed child process (src/registry/evaluate-registry.ts):
 * bounded in time and memory, with the minimal environment, stopped by an abort, its getters read in
 * the child. Real child processes and the real TypeScript loader; nothing mocked.
 */
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/core/errors.js";
import { REGISTRY_MEMORY_MB } from "../../src/registry/evaluate-registry.js";
import { loadRegistry } from "../../src/registry/load-registry.js";
import { processesUnder } from "../hostile/support/run-folder.js";
import { copyFixture } from "../helpers/fixtures.js";

const REGISTRY = "products/property-tax/infra/service-registry.ts";

async function usageError(promise: Promise<unknown>): Promise<UsageError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(UsageError);
  return error as UsageError;
}

describe("the registry sandbox", { timeout: 60_000 }, () => {
  it("stops a `while (true) {}` at the time limit, and leaves no process behind", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.edit(REGISTRY, (text) => `while (true) {}\n${text}`);
    const started = performance.now();
    const error = await usageError(loadRegistry(copy.product, copy.root, { timeoutMs: 1_500 }));
    expect(error.message).toBe("the service registry did not finish evaluating within 1.5 s (--timeout), so it was stopped");
    expect(error.location?.line).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(15_000);
    expect(await processesUnder([copy.product])).toEqual([]);
  });

  it("stops an endless allocation at its heap limit with a memory message, not V8's crash", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.edit(REGISTRY, (text) => `const hoard: number[][] = [];\nfor (;;) hoard.push(new Array(1_000_000).fill(hoard.length));\n${text}`);
    const error = await usageError(loadRegistry(copy.product, copy.root, { timeoutMs: 30_000 }));
    expect(error.message).toBe(`the service registry used more than ${REGISTRY_MEMORY_MB} MB of memory while evaluating, so it was stopped`);
  });

  it("stops at once when the run is aborted, throwing the abort's reason", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.edit(REGISTRY, (text) => `while (true) {}\n${text}`);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("interrupted by SIGINT")), 1_000);
    const started = performance.now();
    await expect(loadRegistry(copy.product, copy.root, { timeoutMs: 30_000, signal: controller.signal })).rejects.toThrow("interrupted by SIGINT");
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(await processesUnder([copy.product])).toEqual([]);
  });

  it("reads a getter that throws in the child, at the getter's line", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.edit(REGISTRY, (text) => text.replace("port: 4100,", 'get port(): number { throw new Error("port lookup failed"); },'));
    const line = (await copy.read(REGISTRY)).split("\n").findIndex((text) => text.includes("port lookup failed")) + 1;
    const error = await usageError(loadRegistry(copy.product, copy.root));
    expect(error.message).toBe("The service registry failed to evaluate: port lookup failed");
    expect(error.location?.line).toBe(line);
  });

  it("gives the module only PATH, HOME and the locale of the caller's environment", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.edit(REGISTRY, (text) =>
      text.replace('label: "Auth Gateway"', 'label: [process.env.GITHUB_TOKEN ?? "no token", process.env.PATH ? "path" : "no path", process.env.LANG].join(" ")'),
    );
    const registry = await loadRegistry(copy.product, copy.root, { env: { GITHUB_TOKEN: "ghs_canary", PATH: process.env.PATH, LANG: "C.UTF-8" } });
    expect(registry.services[0]!.label).toBe("no token path C.UTF-8");
  });
});
