/**
 * The live part of `dependencies` against real containers on a real Docker network: calls are made
 * from inside the caller's container, by node's fetch in a node image and by bash's /dev/tcp in an
 * image without node. The images are the LOCAL STAND-INS for node:20-alpine and postgres:16-alpine
 * that scripts/ci/provision-docker.sh builds (no registry is reachable here).
 */
import { randomBytes } from "node:crypto";
import { execa, execaSync } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probeDependencies, type DependencyCall } from "../src/checks/dependencies/live-probe.js";
import type { RunningStack } from "../src/runtime/runtime.js";

const TEST_LABEL = "civic.test=true";
const engineAnswers = execaSync("docker", ["info", "--format", "{{.ServerVersion}}"], { reject: false }).exitCode === 0;
if (!engineAnswers && process.env.CI) throw new Error("no Docker engine answers; run scripts/ci/provision-docker.sh");
if (!engineAnswers) console.warn("dependencies-live: SKIPPED, no Docker engine answers (run scripts/ci/provision-docker.sh)");

const REGISTRY = "products/property-tax/infra/service-registry.ts";

function call(callerKey: string, variable: string, url: string, line: number): DependencyCall {
  return { caller: { key: callerKey, hostname: callerKey }, variable, url, file: REGISTRY, line };
}

describe.skipIf(!engineAnswers)("dependencies live probe from inside the compose network", { timeout: 180_000 }, () => {
  const suffix = randomBytes(4).toString("hex");
  const network = `civic-test-dependencies-${suffix}`;
  const containers: string[] = [];
  let stack: RunningStack;

  async function start(args: string[]): Promise<string> {
    const { stdout } = await execa("docker", ["run", "-d", "--label", TEST_LABEL, "--network", network, ...args]);
    containers.push(stdout.trim());
    return stdout.trim();
  }

  beforeAll(async () => {
    await execa("docker", ["network", "create", "--label", TEST_LABEL, network]);
    // Answers 404 on every path: any HTTP status proves the dependency is reachable.
    await start(["--network-alias", "assessment-roll", "node:20-alpine", "node", "-e", "require('http').createServer((q, s) => { s.statusCode = 404; s.end(); }).listen(4104)"]);
    const nodeCaller = await start(["node:20-alpine", "node", "-e", "setInterval(() => {}, 1 << 30)"]);
    const bashCaller = await start(["--entrypoint", "sleep", "postgres:16-alpine", "infinity"]);
    const byService = new Map([
      ["api-gateway", nodeCaller],
      ["tax-certificates", bashCaller],
    ]);
    stack = {
      project: network,
      dockerEnv: {},
      postgresImage: "postgres:16-alpine",
      containerOf: (service) => byService.get(service),
      imageOf: () => undefined,
      networksOf: () => [network],
    };
    // The server must listen before the probes run; the caller's own fetch is the readiness test.
    for (let attempt = 0; attempt < 50; attempt++) {
      const probe = await execa("docker", ["exec", nodeCaller, "node", "-e", "fetch('http://assessment-roll:4104').then(() => {}, () => process.exit(1))"], { reject: false });
      if (probe.exitCode === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }, 180_000);

  afterAll(async () => {
    if (containers.length > 0) await execa("docker", ["rm", "-f", ...containers], { reject: false });
    await execa("docker", ["network", "rm", network], { reject: false });
  }, 60_000);

  it("reports dependencies/unreachable for calls that do not answer, and lists the ones that do", async () => {
    const calls = [
      call("api-gateway", "ASSESSMENT_ROLL_URL", "http://assessment-roll:4104", 92),
      call("api-gateway", "WRONG_PORT_URL", "http://assessment-roll:4199", 92),
      call("api-gateway", "LEDGER_URL", "http://ledger:4104", 92),
      call("tax-certificates", "ASSESSMENT_ROLL_URL", "http://assessment-roll:4104", 153),
      call("tax-certificates", "WRONG_PORT_URL", "http://assessment-roll:4199", 153),
      call("tax-sale-proceedings", "ASSESSMENT_ROLL_URL", "http://assessment-roll:4104", 167),
    ];
    const outcome = await probeDependencies(calls, stack, { env: process.env, timeoutMs: 5_000, concurrency: 2, signal: new AbortController().signal });

    expect(outcome.unprobed).toEqual([]);
    expect([...outcome.answered].sort()).toEqual([
      "api-gateway → http://assessment-roll:4104 (HTTP 404)",
      "tax-certificates → http://assessment-roll:4104 (HTTP/1.1 404 Not Found)",
    ]);
    const findings = [...outcome.findings].sort((a, b) => a.message.localeCompare(b.message));
    expect(findings.map(({ rule, severity, service, file, line }) => ({ rule, severity, service, file, line }))).toEqual([
      { rule: "dependencies/unreachable", severity: "error", service: "tax-sale-proceedings", file: REGISTRY, line: 167 },
      { rule: "dependencies/unreachable", severity: "error", service: "api-gateway", file: REGISTRY, line: 92 },
      { rule: "dependencies/unreachable", severity: "error", service: "api-gateway", file: REGISTRY, line: 92 },
      { rule: "dependencies/unreachable", severity: "error", service: "tax-certificates", file: REGISTRY, line: 153 },
    ]);
    expect(findings.map((finding) => finding.message)).toEqual([
      '"tax-sale-proceedings" has no running container in the booted stack, so its call ASSESSMENT_ROLL_URL (http://assessment-roll:4104) cannot happen.',
      expect.stringMatching(/^From inside "api-gateway", LEDGER_URL \(http:\/\/ledger:4104\) does not answer: (ENOTFOUND|EAI_AGAIN|no answer within 5 s)\.$/),
      'From inside "api-gateway", WRONG_PORT_URL (http://assessment-roll:4199) does not answer: ECONNREFUSED.',
      'From inside "tax-certificates", WRONG_PORT_URL (http://assessment-roll:4199) does not answer: connection failed.',
    ]);
  });
});
