import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { COMPOSE_COPY_NAME } from "../docker/compose-file-copy.js";
import { docker, type ProcessEnv } from "../docker/docker-cli.js";
import { removeRunResources } from "../docker/run-resources.js";
import { PROJECT_LABEL } from "../docker/stack-state.js";
import type { Logger } from "../core/logger.js";

/**
 * Compose v1 and v2 record the path of the compose file (as given to `-f`) on every container; the
 * run's copy lives in the temp root. (`…project.working_dir` is the product folder: the run passes
 * `--project-directory`.)
 */
const CONFIG_FILES_LABEL = "com.docker.compose.project.config_files";

/** What the `post:` step found and removed. */
export interface TeardownResult {
  readonly stoppedServers: number[];
  readonly removedProjects: string[];
  readonly removedTempRoot: boolean;
}

/**
 * Tears down what a cancelled or crashed run left under its temp root: embedded PostgreSQL servers
 * (their `postmaster.pid`), compose projects booted from a copy of the compose file there, then the
 * folder itself. Every failure is a warning: a cleanup must never fail the job a second time.
 */
export async function tearDownLeftovers(tempRoot: string, env: ProcessEnv, logger: Logger): Promise<TeardownResult> {
  const runDirs = await subdirectories(tempRoot);
  const stoppedServers: number[] = [];
  const removedProjects: string[] = [];

  for (const pidFile of await postmasterPidFiles(runDirs)) {
    try {
      const pid = Number((await readFile(pidFile, "utf8")).split("\n")[0]);
      if (Number.isInteger(pid) && pid > 0 && (await stopProcess(pid))) stoppedServers.push(pid);
    } catch (error) {
      logger.warn(`post: could not stop the embedded PostgreSQL of ${pidFile}: ${(error as Error).message}`);
    }
  }

  const composeDirs = runDirs.filter((dir) => /[\\/]civic-compose-[^\\/]+$/.test(dir));
  for (const dir of composeDirs) {
    try {
      removedProjects.push(...(await removeComposeProjects(dir, env)));
    } catch (error) {
      logger.warn(`post: could not remove the compose stack booted from ${dir}: ${(error as Error).message}`);
    }
  }

  let removedTempRoot = false;
  try {
    await rm(tempRoot, { recursive: true, force: true, maxRetries: 3 });
    removedTempRoot = true;
  } catch (error) {
    logger.warn(`post: could not remove ${tempRoot}: ${(error as Error).message}`);
  }
  return { stoppedServers, removedProjects, removedTempRoot };
}

async function subdirectories(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => join(dir, entry.name));
  } catch {
    return [];
  }
}

/** The embedded runtime keeps its cluster in `<temp dir>/data`. */
async function postmasterPidFiles(runDirs: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const dir of runDirs) {
    for (const candidate of [join(dir, "data", "postmaster.pid"), join(dir, "postmaster.pid")]) {
      try {
        await readFile(candidate);
        found.push(candidate);
      } catch {
        // No server there.
      }
    }
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGINT is PostgreSQL's fast shutdown; SIGKILL after 10 s. True when a live process was stopped. */
async function stopProcess(pid: number): Promise<boolean> {
  if (!alive(pid)) return false;
  process.kill(pid, "SIGINT");
  for (let waited = 0; waited < 10_000; waited += 100) {
    if (!alive(pid)) return true;
    await sleep(100);
  }
  process.kill(pid, "SIGKILL");
  return true;
}

/**
 * Every project booted from the compose copy in `dir`, torn down as the compose-stack runtime tears
 * down its own: containers, volumes, networks, the run's scratch-server container and built images.
 */
async function removeComposeProjects(dir: string, env: ProcessEnv): Promise<string[]> {
  const copy = join(dir, COMPOSE_COPY_NAME);
  const listed = await docker(["ps", "-a", "--filter", `label=${CONFIG_FILES_LABEL}=${copy}`, "--format", `{{.Label "${PROJECT_LABEL}"}}`], { env, timeoutMs: 30_000 });
  if (listed.exitCode !== 0) throw new Error(listed.stderr.trim() || `docker ps exited with ${listed.exitCode}`);
  const projects = [...new Set(listed.stdout.split("\n").map((line) => line.trim()).filter(Boolean))];
  for (const project of projects) await removeRunResources(project, env);
  return projects;
}
