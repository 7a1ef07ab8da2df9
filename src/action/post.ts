import * as core from "@actions/core";
import { composeProjectsTeardown } from "../docker/run-resources.js";
import { describeReaped, reapLeftoverRuns } from "../sandbox/leftover-runs.js";
import { tempRootCandidates } from "../sandbox/temp-root.js";
import { ActionsLogger } from "./actions-logger.js";
import { tearDownLeftovers } from "./leftovers.js";
import { TEMP_ROOT_STATE } from "./run-scope.js";

/**
 * The `post:` step: runs after the job's steps, also when the run was cancelled, and tears down what
 * the main step left (normally nothing): first the run folders whose CLI is gone (the servers and
 * processes working in them and the compose projects they booted, wherever the run put them: its
 * temp root, or /dev/shm when that root was not reachable by the server's user), then the temp root.
 * Never fails the job: every problem is a warning.
 */
async function post(): Promise<void> {
  const tempRoot = core.getState(TEMP_ROOT_STATE);
  if (!tempRoot) return;
  const logger = new ActionsLogger();
  try {
    const { reaped, failures } = await reapLeftoverRuns([tempRoot, ...tempRootCandidates(process.env)], { tearDownComposeProjects: composeProjectsTeardown(process.env) });
    for (const run of reaped) logger.warn(`post: ${describeReaped(run)}`);
    for (const failure of failures) logger.warn(`post: could not reap ${failure}`);
  } catch (error) {
    logger.warn(`post: reaping failed: ${(error as Error).message}`);
  }
  try {
    const result = await tearDownLeftovers(tempRoot, process.env, logger);
    if (result.stoppedServers.length > 0) logger.warn(`post: stopped ${result.stoppedServers.length} embedded PostgreSQL server(s) a cancelled run left (pid ${result.stoppedServers.join(", ")})`);
    if (result.removedProjects.length > 0) logger.warn(`post: removed the compose project(s) a cancelled run left: ${result.removedProjects.join(", ")}`);
  } catch (error) {
    logger.warn(`post: cleanup failed: ${(error as Error).message}`);
  }
}

await post();
