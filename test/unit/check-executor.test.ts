/**
 * The check executor runs the live checks one after another, except the checks that only read the
 * server (`readsOnly`: own-database, isolation), which run beside each other and share
 * `--concurrency`; results and progress stay in the checks' order. Synthetic checks with real
 * timers: each records when it ran.
 */
import { describe, expect, it } from "vitest";
import type { Check, CheckContext } from "../../src/checks/check.js";
import { ownDatabaseCheck } from "../../src/checks/own-database/index.js";
import { isolationCheck } from "../../src/checks/isolation/index.js";
import { migrationsCheck } from "../../src/checks/migrations/index.js";
import { dependenciesCheck } from "../../src/checks/dependencies/index.js";
import { RecordingLogger } from "../../src/core/logger.js";
import type { CheckResult } from "../../src/core/report-model.js";
import { executeChecks } from "../../src/pipeline/check-executor.js";

const context = { logger: new RecordingLogger(), signal: new AbortController().signal, options: {} } as unknown as CheckContext;

/** A check that takes `ms` and records the moments it started and ended. */
function timedCheck(id: string, ms: number, readsOnly: boolean, log: string[]): Check {
  return {
    id,
    title: id,
    needs: [],
    rules: [],
    ...(readsOnly && { readsOnly: true }),
    async run() {
      log.push(`${id} start`);
      await new Promise((resolve) => setTimeout(resolve, ms));
      log.push(`${id} end`);
      return { findings: [] };
    },
  };
}

describe("the check executor", () => {
  it("runs consecutive read-only checks beside each other, and every other check alone", async () => {
    const log: string[] = [];
    const finished: string[] = [];
    const results = await executeChecks(
      [timedCheck("a", 60, true, log), timedCheck("b", 10, true, log), timedCheck("c", 10, false, log), timedCheck("d", 10, true, log)],
      context,
      { started() {}, finished: (result: CheckResult) => finished.push(result.id) },
    );
    expect(log).toEqual(["a start", "b start", "b end", "a end", "c start", "c end", "d start", "d end"]);
    // In the checks' order, though b ended first.
    expect(finished).toEqual(["a", "b", "c", "d"]);
    expect(results.map((result) => `${result.id} ${result.status}`)).toEqual(["a pass", "b pass", "c pass", "d pass"]);
  });

  it("shares --concurrency between the checks it runs side by side, and gives it whole to a check alone", async () => {
    const seen: string[] = [];
    const reporting = (id: string, readsOnly: boolean): Check => ({
      id,
      title: id,
      needs: [],
      rules: [],
      ...(readsOnly && { readsOnly: true }),
      run(given) {
        seen.push(`${id} ${given.options.concurrency}`);
        return Promise.resolve({ findings: [] });
      },
    });
    const withConcurrency = { ...context, options: { commandTimeoutMs: 1_000, concurrency: 16, env: {} } } as unknown as CheckContext;
    await executeChecks([reporting("a", true), reporting("b", true), reporting("c", false), reporting("d", true)], withConcurrency);
    expect(seen).toEqual(["a 8", "b 8", "c 16", "d 16"]);
  });

  it("marks only the checks that change nothing on the server or the stack as read-only", () => {
    const readOnly = [ownDatabaseCheck, isolationCheck, migrationsCheck, dependenciesCheck].filter((check) => check.readsOnly).map((check) => check.id);
    expect(readOnly).toEqual(["own-database", "isolation"]);
  });
});
