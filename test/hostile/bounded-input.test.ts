/**
 * Issue 9, measured defect 2: no bound on what the repository makes the CLI do. The registry is
 * evaluated in-process (a `while(true){}` hangs it for good and blocks SIGINT/SIGTERM; a memory bomb
 * takes the CLI down with V8's heap), the compose file's merge keys are expanded without limit (a
 * 17-level `<<:` alias bomb hangs), a huge compose file is read whole, and init scripts escape
 * `--timeout`. Each case must end within its bound with exit 2 and a one-line cause naming the file.
 */
import { readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { COMPOSE, HostileRepo, INIT_SQL, PRODUCT, REGISTRY } from "./support/hostile-repo.js";
import { cleanEnd, outcomeOf } from "./support/outcome.js";
import { RunFolder } from "./support/run-folder.js";
import { CliRun, runCli } from "./support/run-cli.js";

interface Report {
  checks: Array<{ id: string; status: string; reason?: string }>;
}

describe("registry evaluation is bounded", { timeout: 180_000 }, () => {
  it("a `while (true) {}` in service-registry.ts ends with exit 2 naming the file, within the bound", async () => {
    await using repo = await HostileRepo.copy("property-tax", "registry-loop");
    await using folder = await RunFolder.create("registry-loop");
    await repo.edit(REGISTRY, (text) => `while (true) {}\n${text}`);
    const before = await repo.hash();

    const result = await runCli(["check", repo.product, "--only", "registry", "--timeout", "5"], { env: folder.env(), boundMs: 45_000 });

    expect(await outcomeOf(result, folder, repo, before)).toEqual(cleanEnd(2));
    expect(result.stderr).toMatch(/service-registry\.ts(:\d+)*: .*(time|did not finish|took longer)/i);
  });

  it("a registry that throws, under --runtime embedded: exit 2 at its line; the servers started beside its evaluation are stopped, never announced, nothing left", async () => {
    await using repo = await HostileRepo.copy("property-tax", "registry-throws");
    await using folder = await RunFolder.create("registry-throws");
    // After a top-level await long enough for the servers (started from the compose file alone) to be on their way.
    await repo.edit(REGISTRY, (text) => `${text}\nawait new Promise((resolve) => setTimeout(resolve, 2000));\nthrow new Error("registry refused");\n`);
    const lines = (await readFile(join(repo.root, REGISTRY), "utf8")).split("\n");
    const line = lines.findIndex((text) => text.includes("registry refused")) + 1;
    const before = await repo.hash();

    const result = await runCli(["check", repo.product, "--runtime", "embedded", "--verbose"], { env: folder.env(), boundMs: 60_000 });

    expect(await outcomeOf(result, folder, repo, before)).toEqual(cleanEnd(2));
    expect(result.stderr).toContain(`service-registry.ts:${line}:7: The service registry failed to evaluate: registry refused`);
    // The server did start beside the evaluation (this is the case being tested).
    expect(result.stderr).toMatch(/embedded PostgreSQL "postgres": cluster and socket in/);
    expect(result.stderr).not.toContain("Starting the embedded runtime");
  });

  it.each([
    { signal: "SIGTERM" as const, group: false, code: 143 },
    { signal: "SIGINT" as const, group: true, code: 130 },
  ])("$signal during a `while (true) {}` registry stops the run: exit $code within 15 s", async ({ signal, group, code }) => {
    await using repo = await HostileRepo.copy("property-tax", "registry-loop-signal");
    await using folder = await RunFolder.create("registry-loop-signal");
    await repo.edit(REGISTRY, (text) => `while (true) {}\n${text}`);
    const before = await repo.hash();

    const run = new CliRun(["check", repo.product, "--only", "registry"], { env: folder.env(), boundMs: 25_000 });
    // Well into the evaluation: Babel has parsed the file and jiti is running it.
    await sleep(4_000);
    const signalled = performance.now();
    if (group) run.signalGroup(signal);
    else run.signal(signal);
    const result = await run.result();

    expect(await outcomeOf(result, folder, repo, before)).toEqual(cleanEnd(code));
    expect(performance.now() - signalled).toBeLessThan(15_000);
  });

  it("a registry that allocates without end ends with exit 2 naming the file, not V8's heap crash", async () => {
    await using repo = await HostileRepo.copy("property-tax", "registry-memory");
    await using folder = await RunFolder.create("registry-memory");
    await repo.edit(REGISTRY, (text) => `const hoard: number[][] = [];\nfor (;;) hoard.push(new Array(1_000_000).fill(hoard.length));\n${text}`);
    const before = await repo.hash();

    const result = await runCli(["check", repo.product, "--only", "registry", "--timeout", "30"], { env: folder.env(), boundMs: 120_000 });

    expect(await outcomeOf(result, folder, repo, before)).toEqual(cleanEnd(2));
    expect(result.stderr).toMatch(/service-registry\.ts(:\d+)*: .*memory/i);
  });
});

describe("compose reading is bounded", { timeout: 180_000 }, () => {
  it("a 17-level `<<:` merge-key alias bomb ends with exit 2 naming the compose file and line", async () => {
    await using repo = await HostileRepo.copy("property-tax", "alias-bomb");
    await using folder = await RunFolder.create("alias-bomb");
    // 17 anchors, each merging the one below ten times: 10^17 keys once expanded, 2 KB on disk.
    const levels = [`x-l0: &l0\n${Array.from({ length: 20 }, (_, i) => `  k${i}: v${i}\n`).join("")}`];
    for (let level = 1; level <= 17; level++) {
      levels.push(`x-l${level}: &l${level}\n  <<: [${Array.from({ length: 10 }, () => `*l${level - 1}`).join(", ")}]\n  m${level}: x\n`);
    }
    await repo.edit(COMPOSE, (text) => `${levels.join("")}${text.replace(/^ {2}postgres:\n/m, "  postgres:\n    <<: *l17\n")}`);
    const bombLine = await repo.lineOf(COMPOSE, "<<: *l17");
    const before = await repo.hash();

    const result = await runCli(["check", repo.product, "--only", "compose"], { env: folder.env(), boundMs: 40_000 });

    expect(await outcomeOf(result, folder, repo, before)).toEqual(cleanEnd(2));
    expect(result.stderr).toMatch(/docker-compose\.yml:\d+/);
    expect(result.stderr).toMatch(/alias|merge/i);
    // The line of the merge that explodes, or of an anchor on the way.
    const line = Number(/docker-compose\.yml:(\d+)/.exec(result.stderr)?.[1]);
    expect(line).toBeGreaterThan(0);
    expect(line).toBeLessThanOrEqual(bombLine);
  });

  it("a 50 MB compose file is refused with exit 2 and a size message, quickly", async () => {
    await using repo = await HostileRepo.copy("property-tax", "huge-compose");
    await using folder = await RunFolder.create("huge-compose");
    const compose = await readFile(repo.path(COMPOSE), "utf8");
    const padding = ["x-padding:"];
    for (let i = 0; padding.length * 48 < 50 * 1024 * 1024; i++) padding.push(`  key${String(i).padStart(8, "0")}: "${"x".repeat(30)}"`);
    await writeFile(repo.path(COMPOSE), `${compose}\n${padding.join("\n")}\n`);
    const before = await repo.hash();

    const result = await runCli(["check", repo.product, "--only", "compose"], { env: folder.env(), boundMs: 40_000 });

    expect(await outcomeOf(result, folder, repo, before)).toEqual(cleanEnd(2));
    expect(result.stderr).toMatch(/docker-compose\.yml/);
    expect(result.stderr).toMatch(/too (large|big)|exceeds|size|limit/i);
    expect(result.durationMs).toBeLessThan(20_000);
  });
});

describe("the configuration file is bounded", { timeout: 120_000 }, () => {
  const CONFIG = `${PRODUCT}/civic-conformance.yaml`;

  it("an alias bomb in civic-conformance.yaml ends with exit 2 naming the file", async () => {
    await using repo = await HostileRepo.copy("property-tax", "config-alias-bomb");
    await using folder = await RunFolder.create("config-alias-bomb");
    // Nine levels of ten aliases each: a billion scalars once expanded, 300 bytes on disk.
    const levels = ["x0: &x0 [a, a, a, a, a, a, a, a, a, a]"];
    for (let level = 1; level <= 9; level++) levels.push(`x${level}: &x${level} [${Array.from({ length: 10 }, () => `*x${level - 1}`).join(", ")}]`);
    await repo.write(CONFIG, `profile: civic\n${levels.join("\n")}\n`);
    const before = await repo.hash();

    const result = await runCli(["check", repo.product, "--only", "registry"], { env: folder.env(), boundMs: 45_000 });

    expect(await outcomeOf(result, folder, repo, before)).toEqual(cleanEnd(2));
    expect(result.stderr).toMatch(/civic-conformance\.yaml(:\d+)*: .*alias/i);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("a civic-conformance.yaml over its size cap ends with exit 2 naming the file and the cap", async () => {
    await using repo = await HostileRepo.copy("property-tax", "config-huge");
    await using folder = await RunFolder.create("config-huge");
    await repo.write(CONFIG, `profile: civic\n# ${"x".repeat(2 * 1024 * 1024)}\n`);
    const before = await repo.hash();

    const result = await runCli(["check", repo.product, "--only", "registry"], { env: folder.env(), boundMs: 45_000 });

    expect(await outcomeOf(result, folder, repo, before)).toEqual(cleanEnd(2));
    expect(result.stderr).toMatch(/civic-conformance\.yaml.* over the 1 MB size limit/);
  });
});

describe("inference reads bounded", { timeout: 120_000 }, () => {
  it("a migration linked to /dev/zero in a repository without a registry ends with exit 2 naming the file, not an endless read", async () => {
    await using repo = await HostileRepo.copy("split-vars-conformant", "infer-dev-zero");
    await using folder = await RunFolder.create("infer-dev-zero");
    const migration = "ledger/db/migrations/20240105093000_create_entries.sql";
    await rm(repo.path(migration));
    await symlink("/dev/zero", repo.path(migration));
    const before = await repo.hash();

    const result = await runCli(["check", repo.root, "--only", "registry"], { env: folder.env(), boundMs: 45_000 });

    expect(await outcomeOf(result, folder, repo, before)).toEqual(cleanEnd(2));
    expect(result.stderr).toContain(`${migration} is not a regular file`);
  });
});

describe("a build's Dockerfile is bounded", { timeout: 120_000 }, () => {
  it("a 2 MB Dockerfile behind the postgres service's build is refused with exit 2 and a size message", async () => {
    await using repo = await HostileRepo.copy("property-tax", "huge-dockerfile");
    await using folder = await RunFolder.create("huge-dockerfile");
    await repo.edit(COMPOSE, (text) => text.replace("    image: postgres:16-alpine\n", "    build: ./pg\n"));
    await repo.write(`products/property-tax/pg/Dockerfile`, `FROM postgres:16-alpine\n${"# padding padding padding padding padding padding\n".repeat(40_000)}`);
    const before = await repo.hash();

    const result = await runCli(["check", repo.product, "--only", "compose"], { env: folder.env(), boundMs: 60_000 });

    expect(await outcomeOf(result, folder, repo, before)).toEqual(cleanEnd(2));
    expect(result.stderr).toMatch(/pg\/Dockerfile/);
    expect(result.stderr).toMatch(/size limit/i);
  });
});

describe("init scripts are bounded by --timeout", { timeout: 240_000 }, () => {
  it("`SELECT pg_sleep(600)` in an init script with --timeout 5: exit 2, the report says which script and line timed out, nothing left", async () => {
    await using repo = await HostileRepo.copy("property-tax", "init-sleep");
    await using folder = await RunFolder.create("init-sleep");
    const sleepLine = await repo.append(INIT_SQL, "SELECT pg_sleep(600);\n");
    const before = await repo.hash();
    const report = join(folder.out, "report.json");

    const result = await runCli(
      ["check", repo.product, "--runtime", "embedded", "--only", "own-database", "--timeout", "5", "--verbose", "--format", "json", "--output", report],
      { env: folder.env(), boundMs: 90_000 },
    );

    expect(await outcomeOf(result, folder, repo, before)).toEqual(cleanEnd(2));
    const ownDatabase = (JSON.parse(await readFile(report, "utf8")) as Report).checks.find((check) => check.id === "own-database");
    expect(ownDatabase?.status).toBe("error");
    expect(ownDatabase?.reason).toMatch(new RegExp(`init-databases\\.sql:${sleepLine}`));
    expect(ownDatabase?.reason).toMatch(/tim(ed|e) ?out|--timeout|5 s/i);
  });
});
