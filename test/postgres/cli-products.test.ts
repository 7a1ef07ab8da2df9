/**
 * `civic-conformance check <monorepo root>` with several products, through the built CLI
 * (`npm run build` first): every product checked, at most one per core at a time, one report.
 */
import { execa } from "execa";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Report } from "../../src/core/report-model.js";
import { CLI, cliEnv } from "../helpers/cli-outputs.js";
import { twoProductMonorepo } from "../helpers/monorepo.js";

describe("check of a monorepo root with several products", { timeout: 400_000 }, () => {
  it("checks each product and writes one report of each format, failing when one product fails", async () => {
    await using copy = await twoProductMonorepo({ failingPermits: true });
    const out = await mkdtemp(join(tmpdir(), "civic-products-out-"));
    try {
      const run = await execa(process.execPath, [CLI, "check", copy.root, "--only", "registry,drift,compose", "--format", "text", "--format", "json", "--output", join(out, "r.json"), "--format", "junit", "--output", join(out, "r.xml")], { env: cliEnv(), reject: false });
      expect(run.exitCode, run.stderr).toBe(1);
      expect(run.stderr).toContain("2 products: permits, property-tax");
      // Progress lines name their product.
      expect(run.stdout).toMatch(/^permits · .*compose/m);
      expect(run.stdout).toMatch(/^property-tax · .*compose/m);
      expect(run.stdout).toContain("2 products: 1 passed, 1 failed");
      const json = JSON.parse(await readFile(join(out, "r.json"), "utf8")) as { version: number; reports: Report[] };
      expect(json.version).toBe(1);
      expect(json.reports.map((r) => [r.product, r.productDir, r.summary.verdict])).toEqual([
        ["permits", "products/permits", "fail"],
        ["property-tax", "products/property-tax", "pass"],
      ]);
      expect(json.reports[0]!.checks.find((c) => c.id === "compose")!.findings.map((f) => f.rule)).toContain("compose/foreign-database");
      const junit = await readFile(join(out, "r.xml"), "utf8");
      expect(junit).toContain('name="permits"');
      expect(junit).toContain('name="property-tax"');
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it("keeps a product that cannot be read in every report: an errored registry check naming the file and line, never a lone PASS", async () => {
    await using copy = await twoProductMonorepo({ failingPermits: false });
    await copy.write("products/permits/infra/service-registry.ts", "export const services = {\n");
    const out = await mkdtemp(join(tmpdir(), "civic-products-out-"));
    try {
      const run = await execa(process.execPath, [CLI, "check", copy.root, "--only", "registry,compose", "--format", "text", "--format", "json", "--output", join(out, "r.json"), "--format", "junit", "--output", join(out, "r.xml")], { env: cliEnv(), reject: false });
      expect(run.exitCode, run.stderr).toBe(2);
      expect(run.stderr).toMatch(/permits: .*products\/permits\/infra\/service-registry\.ts:2/);
      // The unreadable product has its own block, ERROR, beside the readable one's PASS; the tally closes.
      expect(run.stdout).toMatch(/^! registry +error .*the product could not be read: .*service-registry\.ts:2/m);
      expect(run.stdout).toMatch(/^ERROR +0 passed, 0 failed, 0 skipped, 1 errored/m);
      expect(run.stdout).toContain("2 products: 1 passed, 0 failed, 1 could not run every check");
      const json = JSON.parse(await readFile(join(out, "r.json"), "utf8")) as { version: number; reports: Report[] };
      expect(json.reports.map((r) => [r.product, r.productDir, r.summary.verdict])).toEqual([
        ["permits", "products/permits", "error"],
        ["property-tax", "products/property-tax", "pass"],
      ]);
      const registry = json.reports[0]!.checks.find((c) => c.id === "registry")!;
      expect(registry.status).toBe("error");
      expect(registry.reason).toMatch(/^the product could not be read: .*service-registry\.ts:2/);
      expect(await readFile(join(out, "r.xml"), "utf8")).toContain('name="permits"');
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it("runs every check of two products on embedded servers side by side and passes", async () => {
    await using copy = await twoProductMonorepo({ failingPermits: false });
    const run = await execa(process.execPath, [CLI, "check", copy.root, "--runtime", "embedded", "--format", "json"], { env: cliEnv(), reject: false });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/2 products: permits, property-tax \(\d at a time\)/);
    const json = JSON.parse(run.stdout) as { reports: Report[] };
    expect(json.reports.map((r) => [r.product, r.runtime, r.summary.verdict])).toEqual([
      ["permits", "embedded", "pass"],
      ["property-tax", "embedded", "pass"],
    ]);
    for (const report of json.reports) expect(report.checks.find((c) => c.id === "isolation")!.status).toBe("pass");
  });
});
