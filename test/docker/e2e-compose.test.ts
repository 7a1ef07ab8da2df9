/**
 * End to end through the real CLI with `--runtime compose`: the property-tax fixture's own stack
 * (11 containers, 9 images built for the run) on a real Docker engine, under EACH Compose CLI
 * (`--compose-command`): the v2 plugin (`docker compose`, GitHub's default) and the standalone v1
 * `docker-compose`. Here the base images are the LOCAL STAND-INS (scripts/ci/provision-docker.sh;
 * nothing is pulled); on GitHub's runner they are the official images. Three boots per Compose, each
 * asserted for several things, because a boot costs tens of seconds on the vfs storage driver:
 *  1. the conformant fixture passes all seven checks, live dependency probe included, the migrations
 *     check started once the PostgreSQL instance was ready, beside the rest of the boot, and leaves
 *     nothing of its project behind;
 *  2. one copy carrying three scripted mutations — a service URL with the civic superuser
 *     (isolation), a migration creating a role (migrations), a compose-only URL to a port nobody
 *     listens on (dependencies) — fails with the same isolation and migrations rule ids as the
 *     embedded runtime gives on the same copy (run once), plus dependencies/connection-refused;
 *  3. SIGTERM to the CLI once the first container exists leaves nothing behind.
 */
import { execa, type ResultPromise } from "execa";
import { access, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Report } from "../../src/core/report-model.js";
import { warmComposeBuildCache } from "../helpers/compose-build-cache.js";
import { COMPOSE, replaceAfter } from "../helpers/compose-check-run.js";
import { composeVersion, COMPOSE_VARIANTS, requireComposeVariant, type ComposeVariant } from "../helpers/compose-variants.js";
import { announceStandins, dockerList, NOTHING_LEFT, projectLeftovers, requireDockerInCI, waitUntil } from "../helpers/docker.js";
import { copyFixture, fixture, REPO_ROOT, type FixtureCopy } from "../helpers/fixtures.js";

const CLI = join(REPO_ROOT, "bin", "civic-conformance.js");
const PROJECT_LINE = /compose: booting project (civic-property-tax-[0-9a-f]{8})/;
/** Where the docker CLI finds its engine and plugins is passed on; nothing else of the test's environment. */
const ENV = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  NO_COLOR: "1",
  ...Object.fromEntries(["DOCKER_HOST", "DOCKER_CONFIG"].flatMap((name) => (process.env[name] ? [[name, process.env[name]]] : []))),
};

function check(root: string, runtime: { compose: ComposeVariant } | "embedded"): ResultPromise {
  // --verbose under compose: the log tells when the migrations check started against the boot.
  const runtimeArgs = runtime === "embedded" ? ["--runtime", "embedded"] : ["--runtime", "compose", "--compose-command", runtime.compose.command, "--ready-timeout", "480", "--verbose"];
  return execa(process.execPath, [CLI, "check", join(root, "products", "property-tax"), ...runtimeArgs, "--format", "json"], {
    cwd: root,
    env: ENV,
    extendEnv: false,
    reject: false,
    timeout: 900_000,
    // The CLI's own cleanup after SIGTERM (compose down, images) can take longer than execa's
    // default 5 s before it escalates to SIGKILL, which no process can clean up after.
    forceKillAfterDelay: false,
  });
}

const rulesOf = (report: Report, id: string) => [...new Set(report.checks.find((c) => c.id === id)!.findings.map((f) => f.rule))].sort();

