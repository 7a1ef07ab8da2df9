/**
 * Live checks that start before the runtime has finished starting (`pipeline/early-checks.ts`):
 * started only once both the instances are ready and the run's context exists, and only where every
 * instance has a scratch server of its own; kept only when the runtime's own environment has the
 * same instances at the same places and they did not end in error (an input error included: the
 * run again says it); their progress and log lines above debug held back until then. Synthetic checks and environments: the compose side
 * (when the hook fires) is tested on the real engine in test/docker/early-postgres.test.ts.
 */
import { describe, expect, it } from "vitest";
import type { Check, CheckContext } from "../../src/checks/check.js";
import { migrationsCheck } from "../../src/checks/migrations/index.js";
import { ownDatabaseCheck } from "../../src/checks/own-database/index.js";
import { isolationCheck } from "../../src/checks/isolation/index.js";
import { dependenciesCheck } from "../../src/checks/dependencies/index.js";
import { UsageError } from "../../src/core/errors.js";
import { RecordingLogger } from "../../src/core/logger.js";
import type { CheckResult } from "../../src/core/report-model.js";
import { EarlyChecks } from "../../src/pipeline/early-checks.js";
import type { LiveEnvironment, LiveInstance } from "../../src/runtime/runtime.js";

function environment(instances: Array<[name: string, port: number]>, extra: Partial<LiveEnvironment> = {}, disposable = true): LiveEnvironment {
  const map = new Map<string, LiveInstance>(
    instances.map(([name, port]) => [
      name,
      { name, adminUrl: `postgresql://admin:pw@127.0.0.1:${port}/postgres`, host: "127.0.0.1", port, scratchAdminUrl: () => Promise.resolve(undefined), ...(disposable && { scratchDisposable: true }) },
    ]),
  );
  return { runtime: "compose", instances: map, reach: () => undefined, servicesRunning: false, ...extra };
}

function contextWith(logger = new RecordingLogger()): CheckContext {
  return { logger, signal: new AbortController().signal, options: {} } as unknown as CheckContext;
}

/** A check that records the environment it ran on and ends as `outcome` says (after `ms`), or waits for its signal. */
function recordingCheck(seen: LiveEnvironment[], outcome: "pass" | "throw" | "wait" = "pass", ms = 5): Check {
  return {
    id: "migrations",
    title: "migrations",
    needs: ["postgres"],
    rules: [],
    beforeStackReady: true,
    async run(context) {
      seen.push(context.live!);
      if (outcome === "wait") {
        await new Promise((_resolve, reject) => context.signal.addEventListener("abort", () => reject(new Error("stopped")), { once: true }));
      }
      await new Promise((resolve) => setTimeout(resolve, ms));
      if (outcome === "throw") {
        context.logger.warn("the scratch server went away");
        throw new Error("connection terminated");
      }
      context.logger.info("migrations: applied 10 migrations");
      return { findings: [] };
    },
  };
}

function recordingProgress() {
  const lines: string[] = [];
  return { lines, progress: { started: (check: Check) => lines.push(`started ${check.id}`), finished: (result: CheckResult) => lines.push(`${result.id} ${result.status}`) } };
}

