/**
 * SARIF 2.1.0 of a failing fixture, validated against the OASIS schema as shipped on npm
 * (@microsoft/jest-sarif's copy of sarif-2.1.0-rtm.5, a draft-04 JSON schema whose language-tag pattern
 * only compiles without the `u` flag), plus the shape
 * code scanning keys on: one rule per rule id with its declared help, each result with its fix, locations with lines.
 * Also the golden Markdown of the same report (job summary and PR comment).
 */
import { readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import type AjvDraft04 from "ajv-draft-04";
import { XMLParser } from "fast-xml-parser";
import { beforeAll, describe, expect, it } from "vitest";
import { ruleDeclaration } from "../../src/checks/registered.js";
import { RecordingLogger } from "../../src/core/logger.js";
import { type CheckResult, type Report, summarize } from "../../src/core/report-model.js";
import { renderComment } from "../../src/report/render-comment.js";
import { renderJunit } from "../../src/report/render-junit.js";
import { renderSarif } from "../../src/report/render-sarif.js";
import { renderSummary } from "../../src/report/render-summary.js";
import { runCheck } from "../../src/pipeline/check-pipeline.js";
import { copyFixture, REPO_ROOT } from "../helpers/fixtures.js";

const COMPOSE = "products/property-tax/docker-compose.yml";
const REGISTRY = "products/property-tax/infra/service-registry.ts";

/** Durations vary from run to run; the golden files must not. */
function withoutTimings(report: Report): Report {
  return { ...report, checks: report.checks.map((check) => ({ ...check, durationMs: 0 })) };
}

// CommonJS with `exports.default`: required, so the class is the same under NodeNext types and at run time.
const Ajv = createRequire(import.meta.url)("ajv-draft-04") as typeof AjvDraft04.default;

let failing: Report;
let passing: Report;
/** The passing static report plus live checks that looked fully, partly, and not at all. */
let partial: Report;

const LIVE_CHECKS: CheckResult[] = [
  {
    id: "own-database",
    title: "Each service logs in to its own database",
    status: "pass",
    durationMs: 0,
    findings: [],
    coverage: {
      complete: true,
      summary: "2/2 stateful services logged in to their own database",
      covered: [
        { kind: "credential", name: "auth_gateway@postgres:5432", service: "auth-gateway", file: COMPOSE, line: 40 },
        { kind: "credential", name: "audit_logging@postgres:5432", service: "audit-logging", file: COMPOSE, line: 70 },
      ],
      uncovered: [],
    },
  },
  {
    id: "isolation",
    title: "Credentials stay out of other databases",
    status: "error",
    durationMs: 0,
    findings: [],
    reason: "could not look at: audit-logging (no credential variable the tool can read)",
    coverage: {
      complete: false,
      summary: "1/2 stateful services, 1 credential x 2 databases (2 logins)",
      covered: [{ kind: "credential", name: "auth_gateway@postgres:5432", service: "auth-gateway", file: COMPOSE, line: 40 }],
      uncovered: [{ kind: "service", name: "audit-logging", service: "audit-logging", reason: "no credential variable the tool can read", file: COMPOSE, line: 66 }],
    },
  },
  {
    id: "dependencies",
    title: "Service dependencies name registry services",
    status: "skip",
    durationMs: 0,
    findings: [],
    reason: "the static part found nothing wrong; the live probe needs the compose runtime (--runtime compose), and the embedded runtime does not start the product's services",
  },
];

beforeAll(async () => {
  const run = async (mutate: (copy: Awaited<ReturnType<typeof copyFixture>>) => Promise<void>) => {
    await using copy = await copyFixture("property-tax");
    await mutate(copy);
    const { report } = await runCheck(
      { productPath: copy.product, runtime: "embedded", only: ["registry", "drift", "compose"], skip: [], outputs: [], commandTimeoutMs: 60_000, concurrency: 4, verbose: false, cwd: copy.root, env: {} },
      { logger: new RecordingLogger(), signal: new AbortController().signal },
    );
    return report;
  };
  failing = withoutTimings(
    await run(async (copy) => {
      await copy.edit(COMPOSE, (text) =>
        text.replace("DATABASE_URL: postgresql://audit_logging:${AUDIT_LOGGING_DB_PASSWORD}@postgres:5432/audit_logging", "DATABASE_URL: postgresql://billing_invoicing:${BILLING_INVOICING_DB_PASSWORD}@postgres:5432/billing_invoicing"),
      );
      await copy.edit(REGISTRY, (text) => text.replace('port: 4104', 'port: 4103'));
    }),
  );
  passing = withoutTimings(await run(async () => undefined));
  const checks = [...passing.checks, ...LIVE_CHECKS];
  partial = { ...passing, runtime: "embedded", checks, summary: summarize(checks) };
}, 120_000);

describe("SARIF", () => {
  it("validates against the SARIF 2.1.0 schema, with one rule per rule id and every finding located", async () => {
    const schemaPath = join(REPO_ROOT, "node_modules", "@microsoft", "jest-sarif", "lib", "schemas", "sarif-2.1.0-rtm.5.json");
    const schema = JSON.parse(await readFile(schemaPath, "utf8")) as Record<string, unknown>;
    const validate = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false }).compile(schema);
    const sarif = JSON.parse(renderSarif([failing, passing], "0.1.0")) as { runs: { tool: { driver: { rules: { id: string; help: { text: string } }[] } }; results: { ruleId: string; ruleIndex: number; message: { text: string }; locations?: { physicalLocation: { artifactLocation: { uri: string }; region?: { startLine: number } } }[] }[] }[] };
    expect(validate(sarif), JSON.stringify(validate.errors, null, 2)).toBe(true);

    const findings = failing.checks.flatMap((c) => c.findings);
    const [run] = sarif.runs;
    const ruleIds = run!.tool.driver.rules.map((r) => r.id);
    expect(ruleIds).toEqual([...new Set(findings.map((f) => f.rule))]);
    expect(run!.results).toHaveLength(findings.length);
    for (const [index, result] of run!.results.entries()) {
      const finding = findings[index]!;
      expect(result.ruleId).toBe(finding.rule);
      expect(ruleIds[result.ruleIndex]).toBe(finding.rule);
      if (finding.file) expect(result.locations?.[0]?.physicalLocation.artifactLocation.uri).toBe(finding.file);
      if (finding.line) expect(result.locations?.[0]?.physicalLocation.region?.startLine).toBe(finding.line);
    }
    // A rule's help is its declaration's (checks/<id>/rules.ts), never one finding's service-specific fix;
    // each result carries its own finding's fix.
    for (const rule of run!.tool.driver.rules) expect(rule.help.text).toBe(ruleDeclaration(rule.id)!.help);
    for (const [index, result] of run!.results.entries()) {
      const fix = findings[index]!.fix;
      if (fix) expect(result.message.text).toContain(fix);
    }
  });

  it("validates with no finding at all", async () => {
    const schemaPath = join(REPO_ROOT, "node_modules", "@microsoft", "jest-sarif", "lib", "schemas", "sarif-2.1.0-rtm.5.json");
    const validate = new Ajv({ strict: false, unicodeRegExp: false }).compile(JSON.parse(await readFile(schemaPath, "utf8")) as Record<string, unknown>);
    const sarif = JSON.parse(renderSarif([passing], "0.1.0")) as { runs: { invocations: { executionSuccessful: boolean; toolExecutionNotifications: unknown[] }[] }[] };
    expect(validate(sarif)).toBe(true);
    expect(sarif.runs[0]!.invocations).toEqual([{ executionSuccessful: true, toolExecutionNotifications: [] }]);
  });

  it("says what the checks did not look at: an unsuccessful execution, reasons, coverage and each uncovered item at its line", async () => {
    const schemaPath = join(REPO_ROOT, "node_modules", "@microsoft", "jest-sarif", "lib", "schemas", "sarif-2.1.0-rtm.5.json");
    const validate = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false }).compile(JSON.parse(await readFile(schemaPath, "utf8")) as Record<string, unknown>);
    const sarif = JSON.parse(renderSarif([partial], "0.1.0")) as {
      runs: { invocations: { executionSuccessful: boolean; toolExecutionNotifications: { level: string; message: { text: string }; locations?: { physicalLocation: { artifactLocation: { uri: string }; region?: { startLine: number } } }[] }[] }[] }[];
    };
    expect(validate(sarif), JSON.stringify(validate.errors, null, 2)).toBe(true);
    const [invocation] = sarif.runs[0]!.invocations;
    expect(invocation!.executionSuccessful).toBe(false);
    const said = invocation!.toolExecutionNotifications.map((n) => [n.level, n.message.text, n.locations?.[0]?.physicalLocation.region?.startLine]);
    expect(said).toEqual([
      ["note", "own-database: coverage (complete): 2/2 stateful services logged in to their own database", undefined],
      ["error", `isolation: could not run: ${LIVE_CHECKS[1]!.reason}`, undefined],
      ["warning", "isolation: coverage (incomplete): 1/2 stateful services, 1 credential x 2 databases (2 logins)", undefined],
      ["warning", "isolation: not covered: service audit-logging — no credential variable the tool can read", 66],
      ["note", `dependencies: skipped: ${LIVE_CHECKS[2]!.reason}`, undefined],
    ]);
  });
});

