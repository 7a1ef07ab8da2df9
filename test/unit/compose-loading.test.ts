/**
 * Loading a compose file as compose does: interpolation (compose-spec "Interpolation"), `.env`
 * beside the file, the service fields the checks read with their lines, the postgres service as the
 * official image resolves it, its init scripts in the image's order, and PostgreSQL URLs.
 */
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { formatDatabaseUrl, isPostgresUrl, parseDatabaseUrl, withHostPort } from "../../src/postgres/database-url.js";
import { parseDotenv } from "../../src/compose-file/dotenv.js";
import { initScriptsOf } from "../../src/compose-file/init-scripts.js";
import { interpolate, InterpolationError } from "../../src/compose-file/interpolate.js";
import { loadCompose } from "../../src/compose-file/load-compose-file.js";
import { findPostgresInstances } from "../../src/compose-file/postgres-instances.js";
import { UsageError } from "../../src/core/errors.js";
import { maskSecrets } from "../../src/core/secrets.js";

let root: string;
let product: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "civic-compose-loading-"));
  product = join(root, "products", "demo");
  await mkdir(join(product, "infra"), { recursive: true });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function write(name: string, text: string): Promise<void> {
  await writeFile(join(product, name), text);
}

async function usageErrorOf(promise: Promise<unknown>): Promise<UsageError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(UsageError);
  return error as UsageError;
}

describe("interpolate, as compose-spec documents it", () => {
  const vars: Record<string, string> = { SET: "value", EMPTY: "" };
  const missing: string[] = [];
  const policy = {
    lookup: (name: string) => vars[name],
    missing: (name: string) => {
      missing.push(name);
      return `<generated ${name}>`;
    },
  };

  it.each([
    ["$SET", "value"],
    ["${SET}", "value"],
    ["a${SET}b", "avalueb"],
    ["$$SET", "$SET"],
    ["$${SET}", "${SET}"],
    ["cost: 5$", "cost: 5$"],
    ["$ 1", "$ 1"],
    ["${UNSET:-default}", "default"],
    ["${EMPTY:-default}", "default"],
    ["${UNSET-default}", "default"],
    ["${EMPTY-default}", ""],
    ["${SET:-default}", "value"],
    ["${SET:+alt}", "alt"],
    ["${EMPTY:+alt}", ""],
    ["${EMPTY+alt}", "alt"],
    ["${UNSET+alt}", ""],
    ["${UNSET:-${SET}}", "value"],
    ["${UNSET:-${ALSO_UNSET:-deep}}", "deep"],
    ["${SET:+x${SET}y}", "xvaluey"],
    ["${EMPTY?msg}", ""],
    ["${SET:?msg}", "value"],
    ["${UNSET:-a:b}", "a:b"],
  ])("%s → %s", (text, expected) => {
    expect(interpolate(text, policy)).toBe(expected);
  });

  it("asks for a value for an unset variable the text needs, and only then", () => {
    missing.length = 0;
    expect(interpolate("$UNSET_A ${UNSET_B} ${UNSET_D:-d} ${UNSET_E:+e}", policy)).toBe("<generated UNSET_A> <generated UNSET_B> d ");
    expect(missing).toEqual(["UNSET_A", "UNSET_B"]);
  });

  it("fails `:?` on a set but empty variable with the given message", () => {
    expect(() => interpolate("${EMPTY:?set EMPTY in .env}", policy)).toThrow(
      new InterpolationError("required variable EMPTY is missing a value: set EMPTY in .env"),
    );
  });

  it.each(["${UNSET:?set UNSET in .env}", "${UNSET?set UNSET in .env}"])("fails %s on an unset variable with compose's message, never generating a value", (text) => {
    missing.length = 0;
    expect(() => interpolate(text, policy)).toThrow(new InterpolationError("required variable UNSET is missing a value: set UNSET in .env"));
    expect(missing).toEqual([]);
  });

  it.each(["${}", "${SET", "${1BAD}", "${SET:x}", "${SET!}"])("rejects the malformed %s", (text) => {
    expect(() => interpolate(text, policy)).toThrow(InterpolationError);
  });
});

