import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Report } from "../../src/core/report-model.js";
import { discoverProducts } from "../../src/product/discover-products.js";
import { COMBINED_MARKER } from "../../src/report/comment-markers.js";
import { renderCombinedComment } from "../../src/report/render-comment.js";

const roots: string[] = [];
afterEach(async () => {
  for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true });
});

/** A real folder tree: path → content. */
async function tree(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "civic-discover-"));
  roots.push(root);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
  return root;
}

const PG_COMPOSE = "services:\n  db:\n    image: postgres:16-alpine\n";

describe("discovering the products of a monorepo", () => {
  it("finds products/* holding a registry, civic-conformance.yaml or a compose file with PostgreSQL, sorted", async () => {
    const root = await tree({
      "products/zeta/infra/service-registry.ts": "export const serviceRegistry = {};\n",
      "products/alpha/civic-conformance.yaml": "services: {}\n",
      "products/beta/docker-compose.yml": "services:\n  db:\n    image: ${PG_IMAGE:-docker.io/library/postgres:16}\n",
      "products/gamma/compose.yaml": "services:\n  db:\n    build: ./db\n",
      "products/gamma/db/Dockerfile": "# a comment\nFROM postgres:16 AS base\n",
      "products/delta/compose.yml": "services:\n  init:\n    image: mydb\n    volumes:\n      - ./sql:/docker-entrypoint-initdb.d:ro\n",
      "products/cache/compose.yaml": "services:\n  redis:\n    image: redis:7-alpine\n",
      "products/web/compose.yaml": "services:\n  web:\n    build: ../../outside\n",
      "products/docs/README.md": "# no product here\n",
      "products/.hidden/civic-conformance.yaml": "services: {}\n",
      "docker-compose.yml": PG_COMPOSE,
    });
    const found = await discoverProducts(root);
    expect(found.map((p) => [p.path, p.name, p.marker])).toEqual([
      ["products/alpha", "alpha", "config"],
      ["products/beta", "beta", "compose"],
      ["products/delta", "delta", "compose"],
      ["products/gamma", "gamma", "compose"],
      ["products/zeta", "zeta", "registry"],
    ]);
  });

  it("counts the root when it holds the registry itself, beside products/*", async () => {
    const root = await tree({ "infra/service-registry.ts": "x", "products/a/infra/service-registry.ts": "x" });
    expect((await discoverProducts(root)).map((p) => p.path)).toEqual([".", "products/a"]);
  });

  it("counts a single-product root (compose file with PostgreSQL) when no products/* folder is one", async () => {
    const root = await tree({ "compose.yaml": PG_COMPOSE, "products/docs/README.md": "x" });
    expect((await discoverProducts(root)).map((p) => [p.path, p.marker])).toEqual([[".", "compose"]]);
  });

  it("counts an unparsable compose file (check then says what is wrong) and finds nothing in an empty folder", async () => {
    const root = await tree({ "products/broken/compose.yaml": "services: [\n", "other/file.txt": "x" });
    expect((await discoverProducts(root)).map((p) => p.path)).toEqual(["products/broken"]);
    expect(await discoverProducts(join(root, "other"))).toEqual([]);
  });
});

function report(product: string, verdict: "pass" | "fail", findings = 0): Report {
  const status = verdict === "pass" ? "pass" : "fail";
  const finding = { rule: "compose/foreign-database", severity: "error" as const, message: "x".repeat(200), service: "svc", file: "f", line: 1 };
  return {
    version: 1,
    product,
    productDir: `products/${product}`,
    runtime: "none",
    checks: [{ id: "compose", title: "Compose", status, durationMs: 1, findings: Array.from({ length: findings }, () => finding) }],
    summary: { passed: status === "pass" ? 1 : 0, failed: status === "fail" ? 1 : 0, skipped: 0, errored: 0, errors: findings, warnings: 0, verdict },
  } as Report;
}

describe("the combined comment of several products", () => {
  const options = { stamp: { sha: "a".repeat(40), runId: 5, runAttempt: 1 }, summaryUrl: "https://github.example/run" };

  it("keeps every product's row when the failing reports are cut at the limit", () => {
    const body = renderCombinedComment([report("a", "pass"), report("b|<x>", "fail", 400), report("c", "fail", 400)], { ...options, limitChars: 20_000 });
    expect(body.length).toBeLessThanOrEqual(20_000);
    expect(body.startsWith(`${COMBINED_MARKER}\n<!-- civic-conformance-run: `)).toBe(true);
    expect(body).toContain("| ✅ | products/a | all 1 checks passed | none |");
    expect(body).toContain("| ❌ | products/b\\|\\<x\\> | 1 failed · 0 passed | none |");
    expect(body).toContain("| ❌ | products/c | 1 failed · 0 passed | none |");
    expect(body).toContain("This comment was cut at GitHub's 20,000-character limit");
  });

  it("is the table alone when every product passed", () => {
    const body = renderCombinedComment([report("a", "pass"), report("b", "pass")], options);
    expect(body).toContain("### ✅ civic-conformance · 2 products · 2 fully passed");
    expect(body).not.toMatch(/^## /m);
  });
});
