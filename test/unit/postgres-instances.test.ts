/**
 * Every PostgreSQL service of a compose file (issues 8 and 14): recognised by image family or by a
 * `build:` whose Dockerfile starts FROM one, with its bootstrap settings, its init scripts from bind
 * mounts and from the build context, and the names that reach it. The real-layout fixtures are read
 * as they are; the inline cases cover what no fixture has (bitnami, ARG in FROM, multi-stage).
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadCompose } from "../../src/compose-file/load-compose-file.js";
import { findPostgresInstances } from "../../src/compose-file/postgres-instances.js";
import { imageRepositoryName, postgresFlavorOf } from "../../src/compose-file/postgres-image.js";
import { fixture } from "../helpers/fixtures.js";

const ENV = { PATH: process.env.PATH };

describe("the real-layout fixtures", () => {
  it("custom-db-image: `db` is PostgreSQL because db/Dockerfile starts FROM postgres:16, its init SQL read from the build context", async () => {
    const root = fixture("custom-db-image");
    const instances = await findPostgresInstances(await loadCompose(root, root, ENV));
    expect(instances.map((instance) => instance.name)).toEqual(["db"]);
    const [db] = instances;
    expect(db).toMatchObject({
      flavor: "official",
      image: "postgres:16",
      recognisedBy: { by: "build", file: "db/Dockerfile", line: 3 },
      user: "inventory_admin",
      password: "inv-admin-dev-6d21",
      database: "inventory_admin",
      networkPort: 5432,
      aliases: ["db"],
    });
    expect(db!.initScripts.map((script) => [script.containerName, script.kind, script.origin])).toEqual([
      ["01-databases.sql", "sql", { file: "db/Dockerfile", line: 4 }],
      ["02-inventory-extensions.sql", "sql", { file: "db/Dockerfile", line: 4 }],
    ]);
    expect(db!.initScripts[0]!.hostPath).toBe(join(root, "db", "init", "01-databases.sql"));
    expect(db!.initProblems).toEqual([]);
  });

  it("multi-instance: three instances, each with its own bootstrap (env_file for two) and init scripts", async () => {
    const root = fixture("multi-instance");
    const instances = await findPostgresInstances(await loadCompose(root, root, ENV));
    const summary = instances.map((instance) => ({
      name: instance.name,
      user: instance.user,
      database: instance.database,
      recognisedBy: instance.recognisedBy,
      scripts: instance.initScripts.map((script) => [script.containerName, script.kind, script.executable, script.origin.line]),
    }));
    expect(summary).toEqual([
      { name: "postgres", user: "platform", database: "platform", recognisedBy: { by: "image", file: "compose.yaml", line: 6 }, scripts: [["10-service-roles.sh", "sh", true, 17]] },
      { name: "postgres-fees", user: "fees_admin", database: "fees_admin", recognisedBy: { by: "image", file: "compose.yaml", line: 26 }, scripts: [["01-fee-collection.sql", "sql", false, 32]] },
      { name: "postgres-docs", user: "docs_admin", database: "docs_admin", recognisedBy: { by: "image", file: "compose.yaml", line: 41 }, scripts: [["01-document-store.sql", "sql", false, 47]] },
    ]);
    expect(instances.map((instance) => instance.password)).toEqual(["platform-dev-0f4e", "fees-admin-dev-8b52", "docs-admin-dev-5d93"]);
    // What the init scripts read through \getenv: the env_file's variables are in the instance's environment.
    expect(instances[1]!.env.get("FEE_COLLECTION_DB_PASSWORD")).toBe("fee-collection-dev-e07c");
  });
});

describe("recognition by image family", () => {
  it("matches the repository's last path segment after registry, tag and digest", () => {
    expect(imageRepositoryName("registry.example.com:5000/library/postgres:16@sha256:abc")).toBe("postgres");
    expect(postgresFlavorOf("postgres")).toBe("official");
    expect(postgresFlavorOf("postgis/postgis:16-3.4")).toBe("official");
    expect(postgresFlavorOf("timescale/timescaledb-ha:pg16")).toBe("official");
    expect(postgresFlavorOf("timescale/timescaledb:latest-pg16")).toBe("official");
    expect(postgresFlavorOf("pgvector/pgvector:pg16")).toBe("official");
    expect(postgresFlavorOf("ankane/pgvector")).toBe("official");
    expect(postgresFlavorOf("docker.io/bitnami/postgresql:16")).toBe("bitnami");
    expect(postgresFlavorOf("prometheuscommunity/postgres-exporter")).toBeUndefined();
    expect(postgresFlavorOf("mysql:8")).toBeUndefined();
  });
});

describe("inline compose files", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "civic-instances-"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });
  const write = async (path: string, text: string) => {
    await mkdir(join(root, path, ".."), { recursive: true });
    await writeFile(join(root, path), text);
  };
  const instancesOf = async () => findPostgresInstances(await loadCompose(root, root, ENV));

  it("bitnami/postgresql: its own variables; `postgres` is the superuser, the named user and database are what its scripts create", async () => {
    await write(
      "compose.yaml",
      [
        "services:",
        "  pg:",
        "    image: bitnami/postgresql:16",
        "    container_name: shared-pg",
        "    environment:",
        "      POSTGRESQL_USERNAME: app",
        "      POSTGRESQL_PASSWORD: app-secret-1",
        "      POSTGRESQL_DATABASE: appdb",
        "      POSTGRESQL_POSTGRES_PASSWORD: root-secret-1",
        "      POSTGRESQL_PORT_NUMBER: 6543",
        "    networks:",
        "      backend:",
        "        aliases: [database]",
        "  cache:",
        "    image: mysql:8",
        "    volumes: ['./sql:/docker-entrypoint-initdb.d']",
        "networks:",
        "  backend:",
      ].join("\n"),
    );
    const instances = await instancesOf();
    expect(instances).toHaveLength(1);
    expect(instances[0]).toMatchObject({
      name: "pg",
      flavor: "bitnami",
      user: "postgres",
      password: "root-secret-1",
      database: "appdb",
      networkPort: 6543,
      aliases: ["pg", "shared-pg", "database"],
      bitnamiUser: { user: "app", password: "app-secret-1", database: "appdb" },
    });
  });

  it("a build: ARG default in FROM, build.args over it, the `target:` stage of a multi-stage file, ENV as defaults under environment:", async () => {
    await write(
      "db/Dockerfile",
      [
        "# syntax=docker/dockerfile:1", // 1
        "ARG PG_IMAGE=postgres", // 2
        "ARG PG_VERSION=15", // 3
        "FROM ${PG_IMAGE}:${PG_VERSION}-alpine AS base", // 4
        "ENV POSTGRES_DB=from_image \\", // 5
        "    POSTGRES_USER=image_admin", // 6
        "WORKDIR /docker-entrypoint-initdb.d", // 7
        "COPY sql/*.sql ./", // 8
        "COPY --chmod=755 scripts/seed.sh 90-seed.sh", // 9
        "COPY --from=builder /out/generated.sql /docker-entrypoint-initdb.d/", // 10
        "FROM base AS dev", // 11
        "ADD extra.sql /docker-entrypoint-initdb.d/50-extra.sql", // 12
        "FROM node:20-alpine AS tools", // 13
      ].join("\n"),
    );
    await write("db/sql/01-roles.sql", "CREATE ROLE a;");
    await write("db/sql/02-databases.sql", "CREATE DATABASE a;");
    await write("db/sql/notes.txt", "not matched by the glob");
    await write("db/scripts/seed.sh", "echo seed");
    await write("db/extra.sql", "SELECT 1;");
    await write(
      "compose.yaml",
      [
        "services:",
        "  database:",
        "    build:",
        "      context: ./db",
        "      target: dev",
        "      args:",
        "        PG_VERSION: '16'",
        "    environment:",
        "      POSTGRES_USER: compose_admin",
        "      POSTGRES_PASSWORD: pw-123456",
        "  tools:",
        "    build:",
        "      context: ./db",
        "      target: tools",
      ].join("\n"),
    );
    const instances = await instancesOf();
    expect(instances.map((instance) => instance.name)).toEqual(["database"]);
    const [database] = instances;
    expect(database).toMatchObject({
      image: "postgres:16-alpine",
      recognisedBy: { by: "build", file: "db/Dockerfile", line: 4 },
      user: "compose_admin",
      database: "from_image",
    });
    expect(database!.initScripts.map((script) => [script.containerName, script.kind, script.executable, script.origin.line])).toEqual([
      ["01-roles.sql", "sql", false, 8],
      ["02-databases.sql", "sql", false, 8],
      ["50-extra.sql", "sql", false, 12],
      ["90-seed.sh", "sh", true, 9],
    ]);
    expect(database!.initProblems).toEqual([
      { source: "builder", target: "/docker-entrypoint-initdb.d", origin: { file: "db/Dockerfile", line: 10 }, reason: "other-stage" },
    ]);
  });

  it("a bind mount over the init directory hides what the build copied there; a missing COPY source is a problem at its Dockerfile line", async () => {
    await write("db/Dockerfile", "FROM postgres:16\nCOPY absent.sql /docker-entrypoint-initdb.d/\n");
    await write("init/01.sql", "SELECT 1;");
    await write("compose.yaml", "services:\n  db:\n    build: ./db\n");
    const [built] = await instancesOf();
    expect(built!.initScripts).toEqual([]);
    expect(built!.initProblems.map((problem) => [problem.reason, problem.origin])).toEqual([["missing", { file: "db/Dockerfile", line: 2 }]]);
    await write("compose.yaml", "services:\n  db:\n    build: ./db\n    volumes: ['./init:/docker-entrypoint-initdb.d']\n");
    const [mounted] = await instancesOf();
    expect(mounted!.initScripts.map((script) => [script.containerName, script.origin])).toEqual([["01.sql", { file: "compose.yaml", line: 4 }]]);
    expect(mounted!.initProblems).toEqual([]);
  });

  it("none: a product without PostgreSQL has no instance (the compose check and the runtimes report it), and a build FROM node is not one", async () => {
    await write("app/Dockerfile", "FROM node:20-alpine\nCOPY x.sql /docker-entrypoint-initdb.d/\n");
    await write("compose.yaml", "services:\n  app:\n    build: ./app\n  cache:\n    image: redis:7-alpine\n");
    expect(await instancesOf()).toEqual([]);
  });

  it("keeps PGPORT as the port the official image listens on inside the network", async () => {
    await write("compose.yaml", "services:\n  pg:\n    image: postgres:16\n    environment:\n      PGPORT: '5433'\n      POSTGRES_PASSWORD: x-123456\n");
    const [pg] = await instancesOf();
    expect(pg!.networkPort).toBe(5433);
  });

  describe("the server's command line (`command:`, a Dockerfile's CMD)", () => {
    const pg = (command: string, extra = "") => `services:\n  pg:\n    image: postgres:16\n${extra}    environment:\n      POSTGRES_PASSWORD: x-123456\n    command: ${command}\n`;

    it("reads the settings of the string form, quotes as Compose splits them, and moves the port with -p", async () => {
      await write("compose.yaml", pg(`postgres -c max_connections=50 -c 'log_line_prefix=%m [%p] ' -c "search_path=app, public" -p 5433`));
      const [instance] = await instancesOf();
      expect(instance!.serverCommand).toEqual({
        file: "compose.yaml",
        line: 6,
        settings: [
          { name: "max_connections", value: "50" },
          { name: "log_line_prefix", value: "%m [%p] " },
          { name: "search_path", value: "app, public" },
          { name: "port", value: "5433" },
        ],
      });
      expect(instance!.networkPort).toBe(5433);
    });

    it("reads the list form with -cname=value and --long-name=value, options only (the entrypoint puts postgres in front)", async () => {
      await write("compose.yaml", pg(`["-cshared_preload_libraries=pg_stat_statements", "--max-connections=200", "-N", "150", "-c", "port=6543"]`));
      const [instance] = await instancesOf();
      expect(instance!.serverCommand!.settings).toEqual([
        { name: "shared_preload_libraries", value: "pg_stat_statements" },
        { name: "max_connections", value: "200" },
        { name: "max_connections", value: "150" },
        { name: "port", value: "6543" },
      ]);
      expect(instance!.serverCommand!.unread).toBeUndefined();
      expect(instance!.networkPort).toBe(6543);
    });

    it("a port on the command line wins over PGPORT, as it does in the server", async () => {
      await write("compose.yaml", "services:\n  pg:\n    image: postgres:16\n    environment:\n      PGPORT: '5433'\n      POSTGRES_PASSWORD: x-123456\n    command: postgres -c port=5434\n");
      expect((await instancesOf())[0]!.networkPort).toBe(5434);
    });

    it("a command that is not postgres, or a replaced entrypoint, is not read: the port stays the image's", async () => {
      await write("compose.yaml", pg(`["bash", "-c", "exec postgres -p 5433"]`));
      const [shell] = await instancesOf();
      expect(shell!.serverCommand).toMatchObject({ line: 6, settings: [], unread: 'the command runs "bash", not postgres' });
      expect(shell!.networkPort).toBe(5432);
      await write("compose.yaml", pg("postgres -p 5433", "    entrypoint: /custom-entrypoint.sh\n"));
      const [custom] = await instancesOf();
      expect(custom!.serverCommand).toMatchObject({ line: 4, settings: [], unread: "the service replaces the image's entrypoint" });
      expect(custom!.networkPort).toBe(5432);
    });

    it("an entrypoint that names the image's own docker-entrypoint.sh keeps the command read", async () => {
      await write("compose.yaml", pg("postgres -c max_connections=70", "    entrypoint: [\"docker-entrypoint.sh\"]\n"));
      expect((await instancesOf())[0]!.serverCommand).toEqual({ file: "compose.yaml", line: 7, settings: [{ name: "max_connections", value: "70" }] });
    });

    it("an option postgres takes for no setting makes the command unread, not half read", async () => {
      await write("compose.yaml", pg("postgres -c max_connections=50 --describe-config"));
      expect((await instancesOf())[0]!.serverCommand).toMatchObject({ settings: [], unread: expect.stringContaining("--describe-config") });
    });

    it("reads a built image's CMD in exec form; the service's command: replaces it", async () => {
      await write("db/Dockerfile", 'FROM postgres:16-alpine\nCOPY postgresql.conf /etc/postgresql/postgresql.conf\nCMD ["postgres", "-c", "config_file=/etc/postgresql/postgresql.conf"]\n');
      await write("db/postgresql.conf", "max_connections = 20\n");
      await write("compose.yaml", "services:\n  db:\n    build: ./db\n    environment:\n      POSTGRES_PASSWORD: x-123456\n");
      expect((await instancesOf())[0]!.serverCommand).toEqual({ file: "db/Dockerfile", line: 3, settings: [{ name: "config_file", value: "/etc/postgresql/postgresql.conf" }] });
      await write("compose.yaml", "services:\n  db:\n    build: ./db\n    environment:\n      POSTGRES_PASSWORD: x-123456\n    command: postgres -c max_connections=30\n");
      expect((await instancesOf())[0]!.serverCommand).toEqual({ file: "compose.yaml", line: 6, settings: [{ name: "max_connections", value: "30" }] });
    });

    it("an unclosed quote is refused at its line, as Compose refuses it", async () => {
      await write("compose.yaml", pg(`"postgres -c 'max_connections=50"`));
      await expect(instancesOf()).rejects.toThrow(/command of service "pg" has an unclosed quote/);
    });
  });
});
