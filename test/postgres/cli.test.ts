/**
 * The CLI as a user runs it: the built `bin/civic-conformance.js` in a child process, on the
 * committed fixtures and on scripted mutations of copies. Exit codes, rule ids, the JSON contract
 * (validated against schema/report.schema.json), files written, and nothing left behind.
 */
import { execa, type Options } from "execa";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type AjvModule from "ajv";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import type { Report } from "../../src/core/report-model.js";
import { copyFixture, REPO_ROOT } from "../helpers/fixtures.js";

const CLI = join(REPO_ROOT, "bin", "civic-conformance.js");
const REGISTRY = "products/property-tax/infra/service-registry.ts";
const COMPOSE = "products/property-tax/docker-compose.yml";
const INIT_SQL = "products/property-tax/infra/init-databases.sql";
const STATIC = ["--only", "registry,drift,compose,dependencies"];
/** Known passwords for the run, so the test can prove none of them is printed or written anywhere. */
const SECRETS = { POSTGRES_PASSWORD: "pg-Secret-4711", AUTH_GATEWAY_DB_PASSWORD: "auth-Secret-4712", ASSESSMENT_ROLL_DB_PASSWORD: "roll-Secret-4713" };
const ENV = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1", ...SECRETS };

function cli(args: readonly string[], options: Options = {}) {
  return execa(process.execPath, [CLI, ...args], { env: ENV, extendEnv: false, reject: false, timeout: 180_000, ...options });
}

const schema = JSON.parse(await readFile(join(REPO_ROOT, "schema", "report.schema.json"), "utf8"));
// ajv is CommonJS with its class on `default`: required, as test/sarif.test.ts does.
const Ajv = createRequire(import.meta.url)("ajv") as typeof AjvModule.default;
const validate = new Ajv({ allErrors: true }).compile(schema);

function reportOf(stdout: unknown): Report {
  const report = JSON.parse(String(stdout)) as Report;
  expect(validate(report), JSON.stringify(validate.errors)).toBe(true);
  return report;
}

const statuses = (report: Report) => Object.fromEntries(report.checks.map((c) => [c.id, c.status]));
const rules = (report: Report, id: string) => [...new Set(report.checks.find((c) => c.id === id)?.findings.filter((f) => f.severity === "error").map((f) => f.rule))].sort();

function expectNoSecret(...texts: string[]) {
  for (const text of texts) for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
}

