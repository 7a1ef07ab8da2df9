/**
 * Issue 9, measured defects 4 and 5 (signals): nothing is left behind, whatever ends the run and
 * whenever. At each phase of an embedded run — initdb, init scripts through psql, init statements
 * sent over the protocol (a script of plain SQL), and each live check — the run is ended four ways:
 *   - Ctrl-C: SIGINT to the whole process group, as a terminal sends it → exit 130;
 *   - SIGTERM to the CLI (a runner cancelling the job, `kill`) → exit 143;
 *   - SIGKILL to the CLI (OOM killer, hard cancel), then a second run with the same TMPDIR: it stops
 *     the server and removes the folders the killed run left, and says so;
 *   - EPIPE: the reader of stdout goes away (`| head -1`) → a quiet end (no stack trace), still cleaned up.
 * Each time: no stack trace, no PANIC lines, no temp entry, no process tied to the run, the user's
 * tree unchanged. The phase is known from `--verbose` log lines and the process table; the live
 * checks are slowed down by what the repository plants (see `slowDown`), so the signal lands inside
 * the phase named, and each case checks that it did.
 */
import { afterAll, beforeAll, describe, it } from "vitest";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { AUTH_GATEWAY_LAST_MIGRATION, HostileRepo, INIT_SQL } from "./support/hostile-repo.js";
import { cleanEnd, cleanEndAmong, outcomeOf, withExitAmong } from "./support/outcome.js";
import { processesUnder, RunFolder } from "./support/run-folder.js";
import { CliRun, runCli } from "./support/run-cli.js";

type Phase = "initdb" | "init-scripts" | "init-statements" | "own-database" | "isolation" | "migrations";
const PHASES: readonly Phase[] = ["initdb", "init-scripts", "init-statements", "own-database", "isolation", "migrations"];

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
      // A meta-command psql alone runs: the script goes through psql.
      await repo.append(INIT_SQL, "\\echo the next statement sleeps\nSELECT pg_sleep(8);\n");
      return;
    case "init-statements":
      // Plain SQL (the generated script's \\set / \\getenv included): sent over the protocol.
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
    case "init-statements":
      await run.waitForLine(/init: running 01-init-databases\.sql/);
      // The backend running the statement: `postgres: <user> <database> [local] SELECT`.
      return inProcessTable(/postgres: .*\[local\] SELECT/, "backend running an init statement");
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

/**
 * The CLI's environment for a phase. A run with a warm pristine-cluster cache copies its cluster and
 * runs no initdb at all; the initdb phase is a cache miss or `CIVIC_NO_CLUSTER_CACHE=1` (here).
 */
const envFor = (folder: RunFolder, phase: Phase) => folder.env(phase === "initdb" ? { CIVIC_NO_CLUSTER_CACHE: "1" } : {});

/** The folder(s) of the embedded cluster a run named in its log. */
const clusterFolders = (log: string) => [...new Set([...log.matchAll(/cluster and socket in (\S+?),/g)].map((m) => m[1]!))];

/** A copy of property-tax slowed down at `phase`, and the fingerprint of its tree before the run. */
async function plantedRepo(phase: Phase, label: string): Promise<{ repo: HostileRepo; hash: string }> {
  const repo = await HostileRepo.copy("property-tax", label);
  try {
    await slowDown(repo, phase);
    return { repo, hash: await repo.hash() };
  } catch (error) {
    await repo[Symbol.asyncDispose]();
    throw error;
  }
}

