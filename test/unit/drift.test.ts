import { execFileSync } from "node:child_process";
import { access, rm, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { driftCheck } from "../../src/checks/drift/index.js";
import { snapshotTree } from "../../src/sandbox/repo-copy.js";
import type { CheckOptions } from "../../src/checks/check.js";
import { UsageError } from "../../src/core/errors.js";
import { RecordingLogger } from "../../src/core/logger.js";
import { checkSettings } from "../helpers/check-settings.js";
import { runCheck } from "../../src/pipeline/check-pipeline.js";
import type { Product } from "../../src/product/product.js";
import { loadRegistry } from "../../src/registry/load-registry.js";
import { copyFixture, fixture, fixtureProduct, type FixtureCopy } from "../helpers/fixtures.js";

const PRODUCT = "products/property-tax";
const INIT_SQL = `${PRODUCT}/infra/init-databases.sql`;
const GENERATOR = `${PRODUCT}/infra/generate.ts`;

async function productAt(dir: string, repoRoot: string): Promise<Product> {
  return { name: "property-tax", dir, repoRoot, registry: await loadRegistry(dir, repoRoot) };
}

interface DriftRun {
  findings: Awaited<ReturnType<typeof driftCheck.run>>["findings"];
  notes: string[];
  logger: RecordingLogger;
}

/**
 * Runs the check and proves the two promises every run keeps: the user's tree is byte-identical
 * afterwards, and the throwaway copy is gone.
 */
async function runDrift(dir: string, repoRoot: string, options: Partial<CheckOptions> = {}): Promise<DriftRun> {
  const product = await productAt(dir, repoRoot);
  const before = await snapshotTree(repoRoot);
  const logger = new RecordingLogger();
  const output = await driftCheck.run({
    product,
    options: { commandTimeoutMs: 20_000, concurrency: 4, env: { PATH: process.env.PATH }, ...options },
    logger,
    signal: new AbortController().signal,
  });
  expect(output.skipped).toBeUndefined();
  expect(await snapshotTree(repoRoot)).toEqual(before);
  const copyPath = /throwaway copy at (\S+)/.exec(logger.text())?.[1];
  if (copyPath) await expect(access(copyPath)).rejects.toThrow();
  return { findings: output.findings, notes: output.notes ?? [], logger };
}

function summary(findings: DriftRun["findings"]) {
  return findings.map(({ rule, file, line }) => ({ rule, file, line }));
}

describe("drift with the product's own generator", () => {
  it("passes on the conformant property-tax fixture, leaving the fixture untouched", async () => {
    const run = await runDrift(fixtureProduct("property-tax"), fixture("property-tax"));
    expect(run.findings).toEqual([]);
    expect(run.logger.text()).toContain("throwaway copy at");
  });

  it("passes on the seed-reference fixture: its generator reproduces its committed files", async () => {
    const run = await runDrift(fixtureProduct("seed-reference"), fixture("seed-reference"));
    expect(run.findings).toEqual([]);
  });

  it("reports drift/changed with a diff naming the line when init-databases.sql was edited by hand", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.edit(INIT_SQL, (text) =>
      text.replace("REVOKE ALL ON DATABASE assessment_roll FROM PUBLIC;", "GRANT ALL ON DATABASE assessment_roll TO PUBLIC;"),
    );
    const line = (await copy.read(INIT_SQL)).split("\n").indexOf("GRANT ALL ON DATABASE assessment_roll TO PUBLIC;") + 1;
    const { findings } = await runDrift(copy.product, copy.root);
    expect(summary(findings)).toEqual([{ rule: "drift/changed", file: INIT_SQL, line }]);
    const [finding] = findings;
    expect(finding?.severity).toBe("error");
    expect(finding?.message).toContain("2 lines differ");
    expect(finding?.details).toContain(`--- a/${INIT_SQL}`);
    expect(finding?.details).toContain("-GRANT ALL ON DATABASE assessment_roll TO PUBLIC;");
    expect(finding?.details).toContain("+REVOKE ALL ON DATABASE assessment_roll FROM PUBLIC;");
    expect(finding?.fix).toContain("cd products/property-tax && npx tsx infra/generate.ts");
  });

  it("reports drift/changed on the compose file when a DATABASE_URL was pointed at a neighbour's database", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.edit(`${PRODUCT}/docker-compose.yml`, (text) => text.replace("@postgres:5432/tax_levy_rate", "@postgres:5432/assessment_roll"));
    const { findings } = await runDrift(copy.product, copy.root);
    expect(findings.map((f) => [f.rule, f.file])).toEqual([["drift/changed", `${PRODUCT}/docker-compose.yml`]]);
    expect(findings[0]?.details).toContain("+      DATABASE_URL: postgresql://tax_levy_rate:${TAX_LEVY_RATE_DB_PASSWORD}@postgres:5432/tax_levy_rate");
  });

  it("reports drift/created for a file the generator writes that is not committed", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.edit(GENERATOR, (text) => `${text}\nwriteFileSync(join(productDir, "nginx.conf"), "server {}\\n");\n`);
    const { findings } = await runDrift(copy.product, copy.root);
    expect(summary(findings)).toEqual([{ rule: "drift/created", file: `${PRODUCT}/nginx.conf`, line: undefined }]);
    expect(findings[0]?.details).toContain("+server {}");
  });

  it("reports a deleted committed start-dev.sh as drift/created: the generator writes a file the repo lacks", async () => {
    await using copy = await copyFixture("property-tax");
    await unlink(join(copy.product, "start-dev.sh"));
    const { findings } = await runDrift(copy.product, copy.root);
    expect(summary(findings)).toEqual([{ rule: "drift/created", file: `${PRODUCT}/start-dev.sh`, line: undefined }]);
  });

  it("reports drift/deleted for a committed file the generator removes", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.write(`${PRODUCT}/infra/stale-init.sql`, "CREATE DATABASE old_service;\n");
    await copy.edit(GENERATOR, (text) => `${text}\nimport { rmSync } from "node:fs";\nrmSync(join(infraDir, "stale-init.sql"), { force: true });\n`);
    const { findings } = await runDrift(copy.product, copy.root);
    expect(summary(findings)).toEqual([{ rule: "drift/deleted", file: `${PRODUCT}/infra/stale-init.sql`, line: 1 }]);
    expect(findings[0]?.details).toContain("-CREATE DATABASE old_service;");
  });

  it("sees changes the generator makes anywhere in the monorepo, not only in the product folder", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.edit(GENERATOR, (text) => `${text}\nwriteFileSync(join(repoRoot, "modules/platform/auth-gateway/package.json"), "{}\\n");\n`);
    const { findings } = await runDrift(copy.product, copy.root);
    expect(summary(findings)).toEqual([{ rule: "drift/changed", file: "modules/platform/auth-gateway/package.json", line: 1 }]);
  });

  it("runs a CommonJS generator that uses __dirname", async () => {
    await using copy = await copyFixture("property-tax");
    await rm(join(copy.root, "package.json"));
    await copy.edit(GENERATOR, (text) =>
      text
        .replace('import { fileURLToPath } from "node:url";\n', "")
        .replace("const infraDir = dirname(fileURLToPath(import.meta.url));", "const infraDir = __dirname;"),
    );
    expect(await copy.read(GENERATOR)).not.toContain("import.meta");
    const { findings } = await runDrift(copy.product, copy.root);
    expect(findings).toEqual([]);
  });

  it("runs an ESM generator that uses import.meta.url (the fixture's own), and still catches drift", async () => {
    await using copy = await copyFixture("property-tax");
    expect(await copy.read("package.json")).toContain('"type": "module"');
    expect(await copy.read(GENERATOR)).toContain("import.meta.url");
    await copy.edit(`${PRODUCT}/start-dev.sh`, (text) => text.replace("set -euo pipefail", "set -e"));
    const { findings } = await runDrift(copy.product, copy.root);
    expect(summary(findings)).toEqual([{ rule: "drift/changed", file: `${PRODUCT}/start-dev.sh`, line: 9 }]);
  });

  it("reports drift/generator-failed with the tail of stderr when the generator crashes", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.edit(GENERATOR, (text) => text.replace("for (const service of services) {", 'throw new Error("registry exploded");\nfor (const service of services) {'));
    const { findings } = await runDrift(copy.product, copy.root);
    expect(summary(findings)).toEqual([{ rule: "drift/generator-failed", file: GENERATOR, line: undefined }]);
    expect(findings[0]?.message).toContain("exited with code 1");
    expect(findings[0]?.details).toContain("registry exploded");
  });

  it("reports drift/generator-timeout and stops a generator that hangs", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.edit(GENERATOR, (text) => `setInterval(() => {}, 1000);\n${text.replace(/^writeFileSync[\s\S]*$/m, "")}`);
    const { findings } = await runDrift(copy.product, copy.root, { commandTimeoutMs: 1_500 });
    expect(summary(findings)).toEqual([{ rule: "drift/generator-timeout", file: GENERATOR, line: undefined }]);
    expect(findings[0]?.message).toContain("1.5 s");
  });

  it("runs options.generatorCommand through a shell from the product folder instead of infra/generate.ts", async () => {
    await using copy = await copyFixture("property-tax");
    const { findings } = await runDrift(copy.product, copy.root, { generatorCommand: "echo '# extra' >> docker-compose.yml" });
    expect(summary(findings)).toEqual([{ rule: "drift/changed", file: `${PRODUCT}/docker-compose.yml`, line: expect.any(Number) }]);
    expect(findings[0]?.fix).toContain("cd products/property-tax && echo '# extra' >> docker-compose.yml");
    expect(findings[0]?.details).toContain("+# extra");
  });

  it("stops a shell generator command and everything it started when it hangs", async () => {
    await using copy = await copyFixture("property-tax");
    const { findings } = await runDrift(copy.product, copy.root, { generatorCommand: "sleep 30 | cat", commandTimeoutMs: 1_000 });
    expect(summary(findings)).toEqual([{ rule: "drift/generator-timeout", file: undefined, line: undefined }]);
  });
});