describe.skipIf(!requireDockerInCI())("check --runtime compose end to end", { timeout: 900_000 }, () => {
  /** One copy of the fixture with the three mutations, and what the embedded runtime says about it. */
  let mutated: FixtureCopy;
  let embedded: Report;

  beforeAll(async () => {
    await announceStandins();
    await access(join(REPO_ROOT, "dist", "cli.js")).catch(() => execa(process.execPath, [join(REPO_ROOT, "scripts", "build.mjs")]));
    await warmComposeBuildCache(join(fixture("property-tax"), "products", "property-tax"), fixture("property-tax"));
    mutated = await copyFixture("property-tax");
    // isolation: assessment-roll logs in as the civic bootstrap superuser.
    await replaceAfter(mutated, COMPOSE, "\n  assessment-roll:\n", "postgresql://assessment_roll:${ASSESSMENT_ROLL_DB_PASSWORD}@", "postgresql://civic:${POSTGRES_PASSWORD}@");
    // migrations: a migration that creates a cluster-wide role.
    const migration = "modules/domain/revenue/tax-levy-rate/prisma/migrations/20990101000000_reporting_role";
    await mkdir(join(mutated.root, migration), { recursive: true });
    await mutated.write(`${migration}/migration.sql`, "CREATE ROLE levy_reporting LOGIN;\n");
    // dependencies: the compose file (only) points payment-processing at a port nobody listens on.
    await replaceAfter(mutated, COMPOSE, "\n  payment-processing:\n", "http://tax-billing-instalment:4103", "http://tax-billing-instalment:4199");
    embedded = JSON.parse(String((await check(mutated.root, "embedded")).stdout)) as Report;
  }, 1_800_000);

  afterAll(async () => {
    await mutated?.[Symbol.asyncDispose]();
  });

  for (const variant of COMPOSE_VARIANTS) {
    describe.skipIf(!requireComposeVariant(variant))(`on ${variant.title}`, () => {
      describe("the conformant fixture", () => {
        let result: Awaited<ResultPromise>;
        let report: Report;
        let project: string;

        beforeAll(async () => {
          result = await check(fixture("property-tax"), { compose: variant });
          project = PROJECT_LINE.exec(String(result.stderr))?.[1] ?? "";
          report = JSON.parse(String(result.stdout)) as Report;
        }, 900_000);

        it(`boots the stack with ${variant.command}, as --compose-command asks`, () => {
          expect(String(result.stderr)).toContain(`compose: booting project ${project} with ${variant.command} ${composeVersion(variant)}`);
        });

        it("passes all seven checks on the compose runtime and exits 0", () => {
          expect(report.runtime).toBe("compose");
          // On a failure, say why: each check's reason and first findings, and the end of the CLI's log.
          const why = [
            ...report.checks.filter((c) => c.status !== "pass").map((c) => `${c.id} ${c.status}: ${c.reason ?? ""} ${c.findings.slice(0, 3).map((f) => `[${f.rule}] ${f.message}`).join(" | ")}`),
            String(result.stderr).split("\n").slice(-40).join("\n"),
          ].join("\n");
          expect(report.checks.map((c) => [c.id, c.status, c.findings.filter((f) => f.severity === "error").length]), why).toEqual(
            ["registry", "drift", "compose", "own-database", "isolation", "migrations", "dependencies"].map((id) => [id, "pass", 0]),
          );
          expect(result.exitCode).toBe(0);
        });

        it("started the migrations check once the PostgreSQL instance was ready, while the rest of the stack booted, and kept its result", () => {
          const stderr = String(result.stderr);
          const ready = stderr.indexOf("compose: every PostgreSQL instance is ready while the rest of the stack still boots (postgres)");
          const started = stderr.indexOf("migrations: started on the PostgreSQL instances while the rest of the stack boots");
          const whole = stderr.search(/compose: \d+ containers ready/);
          expect([ready > -1, started > ready, whole > started]).toEqual([true, true, true]);
          expect(stderr).not.toContain("ended in error before the stack was ready");
        });

        it("ran the live dependency probe from inside the compose network, and every URL answered", () => {
          const dependencies = report.checks.find((c) => c.id === "dependencies")!;
          expect(dependencies.notes).toEqual(["live probe: 10 dependency URLs of 6 services probed from inside the compose network; 10 answered"]);
          expect(dependencies.coverage).toMatchObject({ complete: true, summary: "10/10 dependency URLs probed from inside the compose network, 10 answered", uncovered: [] });
          expect(dependencies.coverage!.covered).toHaveLength(10);
        });

        it("leaves no container, volume, network or image of its project", async () => {
          expect(project).not.toBe("");
          expect(await projectLeftovers(project)).toEqual(NOTHING_LEFT);
        });
      });

      describe("a copy with an isolation, a migrations and a dependencies violation", () => {
        let compose: Report;
        let project: string;
        /** On a failure, why: the checks that could not look, and the end of the CLI's log. */
        let why: string;
        let stderr: string;

        beforeAll(async () => {
          const composeRun = await check(mutated.root, { compose: variant });
          stderr = String(composeRun.stderr);
          project = PROJECT_LINE.exec(String(composeRun.stderr))?.[1] ?? "";
          compose = JSON.parse(String(composeRun.stdout)) as Report;
          why = [
            ...compose.checks.filter((c) => c.status === "error" || c.status === "skip").map((c) => `${c.id} ${c.status}: ${c.reason ?? ""}`),
            String(composeRun.stderr).split("\n").slice(-40).join("\n"),
          ].join("\n");
        }, 900_000);

        it("fails isolation with the same rule ids as the embedded runtime, superuser included", () => {
          expect(rulesOf(compose, "isolation"), why).toEqual(rulesOf(embedded, "isolation"));
          expect(rulesOf(compose, "isolation")).toContain("isolation/superuser");
          expect(compose.checks.find((c) => c.id === "isolation")!.status).toBe("fail");
        });

        it("fails migrations with the same rule ids as the embedded runtime, applied on the scratch server", () => {
          expect(rulesOf(compose, "migrations"), why).toEqual(rulesOf(embedded, "migrations"));
          expect(rulesOf(compose, "migrations")).toContain("migrations/outside-effect");
          expect(compose.checks.find((c) => c.id === "migrations")!.findings.filter((f) => f.rule === "migrations/outside-effect").map((f) => f.service)).toEqual(["tax-levy-rate"]);
          // Found while the rest of the stack booted.
          expect(stderr).toContain("migrations: started on the PostgreSQL instances while the rest of the stack boots");
        });

        it("fails the live dependency probe for the URL nobody answers, at its compose line", async () => {
          const refused = compose.checks.find((c) => c.id === "dependencies")!.findings.filter((f) => f.rule === "dependencies/connection-refused");
          const text = await mutated.read(COMPOSE);
          const line = text.slice(0, text.indexOf("http://tax-billing-instalment:4199")).split("\n").length;
          expect(refused.map(({ service, file, line: at }) => ({ service, file, line: at })), why).toEqual([{ service: "payment-processing", file: COMPOSE, line }]);
          // The embedded runtime starts no service: it cannot see this, and says so (skip, never pass).
          const blind = embedded.checks.find((c) => c.id === "dependencies")!;
          expect(blind.status).toBe("skip");
          expect(blind.reason).toMatch(/the live probe needs the compose runtime .*the embedded runtime does not start the product's services$/);
        });

        it("leaves nothing of its project, scratch server included", async () => {
          expect(project).not.toBe("");
          expect(await projectLeftovers(project)).toEqual(NOTHING_LEFT);
        });
      });

      it("leaves nothing behind when the CLI gets SIGTERM mid-boot", async () => {
        const run = check(fixture("property-tax"), { compose: variant });
        let stderr = "";
        run.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        await waitUntil("the CLI to name its compose project", async () => PROJECT_LINE.test(stderr), 120_000);
        const project = PROJECT_LINE.exec(stderr)![1]!;
        await waitUntil("the first container of the project", async () => (await dockerList(["ps", "-a", "-q", "--filter", `label=com.docker.compose.project=${project}`])).length > 0, 600_000);
        run.kill("SIGTERM");
        const result = await run;
        expect(result.exitCode).toBe(143);
        expect(stderr).toContain("SIGTERM received, cleaning up");
        expect(await projectLeftovers(project)).toEqual(NOTHING_LEFT);
      }, 900_000);
    });
  }
});