describe("civic-conformance check on the bundled fixtures", { timeout: 180_000 }, () => {
  it("passes the six checks it can run on the conformant fixture with the embedded runtime (dependencies' live probe skipped), exit 0, and writes every requested format", async () => {
    const out = await mkdtemp(join(tmpdir(), "civic-cli-out-"));
    try {
      const result = await cli([
        "check", "fixtures/property-tax", "--runtime", "embedded",
        "--format", "json", "--output", join(out, "report.json"),
        "--format", "markdown", "--output", join(out, "report.md"),
        "--output", join(out, "report.sarif"), "--output", join(out, "report.xml"),
        "--format", "text",
      ], { cwd: REPO_ROOT });
      expect(result.exitCode, String(result.stderr)).toBe(0);
      const report = reportOf(await readFile(join(out, "report.json"), "utf8"));
      expect(report.runtime).toBe("embedded");
      // Never a pass for a check that could not look: dependencies' live probe needs the compose runtime.
      expect(statuses(report)).toEqual({ registry: "pass", drift: "pass", compose: "pass", "own-database": "pass", isolation: "pass", migrations: "pass", dependencies: "skip" });
      expect(report.checks.find((c) => c.id === "dependencies")!.reason).toBe(
        "the static part found nothing wrong; the live probe needs the compose runtime (--runtime compose), and the embedded runtime does not start the product's services",
      );
      expect(String(result.stdout)).toMatch(/^PASS {2}6 passed, 0 failed, 1 skipped, 0 errored/m);
      const written = await Promise.all(["report.json", "report.md", "report.sarif", "report.xml"].map((name) => readFile(join(out, name), "utf8")));
      expect(written[1]).toContain("## ✅ civic-conformance: property-tax — 6 passed, 1 skipped");
      expect(JSON.parse(written[2]!).version).toBe("2.1.0");
      expect(written[3]).toContain('<testsuite name="property-tax" tests="7" failures="0" errors="0" skipped="1"');
      expectNoSecret(String(result.stdout), String(result.stderr), ...written);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it("fails the seed-reference design (one shared civic superuser) with exit 1 and the isolation rules", async () => {
    const result = await cli(["check", "fixtures/seed-reference", "--runtime", "embedded", "--format", "json"], { cwd: REPO_ROOT });
    expect(result.exitCode).toBe(1);
    const report = reportOf(result.stdout);
    expect(statuses(report)).toMatchObject({ registry: "pass", drift: "pass", compose: "pass", "own-database": "fail", isolation: "fail" });
    expect(rules(report, "isolation")).toEqual(["isolation/foreign-connect", "isolation/superuser"]);
    expect(rules(report, "own-database")).toEqual(["own-database/shared-credential"]);
    expect(report.checks.find((c) => c.id === "isolation")!.findings.find((f) => f.rule === "isolation/superuser")!.fix).toMatch(/own LOGIN role/);
    expectNoSecret(String(result.stdout), String(result.stderr));
  });
});

describe("one violation per static check through the CLI: exit 1 with the check and rule id", { timeout: 120_000 }, () => {
  const cases: Array<{ check: string; rule: string; path: string; from: string; to: string }> = [
    { check: "registry", rule: "registry/duplicate-port", path: REGISTRY, from: "port: 4105,", to: "port: 4104," },
    { check: "drift", rule: "drift/changed", path: INIT_SQL, from: "REVOKE ALL ON DATABASE tax_levy_rate FROM PUBLIC;", to: "GRANT ALL ON DATABASE tax_levy_rate TO PUBLIC;" },
    { check: "compose", rule: "compose/foreign-database", path: COMPOSE, from: "@postgres:5432/tax_certificates", to: "@postgres:5432/assessment_roll" },
    { check: "dependencies", rule: "dependencies/wrong-port", path: REGISTRY, from: '"http://payment-processing:4106"', to: '"http://payment-processing:4116"' },
  ];
  it.each(cases)("$check: $rule", async ({ check, rule, path, from, to }) => {
    await using copy = await copyFixture("property-tax");
    await copy.edit(path, (text) => text.replace(from, to));
    const result = await cli(["check", copy.root, ...STATIC, "--format", "json"]);
    expect(result.exitCode, String(result.stderr)).toBe(1);
    const report = reportOf(result.stdout);
    expect(report.checks.find((c) => c.id === check)!.status).toBe("fail");
    expect(rules(report, check)).toContain(rule);
    const finding = report.checks.find((c) => c.id === check)!.findings.find((f) => f.rule === rule)!;
    expect(finding.file).toBeTruthy();
    expect(finding.line).toBeGreaterThan(0);
  });
});

describe("bad input: exit 2 with the file and line, never a stack trace", { timeout: 60_000 }, () => {
  it("names the registry file, line and column of a syntax error", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.edit(REGISTRY, (text) => text.replace('port: 4103,\n', 'port: 4103\n        port: ,\n'));
    const result = await cli(["check", copy.product, ...STATIC]);
    expect(result.exitCode).toBe(2);
    expect(String(result.stderr)).toMatch(/service-registry\.ts:\d+:\d+: /);
    expect(String(result.stderr)).not.toMatch(/\n\s+at /);
  });

  it("names the compose file and line of broken YAML", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.edit(COMPOSE, (text) => text.replace("services:\n", "services:\n  broken: [unclosed\n"));
    const result = await cli(["check", copy.product, ...STATIC]);
    expect(result.exitCode).toBe(2);
    expect(String(result.stderr)).toMatch(/docker-compose\.yml:\d+/);
    expect(String(result.stderr)).not.toMatch(/\n\s+at /);
  });

  it("names the expected forms of a bad flag value, and a missing product folder", async () => {
    const bad = await cli(["check", "fixtures/property-tax", "--runtime", "dockr"], { cwd: REPO_ROOT });
    expect(bad.exitCode).toBe(2);
    expect(String(bad.stderr)).toBe("civic-conformance: Invalid runtime 'dockr'. Expected one of auto, compose, embedded, external.");
    const missing = await cli(["check", "no/such/product"], { cwd: REPO_ROOT });
    expect(missing.exitCode).toBe(2);
    expect(String(missing.stderr)).toContain("no/such/product");
  });
});

describe("the environment cannot run what was asked: exit 3", { timeout: 60_000 }, () => {
  it("reports --runtime compose without a Docker engine as an error of the live checks, never a pass", async () => {
    const result = await cli(["check", "fixtures/property-tax", "--runtime", "compose", "--format", "json"], {
      cwd: REPO_ROOT,
      env: { ...ENV, DOCKER_HOST: "unix:///nonexistent/docker.sock" },
    });
    expect(result.exitCode, String(result.stderr)).toBe(3);
    const report = reportOf(result.stdout);
    expect(statuses(report)).toMatchObject({ registry: "pass", "own-database": "error", isolation: "error", migrations: "error" });
  });
});

describe("civic-conformance generate", { timeout: 120_000 }, () => {
  it("writes infra files that pass drift (built-in generator) and compose into a product that had none", async () => {
    await using copy = await copyFixture("property-tax");
    for (const file of ["infra/generate.ts", "infra/init-databases.sql", "docker-compose.yml", "start-dev.sh"]) await rm(join(copy.product, file));
    const generated = await cli(["generate", copy.product, "--write"]);
    expect(generated.exitCode, String(generated.stderr)).toBe(0);
    const result = await cli(["check", copy.product, "--only", "drift,compose", "--format", "json"]);
    expect(result.exitCode, String(result.stdout)).toBe(0);
    expect(statuses(reportOf(result.stdout))).toEqual({ drift: "pass", compose: "pass" });
  });
});

describe("Ctrl-C during an embedded run", { timeout: 120_000 }, () => {
  it("exits 130 and leaves no server process and no temp dir", async () => {
    const temp = await mkdtemp(join(tmpdir(), "civic-cli-sigint-"));
    try {
      const run = cli(["check", "fixtures/property-tax", "--runtime", "embedded"], { cwd: REPO_ROOT, env: { ...ENV, TMPDIR: temp }, forceKillAfterDelay: false });
      let stderr = "";
      run.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      // Interrupt once the run has made its temp dirs (the drift copy, the server's data dir).
      for (let i = 0; i < 600 && !(await readdir(temp)).length; i++) await new Promise((r) => setTimeout(r, 50));
      expect((await readdir(temp)).length).toBeGreaterThan(0);
      run.kill("SIGINT");
      const result = await run;
      expect(result.exitCode).toBe(130);
      expect(stderr).toContain("SIGINT received, cleaning up");
      expect(await readdir(temp)).toEqual([]);
      const processes = await execa("ps", ["-eo", "args"]);
      expect(processes.stdout).not.toContain(temp);
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
  });
});