describe("parseDotenv, as compose reads .env", () => {
  it("reads comments, export, quotes, inline comments, escapes, multi-line values and interpolation", () => {
    const text = [
      "# comment",
      "",
      "PLAIN=plain value # inline comment",
      "export EXPORTED=yes",
      "SINGLE='literal ${PLAIN} # kept'",
      'DOUBLE="line\\nnext ${PLAIN} \\"q\\" \\$PLAIN"',
      "REF=${PLAIN}-ref",
      "HASH=a#b",
      "MULTI='first",
      "second'",
      "EMPTY=",
      "FROM_ENV=${OUTSIDE}",
      "DEFAULTED=${NOWHERE:-fallback}",
    ].join("\n");
    const entries = parseDotenv(text, "products/demo/.env", (name) => ({ OUTSIDE: "from process", PLAIN: undefined })[name]);
    const values = Object.fromEntries([...entries].map(([key, entry]) => [key, entry.value]));
    expect(values).toEqual({
      PLAIN: "plain value",
      EXPORTED: "yes",
      SINGLE: "literal ${PLAIN} # kept",
      DOUBLE: 'line\nnext plain value "q" $PLAIN',
      REF: "plain value-ref",
      HASH: "a#b",
      MULTI: "first\nsecond",
      EMPTY: "",
      FROM_ENV: "from process",
      DEFAULTED: "fallback",
    });
    expect(entries.get("MULTI")?.line).toBe(9);
    expect(entries.get("EMPTY")?.line).toBe(11);
  });

  it("looks variables up in the process environment before earlier keys of the file", () => {
    const entries = parseDotenv("A=file\nB=${A}", ".env", (name) => (name === "A" ? "process" : undefined));
    expect(entries.get("B")?.value).toBe("process");
  });

  it("reports an unterminated quote with the file and line", () => {
    let caught: unknown;
    try {
      parseDotenv("A=1\nB='open\nC=3", "products/demo/.env", () => undefined);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UsageError);
    expect((caught as UsageError).location).toEqual({ file: "products/demo/.env", line: 2 });
  });
});

