/**
 * Choosing the Compose CLI: `--compose-command` and CIVIC_COMPOSE_COMMAND through the built CLI in a
 * child process. A value that names no Compose CLI is exit 2 naming the flag or the variable; one
 * that names a CLI not installed here is exit 3 naming it (on a real engine, with a PATH that really
 * lacks the standalone `docker-compose`). Which CLI a run really used, and that each one works, is
 * test/docker/e2e-compose.test.ts and test/docker/compose-versions.test.ts.
 */
import { execa, type Options } from "execa";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HELP } from "../../src/cli/help.js";
import { UsageError } from "../../src/core/errors.js";
import type { Report } from "../../src/core/report-model.js";
import { composeCommandFromEnv, parseComposeCommand } from "../../src/docker/compose-cli.js";
import { requireDockerInCI } from "../helpers/docker.js";
import { REPO_ROOT } from "../helpers/fixtures.js";

const CLI = join(REPO_ROOT, "bin", "civic-conformance.js");
const PRODUCT = "fixtures/property-tax/products/property-tax";
const ENV = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1" };

function cli(args: readonly string[], options: Options = {}) {
  return execa(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env: ENV, extendEnv: false, reject: false, timeout: 120_000, ...options });
}

describe("naming the Compose CLI", () => {
  it("takes `docker compose` and `docker-compose`, spacing free, and remembers where the choice came from", () => {
    expect(parseComposeCommand("docker compose", "--compose-command")).toEqual({ choice: "docker compose", source: "--compose-command" });
    expect(parseComposeCommand("  docker \t compose ", "--compose-command")).toEqual({ choice: "docker compose", source: "--compose-command" });
    expect(composeCommandFromEnv({ CIVIC_COMPOSE_COMMAND: "docker-compose" })).toEqual({ choice: "docker-compose", source: "CIVIC_COMPOSE_COMMAND" });
    expect(composeCommandFromEnv({ CIVIC_COMPOSE_COMMAND: " " })).toBeUndefined();
    expect(composeCommandFromEnv({})).toBeUndefined();
  });

  it("refuses anything else with the accepted values", () => {
    expect(() => parseComposeCommand("podman-compose", "--compose-command")).toThrow(
      new UsageError("Invalid --compose-command 'podman-compose'. Expected one of docker compose, docker-compose."),
    );
    expect(() => composeCommandFromEnv({ CIVIC_COMPOSE_COMMAND: "docker compose up" })).toThrow(
      new UsageError("Invalid CIVIC_COMPOSE_COMMAND 'docker compose up'. Expected one of docker compose, docker-compose."),
    );
  });

  it("is documented in --help with its variable", () => {
    expect(HELP).toContain("--compose-command <cmd>");
    expect(HELP).toContain("CIVIC_COMPOSE_COMMAND");
  });
});

describe("the CLI with a Compose CLI that cannot be used", { timeout: 120_000 }, () => {
  it("exits 2 for a --compose-command that names no Compose CLI, naming the flag", async () => {
    const result = await cli(["check", PRODUCT, "--runtime", "compose", "--compose-command", "dokcer compose"]);
    expect(result.exitCode).toBe(2);
    expect(String(result.stderr)).toContain("Invalid --compose-command 'dokcer compose'. Expected one of docker compose, docker-compose.");
    expect(String(result.stderr)).not.toMatch(/\n\s+at /);
  });

  it("exits 2 for --compose-command with a runtime that boots no compose stack", async () => {
    const result = await cli(["check", PRODUCT, "--runtime", "embedded", "--compose-command", "docker-compose"]);
    expect(result.exitCode).toBe(2);
    expect(String(result.stderr)).toContain("--compose-command needs --runtime compose or auto.");
  });

  it("exits 2 for a CIVIC_COMPOSE_COMMAND that names no Compose CLI, naming the variable, before any engine is asked", async () => {
    // No docker on PATH at all: the value is refused before the runtime looks for an engine.
    const result = await cli(["check", PRODUCT, "--runtime", "compose", "--only", "own-database"], { env: { ...ENV, PATH: "/nonexistent", CIVIC_COMPOSE_COMMAND: "podman-compose" } });
    expect(result.exitCode).toBe(2);
    expect(String(result.stderr)).toContain("Invalid CIVIC_COMPOSE_COMMAND 'podman-compose'. Expected one of docker compose, docker-compose.");
    expect(String(result.stderr)).not.toMatch(/\n\s+at /);
  });

  it("ignores CIVIC_COMPOSE_COMMAND where no compose runtime starts (--runtime embedded)", async () => {
    const result = await cli(["check", PRODUCT, "--runtime", "embedded", "--only", "registry"], { env: { ...ENV, CIVIC_COMPOSE_COMMAND: "podman-compose" } });
    expect(result.exitCode, String(result.stderr)).toBe(0);
  });
});

describe.skipIf(!requireDockerInCI())("the CLI asked for a Compose CLI that is not installed", { timeout: 180_000 }, () => {
  /** A PATH holding only `node` and the docker CLI: the engine answers, the standalone `docker-compose` does not exist. */
  let bin: string;

  beforeAll(async () => {
    bin = await mkdtemp(join(tmpdir(), "civic-path-"));
    const which = async (tool: string) => String((await execa("sh", ["-c", `command -v ${tool}`])).stdout).trim();
    await symlink(process.execPath, join(bin, "node"));
    await symlink(await which("docker"), join(bin, "docker"));
  });

  afterAll(async () => {
    await rm(bin, { recursive: true, force: true });
  });

  for (const [how, args, env, source] of [
    ["--compose-command", ["--compose-command", "docker-compose"], {}, "--compose-command"],
    ["CIVIC_COMPOSE_COMMAND", [], { CIVIC_COMPOSE_COMMAND: "docker-compose" }, "CIVIC_COMPOSE_COMMAND"],
  ] as const) {
    it(`exits 3 when ${how} asks for docker-compose and it does not answer, naming ${source}, and every live check is an error`, async () => {
      const result = await cli(["check", PRODUCT, "--runtime", "compose", "--only", "own-database", "--format", "json", ...args], { env: { ...ENV, ...env, PATH: bin } });
      expect(result.exitCode, String(result.stderr)).toBe(3);
      const expected = `${source} asks for \`docker-compose\` (the standalone Compose CLI), and \`docker-compose version\` does not answer here`;
      expect(String(result.stderr)).toContain(expected);
      const report = JSON.parse(String(result.stdout)) as Report;
      expect(report.checks.map((check) => [check.id, check.status])).toEqual([["own-database", "error"]]);
      expect(report.checks[0]!.reason).toContain(expected);
    });
  }
});