describe("drift without a generator in the repository", () => {
  async function withoutGenerator(): Promise<FixtureCopy> {
    const copy = await copyFixture("property-tax");
    await unlink(join(copy.product, "infra/generate.ts"));
    return copy;
  }

  it("compares the committed files with the built-in generator, passes, and says so in a note", async () => {
    await using copy = await withoutGenerator();
    const { findings, notes } = await runDrift(copy.product, copy.root);
    expect(findings).toEqual([]);
    expect(notes).toEqual([expect.stringContaining("compared with the built-in reference generator")]);
  });

  it("reports drift/changed and drift/created against the built-in generator", async () => {
    await using copy = await withoutGenerator();
    await copy.edit(INIT_SQL, (text) => text.replace("NOSUPERUSER NOCREATEDB", "SUPERUSER NOCREATEDB"));
    const line = (await copy.read(INIT_SQL)).split("\n").findIndex((l) => l.includes(" SUPERUSER NOCREATEDB")) + 1;
    await unlink(join(copy.product, "start-dev.sh"));
    const { findings } = await runDrift(copy.product, copy.root);
    expect(summary(findings)).toEqual([
      { rule: "drift/changed", file: INIT_SQL, line },
      { rule: "drift/created", file: `${PRODUCT}/start-dev.sh`, line: undefined },
    ]);
    expect(findings[0]?.fix).toContain("npx civic-conformance generate products/property-tax --write");
  });

  it("reports drift/generator-failed at the registry line when the built-in generator refuses a name", async () => {
    await using copy = await withoutGenerator();
    await copy.edit(`${PRODUCT}/infra/service-registry.ts`, (text) => text.replace('database: "tax_levy_rate"', 'database: "pg_levy"'));
    const line = (await copy.read(`${PRODUCT}/infra/service-registry.ts`)).split("\n").findIndex((l) => l.includes('"pg_levy"')) + 1;
    const { findings } = await runDrift(copy.product, copy.root);
    expect(summary(findings)).toEqual([{ rule: "drift/generator-failed", file: `${PRODUCT}/infra/service-registry.ts`, line }]);
  });
});

