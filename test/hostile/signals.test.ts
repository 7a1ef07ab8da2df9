/**
 * Issue 9, measured defects 4 and 5 (signals): nothing is left behind, whatever ends the run and
 * whenever. At each phase of an embedded run — initdb, init scripts, and each live check — the run is
 * ended by EPIPE: the reader of stdout goes away (`| head -1`) → a quiet end (no stack trace), still
 * cleaned up. (The SIGINT / SIGTERM / SIGKILL-then-rerun cases of branch hostile-suite belong with the
 * one idempotent stop and the reaper, issue 9 §4.)
 * Each time: no stack trace, no PANIC lines, no temp entry, no process tied to the run, the user's
 * tree unchanged. The phase is known from `--verbose` log lines and the process table; the live
 * checks are slowed down by what the repository plants (see `slowDown`), so the signal lands inside
 * the phase named, and each case checks that it did.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { AUTH_GATEWAY_LAST_MIGRATION, HostileRepo, INIT_SQL } from "./support/hostile-repo.js";
import { cleanEndAmong, outcomeOf, withExitAmong } from "./support/outcome.js";
import { processesUnder, RunFolder } from "./support/run-folder.js";
import { CliRun } from "./support/run-cli.js";

type Phase = "initdb" | "init-scripts" | "own-database" | "isolation" | "migrations";
const PHASES: readonly Phase[] = ["initdb", "init-scripts", "own-database", "isolation", "migrations"];

/**
 * A progress line saying a check finished (`✔ migrations    pass   2281 ms`, on stdout or stderr,
 * whichever carries the progress); never a debug line such as `debug: migrations pass f: …`.
 */
const finished = (check: string) => new RegExp(`^\\S+\\s+${check}\\s+(pass|fail|error|skip)\\s+\\d+ ms`, "m");

/**
 * The live checks take a fraction of a second each, too short to hit reliably. The repository
 * slows them down itself, the way a hostile init script could: a function that shadows
 * `pg_catalog.pg_get_userbyid` in a schema put first on the admin role's search_path, which sleeps
 * once per session opened by the named check (told by its application_name). Init scripts and
 * migrations simply sleep.
 */
async function slowDown(repo: HostileRepo, phase: Phase): Promise<void> {
  switch (phase) {
    case "initdb":
      return;
    case "init-scripts":
      await repo.append(INIT_SQL, "SELECT pg_sleep(8);\n");
      return;
    case "own-database":
    case "isolation":
      {
        const shadow = [
          "CREATE SCHEMA hostile_slow;",
          "CREATE FUNCTION hostile_slow.pg_get_userbyid(oid) RETURNS name LANGUAGE plpgsql AS $$",
          "BEGIN",
          `  IF pg_catalog.current_setting('application_name') = 'civic-conformance ${phase}'`,
          "     AND pg_catalog.current_setting('hostile.slept', true) IS DISTINCT FROM 'yes' THEN",
          "    PERFORM pg_catalog.set_config('hostile.slept', 'yes', false);",
          "    PERFORM pg_catalog.pg_sleep(8);",
          "  END IF;",
          "  RETURN pg_catalog.pg_get_userbyid($1);",
          "END $$;",
        ];
        // In POSTGRES_DB and in `postgres`, whichever the admin session uses; for the admin role everywhere.
        await repo.append(
          INIT_SQL,
          [...shadow, "\\connect postgres", ...shadow, "\\connect civic_platform", "ALTER ROLE civic SET search_path = hostile_slow, pg_catalog, public;", ""].join("\n"),
        );
      }
      return;
    case "migrations":
      await repo.append(AUTH_GATEWAY_LAST_MIGRATION, "SELECT pg_sleep(8);\n");
      return;
  }
}

/**
 * Waits until the run is inside `phase`, or throws when the phase is over before the signal could
 * land (the case would then prove nothing about that phase).
 */
async function reach(run: CliRun, folder: RunFolder, phase: Phase): Promise<void> {
  const inProcessTable = async (program: RegExp, what: string) => {
    for (let waited = 0; waited < 10_000; waited += 20) {
      if ((await processesUnder([folder.root])).some((p) => program.test(p.args))) return;
      await sleep(20);
    }
    throw new Error(`phase ${phase} missed: no ${what} process ran under ${folder.root}`);
  };
  switch (phase) {
    case "initdb":
      await run.waitForLine(/cluster and socket in /);
      // initdb's bootstrap and single-user backends: most of initdb's time, and where a signal hurts.
      return inProcessTable(/postgres.* (--boot|--single)\b/, "initdb bootstrap backend");
    case "init-scripts":
      await run.waitForLine(/init: running 01-init-databases\.sql/);
      return inProcessTable(/\bpsql\b/, "psql");
    case "own-database":
      await run.waitForLine(/embedded PostgreSQL ready on/);
      break;
    case "isolation":
      await run.waitForLine(finished("own-database"));
      break;
    case "migrations":
      await run.waitForLine(/migrations pass f: creating \d+ scratch databases/);
      break;
  }
  // Inside the planted sleep, and the check has not finished.
  await sleep(1_000);
  if (finished(phase).test(`${run.stdout}\n${run.stderr}`)) throw new Error(`phase ${phase} missed: the check finished before the signal`);
}

describe("ending an embedded run at each phase", { timeout: 600_000 }, () => {
  const repos = new Map<Phase, HostileRepo>();
  const hashes = new Map<Phase, string>();

  beforeAll(async () => {
    for (const phase of PHASES) {
      const repo = await HostileRepo.copy("property-tax", `signal-${phase}`);
      await slowDown(repo, phase);
      repos.set(phase, repo);
      hashes.set(phase, await repo.hash());
    }
  }, 120_000);
  afterAll(async () => {
    for (const repo of repos.values()) await repo?.[Symbol.asyncDispose]();
  });

  describe("EPIPE: stdout's reader goes away (`| head -1`)", () => {
    it.each(PHASES)("during %s: a quiet end (exit 0, 1 or 141), still cleaned up", async (phase) => {
      const repo = repos.get(phase)!;
      await using folder = await RunFolder.create(`epipe-${phase}`);
      // Text on stdout (the progress lines go there too), as `civic-conformance check | head -1` runs it.
      const run = new CliRun(["check", repo.product, "--runtime", "embedded", "--verbose"], { env: folder.env(), boundMs: 120_000 });
      await reach(run, folder, phase);
      run.closeStdout();
      const result = await run.result();

      expect(withExitAmong(await outcomeOf(result, folder, repo, hashes.get(phase)), [0, 1, 141])).toEqual(cleanEndAmong([0, 1, 141]));
      expect(result.stderr).not.toMatch(/EPIPE/);
    });
  });
});
