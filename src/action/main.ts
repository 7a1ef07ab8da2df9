import { rm } from "node:fs/promises";
import * as core from "@actions/core";
import { EnvironmentError, UsageError } from "../core/errors.js";
import { maskSecrets } from "../core/secrets.js";
import { runCleanups } from "../core/cleanup-registry.js";
import { parseActionSettings } from "./action-settings.js";
import { ActionsLogger, announceSecrets } from "./actions-logger.js";
import { runCheckMode } from "./run-action.js";
import { runCommentMode } from "./comment-mode.js";
import { runDiscoverMode } from "./discover-mode.js";
import { scopeTempDir, TEMP_ROOT_STATE } from "./run-scope.js";

/**
 * The action's door: parse the inputs once, run the mode, map the outcome to outputs and to
 * `setFailed`. Only here is the process environment read and the step's result decided.
 */
export async function runAction(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const logger = new ActionsLogger();
  const controller = new AbortController();
  // The runner sends SIGINT on cancel, then SIGTERM: stop the run and let `finally` clean up; the post step catches the rest.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      logger.warn(`${signal} received: stopping and cleaning up`);
      controller.abort(new Error(`cancelled by ${signal}`));
      void runCleanups().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
    });
  }
  let tempRoot: string | undefined;
  try {
    const settings = parseActionSettings((name) => core.getInput(name), env.GITHUB_WORKSPACE || process.cwd());
    if (settings.mode === "discover") {
      core.setOutput("products", JSON.stringify(await runDiscoverMode(settings, logger)));
      return;
    }
    if (settings.mode === "comment") {
      await runCommentMode(settings, env, logger);
      return;
    }
    tempRoot = await scopeTempDir(env.RUNNER_TEMP, env);
    core.saveState(TEMP_ROOT_STATE, tempRoot);
    const outcome = await runCheckMode(settings, env, logger, controller.signal);
    core.setOutput("verdict", outcome.verdict);
    core.setOutput("failed-checks", outcome.failedChecks.join(","));
    core.setOutput("report-json", outcome.reportJson);
    if (outcome.failure) core.setFailed(outcome.failure);
  } catch (error) {
    if (error instanceof UsageError) core.setFailed(maskSecrets(error.format()));
    else if (error instanceof EnvironmentError) core.setFailed(maskSecrets(error.message));
    else {
      // A bug: one line on the run; the stack only in the debug log (re-run with debug logging).
      const message = error instanceof Error ? error.message : String(error);
      core.setFailed(`civic-conformance: internal error (please report it): ${maskSecrets(message.split("\n")[0] ?? "")}`);
      if (error instanceof Error && error.stack) core.debug(maskSecrets(error.stack));
    }
  } finally {
    for (const failure of await runCleanups()) logger.warn(`cleanup failed: ${failure instanceof Error ? failure.message : String(failure)}`);
    // Everything inside was stopped above; what this cannot remove, the post step tries again.
    if (tempRoot) await rm(tempRoot, { recursive: true, force: true, maxRetries: 3 }).catch((error: unknown) => logger.warn(`cleanup: could not remove ${tempRoot}: ${(error as Error).message}`));
    announceSecrets();
  }
}