describe("loadCompose", () => {
  it("prefers compose.yaml over docker-compose.yml, as compose does", async () => {
    await write("docker-compose.yml", "services:\n  old: { image: busybox }\n");
    await write("compose.yaml", "services:\n  new: { image: busybox }\n");
    const project = await loadCompose(product, root, {});
    expect(project.file).toBe("products/demo/compose.yaml");
    expect([...project.services.keys()]).toEqual(["new"]);
  });

  it("takes the process environment over .env, and .env over nothing", async () => {
    await write(".env", "FROM_BOTH=dotenv\nFROM_DOTENV=dotenv\n");
    await write(
      "docker-compose.yml",
      "services:\n  app:\n    image: busybox\n    environment:\n      A: ${FROM_BOTH}\n      B: ${FROM_DOTENV}\n      C: ${FROM_PROCESS}\n",
    );
    const project = await loadCompose(product, root, { FROM_BOTH: "process", FROM_PROCESS: "process" });
    const env = project.services.get("app")!.environment;
    expect([env.get("A")?.value, env.get("B")?.value, env.get("C")?.value]).toEqual(["process", "dotenv", "process"]);
    expect(project.generatedVariables).toEqual([]);
  });

  it("generates one URL-safe random value per unset variable, reuses it, and masks it", async () => {
    await write(
      "docker-compose.yml",
      [
        "services:",
        "  db:",
        "    image: postgres:16",
        "    environment:",
        "      POSTGRES_PASSWORD: ${PG_PASSWORD}",
        "  app:",
        "    image: busybox",
        "    environment:",
        "      DATABASE_URL: postgresql://app:${PG_PASSWORD}@db:5432/app",
        "      OPTIONAL: ${NOT_NEEDED:-}",
      ].join("\n"),
    );
    const project = await loadCompose(product, root, {});
    expect(project.generatedVariables).toEqual(["PG_PASSWORD"]);
    const generated = project.variables.get("PG_PASSWORD")!;
    expect(generated).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(project.services.get("app")!.environment.get("DATABASE_URL")!.value).toBe(`postgresql://app:${generated}@db:5432/app`);
    expect(project.services.get("app")!.environment.get("OPTIONAL")!.value).toBe("");
    expect(maskSecrets(`the password is ${generated}`)).toBe("the password is ***");
  });

  it("masks the values of password variables read from .env, and literal URL passwords, whole", async () => {
    await write(".env", "APP_DB_PASSWORD=pw-from-dotenv-1\n");
    await write(
      "docker-compose.yml",
      "services:\n  app:\n    image: busybox\n    environment:\n      APP_DB_PASSWORD: ${APP_DB_PASSWORD}\n      OTHER_URL: postgresql://other:lit@ral pw@db:5432/other\n",
    );
    await loadCompose(product, root, {});
    expect(maskSecrets("pw pw-from-dotenv-1")).toBe("pw ***");
    // Registered as written, up to the URL's last @: neither the part after the first @ nor the part before the space leaks.
    expect(maskSecrets("said lit@ral pw here")).toBe("said *** here");
  });

  it("never masks a value for its variable's name alone (KEY, TOKEN, SECRET), nor booleans or service names", async () => {
    await write(".env", "JWT_SECRET=not-masked-by-name\n");
    await write(
      "docker-compose.yml",
      'services:\n  app:\n    image: busybox\n    environment:\n      JWT_SECRET: ${JWT_SECRET}\n      NEED_API_KEY: "false"\n      ROUTING_KEY: app\n',
    );
    await loadCompose(product, root, {});
    expect(maskSecrets("not-masked-by-name false app")).toBe("not-masked-by-name false app");
  });

  it("reads every field the checks use, with the line it is on", async () => {
    await write("shared.env", "FROM_FILE=file\nOVERRIDDEN=file\n");
    await write(
      "docker-compose.yml",
      [
        "x-common: &common", // 1
        "  NODE_ENV: development", // 2
        "services:", // 3
        "  app:", // 4
        "    build:", // 5
        "      context: ../..", // 6
        "      dockerfile: modules/app/Dockerfile", // 7
        "    env_file: shared.env", // 8
        "    environment:", // 9
        "      <<: *common", // 10
        "      OVERRIDDEN: compose", // 11
        "      COST: $$5", // 12
        "    ports:", // 13
        '      - "127.0.0.1:8080:4100/tcp"', // 14
        "      - target: 4200", // 15
        "        published: 9000", // 16
        "    volumes:", // 17
        "      - ./data:/data:ro", // 18
        "      - named:/var/lib", // 19
        "      - type: bind", // 20
        "        source: ./conf", // 21
        "        target: /conf", // 22
        "    depends_on: [db]", // 23
        "    healthcheck:", // 24
        "      test: [\"NONE\"]", // 25
        "  worker:", // 26
        "    image: busybox", // 27
        "    environment:", // 28
        "      - LIST_FORM=a=b", // 29
        "      - PASSED_THROUGH", // 30
        "    depends_on:", // 31
        "      app:", // 32
        "        condition: service_healthy", // 33
        "  db:", // 34
        "    image: postgres:16-alpine", // 35
        "    healthcheck:", // 36
        "      test: pg_isready", // 37
        "      disable: true", // 38
        "volumes:", // 39
        "  named:", // 40
      ].join("\n"),
    );
    const project = await loadCompose(product, root, { PASSED_THROUGH: "inherited" });
    const app = project.services.get("app")!;
    expect(app.line).toBe(4);
    expect(app.build).toEqual({ context: root, dockerfile: "modules/app/Dockerfile", line: 5, file: "products/demo/docker-compose.yml", dockerfileLine: 7, dockerfileFile: "products/demo/docker-compose.yml" });
    expect(Object.fromEntries([...app.environment].map(([key, value]) => [key, [value.value, value.line, value.envFile]]))).toEqual({
      FROM_FILE: ["file", 8, "products/demo/shared.env"],
      OVERRIDDEN: ["compose", 11, undefined],
      COST: ["$5", 12, undefined],
      NODE_ENV: ["development", 2, undefined],
    });
    expect(app.environmentLine).toBe(9);
    expect(app.ports).toEqual([
      { target: 4100, published: 8080, line: 14, file: "products/demo/docker-compose.yml" },
      { target: 4200, published: 9000, line: 15, file: "products/demo/docker-compose.yml" },
    ]);
    expect(app.volumes).toEqual([
      { type: "bind", source: join(product, "data"), target: "/data", line: 18, file: "products/demo/docker-compose.yml" },
      { type: "volume", source: "named", target: "/var/lib", line: 19, file: "products/demo/docker-compose.yml" },
      { type: "bind", source: join(product, "conf"), target: "/conf", line: 20, file: "products/demo/docker-compose.yml" },
    ]);
    expect([...app.dependsOn]).toEqual([["db", { value: "service_started", line: 23, file: "products/demo/docker-compose.yml" }]]);
    expect(app.healthcheck).toEqual({ test: ["NONE"], line: 25, file: "products/demo/docker-compose.yml", disabled: true });
    const worker = project.services.get("worker")!;
    expect(worker.environment.get("LIST_FORM")).toEqual({ value: "a=b", raw: "a=b", line: 29, file: "products/demo/docker-compose.yml", source: { file: "products/demo/docker-compose.yml", line: 29 } });
    // A value from an env_file is written on the env file's own line; `line` stays the compose file's env_file entry.
    expect(app.environment.get("FROM_FILE")?.source).toEqual({ file: "products/demo/shared.env", line: 1 });
    expect(app.environment.get("OVERRIDDEN")?.source).toEqual({ file: "products/demo/docker-compose.yml", line: 11 });
    expect(worker.environment.get("PASSED_THROUGH")?.value).toBe("inherited");
    expect([...worker.dependsOn]).toEqual([["app", { value: "service_healthy", line: 32, file: "products/demo/docker-compose.yml" }]]);
    expect(worker.dependsOnLine).toBe(31);
    expect(project.services.get("db")!.healthcheck).toEqual({ test: "pg_isready", line: 37, file: "products/demo/docker-compose.yml", disabled: true });
    expect(project.volumeNames).toEqual(["named"]);
  });

  it("refuses bad YAML with the file and line", async () => {
    await write("docker-compose.yml", "services:\n  app:\n    image: busybox\n   environment: [\n");
    const error = await usageErrorOf(loadCompose(product, root, {}));
    expect(error.location?.file).toBe("products/demo/docker-compose.yml");
    expect(error.location?.line).toBe(4);
  });

  it("refuses a duplicate key with its line", async () => {
    await write("docker-compose.yml", "services:\n  app:\n    image: a\n    image: b\n");
    const error = await usageErrorOf(loadCompose(product, root, {}));
    expect(error.location).toMatchObject({ file: "products/demo/docker-compose.yml", line: 4 });
    expect(error.message).toBe('invalid YAML: map keys must be unique, and "image" is repeated (first at line 3)');
  });

  it("refuses an alias inside the node it names (a cycle), at the alias's line", async () => {
    await write("docker-compose.yml", "services:\n  app: &app\n    image: a\n    labels:\n      self: *app\n");
    const error = await usageErrorOf(loadCompose(product, root, {}));
    expect(error.message).toBe("the alias *app refers to a node that contains it (a cycle)");
    expect(error.location).toEqual({ file: "products/demo/docker-compose.yml", line: 5 });
  });

  it("refuses a file that is not a mapping", async () => {
    await write("docker-compose.yml", "- just\n- a list\n");
    const error = await usageErrorOf(loadCompose(product, root, {}));
    expect(error.location).toEqual({ file: "products/demo/docker-compose.yml", line: 1 });
  });

  it("refuses an environment that is neither a list nor a mapping, at its line", async () => {
    await write("docker-compose.yml", "services:\n  app:\n    image: a\n    environment: 42\n");
    const error = await usageErrorOf(loadCompose(product, root, {}));
    expect(error.location).toEqual({ file: "products/demo/docker-compose.yml", line: 4 });
  });

  it("fails `${VAR:?message}` on a variable set empty in .env, naming the compose line", async () => {
    await write(".env", "POSTGRES_PASSWORD=\n");
    await write("docker-compose.yml", "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set it in .env}\n");
    const error = await usageErrorOf(loadCompose(product, root, {}));
    expect(error.message).toBe("required variable POSTGRES_PASSWORD is missing a value: set it in .env");
    expect(error.location).toEqual({ file: "products/demo/docker-compose.yml", line: 5 });
  });

  it("refuses malformed interpolation with its line", async () => {
    await write("docker-compose.yml", "services:\n  app:\n    image: a\n    environment:\n      A: ok\n      B: ${BROKEN\n");
    const error = await usageErrorOf(loadCompose(product, root, {}));
    expect(error.location).toEqual({ file: "products/demo/docker-compose.yml", line: 6 });
  });

  it("refuses a missing compose file", async () => {
    const error = await usageErrorOf(loadCompose(product, root, {}));
    expect(error.message).toContain("no compose file found");
  });
});