describe("JUnit XML", () => {
  it("parses, with one test suite per product and one test case per check, failures carrying the findings", () => {
    const xml = renderJunit([failing, { ...passing, product: "second-product" }]);
    const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "", isArray: (name) => name === "testsuite" || name === "testcase" }).parse(xml) as {
      testsuites: { testsuite: { name: string; tests: string; failures: string; testcase: { name: string; classname: string; failure?: { message: string; "#text": string } }[] }[] };
    };
    const suites = parsed.testsuites.testsuite;
    expect(suites.map((s) => [s.name, s.tests, s.failures])).toEqual([
      ["property-tax", "3", String(failing.summary.failed)],
      ["second-product", "3", "0"],
    ]);
    expect(suites[0]!.testcase.map((t) => t.name)).toEqual(failing.checks.map((c) => c.id));
    const compose = suites[0]!.testcase.find((t) => t.name === "compose")!;
    expect(compose.failure?.["#text"]).toContain(`compose/`);
    expect(compose.failure?.["#text"]).toContain(`${COMPOSE}:`);
    expect(suites[1]!.testcase.every((t) => t.failure === undefined)).toBe(true);
  });

  it("marks a skipped check skipped with its reason, and carries coverage and what was not covered in <system-out>", () => {
    const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "", isArray: (name) => name === "testsuite" || name === "testcase" }).parse(renderJunit([partial])) as {
      testsuites: { testsuite: { testcase: { name: string; skipped?: { message: string }; error?: { message: string }; "system-out"?: string }[] }[] };
    };
    const byName = new Map(parsed.testsuites.testsuite[0]!.testcase.map((t) => [t.name, t]));
    expect(byName.get("dependencies")!.skipped).toEqual({ message: LIVE_CHECKS[2]!.reason });
    expect(byName.get("isolation")!.error).toEqual({ message: LIVE_CHECKS[1]!.reason });
    expect(byName.get("isolation")!["system-out"]).toBe(
      "coverage (incomplete): 1/2 stateful services, 1 credential x 2 databases (2 logins)\nnot covered: service audit-logging — no credential variable the tool can read",
    );
    expect(byName.get("own-database")!["system-out"]).toBe("coverage (complete): 2/2 stateful services logged in to their own database");
    expect(byName.get("registry")!["system-out"]).toBeUndefined();
  });
});

