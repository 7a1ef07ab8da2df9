import { setTimeout as sleep } from "node:timers/promises";
import { docker, lastLines, type ProcessEnv } from "./docker-cli.js";
import { PROJECT_LABEL } from "./stack-state.js";

/** Labels what a run creates outside its compose project (the scratch-server container), with the project name. */
export const RUN_LABEL = "civic.conformance.run";

/**
 * The one teardown of a run's Docker resources, by label: everything of the compose project (its
 * containers, also those created while `down` ran, volumes and networks of a half-created project),
 * the scratch-server container labelled with the run, and the images built for the run (v1 names
 * them `<project>_<service>`, v2 `<project>-<service>`), by name. The compose-stack runtime calls it after
 * `down`; the action's `post:` step calls it for a run that was cancelled before its own teardown.
 */
export async function removeRunResources(project: string, env: ProcessEnv): Promise<number> {
  const list = async (args: string[]) =>
    (await docker(args, { env, timeoutMs: 30_000 })).stdout
      .split("\n")
      .map((line) => line.trim())
      .filter(Boolean);
  const containers = [
    ...(await list(["ps", "-a", "-q", "--filter", `label=${PROJECT_LABEL}=${project}`])),
    ...(await list(["ps", "-a", "-q", "--filter", `label=${RUN_LABEL}=${project}`])),
  ];
  if (containers.length > 0) await docker(["rm", "-f", "-v", ...new Set(containers)], { env, timeoutMs: 60_000 });
  const volumes = await list(["volume", "ls", "-q", "--filter", `label=${PROJECT_LABEL}=${project}`]);
  if (volumes.length > 0) await docker(["volume", "rm", "-f", ...volumes], { env, timeoutMs: 60_000 });
  const networks = await list(["network", "ls", "-q", "--filter", `label=${PROJECT_LABEL}=${project}`]);
  if (networks.length > 0) await docker(["network", "rm", ...networks], { env, timeoutMs: 60_000 });
  // By name, never by ID: an image built for the run may be another image too (a build that is only
  // `FROM postgres:16` IS that image), and `rmi` of its ID would take the other names with it.
  const names = (reference: string) => list(["images", "--filter", `reference=${reference}`, "--format", "{{.Repository}}:{{.Tag}}"]);
  const images = [...new Set([...(await names(`${project}_*`)), ...(await names(`${project}-*`))])].filter((name) => !name.endsWith(":<none>"));
  if (images.length > 0) await docker(["rmi", "-f", ...images], { env, timeoutMs: 120_000 });
  return new Set(containers).size + volumes.length + networks.length + images.length;
}

/** Between two sweeps of `settleRunResources`. */
const SETTLE_INTERVAL_MS = 2_000;
/** Empty sweeps in a row that count as settled. */
const SETTLE_QUIET_SWEEPS = 3;
/** The longest the settling goes on. */
const SETTLE_LIMIT_MS = 60_000;

/**
 * After a `build`/`up` was killed part-way (Ctrl-C, SIGTERM, a timeout), the engine finishes what
 * the client had asked for on its own: a build step commits its image, a container is created,
 * seconds after the client is gone and after `down` and the first sweep ran. So the sweep is
 * repeated until it finds nothing SETTLE_QUIET_SWEEPS times in a row (at most SETTLE_LIMIT_MS);
 * returns how many resources the repeats removed.
 */
export async function settleRunResources(project: string, env: ProcessEnv, { intervalMs = SETTLE_INTERVAL_MS, limitMs = SETTLE_LIMIT_MS } = {}): Promise<number> {
  const deadline = performance.now() + limitMs;
  let removed = 0;
  for (let quiet = 0; quiet < SETTLE_QUIET_SWEEPS && performance.now() < deadline; ) {
    await sleep(intervalMs);
    const found = await removeRunResources(project, env);
    removed += found;
    quiet = found === 0 ? quiet + 1 : 0;
  }
  return removed;
}

/**
 * The reaper's teardown of the compose projects a killed run booted (sandbox/leftover-runs.ts): each
 * project swept as the runtime's own teardown sweeps it, then settled, since the engine may still be
 * finishing a build or a container the killed Compose CLI had asked for. Throws when the engine does
 * not answer, so the run folder is kept for a later run.
 */
export function composeProjectsTeardown(env: ProcessEnv): (projects: readonly string[]) => Promise<void> {
  return async (projects) => {
    const answered = await docker(["version", "--format", "{{.Server.Version}}"], { env, timeoutMs: 30_000 });
    if (answered.exitCode !== 0) throw new Error(`no Docker engine answers to remove compose project ${projects.join(", ")}: ${lastLines(answered.stderr, 3) || `docker version exited with ${answered.exitCode}`}`);
    for (const project of projects) {
      await removeRunResources(project, env);
      await settleRunResources(project, env, { limitMs: 30_000 });
    }
  };
}
