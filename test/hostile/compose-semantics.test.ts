/**
 * Issue 9, measured defect 6: compose semantics. An unset `${VAR:?message}` silently got a random
 * value where `docker compose` refuses to start; compose, `.env` and init files reached through a
 * symlink outside the repository were read without a word. Both are exit 2 with compose's own
 * message (or the link) and the file:line; `--allow-outside-links` lets a user opt in.
 */
import { cp, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { COMPOSE, HostileRepo, INIT_SQL, PRODUCT } from "./support/hostile-repo.js";
import { cleanEnd, outcomeOf } from "./support/outcome.js";
import { RunFolder } from "./support/run-folder.js";
import { runCli } from "./support/run-cli.js";

describe("required variables, as compose requires them", { timeout: 120_000 }, () => {
  it.each([
    { form: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}", env: {}, state: "unset" },
    { form: "${POSTGRES_PASSWORD?set POSTGRES_PASSWORD in .env}", env: {}, state: "unset" },
    { form: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}", env: { POSTGRES_PASSWORD: "" }, state: "empty" },
  ])("$form with the variable $state: exit 2 with compose's message at the file:line", async ({ form, env }) => {
    await using repo = await HostileRepo.copy("property-tax", "required-var");
    await using folder = await RunFolder.create("required-var");
    await repo.edit(COMPOSE, (text) => text.replace("POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}\n", `POSTGRES_PASSWORD: ${form}\n`));
    const line = await repo.lineOf(COMPOSE, form);
    const before = await repo.hash();

    const result = await runCli(["check", repo.product, "--only", "compose"], { env: folder.env(env), boundMs: 60_000 });

    expect(await outcomeOf(result, folder, repo, before)).toEqual(cleanEnd(2));
    expect(result.stderr.trim()).toMatch(
      new RegExp(`docker-compose\\.yml:${line}(:\\d+)?: required variable POSTGRES_PASSWORD is missing a value: set POSTGRES_PASSWORD in \\.env$`),
    );
  });
});

describe("files reached through a symlink outside the repository", { timeout: 180_000 }, () => {
  /** Moves `relative` out of the repository into the run folder and links it back. */
  async function linkOutside(repo: HostileRepo, folder: RunFolder, relative: string, content?: string): Promise<string> {
    const outside = join(folder.root, "outside");
    await mkdir(outside, { recursive: true });
    const target = join(outside, relative.replace(/\//g, "__"));
    if (content === undefined) await cp(repo.path(relative), target);
    else await writeFile(target, content);
    await repo.linkTo(relative, target);
    return target;
  }

  it.each([
    { file: COMPOSE, content: undefined, only: "compose", runtime: [] },
    { file: `${PRODUCT}/.env`, content: "POSTGRES_PASSWORD=read-from-outside-the-repo\n", only: "compose", runtime: [] },
    { file: INIT_SQL, content: undefined, only: "compose,own-database", runtime: ["--runtime", "embedded"] },
  ])("$file linked outside: exit 2 naming the file and the link", async ({ file, content, only, runtime }) => {
    await using repo = await HostileRepo.copy("property-tax", "outside-link");
    await using folder = await RunFolder.create("outside-link");
    const target = await linkOutside(repo, folder, file, content);
    const before = await repo.hash();

    const result = await runCli(["check", repo.product, "--only", only, ...runtime, "--format", "json", "--output", join(folder.out, "r.json")], {
      env: folder.env(),
      boundMs: 120_000,
    });

    expect(await outcomeOf(result, folder, repo, before)).toEqual(cleanEnd(2));
    expect(result.stderr).toContain(file.split("/").pop()!);
    expect(result.stderr).toMatch(/outside the repository/i);
    expect(result.stderr).toContain(target);
  });

  it("an init script a build's Dockerfile copies in, linked outside: the embedded run refuses to copy it, exit 2 naming the link", async () => {
    await using repo = await HostileRepo.copy("property-tax", "outside-build-init");
    await using folder = await RunFolder.create("outside-build-init");
    await repo.edit(COMPOSE, (text) => text.replace("    image: postgres:16-alpine\n", "    build: ./pg\n"));
    await repo.write(`${PRODUCT}/pg/Dockerfile`, "FROM postgres:16-alpine\nCOPY extra.sql /docker-entrypoint-initdb.d/20-extra.sql\n");
    await repo.write(`${PRODUCT}/pg/extra.sql`, "SELECT 1;\n");
    const target = await linkOutside(repo, folder, `${PRODUCT}/pg/extra.sql`, "SELECT 'read from outside the repository';\n");
    const before = await repo.hash();

    const result = await runCli(["check", repo.product, "--only", "own-database", "--runtime", "embedded"], { env: folder.env(), boundMs: 120_000 });

    expect(await outcomeOf(result, folder, repo, before)).toEqual(cleanEnd(2));
    expect(result.stderr).toContain("extra.sql");
    expect(result.stderr).toMatch(/outside the repository/i);
    expect(result.stderr).toContain(target);
  });

  it("--allow-outside-links reads a compose file linked from outside (exit 0)", async () => {
    await using repo = await HostileRepo.copy("property-tax", "outside-link-allowed");
    await using folder = await RunFolder.create("outside-link-allowed");
    await linkOutside(repo, folder, COMPOSE);
    const before = await repo.hash();

    const result = await runCli(["check", repo.product, "--only", "compose", "--allow-outside-links"], { env: folder.env(), boundMs: 60_000 });

    expect(await outcomeOf(result, folder, repo, before)).toEqual(cleanEnd(0));
  });

  it("a symlink that stays inside the repository is read as before (control)", async () => {
    await using repo = await HostileRepo.copy("property-tax", "inside-link");
    await using folder = await RunFolder.create("inside-link");
    await cp(repo.path(COMPOSE), repo.path(`${PRODUCT}/compose.base.yml`));
    await repo.linkTo(COMPOSE, "compose.base.yml");
    const before = await repo.hash();

    const result = await runCli(["check", repo.product, "--only", "compose"], { env: folder.env(), boundMs: 60_000 });

    expect(await outcomeOf(result, folder, repo, before)).toEqual(cleanEnd(0));
  });
});
