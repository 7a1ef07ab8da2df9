/**
 * What the team decides about findings: the rule profile (`civic` house rules off or warnings under
 * `portable`), the configuration's rule levels, suppressions with a reason and an expiry, and
 * `--baseline`. Run through the real pipeline on the static checks (no server), and on the finding
 * policy directly for the status and matching rules.
 */
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { levelInProfile } from "../../src/core/rule-declaration.js";
import { UsageError } from "../../src/core/errors.js";
import { RecordingLogger } from "../../src/core/logger.js";
import type { CheckResult, Report } from "../../src/core/report-model.js";
import type { CheckSettings } from "../../src/core/settings.js";
import { checkSettings } from "../helpers/check-settings.js";
import { ALL_RULES, ruleDeclaration } from "../../src/checks/registered.js";
import { runCheck } from "../../src/pipeline/check-pipeline.js";
import { FindingPolicy, baselineKey } from "../../src/pipeline/finding-policy.js";
import type AjvModule from "ajv";
import { renderReport } from "../../src/report/render-report.js";
import { copyFixture, REPO_ROOT, type FixtureCopy } from "../helpers/fixtures.js";

// ajv is CommonJS with its class on `default`: required, as test/postgres/cli.test.ts does.
const Ajv = createRequire(import.meta.url)("ajv") as typeof AjvModule.default;
const validateReport = new Ajv({ allErrors: true }).compile(JSON.parse(readFileSync(join(REPO_ROOT, "schema", "report.schema.json"), "utf8")));

const REGISTRY = "products/property-tax/infra/service-registry.ts";
const CONFIG = "products/property-tax/civic-conformance.yaml";

function settings(copy: FixtureCopy, extra: Partial<CheckSettings> = {}): CheckSettings {
  return checkSettings(copy, { only: ["registry", "drift", "compose"], today: "2030-06-15", ...extra });
}

async function check(copy: FixtureCopy, extra: Partial<CheckSettings> = {}): Promise<Report> {
  const { report } = await runCheck(settings(copy, extra), { logger: new RecordingLogger(), signal: new AbortController().signal });
  return report;
}

const findingsOf = (report: Report) => report.checks.flatMap((c) => c.findings.map((f) => ({ check: c.id, rule: f.rule, severity: f.severity, service: f.service, file: f.file, line: f.line })));
const statusOf = (report: Report, id: string) => report.checks.find((c) => c.id === id)?.status;

/** property-tax with auth-gateway's database renamed: a registry/database-name finding (a civic house rule). */
async function renamedDatabase(): Promise<FixtureCopy> {
  const copy = await copyFixture("property-tax");
  await copy.edit(REGISTRY, (text) => text.replace('database: "auth_gateway"', 'database: "auth_gw"'));
  return copy;
}

