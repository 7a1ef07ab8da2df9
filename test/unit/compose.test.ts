/**
 * The `compose` check against the conformant property-tax fixture and one scripted mutation per
 * rule (a copy's compose file, init SQL or registry edited), each caught with its exact rule id,
 * severity, service, file and line, and nothing else reported.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { composeCheck } from "../../src/checks/compose/index.js";
import type { Finding } from "../../src/core/report-model.js";
import { COMPOSE, INIT_SQL, REGISTRY, lineOf, replaceAfter, runOnCopy } from "../helpers/compose-check-run.js";
import { copyFixture, type FixtureCopy } from "../helpers/fixtures.js";

async function findingsOf(copy: FixtureCopy): Promise<Finding[]> {
  const output = await runOnCopy(composeCheck, copy);
  expect(output.skipped).toBeUndefined();
  return output.findings;
}

const located = (findings: Finding[]) =>
  findings.map(({ rule, severity, service, file, line }) => ({ rule, severity, service, file, line }));

/** The compose block of one service, as an anchor for `replaceAfter`. */
const block = (name: string) => `\n  ${name}:\n`;

describe("compose check", () => {
  it("passes the conformant fixture with no finding at all", async () => {
    await using copy = await copyFixture("property-tax");
    expect(await findingsOf(copy)).toEqual([]);
  });

  it("reports compose/missing-service at the registry entry, and compose/unknown-service for the renamed module service", async () => {
    await using copy = await copyFixture("property-tax");
    const text = await replaceAfter(copy, COMPOSE, "\n  # ─── Domain layer ───\n", "  tax-levy-rate:\n", "  tax-levy-rates:\n");
    const registry = await copy.read(REGISTRY);
    expect(located(await findingsOf(copy))).toEqual([
      { rule: "compose/missing-service", severity: "error", service: "tax-levy-rate", file: REGISTRY, line: lineOf(registry, '"tax-levy-rate": {') },
      { rule: "compose/unknown-service", severity: "warning", service: undefined, file: COMPOSE, line: lineOf(text, "  tax-levy-rates:") },
    ]);
  });

  it("reports compose/missing-database-url at the environment of a stateful service without one", async () => {
    await using copy = await copyFixture("property-tax");
    const text = await replaceAfter(
      copy,
      COMPOSE,
      block("audit-logging"),
      "      DATABASE_URL: postgresql://audit_logging:${AUDIT_LOGGING_DB_PASSWORD}@postgres:5432/audit_logging\n",
      "",
    );
    expect(located(await findingsOf(copy))).toEqual([
      { rule: "compose/missing-database-url", severity: "error", service: "audit-logging", file: COMPOSE, line: lineOf(text, "    environment:", block("audit-logging")) },
    ]);
  });

  it("reports compose/multiple-database-urls for a second variable holding a PostgreSQL URL", async () => {
    await using copy = await copyFixture("property-tax");
    const replica = "      READ_REPLICA_URL: postgresql://billing_invoicing:x@postgres:5432/assessment_roll\n";
    const text = await replaceAfter(copy, COMPOSE, block("billing-invoicing"), "      NOTIFICATION_ENGINE_URL:", `${replica}      NOTIFICATION_ENGINE_URL:`);
    const findings = await findingsOf(copy);
    expect(located(findings)).toEqual([
      { rule: "compose/multiple-database-urls", severity: "error", service: "billing-invoicing", file: COMPOSE, line: lineOf(text, "READ_REPLICA_URL") },
    ]);
    expect(findings[0]!.message).toContain('database "assessment_roll"');
  });

  it("reports compose/multiple-database-urls for a DATABASE_URL set twice in a list-form environment", async () => {
    await using copy = await copyFixture("property-tax");
    const listForm = [
      "    environment:",
      "      - PORT=4105",
      "      - NODE_ENV=development",
      "      - DATABASE_URL=postgresql://tax_levy_rate:${TAX_LEVY_RATE_DB_PASSWORD}@postgres:5432/tax_levy_rate",
      "      - DATABASE_URL=postgresql://tax_levy_rate:${TAX_LEVY_RATE_DB_PASSWORD}@postgres:5432/tax_levy_rate",
      "",
    ].join("\n");
    await copy.edit(COMPOSE, (text) => text.replace(/    environment:\n      PORT: 4105\n(      .*\n){2}/, listForm));
    const text = await copy.read(COMPOSE);
    const second = lineOf(text, "      - DATABASE_URL=", block("tax-levy-rate")) + 1;
    expect(located(await findingsOf(copy))).toEqual([
      { rule: "compose/multiple-database-urls", severity: "error", service: "tax-levy-rate", file: COMPOSE, line: second },
    ]);
  });

  it("reads a docker-compose.override.yml as compose merges it: its DATABASE_URL is the one checked, at the override's line", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.write(
      "products/property-tax/docker-compose.override.yml",
      "services:\n  billing-invoicing:\n    environment:\n      DATABASE_URL: postgresql://billing_invoicing:x@postgres:5432/assessment_roll\n",
    );
    expect(located(await findingsOf(copy))).toEqual([
      { rule: "compose/foreign-database", severity: "error", service: "billing-invoicing", file: "products/property-tax/docker-compose.override.yml", line: 4 },
    ]);
  });

  it("passes with an override file that changes nothing the registry says", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.write("products/property-tax/docker-compose.override.yml", "services:\n  postgres:\n    ports: []\n");
    expect(located(await findingsOf(copy))).toEqual([]);
  });

  it("reports compose/foreign-database when a DATABASE_URL names another service's database", async () => {
    await using copy = await copyFixture("property-tax");
    const text = await replaceAfter(copy, COMPOSE, block("billing-invoicing"), "@postgres:5432/billing_invoicing", "@postgres:5432/assessment_roll");
    const findings = await findingsOf(copy);
    expect(located(findings)).toEqual([
      { rule: "compose/foreign-database", severity: "error", service: "billing-invoicing", file: COMPOSE, line: lineOf(text, "@postgres:5432/assessment_roll", block("billing-invoicing")) },
    ]);
    expect(findings[0]!.message).toContain('belongs to "assessment-roll"');
  });

  it("reports compose/wrong-database when a DATABASE_URL names a database the registry does not know", async () => {
    await using copy = await copyFixture("property-tax");
    const text = await replaceAfter(copy, COMPOSE, block("tax-levy-rate"), "@postgres:5432/tax_levy_rate", "@postgres:5432/tax_levy");
    expect(located(await findingsOf(copy))).toEqual([
      { rule: "compose/wrong-database", severity: "error", service: "tax-levy-rate", file: COMPOSE, line: lineOf(text, "@postgres:5432/tax_levy\n") },
    ]);
  });

  it("reports compose/invalid-database-url for a DATABASE_URL that is not a PostgreSQL URL", async () => {
    await using copy = await copyFixture("property-tax");
    const text = await replaceAfter(
      copy,
      COMPOSE,
      block("audit-logging"),
      "postgresql://audit_logging:${AUDIT_LOGGING_DB_PASSWORD}@postgres:5432/audit_logging",
      "file:./dev.db",
    );
    expect(located(await findingsOf(copy))).toEqual([
      { rule: "compose/invalid-database-url", severity: "error", service: "audit-logging", file: COMPOSE, line: lineOf(text, "file:./dev.db") },
    ]);
  });

  it("names the variable a DATABASE_URL was interpolated from when it is not a URL", async () => {
    await using copy = await copyFixture("property-tax");
    await replaceAfter(copy, COMPOSE, block("audit-logging"), "postgresql://audit_logging:${AUDIT_LOGGING_DB_PASSWORD}@postgres:5432/audit_logging", "${AUDIT_DATABASE_URL}");
    const findings = await findingsOf(copy);
    expect(findings.map((finding) => [finding.rule, finding.message])).toEqual([
      ["compose/invalid-database-url", 'The DATABASE_URL of "audit-logging" (written as ${AUDIT_DATABASE_URL}) is not a postgresql:// URL with a host and a valid port.'],
    ]);
  });

  it.each([
    ["another host", "@db.internal:5432/notification_engine"],
    ["the published port", "@postgres:5433/notification_engine"],
  ])("reports compose/database-host when a DATABASE_URL points at %s", async (_case, replacement) => {
    await using copy = await copyFixture("property-tax");
    const text = await replaceAfter(copy, COMPOSE, block("notification-engine"), "@postgres:5432/notification_engine", replacement);
    expect(located(await findingsOf(copy))).toEqual([
      { rule: "compose/database-host", severity: "error", service: "notification-engine", file: COMPOSE, line: lineOf(text, replacement) },
    ]);
  });

  it("reads the port from the postgres service's command line: -c port=5433 makes every :5432 URL compose/database-host, and the one moved to 5433 right", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.write("products/property-tax/docker-compose.override.yml", 'services:\n  postgres:\n    command: ["postgres", "-c", "port=5433"]\n');
    await replaceAfter(copy, COMPOSE, block("notification-engine"), "@postgres:5432/notification_engine", "@postgres:5433/notification_engine");
    const findings = located(await findingsOf(copy));
    expect(new Set(findings.map((finding) => finding.rule))).toEqual(new Set(["compose/database-host"]));
    const flagged = findings.map((finding) => finding.service);
    expect(flagged).not.toContain("notification-engine");
    expect(flagged).toEqual(expect.arrayContaining(["auth-gateway", "audit-logging", "billing-invoicing", "assessment-roll"]));
  });

  it("warns compose/superuser-database-url when a service logs in as the compose superuser", async () => {
    await using copy = await copyFixture("property-tax");
    const text = await replaceAfter(copy, COMPOSE, block("auth-gateway"), "postgresql://auth_gateway:${AUTH_GATEWAY_DB_PASSWORD}@", "postgresql://civic:${POSTGRES_PASSWORD}@");
    expect(located(await findingsOf(copy))).toEqual([
      { rule: "compose/superuser-database-url", severity: "warning", service: "auth-gateway", file: COMPOSE, line: lineOf(text, "postgresql://civic:") },
    ]);
  });

  it("reports compose/stateless-database-url when a stateless service gets a DATABASE_URL", async () => {
    await using copy = await copyFixture("property-tax");
    const url = "      DATABASE_URL: postgresql://api_gateway:pw@postgres:5432/api_gateway\n";
    const text = await replaceAfter(copy, COMPOSE, block("api-gateway"), "      NODE_ENV: development\n", `      NODE_ENV: development\n${url}`);
    expect(located(await findingsOf(copy))).toEqual([
      { rule: "compose/stateless-database-url", severity: "error", service: "api-gateway", file: COMPOSE, line: lineOf(text, "postgres:5432/api_gateway") },
    ]);
  });

  it("reports compose/port when PORT differs from the registry", async () => {
    await using copy = await copyFixture("property-tax");
    const text = await replaceAfter(copy, COMPOSE, block("assessment-roll"), "PORT: 4104", "PORT: 4114");
    expect(located(await findingsOf(copy))).toEqual([
      { rule: "compose/port", severity: "error", service: "assessment-roll", file: COMPOSE, line: lineOf(text, "PORT: 4114") },
    ]);
  });

  it("reports compose/port when the healthcheck probes another port", async () => {
    await using copy = await copyFixture("property-tax");
    const text = await replaceAfter(copy, COMPOSE, block("tax-levy-rate"), "127.0.0.1:4105/health", "127.0.0.1:4115/health");
    expect(located(await findingsOf(copy))).toEqual([
      { rule: "compose/port", severity: "error", service: "tax-levy-rate", file: COMPOSE, line: lineOf(text, "127.0.0.1:4115/health") },
    ]);
  });

  it("reports compose/port twice when the registry port changes in the registry only", async () => {
    await using copy = await copyFixture("property-tax");
    await replaceAfter(copy, REGISTRY, '"tax-levy-rate": {', "port: 4105", "port: 4115");
    const text = await copy.read(COMPOSE);
    expect(located(await findingsOf(copy))).toEqual([
      { rule: "compose/port", severity: "error", service: "tax-levy-rate", file: COMPOSE, line: lineOf(text, "PORT: 4105") },
      { rule: "compose/port", severity: "error", service: "tax-levy-rate", file: COMPOSE, line: lineOf(text, "127.0.0.1:4105/health") },
    ]);
  });

  it("reports compose/extra-env for an extraEnv value that differs", async () => {
    await using copy = await copyFixture("property-tax");
    const text = await replaceAfter(copy, COMPOSE, block("payment-processing"), "http://tax-billing-instalment:4103", "http://tax-billing-instalment:4113");
    expect(located(await findingsOf(copy))).toEqual([
      { rule: "compose/extra-env", severity: "error", service: "payment-processing", file: COMPOSE, line: lineOf(text, "tax-billing-instalment:4113") },
    ]);
  });

  it("reports compose/extra-env at the environment for an extraEnv key that is missing", async () => {
    await using copy = await copyFixture("property-tax");
    const text = await replaceAfter(copy, COMPOSE, block("tax-certificates"), '      ASSESSMENT_ROLL_URL: "http://assessment-roll:4104"\n', "");
    expect(located(await findingsOf(copy))).toEqual([
      { rule: "compose/extra-env", severity: "error", service: "tax-certificates", file: COMPOSE, line: lineOf(text, "    environment:", block("tax-certificates")) },
    ]);
  });

  it("reports compose/extra-env for a compose-only URL to another registry service", async () => {
    await using copy = await copyFixture("property-tax");
    const call = '      LEDGER_URL: "http://payment-processing:4106"\n';
    const text = await replaceAfter(copy, COMPOSE, block("tax-levy-rate"), "      NODE_ENV: development\n", `      NODE_ENV: development\n${call}`);
    const findings = await findingsOf(copy);
    expect(located(findings)).toEqual([
      { rule: "compose/extra-env", severity: "error", service: "tax-levy-rate", file: COMPOSE, line: lineOf(text, "LEDGER_URL") },
    ]);
    expect(findings[0]!.message).toBe(
      'Service "tax-levy-rate" sets LEDGER_URL to a URL of "payment-processing", but the registry\'s extraEnv of "tax-levy-rate" does not declare it.',
    );
  });

  it("reports compose/depends-on when a registry dependsOn is missing from depends_on", async () => {
    await using copy = await copyFixture("property-tax");
    const text = await replaceAfter(copy, COMPOSE, block("billing-invoicing"), "      notification-engine:\n        condition: service_healthy\n", "");
    expect(located(await findingsOf(copy))).toEqual([
      { rule: "compose/depends-on", severity: "error", service: "billing-invoicing", file: COMPOSE, line: lineOf(text, "    depends_on:", block("billing-invoicing")) },
    ]);
  });

  it("reports compose/depends-on when depends_on names a registry service dependsOn does not declare", async () => {
    await using copy = await copyFixture("property-tax");
    const extra = "      assessment-roll:\n        condition: service_healthy\n";
    const text = await replaceAfter(copy, COMPOSE, block("tax-levy-rate"), "        condition: service_healthy\n", `        condition: service_healthy\n${extra}`);
    expect(located(await findingsOf(copy))).toEqual([
      { rule: "compose/depends-on", severity: "error", service: "tax-levy-rate", file: COMPOSE, line: lineOf(text, "      assessment-roll:", block("tax-levy-rate")) },
    ]);
  });

  it("reports compose/depends-on when a stateful service waits for postgres only until it starts", async () => {
    await using copy = await copyFixture("property-tax");
    const text = await replaceAfter(copy, COMPOSE, block("tax-levy-rate"), "condition: service_healthy", "condition: service_started");
    expect(located(await findingsOf(copy))).toEqual([
      { rule: "compose/depends-on", severity: "error", service: "tax-levy-rate", file: COMPOSE, line: lineOf(text, "      postgres:", block("tax-levy-rate")) },
    ]);
  });

  it("reports compose/depends-on when a stateful service does not depend on postgres", async () => {
    await using copy = await copyFixture("property-tax");
    const text = await replaceAfter(copy, COMPOSE, block("audit-logging"), "      postgres:\n        condition: service_healthy\n", "");
    expect(located(await findingsOf(copy))).toEqual([
      { rule: "compose/depends-on", severity: "error", service: "audit-logging", file: COMPOSE, line: lineOf(text, "    depends_on:", block("audit-logging")) },
    ]);
  });

  it("reports compose/dockerfile when a service builds another Dockerfile than the registry's", async () => {
    await using copy = await copyFixture("property-tax");
    const text = await replaceAfter(copy, COMPOSE, block("tax-certificates"), "tax-certificates/Dockerfile", "tax-certificates/Dockerfile.dev");
    expect(located(await findingsOf(copy))).toEqual([
      { rule: "compose/dockerfile", severity: "error", service: "tax-certificates", file: COMPOSE, line: lineOf(text, "Dockerfile.dev") },
    ]);
  });

  it("reports compose/postgres-healthcheck when postgres has none", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.edit(COMPOSE, (text) => text.replace(/    healthcheck:\n      # Over TCP[^\n]*\n      test: \["CMD-SHELL", "pg_isready[^\n]*\n(      \w+: \w+\n){3}/, ""));
    const text = await copy.read(COMPOSE);
    expect(located(await findingsOf(copy))).toEqual([
      { rule: "compose/postgres-healthcheck", severity: "error", service: undefined, file: COMPOSE, line: lineOf(text, "  postgres:", "# ─── Infrastructure ───") },
    ]);
  });

  it("reports compose/postgres-healthcheck when the postgres healthcheck is disabled", async () => {
    await using copy = await copyFixture("property-tax");
    const text = await replaceAfter(copy, COMPOSE, block("postgres"), "      retries: 20\n", "      retries: 20\n      disable: true\n");
    expect(located(await findingsOf(copy))).toEqual([
      { rule: "compose/postgres-healthcheck", severity: "error", service: undefined, file: COMPOSE, line: lineOf(text, '      test: ["CMD-SHELL", "pg_isready') },
    ]);
  });

  it("reports compose/missing-postgres when no service is the PostgreSQL server", async () => {
    await using copy = await copyFixture("property-tax");
    await replaceAfter(copy, COMPOSE, block("postgres"), "image: postgres:16-alpine", "image: mysql:8");
    await replaceAfter(copy, COMPOSE, block("postgres"), "      - ./infra/init-databases.sql:/docker-entrypoint-initdb.d/01-init-databases.sql:ro\n", "");
    expect(located(await findingsOf(copy))).toEqual([
      { rule: "compose/missing-postgres", severity: "error", service: undefined, file: COMPOSE, line: undefined },
    ]);
  });

  it("reports compose/init-scripts at the mount whose host file does not exist", async () => {
    await using copy = await copyFixture("property-tax");
    const text = await replaceAfter(copy, COMPOSE, block("postgres"), "./infra/init-databases.sql:", "./infra/init-db.sql:");
    expect(located(await findingsOf(copy))).toEqual([
      { rule: "compose/init-scripts", severity: "error", service: undefined, file: COMPOSE, line: lineOf(text, "./infra/init-db.sql:") },
    ]);
  });

  it("reports compose/init-scripts at the postgres service when nothing is mounted into the init directory", async () => {
    await using copy = await copyFixture("property-tax");
    const text = await replaceAfter(copy, COMPOSE, block("postgres"), "      - ./infra/init-databases.sql:/docker-entrypoint-initdb.d/01-init-databases.sql:ro\n", "");
    expect(located(await findingsOf(copy))).toEqual([
      { rule: "compose/init-scripts", severity: "error", service: undefined, file: COMPOSE, line: lineOf(text, "  postgres:", "# ─── Infrastructure ───") },
    ]);
  });

  it("reports compose/init-database-missing when the init SQL no longer creates a registry database", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.edit(INIT_SQL, (text) => text.replace("CREATE DATABASE tax_levy_rate OWNER", "-- CREATE DATABASE tax_levy_rate OWNER"));
    const text = await copy.read(COMPOSE);
    expect(located(await findingsOf(copy))).toEqual([
      { rule: "compose/init-database-missing", severity: "error", service: "tax-levy-rate", file: COMPOSE, line: lineOf(text, "./infra/init-databases.sql:") },
    ]);
  });

  it("words the init-database-missing fix by the profile, as every other check does: regenerate under civic, the product's own script under portable", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.edit(INIT_SQL, (text) => text.replace("CREATE DATABASE tax_levy_rate OWNER", "-- CREATE DATABASE tax_levy_rate OWNER"));
    const fixOf = async () => (await findingsOf(copy)).find((finding) => finding.rule === "compose/init-database-missing")?.fix;
    expect(await fixOf()).toBe("Regenerate infra/init-databases.sql from the registry so it contains CREATE DATABASE tax_levy_rate.");
    // The same TypeScript registry, checked under the portable profile: no generator is assumed.
    await writeFile(join(copy.product, "civic-conformance.yaml"), "profile: portable\n");
    expect(await fixOf()).toBe(`Add CREATE DATABASE tax_levy_rate (owned by the service's own role) to ${INIT_SQL}.`);
  });

  it("reports compose/init-database-missing for a quoted name that differs in case", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.edit(INIT_SQL, (text) => text.replace("CREATE DATABASE tax_levy_rate OWNER", 'CREATE DATABASE "Tax_Levy_Rate" OWNER'));
    expect(located(await findingsOf(copy)).map((finding) => [finding.rule, finding.service])).toEqual([
      ["compose/init-database-missing", "tax-levy-rate"],
    ]);
  });

  it.each([
    ["a \\gexec string", "SELECT 'CREATE DATABASE tax_levy_rate OWNER tax_levy_rate' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'tax_levy_rate')\\gexec"],
    ["format('%I') with \\gexec", "SELECT format('CREATE DATABASE %I OWNER %I', 'tax_levy_rate', 'tax_levy_rate')\\gexec"],
    ["a quoted identifier", 'CREATE DATABASE "tax_levy_rate" OWNER tax_levy_rate;'],
    ["upper case", "create database TAX_LEVY_RATE owner tax_levy_rate;"],
  ])("accepts a database created through %s", async (_case, statement) => {
    await using copy = await copyFixture("property-tax");
    await copy.edit(INIT_SQL, (text) => text.replace("CREATE DATABASE tax_levy_rate OWNER tax_levy_rate;", statement));
    expect(await findingsOf(copy)).toEqual([]);
  });

  it("warns compose/init-database-missing, rather than passing, when only a shell script might create the database", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.edit(INIT_SQL, (text) => text.replace("CREATE DATABASE tax_levy_rate OWNER", "-- CREATE DATABASE tax_levy_rate OWNER"));
    await writeFile(join(copy.product, "infra", "more.sh"), "#!/bin/sh\npsql -c 'CREATE DATABASE tax_levy_rate'\n");
    const mount = "      - ./infra/more.sh:/docker-entrypoint-initdb.d/02-more.sh:ro\n";
    await replaceAfter(copy, COMPOSE, block("postgres"), "    healthcheck:\n", `${mount}    healthcheck:\n`);
    const text = await copy.read(COMPOSE);
    const findings = await findingsOf(copy);
    expect(located(findings)).toEqual([
      { rule: "compose/init-database-missing", severity: "warning", service: "tax-levy-rate", file: COMPOSE, line: lineOf(text, "./infra/init-databases.sql:") },
    ]);
    expect(findings[0]!.message).toContain("02-more.sh");
  });

  it("reports compose/wrong-database and compose/init-database-missing when the registry renames a database alone", async () => {
    await using copy = await copyFixture("property-tax");
    await replaceAfter(copy, REGISTRY, '"tax-levy-rate": {', 'database: "tax_levy_rate"', 'database: "tax_levy"');
    const text = await copy.read(COMPOSE);
    expect(located(await findingsOf(copy))).toEqual([
      { rule: "compose/wrong-database", severity: "error", service: "tax-levy-rate", file: COMPOSE, line: lineOf(text, "@postgres:5432/tax_levy_rate") },
      { rule: "compose/init-database-missing", severity: "error", service: "tax-levy-rate", file: COMPOSE, line: lineOf(text, "./infra/init-databases.sql:") },
    ]);
  });

  it("never puts a password into a message or fix", async () => {
    await using copy = await copyFixture("property-tax");
    await copy.write("products/property-tax/.env", "NOTIFICATION_ENGINE_DB_PASSWORD=very-secret-value\n");
    await replaceAfter(copy, COMPOSE, block("notification-engine"), "@postgres:5432/notification_engine", "@elsewhere:5432/billing_invoicing");
    const findings = await findingsOf(copy);
    expect(findings.map((finding) => finding.rule)).toEqual(["compose/foreign-database", "compose/database-host"]);
    expect(JSON.stringify(findings)).not.toContain("very-secret-value");
  });
});
