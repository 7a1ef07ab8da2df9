/**
 * Issue 8, "What went wrong" 7 (messages), static half: a service that runs a published image and has
 * no Dockerfile of its own (a gateway such as traefik) is fine — no `dockerfile` finding, and never a
 * message with an empty name ("The Dockerfile  of service 'x' does not exist. fix: Create , or …").
 * The product: the conformant fixture with its stateless api-gateway turned into an image-only
 * service (registry `dockerfile: ""`, compose `image:` instead of `build:`, module folder gone).
 * The built CLI, registry and compose checks.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkWithEveryFormat, cliEnv, type CliRun } from "../helpers/cli-outputs.js";
import { copyFixture, type FixtureCopy } from "../helpers/fixtures.js";
import { COMPOSE, REGISTRY } from "../helpers/property-tax-layouts.js";
import { expectHonestReport, parseReport } from "../helpers/report-invariants.js";

describe("issue 8 (7): an image-only service (no Dockerfile)", { timeout: 300_000 }, () => {
  let copy: FixtureCopy;
  let run: CliRun;

  beforeAll(async () => {
    copy = await copyFixture("property-tax");
    await copy.edit(REGISTRY, (text) => text.replace('dockerfile: "modules/shared/api-gateway/Dockerfile",', 'dockerfile: "",'));
    await copy.edit(COMPOSE, (text) =>
      text.replace('    build:\n      context: ../..\n      dockerfile: "modules/shared/api-gateway/Dockerfile"\n', '    image: "traefik:v3.1"\n'),
    );
    await rm(join(copy.root, "modules/shared/api-gateway"), { recursive: true });
    run = await checkWithEveryFormat(copy.root, ["--only", "registry,compose"], { env: cliEnv() });
  }, 300_000);
  afterAll(() => copy?.[Symbol.asyncDispose]());

  it("gets no dockerfile finding at all: registry and compose pass, exit 0", () => {
    const report = parseReport(run.files.json);
    const dockerfileFindings = report.checks.flatMap((c) => c.findings).filter((f) => /dockerfile/i.test(f.rule));
    expect(dockerfileFindings.map((f) => `${f.rule}: ${f.message}`)).toEqual([]);
    expect(report.checks.map((c) => [c.id, c.status])).toEqual([
      ["registry", "pass"],
      ["compose", "pass"],
    ]);
    expect(run.exitCode, run.stderr).toBe(0);
    expectHonestReport(report, run.files);
  });

  it("never prints a message with an empty name (`Dockerfile  of`, `Create ,`, `registry's .`)", () => {
    for (const text of run.everything) {
      expect(text).not.toMatch(/Dockerfile {2}of|Create , or|registry's \.|dockerfile \.$/m);
    }
  });
});