describe("reading a hostile compose project, bounded and inside the repository", () => {
  let outside: string;
  beforeEach(async () => {
    outside = await mkdtemp(join(tmpdir(), "civic-compose-outside-"));
  });
  afterEach(async () => {
    await rm(outside, { recursive: true, force: true });
  });

  const POSTGRES_WITH_INIT = "services:\n  db:\n    image: postgres:16\n    volumes:\n      - ./infra/init.sql:/docker-entrypoint-initdb.d/01-init.sql:ro\n";

  it("refuses a 17-level `<<:` merge-key alias bomb at an alias line, quickly", async () => {
    const levels = [`x-l0: &l0\n${Array.from({ length: 20 }, (_, i) => `  k${i}: v${i}\n`).join("")}`];
    for (let level = 1; level <= 17; level++) levels.push(`x-l${level}: &l${level}\n  <<: [${Array(10).fill(`*l${level - 1}`).join(", ")}]\n  m${level}: x\n`);
    await write("docker-compose.yml", `${levels.join("")}services:\n  db:\n    <<: *l17\n    image: postgres:16\n`);
    const started = performance.now();
    const error = await usageErrorOf(loadCompose(product, root, {}));
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(error.message).toMatch(/aliases and `<<` merge keys expand this compose file to more than \d+ nodes/);
    // The third level is where ten aliases of ten aliases cross the budget.
    expect(error.location?.line).toBeGreaterThan(20);
    expect(error.location?.line).toBeLessThan(80);
  });

  it("reads an ordinary `<<: *defaults` per service, 2,000 times, without refusing it", async () => {
    const services = Array.from({ length: 2_000 }, (_, i) => `  s${i}:\n    <<: *defaults\n    image: app:${i}\n`).join("");
    await write("docker-compose.yml", `x-defaults: &defaults\n  restart: always\n  environment:\n    A: "1"\nservices:\n${services}`);
    const compose = await loadCompose(product, root, {});
    expect(compose.services.size).toBe(2_000);
    expect(compose.services.get("s1999")?.environment.get("A")?.value).toBe("1");
  });

  it("refuses a compose file over its size limit, naming the file and the limit", async () => {
    await write("docker-compose.yml", `services: {}\nx-padding: "${"x".repeat(6 * 1024 * 1024)}"\n`);
    const error = await usageErrorOf(loadCompose(product, root, {}));
    expect(error.format()).toMatch(/^products\/demo\/docker-compose\.yml: products\/demo\/docker-compose\.yml is 6 MB, over the 5 MB size limit for a compose file$/);
  });

  it("refuses an env_file linked outside the repository at the env_file line, and reads it with allowOutsideLinks", async () => {
    await writeFile(join(outside, "secrets.env"), "TOKEN=from-outside\n");
    await symlink(join(outside, "secrets.env"), join(product, "app.env"));
    await write("docker-compose.yml", "services:\n  app:\n    image: busybox\n    env_file: app.env\n");
    const error = await usageErrorOf(loadCompose(product, root, {}));
    expect(error.format()).toBe(
      `products/demo/docker-compose.yml:4: products/demo/app.env is a symbolic link to ${join(outside, "secrets.env")}, outside the repository; pass --allow-outside-links to read it`,
    );
    const allowed = await loadCompose(product, root, {}, { allowOutsideLinks: true });
    expect(allowed.services.get("app")?.environment.get("TOKEN")?.value).toBe("from-outside");
  });

  it("refuses an init script in a mounted folder that links outside, at the mount's line", async () => {
    await mkdir(join(product, "initdb"));
    await writeFile(join(outside, "evil.sh"), "echo hi\n");
    await symlink(join(outside, "evil.sh"), join(product, "initdb", "02-evil.sh"));
    await write("docker-compose.yml", "services:\n  db:\n    image: postgres:16\n    volumes:\n      - ./initdb:/docker-entrypoint-initdb.d\n");
    const error = await usageErrorOf(loadCompose(product, root, {}));
    expect(error.location).toEqual({ file: "products/demo/docker-compose.yml", line: 5 });
    expect(error.message).toContain(`products/demo/initdb/02-evil.sh is a symbolic link to ${join(outside, "evil.sh")}, outside the repository`);
  });

  it("refuses a compose file and a .env reached through links outside, and reads links that stay inside", async () => {
    await writeFile(join(product, "infra", "init.sql"), "SELECT 1;\n");
    await writeFile(join(outside, "compose.yml"), POSTGRES_WITH_INIT);
    await symlink(join(outside, "compose.yml"), join(product, "docker-compose.yml"));
    expect((await usageErrorOf(loadCompose(product, root, {}))).message).toContain("outside the repository");

    await rm(join(product, "docker-compose.yml"));
    await write("base.yml", POSTGRES_WITH_INIT);
    await symlink("base.yml", join(product, "docker-compose.yml"));
    await writeFile(join(outside, ".env"), "A=1\n");
    await symlink(join(outside, ".env"), join(product, ".env"));
    expect((await usageErrorOf(loadCompose(product, root, {}))).format()).toMatch(/^products\/demo\/\.env: products\/demo\/\.env is a symbolic link to .*, outside the repository/);

    await rm(join(product, ".env"));
    expect((await loadCompose(product, root, {})).services.has("db")).toBe(true);
  });
});

