/**
 * Issue 8, "What went wrong" 3 (invalid JSON, leaks) and 4 (over-masking). Masking happens on the
 * values of the report model before serialising (notes/contracts.md), so every format parses, every
 * secret is hidden whole (no tail), and only secrets are hidden: never booleans, hostnames, image or
 * service names, nor `postgres`.
 * The built CLI with the static checks only (the drift check's diffs print the edited lines),
 * on scripted rewrites of copies of fixtures/property-tax.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkWithEveryFormat, cliEnv, leakedSecrets, whereFound, type CliRun } from "../helpers/cli-outputs.js";
import { copyFixture, type FixtureCopy } from "../helpers/fixtures.js";
import { COMPOSE, databaseUrlLine, knownPasswords, PRODUCT, service, writeDotenv } from "../helpers/property-tax-layouts.js";
import { checkOf, expectHonestReport, formatViolations, parseReport } from "../helpers/report-invariants.js";

const STATIC = ["--only", "registry,drift,compose,dependencies"];
const tag = Date.now().toString(36);

describe("issue 8 (3): secrets in drift diffs and literal URLs, static checks only", { timeout: 300_000 }, () => {
  const AT_TAIL = `LeakTail${tag}`;
  const AT_PASSWORD = `p@ss@${AT_TAIL}`;
  const SPACE_PASSWORD = `pass word-Leak${tag}A`;
  const QUOTE_PASSWORD = `pa"ss-Leak${tag}B`;
  const EXPORTED = `Drift-Pw-${tag}C`;
  const passwords = knownPasswords();
  let copy: FixtureCopy;
  let run: CliRun;

  beforeAll(async () => {
    copy = await copyFixture("property-tax");
    await writeDotenv(copy, passwords);
    const literal = (key: string, password: string) => {
      const s = service(key);
      return [databaseUrlLine(s), `      DATABASE_URL: postgresql://${s.database}:${password}@postgres:5432/${s.database}\n`] as const;
    };
    await copy.edit(COMPOSE, (text) => {
      let out = text;
      for (const [key, password] of [["auth-gateway", AT_PASSWORD], ["notification-engine", SPACE_PASSWORD], ["audit-logging", QUOTE_PASSWORD]] as const) {
        const [from, to] = literal(key, password);
        out = out.replace(from, to);
      }
      return out;
    });
    await copy.edit(`${PRODUCT}/start-dev.sh`, (text) => text.replace("cd ../..\n", `cd ../..\nexport POSTGRES_PASSWORD="${EXPORTED}"\n`));
    run = await checkWithEveryFormat(copy.root, STATIC, { env: cliEnv() });
  }, 300_000);
  afterAll(() => copy?.[Symbol.asyncDispose]());

  it("the run reports the drift (exit 1) and every format parses: JSON, SARIF, JUnit, Markdown", () => {
    expect(run.exitCode, run.stderr).toBe(1);
    expect(formatViolations(run.files)).toEqual([]);
    expectHonestReport(parseReport(run.files.json), run.files);
  });

  it("a URL password holding @ is hidden whole: neither it nor its tail appears anywhere", () => {
    expect(leakedSecrets(run, [AT_PASSWORD, AT_TAIL, `ss@${AT_TAIL}`])).toEqual([]);
  });

  it("a literal URL password holding a space, or a quote, is hidden", () => {
    expect(leakedSecrets(run, [SPACE_PASSWORD, QUOTE_PASSWORD, `Leak${tag}A`, `Leak${tag}B`])).toEqual([]);
  });

  it('a drift diff holding export POSTGRES_PASSWORD="…" stays valid JSON and hides the value', () => {
    expect(leakedSecrets(run, [EXPORTED])).toEqual([]);
    const report = parseReport(run.files.json);
    const details = checkOf(report, "drift").findings.map((f) => f.details ?? "").join("\n");
    expect(details).toMatch(/export POSTGRES_PASSWORD=/);
  });

  it("the .env passwords appear nowhere", () => {
    expect(leakedSecrets(run, Object.values(passwords))).toEqual([]);
  });
});

describe("issue 8 (3): POSTGRES_PASSWORD='pass\"' in .env keeps every format parseable", { timeout: 300_000 }, () => {
  let copy: FixtureCopy;
  let run: CliRun;

  beforeAll(async () => {
    copy = await copyFixture("property-tax");
    await writeDotenv(copy, knownPasswords({ POSTGRES_PASSWORD: 'pass"' }));
    run = await checkWithEveryFormat(copy.root, STATIC, { env: cliEnv() });
  }, 300_000);
  afterAll(() => copy?.[Symbol.asyncDispose]());

  it("every format parses and the verdicts are intact (nothing masked out of the document's structure)", () => {
    expect(formatViolations(run.files)).toEqual([]);
    const report = parseReport(run.files.json);
    expect(report.checks.filter((c) => c.id !== "dependencies").map((c) => [c.id, c.status])).toEqual([
      ["registry", "pass"],
      ["drift", "pass"],
      ["compose", "pass"],
    ]);
    expect(whereFound(run, "***")).toEqual([]);
  });
});

describe("issue 8 (4): only secrets are masked, never false/true, postgres, service, host or image names", { timeout: 300_000 }, () => {
  const ADDED = [
    'NEED_API_KEY: "false"',
    'TRACING_TOKEN: "true"',
    "CACHE_KEY: postgres",
    "ROUTING_KEY: assessment-roll",
    "UPSTREAM_TOKEN: tax-billing-instalment",
    'BASE_IMAGE_KEY: "postgres:16-alpine"',
  ];
  const passwords = knownPasswords();
  let copy: FixtureCopy;
  let run: CliRun;

  beforeAll(async () => {
    copy = await copyFixture("property-tax");
    await writeDotenv(copy, passwords);
    const roll = service("assessment-roll");
    // Beside a DATABASE_URL, so the drift diff's context shows a postgresql:// URL and the `postgres` host too.
    await copy.edit(COMPOSE, (text) => text.replace(databaseUrlLine(roll), `${databaseUrlLine(roll)}${ADDED.map((line) => `      ${line}\n`).join("")}`));
    run = await checkWithEveryFormat(copy.root, STATIC, { env: cliEnv() });
  }, 300_000);
  afterAll(() => copy?.[Symbol.asyncDispose]());

  it("the drift diff shows the added lines and the neighbouring URL as written, in JSON, Markdown and text", () => {
    expect(run.exitCode, run.stderr).toBe(1);
    const report = parseReport(run.files.json);
    const details = checkOf(report, "drift").findings.map((f) => f.details ?? "").join("\n");
    const url = databaseUrlLine(service("assessment-roll")).trim();
    for (const line of [...ADDED, url]) {
      expect(details, "JSON").toContain(line);
      expect(run.files.markdown, "Markdown").toContain(line);
      expect(run.stdout, "text").toContain(line);
    }
  });

  it("nothing is masked at all: the run prints no secret, so no output holds ***", () => {
    expect(whereFound(run, "***")).toEqual([]);
    expect(leakedSecrets(run, Object.values(passwords))).toEqual([]);
  });
});
