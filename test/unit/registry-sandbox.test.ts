/**
 * The registry module is evaluated in a sandboxed child process (src/registry/evaluate-registry.ts):
 * bounded in time and memory, with the minimal environment, stopped by an abort, its getters read in
 * the child. Real child processes and the real TypeScript loader; nothing mocked.
 */
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/core/errors.js";
import { REGISTRY_MEMORY_MB } from "../../src/registry/evaluate-registry.js";
import { loadRegistry } from "../../src/registry/load-registry.js";
import { readableBy, resolveUnprivilegedUser } from "../../src/sandbox/os-user.js";
import { RunFolder } from "../../src/sandbox/run-folder.js";
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

const AS_ROOT = process.getuid?.() === 0;

/** The sandbox the pipeline gives as root: the unprivileged user, the run folder's HOME and its subfolders for a copy. */
async function rootSandbox(): Promise<{ readonly folder: RunFolder; readonly log: string[]; readonly sandbox: Parameters<typeof loadRegistry>[2] } & AsyncDisposable> {
  const user = await resolveUnprivilegedUser(0);
  const folder = await RunFolder.create({}, user);
  const log: string[] = [];
  return {
    folder,
    log,
    sandbox: { user, workDir: folder.home, copyFolder: () => folder.subfolder("registry"), log: (message) => log.push(message) },
    async [Symbol.asyncDispose]() {
      await folder.remove();
    },
  };
}

const LABEL_IS_UID = (text: string) => text.replace('label: "Auth Gateway"', "label: String(process.getuid?.())");

describe.runIf(AS_ROOT)("as root, the registry module runs as the unprivileged user", { timeout: 60_000 }, () => {
  it("in place where that user can read the checkout (no copy made)", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.edit(REGISTRY, LABEL_IS_UID);
    await using run = await rootSandbox();
    const registry = await loadRegistry(copy.product, copy.root, run.sandbox);
    expect(registry.services[0]!.label).toBe(String((await resolveUnprivilegedUser(0)).uid));
    expect((await readdir(run.folder.path)).filter((name) => name.startsWith("registry-"))).toEqual([]);
    expect(run.log.join("\n")).not.toMatch(/in a copy/);
  });

  it("in a copy it owns where the checkout is root's alone (0700); errors name the user's file and line, and the copy is removed", async () => {
    await using copy = await copyFixture("property-tax");
    await chmod(copy.root, 0o700);
    await copy.edit(REGISTRY, LABEL_IS_UID);
    await using run = await rootSandbox();
    const registry = await loadRegistry(copy.product, copy.root, run.sandbox);
    expect(registry.services[0]!.label).toBe(String((await resolveUnprivilegedUser(0)).uid));
    expect(run.log.join("\n")).toMatch(/cannot read all of .* in place: evaluated in a copy/);

    await copy.edit(REGISTRY, (text) => `import "./no-such-sibling.js";\n${text}`);
    const error = await usageError(loadRegistry(copy.product, copy.root, run.sandbox));
    expect(error.message).toMatch(/^The service registry failed to evaluate: Cannot find module '[^']*no-such-sibling\.js'/);
    expect(error.message).toContain(join(copy.product, "infra", "service-registry.ts"));
    expect(error.message).not.toContain(run.folder.path);
    expect(error.location?.file).toMatch(/infra\/service-registry\.ts$/);
    expect((await readdir(run.folder.path)).filter((name) => name.startsWith("registry-"))).toEqual([]);
  });

  it("once more in a copy when the module imports a file that user cannot read (EACCES)", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.write("products/property-tax/infra/label.ts", 'export const label = "Auth Gateway (private)";\n');
    await chmod(join(copy.product, "infra", "label.ts"), 0o600);
    await copy.edit(REGISTRY, (text) => `import { label as privateLabel } from "./label";\n${text.replace('label: "Auth Gateway"', "label: privateLabel")}`);
    await using run = await rootSandbox();
    const registry = await loadRegistry(copy.product, copy.root, run.sandbox);
    expect(registry.services[0]!.label).toBe("Auth Gateway (private)");
    expect(run.log.join("\n")).toMatch(/evaluated in a copy/);
  });
});

describe.runIf(AS_ROOT)("readableBy: whether the unprivileged user can reach and read a path", () => {
  it("follows the mode bits of the path and every folder above it", async () => {
    const user = await resolveUnprivilegedUser(0);
    const root = await mkdtemp(join(tmpdir(), "civic-readable-"));
    try {
      await chmod(root, 0o755);
      await mkdir(join(root, "open"), { mode: 0o755 });
      await mkdir(join(root, "closed"), { mode: 0o700 });
      await mkdir(join(root, "passable"), { mode: 0o711 });
      for (const dir of ["open", "closed", "passable"]) await writeFile(join(root, dir, "file"), "x", { mode: 0o644 });
      await writeFile(join(root, "open", "secret"), "x", { mode: 0o600 });
      expect(readableBy(user, join(root, "open"))).toBe(true);
      expect(readableBy(user, join(root, "open", "file"))).toBe(true);
      expect(readableBy(user, join(root, "open", "secret"))).toBe(false);
      expect(readableBy(user, join(root, "closed"))).toBe(false);
      expect(readableBy(user, join(root, "closed", "file"))).toBe(false);
      expect(readableBy(user, join(root, "passable"))).toBe(false);
      expect(readableBy(user, join(root, "passable", "file"))).toBe(true);
      expect(readableBy(user, join(root, "missing"))).toBe(false);
      expect(readableBy({ name: "current user" }, join(root, "closed", "file"))).toBe(true);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
