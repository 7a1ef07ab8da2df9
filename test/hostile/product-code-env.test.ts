/**
 * Issue 9, measured defect 3: secrets reach product code. The repository's registry module
 * (`infra/service-registry.ts`), its generator (`infra/generate.ts`), its init `*.sh` scripts and
 * the migrate command ran with the caller's whole
 * environment — in the action, the token input and every secret the job exported. Each planted
 * program here writes what it sees (its environment and its uid) to a file; none may hold a canary
 * from the caller's environment, and as root none may run as root.
 */
import { randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COMPOSE, GENERATOR, HostileRepo, PRODUCT, REGISTRY } from "./support/hostile-repo.js";
import { cleanEndAmong, outcomeOf, withExitAmong, type Outcome } from "./support/outcome.js";
import { RunFolder } from "./support/run-folder.js";
import { runCli } from "./support/run-cli.js";

/** Secrets a GitHub job (or a developer's shell) typically holds; none is the product's business. */
const CANARIES: Record<string, string> = Object.fromEntries(
  ["GITHUB_TOKEN", "INPUT_GITHUB-TOKEN", "INPUT_TOKEN", "ACTIONS_RUNTIME_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "NPM_TOKEN", "DEPLOY_SSH_KEY", "CALLER_DATABASE_PASSWORD"].map(
    (name) => [name, `canary-${name.toLowerCase().replace(/[^a-z]/g, "")}-${randomBytes(8).toString("hex")}`],
  ),
);

const leakedCanaries = (dump: string) => Object.entries(CANARIES).filter(([, value]) => dump.includes(value)).map(([name]) => name);

describe("product code runs with a minimal environment, never the caller's secrets", { timeout: 240_000 }, () => {
  let repo: HostileRepo;
  let folder: RunFolder;
  let outcome: Outcome;
  let stderr: string;
  const dump = (name: string) => readFile(join(folder.dumps, name), "utf8");

  beforeAll(async () => {
    repo = await HostileRepo.copy("property-tax", "product-env");
    folder = await RunFolder.create("product-env");
    await repo.edit(GENERATOR, (text) =>
      [
        'import { writeFileSync as hostileDump } from "node:fs";',
        `hostileDump(${JSON.stringify(join(folder.dumps, "generator-env.json"))}, JSON.stringify({ uid: process.getuid?.(), env: process.env }));`,
        text,
      ].join("\n"),
    );
    // Evaluated once per load: the file names carry the pid.
    await repo.edit(REGISTRY, (text) =>
      [
        'import { writeFileSync as hostileDump } from "node:fs";',
        `hostileDump(${JSON.stringify(join(folder.dumps, "registry-env-"))} + process.pid + ".json", JSON.stringify({ uid: process.getuid?.(), env: process.env }));`,
        text,
      ].join("\n"),
    );
    // A sourced (not executable) init script, as most repositories have them.
    await repo.write(`${PRODUCT}/infra/02-env-dump.sh`, `#!/bin/bash\n{ echo "uid=$(id -u)"; env; } > ${join(folder.dumps, "init-sh-env.txt")}\n`, 0o644);
    await repo.edit(COMPOSE, (text) =>
      text.replace(
        "      - ./infra/init-databases.sql:/docker-entrypoint-initdb.d/01-init-databases.sql:ro\n",
        "      - ./infra/init-databases.sql:/docker-entrypoint-initdb.d/01-init-databases.sql:ro\n      - ./infra/02-env-dump.sh:/docker-entrypoint-initdb.d/02-env-dump.sh:ro\n",
      ),
    );
    const before = await repo.hash();
    const migrate = `{ echo "uid=$(id -u)"; env; } > ${join(folder.dumps, "migrate-env-")}"$SERVICE".txt`;
    const result = await runCli(
      ["check", repo.product, "--runtime", "embedded", "--only", "drift,migrations", "--migrate-command", migrate, "--verbose", "--format", "json", "--output", join(folder.out, "report.json")],
      { env: folder.env(CANARIES), boundMs: 180_000 },
    );
    stderr = result.stderr;
    outcome = await outcomeOf(result, folder, repo, before);
  });
  afterAll(async () => {
    await folder?.sweep([repo.root]);
    await repo?.[Symbol.asyncDispose]();
  });

  it("the run itself ends cleanly (exit 0 or 1, nothing left, tree unchanged)", () => {
    expect(withExitAmong(outcome, [0, 1])).toEqual(cleanEndAmong([0, 1]));
  });

  it("infra/service-registry.ts sees no caller secret, and does not run as root", async () => {
    const names = (await readdir(folder.dumps)).filter((name) => name.startsWith("registry-env-"));
    expect(names.length, "the registry module was evaluated").toBeGreaterThan(0);
    for (const name of names) {
      const seen = JSON.parse(await dump(name)) as { uid?: number; env: Record<string, string> };
      expect(seen.env.PATH, "the registry ran with a PATH").toBeTruthy();
      expect(leakedCanaries(JSON.stringify(seen.env))).toEqual([]);
      expect(seen.uid, name).not.toBe(0);
    }
  });

  it("infra/generate.ts sees no caller secret, and does not run as root", async () => {
    const seen = JSON.parse(await dump("generator-env.json")) as { uid?: number; env: Record<string, string> };
    expect(seen.env.PATH, "the generator ran with a PATH").toBeTruthy();
    expect(leakedCanaries(JSON.stringify(seen.env))).toEqual([]);
    expect(seen.uid).not.toBe(0);
  });

  it("an init *.sh script sees no caller secret, and does not run as root", async () => {
    const seen = await dump("init-sh-env.txt");
    expect(seen).toMatch(/^PATH=/m);
    expect(leakedCanaries(seen)).toEqual([]);
    expect(seen).not.toMatch(/^uid=0$/m);
  });

  it("the migrate command sees no caller secret, and does not run as root", async () => {
    const seen = await dump("migrate-env-auth-gateway.txt").catch((error: unknown) => {
      throw new Error(`the migrate command did not run for auth-gateway: ${String(error)}\n${stderr}`);
    });
    expect(seen).toMatch(/^DATABASE_URL=/m);
    expect(leakedCanaries(seen)).toEqual([]);
    expect(seen).not.toMatch(/^uid=0$/m);
  });
});