describe("the postgres service as the official image resolves it", () => {
  it("applies the image's defaults: user postgres, database = user", async () => {
    await write("docker-compose.yml", "services:\n  db:\n    image: postgres:16-alpine\n    environment:\n      POSTGRES_PASSWORD: pw-value\n");
    const [postgres] = await findPostgresInstances(await loadCompose(product, root, {}));
    expect(postgres).toMatchObject({ user: "postgres", password: "pw-value", database: "postgres", hostAuthMethod: undefined });
    expect(postgres?.service.name).toBe("db");
  });

  it("reads POSTGRES_PASSWORD_FILE from a compose secret and POSTGRES_USER_FILE from a bind mount", async () => {
    await write("pw.txt", "from-secret-file\n\n");
    await mkdir(join(product, "conf"));
    await writeFile(join(product, "conf", "user"), "admin\n");
    await write(
      "docker-compose.yml",
      [
        "services:",
        "  postgres:",
        "    image: docker.io/library/postgres:16",
        "    secrets: [pg_password]",
        "    volumes: [./conf:/etc/pg]",
        "    environment:",
        "      POSTGRES_PASSWORD_FILE: /run/secrets/pg_password",
        "      POSTGRES_USER_FILE: /etc/pg/user",
        "      POSTGRES_DB: platform",
        "secrets:",
        "  pg_password:",
        "    file: ./pw.txt",
      ].join("\n"),
    );
    const [postgres] = await findPostgresInstances(await loadCompose(product, root, {}));
    expect(postgres).toMatchObject({ user: "admin", password: "from-secret-file", database: "platform" });
    expect(maskSecrets("from-secret-file")).toBe("***");
  });

  it("refuses POSTGRES_PASSWORD together with POSTGRES_PASSWORD_FILE, as the image does", async () => {
    await write(
      "docker-compose.yml",
      "services:\n  postgres:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: a-password\n      POSTGRES_PASSWORD_FILE: /run/secrets/x\n",
    );
    const error = await usageErrorOf(findPostgresInstances(await loadCompose(product, root, {})));
    expect(error.location).toEqual({ file: "products/demo/docker-compose.yml", line: 6 });
  });

  it("finds the server by its init-script mount when the image is not called postgres, and lists every instance", async () => {
    await write("docker-compose.yml", "services:\n  db:\n    image: my/pg\n    volumes: ['./infra:/docker-entrypoint-initdb.d']\n  cache:\n    image: redis\n");
    expect((await findPostgresInstances(await loadCompose(product, root, {}))).map((instance) => instance.name)).toEqual(["db"]);
    await write("docker-compose.yml", "services:\n  replica:\n    image: postgres:16\n  postgres:\n    image: postgres:16\n");
    expect((await findPostgresInstances(await loadCompose(product, root, {}))).map((instance) => instance.name)).toEqual(["replica", "postgres"]);
  });
});

