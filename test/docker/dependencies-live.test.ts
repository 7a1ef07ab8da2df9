/**
 * The live part of `dependencies` against real containers on a real Docker network, with the
 * conformant fixture's registry and compose file: every extraEnv URL is resolved, connected to and
 * requested from inside the network, by `node -e` inside the caller's own container (api-gateway)
 * and, for callers with no container, by bash in a throwaway container of the postgres image.
 * The images are the LOCAL STAND-INS for node:20-alpine and postgres:16-alpine built by
 * scripts/ci/provision-docker.sh (no registry is reachable here); nothing is pulled.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dependenciesCheck } from "../../src/checks/dependencies/index.js";
import type { CheckOutput } from "../../src/checks/check.js";
import type { LiveEnvironment, RunningStack } from "../../src/runtime/runtime.js";
import { COMPOSE, lineOf, runOnCopy } from "../helpers/compose-check-run.js";
import { announceStandins, createNetwork, docker, requireDockerInCI, runContainer, STANDIN_IMAGES, TEST_LABEL, waitUntil, type RunningContainer } from "../helpers/docker.js";
import { copyFixture, type FixtureCopy } from "../helpers/fixtures.js";

/**
 * One node process standing in for four services under four network aliases: 200 on
 * assessment-roll:4104/health, 500 on auth-gateway:4100, a socket that accepts and never answers on
 * payment-processing:4106, and nothing at all on tax-billing-instalment:4103. notification-engine
 * has no alias: its name does not resolve.
 */
const STAND_IN_SERVER = `
const http = require("node:http"), net = require("node:net");
http.createServer((q, s) => { s.statusCode = q.url === "/health" ? 200 : 404; s.end(); }).listen(4104);
http.createServer((q, s) => { s.statusCode = 500; s.end(); }).listen(4100);
net.createServer(() => {}).listen(4106);
`;

describe.skipIf(!requireDockerInCI())("dependencies live probe from inside the compose network", { timeout: 240_000 }, () => {
  let network: { name: string } & AsyncDisposable;
  let server: string | undefined;
  let caller: RunningContainer;
  let copy: FixtureCopy;
  let output: CheckOutput;
  let compose: string;

  beforeAll(async () => {
    await announceStandins();
    copy = await copyFixture("property-tax");
    compose = await copy.read(COMPOSE);
    network = await createNetwork();
    const aliases = ["assessment-roll", "auth-gateway", "payment-processing", "tax-billing-instalment"];
    const started = await docker(["run", "-d", "--label", `${TEST_LABEL}=true`, "--network", network.name, ...aliases.flatMap((alias) => ["--network-alias", alias]), STANDIN_IMAGES.node, "node", "-e", STAND_IN_SERVER]);
    server = String(started.stdout);
    caller = await runContainer({ image: STANDIN_IMAGES.node, network: network.name, command: ["node", "-e", "setInterval(() => {}, 1 << 30)"] });
    await waitUntil("the stand-in server to listen", async () => (await caller.exec(["node", "-e", "fetch('http://assessment-roll:4104/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"])).exitCode === 0);

    const stack: RunningStack = {
      project: network.name,
      dockerEnv: process.env,
      postgresImage: STANDIN_IMAGES.postgres,
      // Only api-gateway runs (node inside); every other caller is probed from the network with bash.
      containerOf: (service) => (service === "api-gateway" ? caller.id : undefined),
      imageOf: () => undefined,
      networksOf: () => [network.name],
    };
    const live: LiveEnvironment = {
      runtime: "compose",
      instances: new Map(),
      reach: () => undefined,
      servicesRunning: true,
      stack,
    };
    output = await runOnCopy(dependenciesCheck, copy, live);
  }, 240_000);

  afterAll(async () => {
    await caller?.[Symbol.asyncDispose]();
    if (server) await docker(["rm", "-f", server], { reject: false });
    await network?.[Symbol.asyncDispose]();
    await copy?.[Symbol.asyncDispose]();
  }, 60_000);

  const at = (service: string, variable: string) => lineOf(compose, `${variable}:`, `\n  ${service}:\n`);

  it("reports each unreachable URL under its own rule, at the caller's line in the compose file, and passes the ones that answer", () => {
    const found = output.findings.map(({ rule, severity, service, file, line }) => ({ rule, severity, service, file, line }));
    const expected = [
      { rule: "dependencies/dns-failure", service: "billing-invoicing", variable: "NOTIFICATION_ENGINE_URL" },
      { rule: "dependencies/http-status", service: "api-gateway", variable: "AUTH_GATEWAY_URL" },
      { rule: "dependencies/connection-refused", service: "api-gateway", variable: "TAX_BILLING_URL" },
      { rule: "dependencies/connection-refused", service: "payment-processing", variable: "TAX_BILLING_URL" },
      { rule: "dependencies/connection-refused", service: "tax-certificates", variable: "TAX_BILLING_URL" },
      { rule: "dependencies/timeout", service: "tax-sale-proceedings", variable: "PAYMENT_PROCESSING_URL" },
    ].map(({ rule, service, variable }) => ({ rule, severity: "error", service, file: COMPOSE, line: at(service, variable) }));
    const order = (a: { service?: string; line?: number }, b: { service?: string; line?: number }) => (a.line ?? 0) - (b.line ?? 0);
    expect(found.sort(order)).toEqual(expected.sort(order));
    expect(output.notes).toEqual(["live probe: 10 dependency URLs of 6 services probed from inside the compose network; 4 answered"]);
  });

  it("says what was probed and what came back, in plain words without any password", () => {
    const dnsFailure = output.findings.find((finding) => finding.rule === "dependencies/dns-failure");
    // ENOTFOUND, or no answer when Docker's resolver forwards the unknown name to an unreachable upstream.
    expect(dnsFailure?.message).toMatch(
      /^NOTIFICATION_ENGINE_URL of "billing-invoicing" \(http:\/\/notification-engine:4101\) names host "notification-engine", which does not resolve from inside the compose network of "billing-invoicing" \((ENOTFOUND|no answer from the resolver within 5 s)\)\.$/,
    );
    const messages = output.findings.filter((finding) => finding !== dnsFailure).map((finding) => finding.message).sort();
    expect(messages).toEqual(
      [
        'AUTH_GATEWAY_URL of "api-gateway" (http://auth-gateway:4100): GET /health on auth-gateway:4100 answered HTTP 500 from inside the compose network of "api-gateway".',
        'PAYMENT_PROCESSING_URL of "tax-sale-proceedings" (http://payment-processing:4106): http response on payment-processing:4106 did not finish within 5 s from inside the compose network of "tax-sale-proceedings".',
        'TAX_BILLING_URL of "api-gateway" (http://tax-billing-instalment:4103): nothing accepts connections on tax-billing-instalment:4103 from inside the compose network of "api-gateway" (ECONNREFUSED).',
        'TAX_BILLING_URL of "payment-processing" (http://tax-billing-instalment:4103): nothing accepts connections on tax-billing-instalment:4103 from inside the compose network of "payment-processing" (ECONNREFUSED).',
        'TAX_BILLING_URL of "tax-certificates" (http://tax-billing-instalment:4103): nothing accepts connections on tax-billing-instalment:4103 from inside the compose network of "tax-certificates" (ECONNREFUSED).',
      ].sort(),
    );
  });
});
