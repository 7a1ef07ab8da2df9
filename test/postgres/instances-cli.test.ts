/**
 * The built CLI (`node bin/civic-conformance.js check`, after `npm run build`) on
 * fixtures/multi-instance with one instance's init script failing (issue 14, mutation 4), embedded
 * runtime: the instances that started are still checked, what lives on the failed one is reported
 * as not covered (never pass), the init script's file:line is printed once, every requested
 * report is written and parses, and the exit code is 2 (the product's own input).
 */
import { describe, expect, it } from "vitest";
import { checkWithEveryFormat, cliEnv } from "../helpers/cli-outputs.js";
import { copyRealLayout } from "../helpers/real-layouts.js";
import { checkOf, expectHonestReport, parseReport } from "../helpers/report-invariants.js";

describe("multi-instance, mutation 4: one instance's init script failing (built CLI, embedded)", { timeout: 300_000 }, () => {
  it("checks the other instances, reports the failed one as not covered, writes every report, exits 2", async () => {
    await using copy = await copyRealLayout("multi-instance");
    await copy.edit("infra/postgres-fees/init/01-fee-collection.sql", (text) => `${text}\\connect fee_collection\nCREATE EXTENSION postgis;\n`);
    const run = await checkWithEveryFormat(copy.root, ["--repo-root", copy.root, "--runtime", "embedded", "--only", "own-database,isolation"], { env: cliEnv() });

    expect(run.exitCode, run.stderr).toBe(2);
    expect(run.stderr).toContain('infra/postgres-fees/init/01-fee-collection.sql:12: instance "postgres-fees": init script 01-fee-collection.sql failed');
    expect(run.stderr).toContain("started meanwhile: postgres, postgres-docs");
    const report = parseReport(run.files.json);
    expectHonestReport(report, run.files);
    expect(run.files.markdown).toContain("postgres-fees");
    expect(run.files.sarif).toBeDefined();
    expect(run.files.junit).toBeDefined();

    for (const id of ["own-database", "isolation"]) {
      const check = checkOf(report, id);
      expect(check.status, id).toBe("error");
      expect(check.findings, id).toEqual([]);
      expect(check.coverage!.complete, id).toBe(false);
      expect(check.coverage!.uncovered.map((item) => `${item.kind} ${item.name}`), id).toEqual(["instance postgres-fees", "service fee-collection"]);
      expect(check.coverage!.uncovered[0]!.reason, id).toMatch(/^did not start: infra\/postgres-fees\/init\/01-fee-collection\.sql:12: /);
    }
    // The others were checked: the four services on the two instances that started, each in its own database only.
    const isolation = checkOf(report, "isolation");
    expect(isolation.coverage!.summary).toMatch(
      /^4\/5 stateful services, 4 credentials x 4 databases \(\d+ logins; catalog read on 2 instances: \d+ roles incl\. PUBLIC x 4 databases; of \d+ foreign cells, \d+ proved by login and \d+ refused by the catalog alone, which \d+ sampled logins agree with\), 2 not covered$/,
    );
    const matrix = (isolation as { data?: { matrix?: Array<{ credentialOf: string; database: string; instance?: string; outcome: string }> } }).data!.matrix!;
    expect(matrix.filter((cell) => cell.outcome === "own").map((cell) => `${cell.credentialOf} ${cell.database}@${cell.instance}`)).toEqual([
      "permits permits@postgres",
      "inspections inspections@postgres",
      "licensing licensing@postgres",
      "document-store documents@postgres-docs",
    ]);
    expect(matrix.filter((cell) => cell.outcome !== "own" && cell.outcome !== "refused")).toEqual([]);
    expect(checkOf(report, "own-database").coverage!.covered.filter((item) => item.kind === "service").map((item) => item.name)).toEqual([
      "permits",
      "inspections",
      "licensing",
      "document-store",
    ]);
  });
});
