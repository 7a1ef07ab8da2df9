/**
 * A compose run killed with SIGKILL (`kill -9`, the OOM killer, a runner's hard stop): no teardown
 * of its own can run, and its Compose CLI, orphaned, goes on booting the stack. The next run of the
 * CLI on this machine finds the killed run's folder (its record names the project it booted), ends
 * the Compose CLI still working from the copy of the compose file there, and removes the project's
 * containers, volumes, networks and images before it checks anything. The built CLI in child
 * processes, the property-tax fixture on the real engine with the LOCAL STAND-IN images.
 */
import { execa } from "execa";
import { access, chmod, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeRunResources } from "../../src/docker/run-resources.js";
import { processesInside } from "../../src/sandbox/process-table.js";
import { warmComposeBuildCache } from "../helpers/compose-build-cache.js";
import { announceStandins, dockerList, NOTHING_LEFT, projectLeftovers, requireDockerInCI } from "../helpers/docker.js";
import { fixture, REPO_ROOT } from "../helpers/fixtures.js";

const CLI = join(REPO_ROOT, "bin", "civic-conformance.js");
const PRODUCT = join(fixture("property-tax"), "products", "property-tax");
const PROJECT_LINE = /compose: booting project (civic-property-tax-[0-9a-f]{8})/;

describe.skipIf(!requireDockerInCI())("the run after a compose run killed with SIGKILL", { timeout: 600_000 }, () => {
  let tempRoot: string;
  let project = "";
  let killedPid: number;
  let containersAtKill: string[];
  let next: Awaited<ReturnType<typeof execa>>;

  beforeAll(async () => {
    await announceStandins();
    await access(join(REPO_ROOT, "dist", "cli.js"));
    await warmComposeBuildCache(PRODUCT, fixture("property-tax"));
    // TMPDIR of both runs: where their run folders go (0755, so the embedded server's user could reach it too).
    tempRoot = await mkdtemp(join(tmpdir(), "civic-killed-run-"));
    await chmod(tempRoot, 0o755);
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1", TMPDIR: tempRoot, ...(process.env.DOCKER_HOST && { DOCKER_HOST: process.env.DOCKER_HOST }) };

    const killed = execa(process.execPath, [CLI, "check", PRODUCT, "--runtime", "compose", "--only", "own-database"], { cwd: REPO_ROOT, env, extendEnv: false, reject: false, timeout: 480_000 });
    killedPid = killed.pid!;
    let stderr = "";
    killed.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    // Killed once the stack has its first container: the Compose CLI is still creating the rest.
    const deadline = Date.now() + 300_000;
    for (;;) {
      project = PROJECT_LINE.exec(stderr)?.[1] ?? "";
      if (project && (await dockerList(["ps", "-a", "-q", "--filter", `label=com.docker.compose.project=${project}`])).length > 0) break;
      if (Date.now() > deadline) throw new Error(`no container of the run appeared:\n${stderr}`);
      await sleep(250);
    }
    killed.kill("SIGKILL");
    await killed;
    containersAtKill = (await projectLeftovers(project)).containers ?? [];

    next = await execa(process.execPath, [CLI, "check", PRODUCT, "--only", "registry"], { cwd: REPO_ROOT, env, extendEnv: false, reject: false, timeout: 300_000 });
  }, 600_000);

  afterAll(async () => {
    if (project) await removeRunResources(project, { PATH: process.env.PATH });
    for (const process of tempRoot ? await processesInside(tempRoot) : []) globalThis.process.kill(process.pid, "SIGKILL");
    if (tempRoot) await rm(tempRoot, { recursive: true, force: true });
  }, 120_000);

  it("finds the stack the killed run left booting", () => {
    expect(project).not.toBe("");
    expect(containersAtKill.length).toBeGreaterThan(0);
  });

  it("ends its Compose CLI and removes every container, volume, network and image of its project, and says so", async () => {
    expect(next.exitCode, String(next.stderr)).toBe(0);
    expect(String(next.stderr)).toMatch(
      new RegExp(`reaped what an earlier run \\(pid ${killedPid}\\) left when it was killed: (ended \\d+ other process(es)? working there, )?removed compose project ${project} \\(containers, volumes, networks, images\\), removed ${tempRoot}/civic-conformance-run-`),
    );
    expect(await projectLeftovers(project)).toEqual(NOTHING_LEFT);
    expect(await processesInside(tempRoot)).toEqual([]);
    // Both runs' folders are gone: the killed one reaped, the next one removed at its end.
    expect(await readdir(tempRoot)).toEqual([]);
  });
});
