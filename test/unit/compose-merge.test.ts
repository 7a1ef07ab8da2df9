/**
 * Compose files merged as `docker compose` merges them (compose-spec "Merge and override"): the
 * override file beside the main file, `-f` lists, `extends:` (within the file and from another one),
 * `profiles:`, each merged value keeping the file and line it came from. The extends-override fixture
 * is the reference: EXPECTED.md records what `docker compose config` (v1 and v2) makes of it.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadCompose } from "../../src/compose-file/load-compose-file.js";
import { isStartedByDefault, type ComposeProject } from "../../src/compose-file/model.js";
import { findPostgresInstances } from "../../src/compose-file/postgres-instances.js";
import { UsageError } from "../../src/core/errors.js";
import { fixture } from "../helpers/fixtures.js";

const EXTENDS = fixture("extends-override");
const where = (value: { file: string; line: number } | undefined) => value && `${value.file}:${value.line}`;
const env = (project: ComposeProject, service: string, variable: string) => {
  const value = project.services.get(service)!.environment.get(variable);
  return value && { value: value.value, at: where(value) };
};

async function tempProject(files: Record<string, string>): Promise<{ dir: string } & AsyncDisposable> {
  const dir = await mkdtemp(join(tmpdir(), "civic-compose-merge-"));
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(dir, path, ".."), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return { dir, [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) };
}

async function usageError(promise: Promise<unknown>): Promise<UsageError> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(UsageError);
  return error as UsageError;
}

describe("the extends-override fixture, merged as EXPECTED.md records", () => {
  it("merges docker-compose.override.yml by default and reads common-services.yml through extends", async () => {
    const project = await loadCompose(EXTENDS, EXTENDS, {});
    expect(project.files).toEqual(["docker-compose.yml", "docker-compose.override.yml"]);
    expect(project.extendsFiles).toEqual(["common-services.yml"]);
    expect([...project.services.keys()]).toEqual(["postgres", "catalog", "reviews", "search-indexer", "frontend"]);
  });

  it("gives postgres the image and healthcheck of common-services.yml, its own environment and volumes, and the override's port", async () => {
    const project = await loadCompose(EXTENDS, EXTENDS, {});
    const postgres = project.services.get("postgres")!;
    expect(where(postgres)).toBe("docker-compose.yml:8");
    expect({ image: postgres.image?.value, at: where(postgres.image) }).toEqual({ image: "postgres:16-alpine", at: "common-services.yml:4" });
    expect(where(postgres.healthcheck)).toBe("common-services.yml:7");
    expect(postgres.healthcheck!.test).toEqual(["CMD-SHELL", "pg_isready -h 127.0.0.1 -U postgres"]);
    expect(env(project, "postgres", "POSTGRES_PASSWORD")).toEqual({ value: "pg-dev-admin-5a0c", at: "docker-compose.yml:13" });
    expect(postgres.volumes.map(where)).toEqual(["docker-compose.yml:18", "docker-compose.yml:19"]);
    expect(postgres.ports.map((port) => ({ target: port.target, published: port.published, at: where(port) }))).toEqual([
      { target: 5432, published: 5432, at: "docker-compose.override.yml:5" },
    ]);
    expect((await findPostgresInstances(project)).map((instance) => instance.name)).toEqual(["postgres"]);
  });

  it("lets the override's values win over the templates', each at its own line", async () => {
    const project = await loadCompose(EXTENDS, EXTENDS, {});
    expect(env(project, "catalog", "NODE_ENV")).toEqual({ value: "development", at: "docker-compose.override.yml:9" });
    expect(env(project, "catalog", "LOG_LEVEL")).toEqual({ value: "debug", at: "docker-compose.override.yml:10" });
    expect(env(project, "catalog", "PORT")).toEqual({ value: "8080", at: "common-services.yml:16" });
    expect(env(project, "catalog", "DATABASE_URL")).toEqual({ value: "postgres://catalog:catalog-dev-c2e9@postgres:5432/catalog", at: "docker-compose.yml:28" });
    expect(env(project, "frontend", "NODE_ENV")).toEqual({ value: "production", at: "common-services.yml:15" });
    expect(env(project, "frontend", "CATALOG_API")).toEqual({ value: "http://catalog:8080", at: "docker-compose.yml:64" });
  });

  it("gives reviews everything of catalog, its own build and depends_on, and the override's DATABASE_URL (the superuser)", async () => {
    const project = await loadCompose(EXTENDS, EXTENDS, {});
    const reviews = project.services.get("reviews")!;
    expect(env(project, "reviews", "DATABASE_URL")).toEqual({ value: "postgres://postgres:pg-dev-admin-5a0c@postgres:5432/reviews", at: "docker-compose.override.yml:17" });
    expect(env(project, "reviews", "PORT")).toEqual({ value: "8080", at: "common-services.yml:16" });
    expect(reviews.build!.context).toBe(join(EXTENDS, "services/reviews"));
    expect(where(reviews.build)).toBe("docker-compose.yml:36");
    expect([...reviews.dependsOn].map(([name, condition]) => [name, condition.value, where(condition)])).toEqual([["postgres", "service_healthy", "docker-compose.yml:40"]]);
  });

  it("keeps search-indexer, under the search profile, read but not started unless the profile is active", async () => {
    const project = await loadCompose(EXTENDS, EXTENDS, {});
    const indexer = project.services.get("search-indexer")!;
    expect(indexer.profiles!.map((profile) => ({ value: profile.value, at: where(profile) }))).toEqual([{ value: "search", at: "docker-compose.yml:48" }]);
    expect(env(project, "search-indexer", "DATABASE_URL")!.at).toBe("docker-compose.yml:50");
    expect(isStartedByDefault(indexer, project)).toBe(false);
    expect(isStartedByDefault(project.services.get("catalog")!, project)).toBe(true);
    const withProfile = await loadCompose(EXTENDS, EXTENDS, {}, { profiles: ["search"] });
    expect(isStartedByDefault(withProfile.services.get("search-indexer")!, withProfile)).toBe(true);
  });

  it("reads only the files a -f list names, in order: without the override, reviews keeps its own role", async () => {
    const project = await loadCompose(EXTENDS, EXTENDS, {}, { files: [join(EXTENDS, "docker-compose.yml")] });
    expect(project.files).toEqual(["docker-compose.yml"]);
    expect(env(project, "reviews", "DATABASE_URL")).toEqual({ value: "postgres://reviews:reviews-dev-77b1@postgres:5432/reviews", at: "docker-compose.yml:38" });
    expect(project.services.get("postgres")!.ports).toEqual([]);
  });

  it("writes the merged project as plain data for the compose stack: no extends left, values uninterpolated", async () => {
    const project = await loadCompose(EXTENDS, EXTENDS, {});
    const services = project.document.services as Record<string, Record<string, unknown>>;
    expect(services.reviews!.extends).toBeUndefined();
    expect(services.reviews!.environment).toEqual({
      NODE_ENV: "development",
      PORT: "8080",
      LOG_LEVEL: "debug",
      DATABASE_URL: "postgres://postgres:${POSTGRES_PASSWORD}@postgres:5432/reviews",
    });
    expect(services.postgres!.healthcheck).toMatchObject({ test: ["CMD-SHELL", "pg_isready -h 127.0.0.1 -U postgres"], retries: 20 });
    expect(services.postgres!.ports).toEqual(["5432:5432"]);
  });
});

describe("compose's merge rules, each value at its line", () => {
  it("merges environment by key across list and mapping forms, ports by key, volumes by target; replaces command and healthcheck.test", async () => {
    await using project = await tempProject({
      "compose.yaml": [
        "services:",
        "  app:",
        "    image: app:1",
        "    command: [run, a]",
        "    environment:",
        "      - A=1",
        "      - B=2",
        "    ports:",
        '      - "8080:80"',
        "    volumes:",
        "      - ./data:/data",
        "      - logs:/logs",
        "    healthcheck:",
        "      test: [CMD, a]",
        "      interval: 5s",
        "    env_file: a.env",
        "",
      ].join("\n"),
      "compose.override.yaml": [
        "services:",
        "  app:",
        "    command: [run, b]",
        "    environment:",
        "      B: 3",
        "      C: 4",
        "    ports:",
        '      - "8080:80"',
        '      - "9090:90"',
        "    volumes:",
        "      - ./other:/data",
        "    healthcheck:",
        "      test: [CMD, b]",
        "    env_file: [b.env]",
        "",
      ].join("\n"),
      "a.env": "FROM_A=1\n",
      "b.env": "FROM_B=2\n",
    });
    const loaded = await loadCompose(project.dir, project.dir, {});
    const app = loaded.services.get("app")!;
    expect([...app.environment].map(([key, value]) => [key, value.value, value.envFile ?? where(value)])).toEqual([
      ["FROM_A", "1", "a.env"],
      ["FROM_B", "2", "b.env"],
      ["A", "1", "compose.yaml:6"],
      ["B", "3", "compose.override.yaml:5"],
      ["C", "4", "compose.override.yaml:6"],
    ]);
    expect(app.ports.map((port) => `${port.published}:${port.target}@${where(port)}`)).toEqual(["8080:80@compose.override.yaml:8", "9090:90@compose.override.yaml:9"]);
    expect(app.volumes.map((volume) => `${volume.target}@${where(volume)}`)).toEqual(["/data@compose.override.yaml:11", "/logs@compose.yaml:12"]);
    expect(app.volumes[0]!.source).toBe(join(project.dir, "other"));
    expect(app.healthcheck!.test).toEqual(["CMD", "b"]);
    expect(where(app.healthcheck)).toBe("compose.override.yaml:13");
    const plain = (loaded.document.services as Record<string, Record<string, unknown>>).app!;
    expect(plain.command).toEqual(["run", "b"]);
    expect(plain.healthcheck).toEqual({ test: ["CMD", "b"], interval: "5s" });
    expect(plain.env_file).toEqual(["a.env", "b.env"]);
  });

  it("removes a value with !reset and replaces one whole with !override", async () => {
    await using project = await tempProject({
      "docker-compose.yml": 'services:\n  app:\n    image: app:1\n    ports:\n      - "8080:80"\n    environment:\n      A: "1"\n      B: "2"\n',
      "docker-compose.override.yml": 'services:\n  app:\n    ports: !override\n      - "8443:443"\n    environment:\n      A: !reset null\n',
    });
    const app = (await loadCompose(project.dir, project.dir, {})).services.get("app")!;
    expect(app.ports.map((port) => port.target)).toEqual([443]);
    expect([...app.environment.keys()]).toEqual(["B"]);
  });

  it("adds a service an override file defines alone, at the override's line", async () => {
    await using project = await tempProject({
      "compose.yaml": "services:\n  app:\n    image: app:1\n",
      "compose.override.yaml": "services:\n  debug:\n    image: busybox\n",
    });
    const debug = (await loadCompose(project.dir, project.dir, {})).services.get("debug")!;
    expect(where(debug)).toBe("compose.override.yaml:2");
  });

  it("resolves paths of a service extended from a file in another folder against that folder", async () => {
    await using project = await tempProject({
      "compose.yaml": "services:\n  api:\n    extends:\n      file: ../shared/base.yml\n      service: node\n    environment:\n      OWN: yes\n".replace("../shared", "shared"),
      "shared/base.yml": "services:\n  node:\n    build: ./node\n    env_file: ./node.env\n    volumes:\n      - ./cache:/cache\n",
      "shared/node.env": "FROM_BASE=1\n",
    });
    const api = (await loadCompose(project.dir, project.dir, {})).services.get("api")!;
    expect(api.build!.context).toBe(join(project.dir, "shared", "node"));
    expect(api.volumes[0]!.source).toBe(join(project.dir, "shared", "cache"));
    expect(api.environment.get("FROM_BASE")).toMatchObject({ value: "1", envFile: "shared/node.env", source: { file: "shared/node.env", line: 1 } });
    expect(api.environment.get("OWN")).toMatchObject({ value: "yes", file: "compose.yaml", line: 7 });
  });

  it("refuses an extends cycle, a missing base service and a missing extends file at the extends line", async () => {
    await using cycle = await tempProject({ "compose.yaml": "services:\n  a:\n    extends: b\n  b:\n    extends:\n      service: a\n" });
    const cycleError = await usageError(loadCompose(cycle.dir, cycle.dir, {}));
    expect(cycleError.message).toMatch(/cycle of `extends:`/);
    expect(cycleError.location).toMatchObject({ file: "compose.yaml" });
    await using missing = await tempProject({ "compose.yaml": "services:\n  a:\n    image: x\n    extends:\n      service: nowhere\n" });
    const missingError = await usageError(loadCompose(missing.dir, missing.dir, {}));
    expect(missingError.location).toEqual({ file: "compose.yaml", line: 4 });
    expect(missingError.message).toMatch(/"nowhere"/);
    await using noFile = await tempProject({ "compose.yaml": "services:\n  a:\n    extends:\n      file: nope.yml\n      service: a\n" });
    const noFileError = await usageError(loadCompose(noFile.dir, noFile.dir, {}));
    expect(noFileError.location).toEqual({ file: "compose.yaml", line: 3 });
    expect(noFileError.message).toMatch(/nope\.yml/);
  });

  it("refuses a file whose aliases expand past the expansion budget (billion laughs), naming the file", async () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let level = 1; level < 7; level++) levels.push(`${String.fromCharCode(97 + level)}: &${String.fromCharCode(97 + level)} [${Array(10).fill(`*${String.fromCharCode(96 + level)}`).join(", ")}]`);
    await using bomb = await tempProject({ "compose.yaml": `x-bomb:\n${levels.map((line) => `  ${line}`).join("\n")}\nservices:\n  app:\n    image: x\n` });
    const error = await usageError(loadCompose(bomb.dir, bomb.dir, {}));
    expect(error.message).toMatch(/expand this compose file to more than \d+ nodes/);
    expect(error.location?.file).toBe("compose.yaml");
  });
});