describe("init scripts in the image's order", () => {
  it("lists a mounted directory and single files by container name in byte order, with kinds", async () => {
    const dir = join(product, "initdb");
    await mkdir(join(dir, "nested"), { recursive: true });
    for (const name of ["b.sql", "a.sql.gz", "Z.sh", "readme.txt", "10-late.sql"]) await writeFile(join(dir, name), "");
    await chmod(join(dir, "Z.sh"), 0o755);
    await write("infra/init-databases.sql", "CREATE DATABASE x;");
    await write(
      "docker-compose.yml",
      [
        "services:",
        "  postgres:",
        "    image: postgres:16",
        "    volumes:",
        "      - ./initdb:/docker-entrypoint-initdb.d",
        "      - ./infra/init-databases.sql:/docker-entrypoint-initdb.d/01-init.sql:ro",
        "      - ./infra/absent.sql:/docker-entrypoint-initdb.d/99-absent.sql",
      ].join("\n"),
    );
    const project = await loadCompose(product, root, {});
    const { scripts, problems } = await initScriptsOf(project.services.get("postgres")!);
    expect(scripts.map((script) => [script.containerName, script.kind, script.origin.line])).toEqual([
      ["01-init.sql", "sql", 6],
      ["10-late.sql", "sql", 5],
      ["Z.sh", "sh", 5],
      ["a.sql.gz", "sql.gz", 5],
      ["b.sql", "sql", 5],
      ["nested", "ignored", 5],
      ["readme.txt", "ignored", 5],
    ]);
    expect(scripts[0]!.hostPath).toBe(join(product, "infra", "init-databases.sql"));
    expect(scripts.find((script) => script.containerName === "Z.sh")!.executable).toBe(true);
    expect(problems).toEqual([
      { source: join(product, "infra", "absent.sql"), target: "/docker-entrypoint-initdb.d/99-absent.sql", origin: { file: "products/demo/docker-compose.yml", line: 7 }, reason: "missing" },
    ]);
  });
});

