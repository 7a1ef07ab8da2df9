/**
 * The static part of the `dependencies` check against the conformant fixture and one scripted
 * mutation per rule, and the honest verdict about the live probe it does not run: `skip` when the
 * static part found nothing (never `pass`), `fail` with a note when it found an error.
 */
import { describe, expect, it } from "vitest";
import { dependenciesCheck } from "../../src/checks/dependencies/index.js";
import type { Finding } from "../../src/core/report-model.js";
import type { LiveEnvironment } from "../../src/runtime/runtime.js";
import { COMPOSE, REGISTRY, lineOf, replaceAfter, runOnCopy } from "../helpers/compose-check-run.js";
import { copyFixture, type FixtureCopy } from "../helpers/fixtures.js";

async function findingsOf(copy: FixtureCopy): Promise<Finding[]> {
  const output = await runOnCopy(dependenciesCheck, copy);
  // Without a running stack: skipped exactly when the static part found no error.
  const failed = output.findings.some((finding) => finding.severity === "error");
  expect(output.skipped === undefined, output.skipped).toBe(failed);
  return output.findings;
}

const located = (findings: Finding[]) =>
  findings.map(({ rule, severity, service, file, line }) => ({ rule, severity, service, file, line }));

const entry = (key: string) => `"${key}": {`;

/** A live environment whose services are not running, as the embedded runtime provides. */
const embeddedLive: LiveEnvironment = {
  runtime: "embedded",
  instances: new Map(),
  reach: () => undefined,
  servicesRunning: false,
};

describe("dependencies check, static part", () => {
  it("skips the conformant fixture, saying the live probe needs the compose runtime: never a pass without it", async () => {
    await using copy = await copyFixture("property-tax");
    const output = await runOnCopy(dependenciesCheck, copy);
    expect(output.findings).toEqual([]);
    expect(output.coverage).toBeUndefined();
    expect(output.skipped).toBe(
      "the static part found nothing wrong; the live probe needs the compose runtime (--runtime compose), and no service of the product is running",
    );
  });

  it("says that the embedded runtime does not start services", async () => {
    await using copy = await copyFixture("property-tax");
    const output = await runOnCopy(dependenciesCheck, copy, embeddedLive);
    expect(output.skipped).toMatch(/needs the compose runtime .*the embedded runtime does not start the product's services$/);
  });

  it("fails on a static error and notes that the live probe was skipped", async () => {
    await using copy = await copyFixture("property-tax");
    await replaceAfter(copy, REGISTRY, entry("tax-sale-proceedings"), "http://payment-processing:4106", "http://payment-processing:4116");
    const output = await runOnCopy(dependenciesCheck, copy);
    expect(output.skipped).toBeUndefined();
    expect(output.notes).toEqual(["live probe skipped: it needs the compose runtime (--runtime compose), and no service of the product is running"]);
  });

  it("reports dependencies/unknown-host for an extraEnv URL to a host nobody runs (and the dependency it no longer uses)", async () => {
    await using copy = await copyFixture("property-tax");
    const registry = await replaceAfter(copy, REGISTRY, entry("payment-processing"), "http://tax-billing-instalment:4103", "http://tax-billing:4103");
    expect(located(await findingsOf(copy))).toEqual([
      { rule: "dependencies/unknown-host", severity: "error", service: "payment-processing", file: REGISTRY, line: lineOf(registry, "extraEnv: {", entry("payment-processing")) },
      { rule: "dependencies/unused", severity: "warning", service: "payment-processing", file: REGISTRY, line: lineOf(registry, "dependsOn:", entry("payment-processing")) },
    ]);
  });

  it("accepts an extraEnv URL to an infrastructure service of the compose file", async () => {
    await using copy = await copyFixture("property-tax");
    await replaceAfter(copy, REGISTRY, entry("auth-gateway"), "needsRedis: true,", 'needsRedis: true,\n        extraEnv: { REDIS_URL: "redis://redis:6379" },');
    expect(await findingsOf(copy)).toEqual([]);
  });

  it("reports dependencies/wrong-port for an extraEnv URL on another port than the registered one", async () => {
    await using copy = await copyFixture("property-tax");
    const registry = await replaceAfter(copy, REGISTRY, entry("tax-sale-proceedings"), "http://payment-processing:4106", "http://payment-processing:4116");
    const findings = await findingsOf(copy);
    expect(located(findings)).toEqual([
      { rule: "dependencies/wrong-port", severity: "error", service: "tax-sale-proceedings", file: REGISTRY, line: lineOf(registry, "extraEnv: {", entry("tax-sale-proceedings")) },
    ]);
    expect(findings[0]!.message).toBe(
      'PAYMENT_PROCESSING_URL of "tax-sale-proceedings" calls "payment-processing" on port 4116; "payment-processing" is registered on port 4106.',
    );
  });

  it("reports dependencies/undeclared for an extraEnv URL to a service missing from dependsOn", async () => {
    await using copy = await copyFixture("property-tax");
    const registry = await replaceAfter(
      copy,
      REGISTRY,
      entry("tax-levy-rate"),
      "layer:",
      'extraEnv: { ASSESSMENT_ROLL_URL: "http://assessment-roll:4104" },\n        layer:',
    );
    expect(located(await findingsOf(copy))).toEqual([
      { rule: "dependencies/undeclared", severity: "error", service: "tax-levy-rate", file: REGISTRY, line: lineOf(registry, "extraEnv: {", entry("tax-levy-rate")) },
    ]);
  });

  it("reports dependencies/compose-depends-on when compose does not wait for a declared dependency", async () => {
    await using copy = await copyFixture("property-tax");
    const compose = await replaceAfter(copy, COMPOSE, "\n  billing-invoicing:\n", "      notification-engine:\n        condition: service_healthy\n", "");
    expect(located(await findingsOf(copy))).toEqual([
      { rule: "dependencies/compose-depends-on", severity: "error", service: "billing-invoicing", file: COMPOSE, line: lineOf(compose, "    depends_on:", "\n  billing-invoicing:\n") },
    ]);
  });

  it("warns dependencies/unused for a dependsOn no extraEnv URL calls (and reports the compose depends_on that lacks it)", async () => {
    await using copy = await copyFixture("property-tax");
    const registry = await replaceAfter(copy, REGISTRY, entry("tax-levy-rate"), "layer:", 'dependsOn: ["assessment-roll"],\n        layer:');
    const compose = await copy.read(COMPOSE);
    expect(located(await findingsOf(copy))).toEqual([
      { rule: "dependencies/compose-depends-on", severity: "error", service: "tax-levy-rate", file: COMPOSE, line: lineOf(compose, "    depends_on:", "\n  tax-levy-rate:\n") },
      { rule: "dependencies/unused", severity: "warning", service: "tax-levy-rate", file: REGISTRY, line: lineOf(registry, "dependsOn:", entry("tax-levy-rate")) },
    ]);
  });

  it("reports dependencies/unknown-service for a dependsOn key that is not in the registry", async () => {
    await using copy = await copyFixture("property-tax");
    const registry = await replaceAfter(copy, REGISTRY, entry("payment-processing"), 'dependsOn: ["tax-billing-instalment"]', 'dependsOn: ["tax-billing-instalment", "ledger"]');
    expect(located(await findingsOf(copy))).toEqual([
      { rule: "dependencies/unknown-service", severity: "error", service: "payment-processing", file: REGISTRY, line: lineOf(registry, "dependsOn:", entry("payment-processing")) },
    ]);
  });
});