describe("golden Markdown", () => {
  const golden = async (name: string, actual: string) => {
    const path = join(REPO_ROOT, "test", "golden", name);
    if (process.env.UPDATE_GOLDEN === "1") await writeFile(path, actual);
    expect(actual).toBe(await readFile(path, "utf8"));
  };
  const stamp = { sha: "0123456789abcdef0123456789abcdef01234567", runId: 42, runAttempt: 1 };

  it("renders the job summary of the failing fixture as checked in (UPDATE_GOLDEN=1 refreshes)", async () => {
    await golden("summary-failing.md", renderSummary([failing], { fullReport: "/runner/_temp/civic-conformance/report.json" }));
  });

  it("renders the pull-request comment of the failing fixture as checked in, and the passing one as one line", async () => {
    await golden("comment-failing.md", renderComment(failing, { stamp, summaryUrl: "https://github.com/civic/app/actions/runs/42/attempts/1" }));
    await golden("comment-passing.md", renderComment(passing, { stamp, summaryUrl: "https://github.com/civic/app/actions/runs/42/attempts/1" }));
  });

  it("renders the comment of a run that did not look everywhere in full, never as one green line", async () => {
    await golden("comment-partial-coverage.md", renderComment(partial, { stamp, summaryUrl: "https://github.com/civic/app/actions/runs/42/attempts/1" }));
    // Every check passed or was skipped: the verdict is pass, and still the comment is not one line.
    const skippedOnly = { ...passing, checks: [...passing.checks, LIVE_CHECKS[2]!], summary: summarize([...passing.checks, LIVE_CHECKS[2]!]) };
    expect(skippedOnly.summary.verdict).toBe("pass");
    const comment = renderComment(skippedOnly, { stamp, summaryUrl: "https://x/run" });
    expect(comment).toContain("**Skipped:** the static part found nothing wrong");
    expect(comment).not.toContain("all 3 checks passed");
  });

  it("cuts an oversized summary and comment at a line, closes open blocks, and says where the rest is", () => {
    const huge: Report = { ...failing, checks: failing.checks.map((c) => (c.id === "drift" ? { ...c, findings: c.findings.map((f) => ({ ...f, details: `${f.details ?? ""}\n${"+ a long line of diff\n".repeat(5_000)}` })) } : c)) };
    const summary = renderSummary([huge], { limitBytes: 20_000, fullReport: "report.json" });
    expect(Buffer.byteLength(summary)).toBeLessThanOrEqual(20_000);
    expect(summary).toContain("This summary was cut to stay under GitHub's 20 KiB limit.** The full report is in `report.json`");
    expect(summary.split("\n").filter((l) => /^\s*`{3,}/.test(l)).length % 2).toBe(0);
    expect(summary.match(/<details/g)?.length).toBe(summary.match(/<\/details>/g)?.length);
    const comment = renderComment(huge, { stamp, summaryUrl: "https://x/run", limitChars: 10_000 });
    expect(comment.length).toBeLessThanOrEqual(10_000);
    expect(comment).toContain("This comment was cut at GitHub's 10,000-character limit.** The full report is in the [job summary](https://x/run).");
  });
});