describe("PostgreSQL URLs", () => {
  it("parses user, password, host, port, database and parameters, percent-decoding them", () => {
    const url = parseDatabaseUrl("postgresql://svc%40x:p%2Fw@postgres:5432/my_db?sslmode=disable&application_name=a%20b")!;
    expect(url).toMatchObject({ scheme: "postgresql", user: "svc@x", password: "p/w", host: "postgres", port: 5432, database: "my_db" });
    expect(Object.fromEntries(url.params)).toEqual({ sslmode: "disable", application_name: "a b" });
  });

  it("keeps an unencoded password with # and / whole, defaults the port, and accepts IPv6 hosts", () => {
    expect(parseDatabaseUrl("postgres://u:a#b/c@db/name")).toMatchObject({ password: "a#b/c", host: "db", port: 5432, database: "name" });
    expect(parseDatabaseUrl("postgres://u@[::1]:6543/d")).toMatchObject({ user: "u", password: undefined, host: "::1", port: 6543 });
  });

  it("returns undefined for other schemes and unusable URLs", () => {
    expect(parseDatabaseUrl("mysql://u:p@h/d")).toBeUndefined();
    expect(parseDatabaseUrl("postgresql://u:p@h:99999/d")).toBeUndefined();
    expect(parseDatabaseUrl("postgresql:///d")).toBeUndefined();
    expect(isPostgresUrl("  postgres://x")).toBe(true);
  });

  it("rewrites host and port and keeps everything else as written", () => {
    expect(withHostPort("postgresql://svc:p%40ss@postgres:5432/db?sslmode=disable", "127.0.0.1", 6001)).toBe(
      "postgresql://svc:p%40ss@127.0.0.1:6001/db?sslmode=disable",
    );
    expect(formatDatabaseUrl({ user: "a b", password: "p@ss", host: "::1", port: 1, database: "d" })).toBe("postgresql://a%20b:p%40ss@[::1]:1/d");
  });
});