describe("rule profiles", () => {
  it("lower a civic house rule under portable and never raise a rule", () => {
    const databaseName = ruleDeclaration("registry/database-name");
    expect(levelInProfile(databaseName, "civic", "error")).toBe("error");
    expect(levelInProfile(databaseName, "portable", "error")).toBe("off");
    expect(levelInProfile(ruleDeclaration("compose/depends-on"), "portable", "error")).toBe("warning");
    expect(levelInProfile(ruleDeclaration("isolation/superuser"), "portable", "error")).toBe("error");
    expect(levelInProfile({ profiles: { portable: "error" } }, "portable", "warning")).toBe("warning");
  });

  it("keep every isolation, own-database and migrations rule as declared in both profiles, but migrations/no-migrations", () => {
    const live = ALL_RULES.filter((rule) => /^(isolation|own-database|migrations)\//.test(rule.id) && rule.id !== "migrations/no-migrations");
    expect(live.length).toBeGreaterThan(10);
    for (const rule of live) expect(rule.profiles, rule.id).toBeUndefined();
  });

  it("lower migrations/no-migrations to a warning under portable only: a database an ORM syncs at runtime breaks no isolation rule, and the check still cannot pass (test/postgres/migration-tools.test.ts)", () => {
    expect(ruleDeclaration("migrations/no-migrations")?.profiles).toEqual({ portable: "warning" });
    expect(levelInProfile(ruleDeclaration("migrations/no-migrations"), "civic", "error")).toBe("error");
  });

  it("civic (the TypeScript registry's default) fails registry/database-name; portable from the configuration file does not report it, and says so", async () => {
    await using copy = await renamedDatabase();
    const civic = await check(copy);
    expect(findingsOf(civic).filter((f) => f.rule === "registry/database-name")).toHaveLength(1);
    expect(statusOf(civic, "registry")).toBe("fail");
    expect(civic.policy).toMatchObject({ profile: "civic", profileFrom: "typescript registry", overrides: [], off: [] });
    expect(civic.registry).toEqual({ source: "typescript", file: REGISTRY });

    await copy.write(CONFIG, "profile: portable\n");
    const portable = await check(copy);
    expect(findingsOf(portable).filter((f) => f.rule === "registry/database-name")).toEqual([]);
    expect(statusOf(portable, "registry")).toBe("pass");
    expect(portable.policy?.profile).toBe("portable");
    expect(portable.policy?.profileFrom).toEqual({ file: CONFIG, line: 1 });
    expect(portable.policy?.off).toContainEqual({ rule: "registry/database-name", findings: 1, by: "profile" });
  });

  it("applies the configuration's rule levels over the profile, at their lines in the report", async () => {
    await using copy = await renamedDatabase();
    await copy.write(CONFIG, "profile: portable\nrules:\n  registry/database-name: error\n  compose/superuser-database-url: off\n");
    const report = await check(copy);
    expect(findingsOf(report).filter((f) => f.rule === "registry/database-name")).toEqual([
      { check: "registry", rule: "registry/database-name", severity: "error", service: "auth-gateway", file: REGISTRY, line: expect.any(Number) },
    ]);
    expect(report.policy?.overrides).toEqual([
      { rule: "registry/database-name", level: "error", file: CONFIG, line: 3 },
      { rule: "compose/superuser-database-url", level: "off", file: CONFIG, line: 4 },
    ]);
    await copy.write(CONFIG, "rules:\n  registry/database-name: warning\n");
    const lowered = await check(copy);
    expect(findingsOf(lowered).find((f) => f.rule === "registry/database-name")?.severity).toBe("warning");
    expect(statusOf(lowered, "registry")).toBe("pass");
  });

  it("refuses a rule id no check reports, at its line, with a guess", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.write(CONFIG, "rules:\n  registry/database-nam: off\n");
    const error = await check(copy).then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).location).toEqual({ file: CONFIG, line: 2 });
    expect((error as UsageError).message).toMatch(/did you mean registry\/database-name/);
  });

  it("skips drift without a generator outside the civic profile, naming what makes it compare; civic still compares with the built-in generator", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.edit("products/property-tax/infra/init-databases.sql", (text) => `${text}-- edited by hand\n`);
    await writeFile(join(copy.product, "infra", "generate.ts"), "");
    const { rm } = await import("node:fs/promises");
    await rm(join(copy.product, "infra", "generate.ts"));
    const civic = await check(copy, { only: ["drift"] });
    expect(findingsOf(civic).map((f) => f.rule)).toEqual(["drift/changed"]);
    await copy.write(CONFIG, "profile: portable\n");
    const portable = await check(copy, { only: ["drift"] });
    const drift = portable.checks.find((c) => c.id === "drift")!;
    expect(drift.status).toBe("skip");
    expect(drift.reason).toMatch(/no generator: .* has no infra\/generate\.ts and no --generator-command.*Give --generator-command/);
  });
});

describe("suppressions", () => {
  const SUPPRESSION = (expires: string) =>
    ["suppressions:", "  - rule: registry/database-name", "    service: auth-gateway", "    reason: renamed in PLAT-7, registry follows", `    expires: ${expires}`, ""].join("\n");

  it("set a finding aside until their date: listed with the reason, not counted, the check passes", async () => {
    await using copy = await renamedDatabase();
    await copy.write(CONFIG, SUPPRESSION("2030-06-15"));
    const report = await check(copy);
    expect(statusOf(report, "registry")).toBe("pass");
    expect(findingsOf(report).filter((f) => f.rule === "registry/database-name")).toEqual([]);
    expect(report.suppressions).toEqual([
      { rule: "registry/database-name", service: "auth-gateway", reason: "renamed in PLAT-7, registry follows", expires: "2030-06-15", at: { file: CONFIG, line: 2 }, expired: false, suppressed: 1 },
    ]);
    expect(report.suppressed).toMatchObject([{ check: "registry", rule: "registry/database-name", service: "auth-gateway", file: REGISTRY }]);
    expect(validateReport(JSON.parse(renderReport(report, "json", "0.0.0"))), JSON.stringify(validateReport.errors)).toBe(true);
    const text = renderReport(report, "text", "0.0.0");
    expect(text).toContain(`suppression: registry/database-name [auth-gateway] — renamed in PLAT-7, registry follows (until 2030-06-15, 1 finding set aside; ${CONFIG}:2)`);
    expect(text).not.toContain("profile:");
    const sarif = JSON.parse(renderReport(report, "sarif", "0.0.0")) as { runs: { results: { ruleId: string; suppressions?: { justification: string }[] }[] }[] };
    expect(sarif.runs[0]!.results.find((r) => r.ruleId === "registry/database-name")?.suppressions?.[0]?.justification).toBe("renamed in PLAT-7, registry follows (until 2030-06-15)");
  });

  it("fail once expired: the finding is reported again and registry/expired-suppression points at the suppression", async () => {
    await using copy = await renamedDatabase();
    await copy.write(CONFIG, SUPPRESSION("2030-06-14"));
    const report = await check(copy);
    expect(statusOf(report, "registry")).toBe("fail");
    expect(findingsOf(report).filter((f) => f.check === "registry").map((f) => `${f.rule} ${f.file}:${f.line}`).sort()).toEqual([
      `registry/database-name ${REGISTRY}:${findingsOf(report).find((f) => f.rule === "registry/database-name")!.line}`,
      `registry/expired-suppression ${CONFIG}:2`,
    ]);
    expect(report.suppressions?.[0]).toMatchObject({ expired: true, suppressed: 0 });
  });

  it("match only their rule, service and file", async () => {
    await using copy = await renamedDatabase();
    await copy.write(CONFIG, SUPPRESSION("2030-06-15").replace("service: auth-gateway", "service: billing-invoicing"));
    const report = await check(copy);
    expect(statusOf(report, "registry")).toBe("fail");
    expect(report.suppressions?.[0]?.suppressed).toBe(0);
  });

  it("cannot suppress registry/expired-suppression itself", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.write(CONFIG, SUPPRESSION("2030-06-15").replace("registry/database-name", "registry/expired-suppression"));
    const error = await check(copy).then(() => undefined, (caught: unknown) => caught);
    expect((error as UsageError).message).toMatch(/cannot be suppressed/);
  });
});