describe("early live checks", () => {
  it("start once the instances are ready and the context exists, whichever comes first, and stand when the runtime ends with the same instances", async () => {
    const seen: LiveEnvironment[] = [];
    const { lines, progress } = recordingProgress();
    const logger = new RecordingLogger();
    const early = new EarlyChecks([recordingCheck(seen)], progress);
    const ready = environment([["postgres", 32769]]);
    early.ready(ready);
    expect(seen).toEqual([]);
    early.attach(contextWith(logger), {});
    expect(seen).toEqual([ready]);
    await new Promise((resolve) => setTimeout(resolve, 30));
    // Nothing shown before the runtime's own environment says the results stand.
    expect(lines).toEqual([]);
    expect(logger.entries.filter((entry) => entry.level !== "debug")).toEqual([]);

    const kept = early.keptFor(environment([["postgres", 32769]], { servicesRunning: true }))!;
    expect(kept.kept.map((check) => check.id)).toEqual(["migrations"]);
    const { results, again } = await kept.results;
    expect(results.map((result) => `${result.id} ${result.status}`)).toEqual(["migrations pass"]);
    expect(again).toEqual([]);
    expect(lines).toEqual(["started migrations", "migrations pass"]);
    expect(logger.entries.filter((entry) => entry.level === "info").map((entry) => entry.message)).toEqual(["migrations: applied 10 migrations"]);
  });

  it("are set aside, stopped and not shown when the runtime ends with other instances, one unstarted, or another port", async () => {
    for (const final of [
      environment([["postgres", 32769], ["reporting", 32770]]),
      environment([["postgres", 32769]], { unstarted: { causes: new Map([["reporting", "init script failed"]]), error: new Error("init script failed") } }),
      environment([["postgres", 40000]]),
    ]) {
      const seen: LiveEnvironment[] = [];
      const { lines, progress } = recordingProgress();
      const logger = new RecordingLogger();
      const early = new EarlyChecks([recordingCheck(seen, "wait")], progress);
      early.attach(contextWith(logger), {});
      early.ready(environment([["postgres", 32769]]));
      expect(seen).toHaveLength(1);
      expect(early.keptFor(final)).toBeUndefined();
      await early.drop();
      expect(lines).toEqual([]);
      expect(logger.entries.filter((entry) => entry.level !== "debug")).toEqual([]);
    }
  });

  it("run again, with what they said kept for --verbose only, when they ended in error before the stack was ready", async () => {
    const seen: LiveEnvironment[] = [];
    const { lines, progress } = recordingProgress();
    const logger = new RecordingLogger();
    const early = new EarlyChecks([recordingCheck(seen, "throw")], progress);
    early.attach(contextWith(logger), {});
    early.ready(environment([["postgres", 32769]]));
    const { results, again } = await early.keptFor(environment([["postgres", 32769]]))!.results;
    expect(results).toEqual([]);
    expect(again.map((check) => check.id)).toEqual(["migrations"]);
    expect(lines).toEqual([]);
    expect(logger.entries.filter((entry) => entry.level === "warn" || entry.level === "error")).toEqual([]);
    expect(logger.entries.map((entry) => entry.message)).toContain("(before the stack was ready) the scratch server went away");
  });

  it("do not start where an instance's scratch server is the server under test, nor after being dropped", async () => {
    const seen: LiveEnvironment[] = [];
    const notApart = new EarlyChecks([recordingCheck(seen)], undefined);
    notApart.attach(contextWith(), {});
    notApart.ready(environment([["postgres", 32769]], {}, false));
    expect(seen).toEqual([]);
    expect(notApart.keptFor(environment([["postgres", 32769]], {}, false))).toBeUndefined();

    const dropped = new EarlyChecks([recordingCheck(seen)], undefined);
    await dropped.drop();
    dropped.attach(contextWith(), {});
    dropped.ready(environment([["postgres", 32769]]));
    expect(seen).toEqual([]);
  });

  it("leave an input error to the run again, which passes it on", async () => {
    const inputErrors: UsageError[] = [];
    const failing: Check = {
      ...recordingCheck([]),
      run: () => Promise.reject(new UsageError("migration.sql cannot be read", { file: "prisma/migrations/1/migration.sql" })),
    };
    const kept = new EarlyChecks([failing], undefined);
    kept.attach(contextWith(), { onInputError: (error) => inputErrors.push(error) });
    kept.ready(environment([["postgres", 32769]]));
    // An input error is `error` too: run again, so not yet passed on.
    const { again } = await kept.keptFor(environment([["postgres", 32769]]))!.results;
    expect(again.map((check) => check.id)).toEqual(["migrations"]);
    expect(inputErrors).toEqual([]);
  });

  it("are, of the built-in checks, the migrations check alone", () => {
    expect([ownDatabaseCheck, isolationCheck, migrationsCheck, dependenciesCheck].filter((check) => check.beforeStackReady).map((check) => check.id)).toEqual(["migrations"]);
  });
});