// The cases run concurrently, the hostile tier's `maxConcurrency` at a time (vitest.config.ts):
// most of a case is waiting on a planted sleep. Each case owns everything it observes — its own
// repository copy (whose processes count as the run's), its run folder (TMPDIR, reports, the
// processes under it) and the cluster folder its log names — so no case sees another's processes
// or leftovers; the clean repository of the SIGKILL reruns is only ever read.
describe.concurrent("ending an embedded run at each phase", { timeout: 600_000 }, () => {
  let cleanRepo: HostileRepo;

  beforeAll(async () => {
    cleanRepo = await HostileRepo.copy("property-tax", "signal-rerun");
  }, 120_000);
  afterAll(async () => {
    await cleanRepo?.[Symbol.asyncDispose]();
  });

  const args = (repo: HostileRepo, folder: RunFolder) => ["check", repo.product, "--runtime", "embedded", "--verbose", "--format", "json", "--output", join(folder.out, "report.json")];

  describe.each([
    { way: "Ctrl-C (SIGINT to the process group)", signal: "SIGINT" as const, group: true, code: 130 },
    { way: "SIGTERM to the CLI", signal: "SIGTERM" as const, group: false, code: 143 },
  ])("$way", ({ signal, group, code }) => {
    it.for(PHASES)(`during %s: exit ${code}, no stack trace or PANIC, nothing left behind`, async (phase, { expect }) => {
      const { repo, hash } = await plantedRepo(phase, `signal-${signal}-${phase}`);
      await using _repo = repo;
      await using folder = await RunFolder.create(`${signal}-${phase}`);
      const run = new CliRun(args(repo, folder), { env: envFor(folder, phase), boundMs: 120_000 });
      await reach(run, folder, phase);
      if (group) run.signalGroup(signal);
      else run.signal(signal);
      const result = await run.result();

      expect(await outcomeOf(result, folder, repo, hash)).toEqual(cleanEnd(code));
      expect(result.stderr).toContain(`${signal} received`);
      expect(result.stderr).not.toMatch(/PANIC|FATAL:/);
    });
  });

  describe("SIGKILL to the CLI, then a second run with the same TMPDIR", () => {
    it.for(PHASES)("during %s: the next run stops the server, removes the folders and says so", async (phase, { expect }) => {
      const { repo, hash } = await plantedRepo(phase, `signal-sigkill-${phase}`);
      await using _repo = repo;
      await using folder = await RunFolder.create(`sigkill-${phase}`);
      const run = new CliRun(args(repo, folder), { env: envFor(folder, phase), boundMs: 120_000 });
      await reach(run, folder, phase);
      run.signal("SIGKILL");
      const killed = await run.result();
      expect(killed.signal).toBe("SIGKILL");
      const left = clusterFolders(killed.stderr);
      expect(left, "the killed run named its cluster folder").toHaveLength(1);

      const rerun = await runCli(["check", cleanRepo.product, "--runtime", "embedded", "--only", "own-database", "--verbose", "--format", "json", "--output", join(folder.out, "rerun.json")], {
        env: folder.env(),
        boundMs: 120_000,
      });

      const log = `${killed.stderr}\n${rerun.stdout}\n${rerun.stderr}`;
      expect(await outcomeOf({ ...rerun, stderr: log }, folder, repo, hash)).toEqual(cleanEnd(0));
      // It says what it reaped: the killed run's folder by name.
      expect(rerun.stderr).toContain(left[0]!.split("/").pop()!);
    });
  });

  describe("EPIPE: stdout's reader goes away (`| head -1`)", () => {
    it.for(PHASES)("during %s: a quiet end (exit 0, 1 or 141), still cleaned up", async (phase, { expect }) => {
      const { repo, hash } = await plantedRepo(phase, `signal-epipe-${phase}`);
      await using _repo = repo;
      await using folder = await RunFolder.create(`epipe-${phase}`);
      // Text on stdout (the progress lines go there too), as `civic-conformance check | head -1` runs it.
      const run = new CliRun(["check", repo.product, "--runtime", "embedded", "--verbose"], { env: envFor(folder, phase), boundMs: 120_000 });
      await reach(run, folder, phase);
      run.closeStdout();
      const result = await run.result();

      expect(withExitAmong(await outcomeOf(result, folder, repo, hash), [0, 1, 141])).toEqual(cleanEndAmong([0, 1, 141]));
      expect(result.stderr).not.toMatch(/EPIPE/);
    });
  });
});