describe("--baseline", () => {
  it("fails only on findings new relative to the baseline report; known ones are listed, not counted", async () => {
    await using copy = await renamedDatabase();
    const before = await check(copy);
    expect(statusOf(before, "registry")).toBe("fail");
    await writeFile(join(copy.root, "baseline.json"), JSON.stringify(before));
    const same = await check(copy, { baseline: "baseline.json" });
    expect(statusOf(same, "registry")).toBe("pass");
    expect(same.baseline).toMatchObject({ file: "baseline.json", new: 0 });
    expect(same.baseline?.known.map((f) => f.rule)).toContain("registry/database-name");
    expect(validateReport(JSON.parse(renderReport(same, "json", "0.0.0"))), JSON.stringify(validateReport.errors)).toBe(true);

    await copy.edit(REGISTRY, (text) => text.replace('database: "billing_invoicing"', 'database: "billing_inv"'));
    const more = await check(copy, { baseline: "baseline.json" });
    expect(statusOf(more, "registry")).toBe("fail");
    expect(findingsOf(more).filter((f) => f.check === "registry").map((f) => `${f.rule} ${f.service}`)).toEqual(["registry/database-name billing-invoicing"]);
    expect(more.baseline?.new).toBeGreaterThanOrEqual(1);
  });

  it("refuses a file that is not a report", async () => {
    await using copy = await copyFixture("property-tax");
    await writeFile(join(copy.root, "baseline.json"), '{"hello": 1}');
    const error = await check(copy, { baseline: "baseline.json" }).then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).location?.file).toBe("baseline.json");
  });

  it("matches by rule, service, file and message with numbers normalised, each baseline finding once", () => {
    const finding = { rule: "isolation/superuser", severity: "error" as const, message: "All 3 services log in as postgres", service: "auth", file: "docker-compose.yml", line: 31 };
    expect(baselineKey("isolation", finding)).toBe(baselineKey("isolation", { ...finding, message: "All  4 services log in as postgres", line: 40 }));
    expect(baselineKey("isolation", finding)).not.toBe(baselineKey("isolation", { ...finding, service: "users" }));
    const policy = new FindingPolicy({
      profile: "civic",
      profileFrom: "typescript registry",
      config: { overrides: [], suppressions: [] },
      today: "2030-01-01",
      baseline: { file: "b.json", findings: [{ check: "isolation", ...finding }] },
    });
    const result: CheckResult = { id: "isolation", title: "t", status: "fail", durationMs: 1, findings: [finding, { ...finding, line: 32 }] };
    const applied = policy.apply(result);
    expect(applied.findings).toHaveLength(1);
    expect(applied.status).toBe("fail");
    expect(policy.report().baseline).toMatchObject({ new: 1, known: [{ check: "isolation", line: 31 }] });
  });

  it("never turns a check with incomplete coverage into a pass when its only error is set aside", () => {
    const finding = { rule: "isolation/superuser", severity: "error" as const, message: "m", service: "a" };
    const policy = new FindingPolicy({
      profile: "civic",
      profileFrom: "typescript registry",
      config: { overrides: [], suppressions: [{ rule: "isolation/superuser", service: "a", reason: "r", expires: "2031-01-01", at: { file: "c.yaml", line: 2 } }] },
      today: "2030-01-01",
    });
    const coverage = { complete: false, summary: "1/2", covered: [], uncovered: [{ kind: "service" as const, name: "b", reason: "no credential" }] };
    expect(policy.apply({ id: "isolation", title: "t", status: "fail", durationMs: 1, findings: [finding], coverage }).status).toBe("error");
    expect(policy.apply({ id: "isolation", title: "t", status: "fail", durationMs: 1, findings: [finding], coverage: { ...coverage, complete: true, uncovered: [] } }).status).toBe("pass");
  });
});