describe("drift writes nothing outside its throwaway copy", () => {
  it("leaves an uncommitted .env and the user's files alone even when the generator rewrites them", async () => {
    await using copy = await copyFixture("property-tax");
    await writeFile(join(copy.product, ".env"), "POSTGRES_PASSWORD=hunter22\n");
    await copy.edit(GENERATOR, (text) => `${text}\nwriteFileSync(join(productDir, ".env"), "POSTGRES_PASSWORD=changed\\n");\n`);
    const { findings } = await runDrift(copy.product, copy.root);
    expect(summary(findings)).toEqual([{ rule: "drift/changed", file: `${PRODUCT}/.env`, line: 1 }]);
    expect(await copy.read(`${PRODUCT}/.env`)).toBe("POSTGRES_PASSWORD=hunter22\n");
    expect(JSON.stringify(findings)).not.toContain("hunter22");
  });
});

describe("drift in the pipeline: the generator runs while the product is loaded", () => {
  const settings = (copy: FixtureCopy, generatorCommand: string) => checkSettings(copy, { only: ["drift"], env: { PATH: process.env.PATH }, generatorCommand });
  const io = () => ({ logger: new RecordingLogger(), signal: new AbortController().signal });

  it("reports what the early generator run changed, at the file and line", async () => {
    await using copy = await copyFixture("property-tax");
    const compose = `${PRODUCT}/docker-compose.yml`;
    const lines = (await copy.read(compose)).split("\n").length;
    const { report } = await runCheck(settings(copy, "echo '# extra' >> docker-compose.yml"), io());
    const drift = report.checks.find((check) => check.id === "drift")!;
    expect(drift.findings.map(({ rule, file, line }) => ({ rule, file, line }))).toEqual([{ rule: "drift/changed", file: compose, line: expect.any(Number) }]);
    expect(drift.findings[0]!.line).toBeGreaterThanOrEqual(lines - 3);
    // Started before the check, the regeneration's own time is kept in the data.
    expect(drift.data).toMatchObject({ generator: "echo '# extra' >> docker-compose.yml", regenerationMs: expect.any(Number) });
  });

  it("stops the generator, leaving no process, when the product cannot be loaded", async () => {
    await using copy = await copyFixture("property-tax");
    // The registry fails only after its evaluation has kept the loader busy: the generator is running by then.
    await copy.edit(`${PRODUCT}/infra/service-registry.ts`, (text) => `const until = Date.now() + 2000;\nwhile (Date.now() < until) {}\nthrow new Error("registry refuses");\n${text}`);
    const marker = "sleep 41.37";
    const logger = new RecordingLogger();
    const error = await runCheck({ ...settings(copy, `${marker} | cat`), verbose: true }, { logger, signal: new AbortController().signal }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toContain("registry refuses");
    expect(logger.text()).toContain("drift: running");
    const processes = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" });
    expect(processes).not.toContain(marker);
  });
});
