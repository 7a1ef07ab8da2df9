/**
 * Many products on GitHub Actions' own matrix, run as the runner runs the bundled action (see
 * test/helpers/action-runner.ts; `npm run build` first): `mode: discover` on a real monorepo, one
 * `mode: check` run per product as the matrix jobs would, their report JSON files laid out as
 * `actions/download-artifact` lays them out, and `mode: comment` posting one comment for all of
 * them to the fake GitHub (a real local HTTP server). Static checks only: no server needed.
 */
import { cp, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ReportEnvelope } from "../../src/action/report-envelope.js";
import { COMBINED_MARKER } from "../../src/report/comment-markers.js";
import { HEAD_SHA, prepareActionRunner } from "../helpers/action-runner.js";
import { startFakeGitHub } from "../helpers/fake-github.js";
import { twoProductMonorepo } from "../helpers/monorepo.js";

const STATIC = { checks: "registry,drift,compose", "github-token": "test-token", comment: "false", "fail-on": "never" };
const monorepo = () => twoProductMonorepo({ failingPermits: true });

describe("many products on the action's matrix", { timeout: 300_000 }, () => {
  it("discovers the products, checks one per job, and posts one combined comment updated in place", async () => {
    await using copy = await monorepo();
    await using runner = await prepareActionRunner();

    const discovered = await runner.run({ workspace: copy.root, inputs: { mode: "discover" }, runId: 1 });
    expect(discovered.exitCode, discovered.log).toBe(0);
    const products = JSON.parse(discovered.outputs.products!) as string[];
    expect(products).toEqual(["products/permits", "products/property-tax"]);

    // The matrix: one job per product, each with its own check run and status, no comment.
    await using checkGithub = await startFakeGitHub();
    const reports = join(copy.root, "reports");
    for (const [index, product] of products.entries()) {
      const job = await runner.run({ workspace: copy.root, inputs: { ...STATIC, product }, github: checkGithub, runId: 10 });
      expect(job.exitCode, job.log).toBe(0);
      expect(job.outputs.verdict).toBe(product === "products/permits" ? "fail" : "pass");
      // As download-artifact lays out `pattern: civic-conformance-report-*`: a folder per artifact.
      await mkdir(join(reports, `civic-conformance-report-${index}`), { recursive: true });
      await cp(job.outputs["report-json"]!, join(reports, `civic-conformance-report-${index}`, "report.json"));
    }
    expect(checkGithub.comments.size).toBe(0);
    expect(checkGithub.statuses.map((s) => [s.context, s.state])).toEqual([
      ["civic-conformance/permits", "failure"],
      ["civic-conformance/property-tax", "success"],
    ]);

    await using github = await startFakeGitHub({ pullHeads: { 7: HEAD_SHA } });
    const posted = await runner.run({ workspace: copy.root, inputs: { mode: "comment", "report-file": "reports", "github-token": "t" }, github, runId: 10 });
    expect(posted.exitCode, posted.log).toBe(0);
    const comments = github.comments.get(7)!;
    expect(comments).toHaveLength(1);
    const body = comments[0]!.body;
    expect(body.startsWith(`${COMBINED_MARKER}\n`)).toBe(true);
    expect(body).not.toContain("<!-- civic-conformance:");
    expect(body).toContain("### ❌ civic-conformance · 2 products · 1 fully passed");
    expect(body).toMatch(/^\| ❌ \| products\/permits \| 2 failed · 1 passed \| none \|$/m);
    expect(body).toMatch(/^\| ✅ \| products\/property-tax \| all 3 checks passed \| none \|$/m);
    // The failing product's full report follows; the passing one's does not.
    expect(body).toContain("## ❌ civic-conformance: permits — 2 checks failed");
    expect(body).toContain("compose/foreign-database");
    expect(body).not.toContain("civic-conformance: property-tax");
    expect(github.statuses.map((s) => [s.context, s.state])).toEqual([
      ["civic-conformance/permits", "failure"],
      ["civic-conformance/property-tax", "success"],
    ]);

    // A re-run of the comment job updates the same comment.
    const again = await runner.run({ workspace: copy.root, inputs: { mode: "comment", "report-file": "reports", "github-token": "t" }, github, runId: 10, runAttempt: 2 });
    expect(again.exitCode, again.log).toBe(0);
    expect(github.comments.get(7)).toHaveLength(1);
    expect(github.requestsTo("PATCH", /\/issues\/comments\/\d+$/)).toHaveLength(1);
  });

  it("posts nothing when one of the reports is about another commit", async () => {
    await using copy = await monorepo();
    await using runner = await prepareActionRunner();
    const job = await runner.run({ workspace: copy.root, inputs: { ...STATIC, product: "products/property-tax", "github-token": "" }, runId: 20 });
    const envelope = JSON.parse(await readFile(job.outputs["report-json"]!, "utf8")) as ReportEnvelope;
    await mkdir(join(copy.root, "reports"));
    await writeFile(join(copy.root, "reports", "a.json"), JSON.stringify(envelope));
    await writeFile(join(copy.root, "reports", "b.json"), JSON.stringify({ ...envelope, stamp: { ...envelope.stamp, sha: "9".repeat(40) } }));
    await using github = await startFakeGitHub({ pullHeads: { 7: HEAD_SHA } });
    const posted = await runner.run({ workspace: copy.root, inputs: { mode: "comment", "report-file": "reports/a.json\nreports/b.json", "github-token": "t" }, github, runId: 21 });
    expect(posted.exitCode, posted.log).toBe(0);
    expect(posted.log).toContain("A report is about commit 9999999, but the triggering run checked 0123456: nothing posted.");
    expect(github.requests.filter((r) => r.method !== "GET")).toEqual([]);
  });

  it("outputs an empty array and warns when there is no product", async () => {
    await using copy = await monorepo();
    await using runner = await prepareActionRunner();
    const discovered = await runner.run({ workspace: copy.root, inputs: { mode: "discover", product: "modules" }, runId: 30 });
    expect(discovered.exitCode, discovered.log).toBe(0);
    expect(discovered.outputs.products).toBe("[]");
    expect(discovered.log).toContain("::warning::No product found under modules");
  });
});
