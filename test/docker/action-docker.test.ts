/**
 * The root Dockerfile builds on the local stand-in for node:20-alpine (no registry here) and the
 * image runs the CLI on a mounted repository. The stand-in has no Alpine package mirror, so it is
 * built with DOCKER_CLI=skip: what is proven is the bundle running in the image, not `apk add`.
 */
import { afterAll, describe, expect, it } from "vitest";
import { docker, requireDockerInCI, STANDIN_IMAGES, TEST_LABEL, uniqueName } from "../helpers/docker.js";
import { copyFixture, REPO_ROOT } from "../helpers/fixtures.js";

const image = uniqueName("cli-image");

describe.skipIf(!requireDockerInCI())("the container image", { timeout: 600_000 }, () => {
  afterAll(async () => {
    await docker(["image", "rm", "-f", image], { reject: false });
  });

  it(`builds FROM the ${STANDIN_IMAGES.node} stand-in and checks a mounted product, exit code and report as the CLI gives them`, async () => {
    await docker(["build", "--label", `${TEST_LABEL}=true`, "--build-arg", "DOCKER_CLI=skip", "-t", image, REPO_ROOT]);
    const version = await docker(["run", "--rm", image, "--version"]);
    expect(String(version.stdout).trim()).toMatch(/^\d+\.\d+\.\d+/);

    await using copy = await copyFixture("property-tax");
    await copy.edit("products/property-tax/infra/service-registry.ts", (text) => text.replace("port: 4104", "port: 4103"));
    const run = await docker(["run", "--rm", "-v", `${copy.root}:/repo`, "-w", "/repo", image, "check", "products/property-tax", "--only", "registry", "--format", "json"], { reject: false });
    expect(run.exitCode, String(run.stderr)).toBe(1);
    const report = JSON.parse(String(run.stdout)) as { checks: { id: string; findings: { rule: string; file: string }[] }[] };
    expect(report.checks[0]!.findings.map((f) => [f.rule, f.file])).toEqual([["registry/duplicate-port", "products/property-tax/infra/service-registry.ts"]]);
  });
});
