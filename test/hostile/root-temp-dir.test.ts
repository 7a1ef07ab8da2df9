/**
 * Issue 9, measured defect 7: running as root with TMPDIR in a 0700 folder (what `mktemp -d` makes,
 * and what a runner's RUNNER_TEMP can be). initdb, run as the unprivileged server user, could not
 * read its password file in there: every live check `error`, and the same 10-line initdb message
 * printed once per check. It must work; and a runtime that cannot start is reported once.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { COMPOSE, HostileRepo } from "./support/hostile-repo.js";
import { cleanEnd, cleanEndAmong, outcomeOf, withExitAmong } from "./support/outcome.js";
import { RunFolder } from "./support/run-folder.js";
import { runCli } from "./support/run-cli.js";

interface Report {
  checks: Array<{ id: string; status: string; reason?: string }>;
}

const LIVE = ["own-database", "isolation", "migrations"];

describe("as root, with a private (0700) TMPDIR", { timeout: 180_000 }, () => {
  it("every check runs and passes on the conformant fixture (exit 0)", async () => {
    expect(process.getuid?.(), "this case is about running as root").toBe(0);
    await using repo = await HostileRepo.copy("property-tax", "private-tmp");
    await using folder = await RunFolder.create("private-tmp", { privateTemp: true });
    const before = await repo.hash();
    const report = join(folder.out, "report.json");

    const result = await runCli(["check", repo.product, "--runtime", "embedded", "--verbose", "--format", "json", "--output", report], {
      env: folder.env(),
      boundMs: 150_000,
    });

    expect(await outcomeOf(result, folder, repo, before)).toEqual(cleanEnd(0));
    const statuses = Object.fromEntries((JSON.parse(await readFile(report, "utf8")) as Report).checks.map((check) => [check.id, check.status]));
    expect(statuses).toMatchObject(Object.fromEntries(LIVE.map((id) => [id, "pass"])));
    // initdb's own error lines (`initdb: error: …`) or the runtime's `initdb failed`; `--verbose`'s timing line names the phase "initdb" too.
    expect(result.stderr).not.toMatch(/initdb(:| failed)|Permission denied/);
  });
});

describe("a runtime that cannot start", { timeout: 180_000 }, () => {
  it("is reported once on stderr, and in the report of every live check (exit 2 or 3)", async () => {
    await using repo = await HostileRepo.copy("property-tax", "start-failure");
    await using folder = await RunFolder.create("start-failure");
    // The image's initdb fails the same way on this: the product's own mistake.
    await repo.edit(COMPOSE, (text) => text.replace("      POSTGRES_DB: ${POSTGRES_DB:-civic_platform}\n", "      POSTGRES_DB: ${POSTGRES_DB:-civic_platform}\n      POSTGRES_INITDB_ARGS: --locale=xx_NOT_A_LOCALE\n"));
    const before = await repo.hash();
    const report = join(folder.out, "report.json");

    const result = await runCli(["check", repo.product, "--runtime", "embedded", "--only", LIVE.join(","), "--format", "json", "--output", report], {
      env: folder.env(),
      boundMs: 120_000,
    });

    expect(withExitAmong(await outcomeOf(result, folder, repo, before), [2, 3])).toEqual(cleanEndAmong([2, 3]));
    expect(result.stderr.match(/xx_NOT_A_LOCALE/g) ?? [], `stderr:\n${result.stderr}`).toHaveLength(1);
    const checks = (JSON.parse(await readFile(report, "utf8")) as Report).checks;
    for (const id of LIVE) {
      const check = checks.find((candidate) => candidate.id === id);
      expect(check?.status).toBe("error");
      expect(check?.reason).toMatch(/xx_NOT_A_LOCALE/);
    }
  });
});
