import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { execa } from "execa";
import pg from "pg";
import { GenericContainer, Wait, type ImagePullPolicy } from "testcontainers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  STANDIN_IMAGES,
  STANDIN_LABEL,
  TEST_LABEL,
  announceStandins,
  createNetwork,
  docker,
  dockerCompose,
  dockerList,
  imageLabels,
  requireStandins,
  runContainer,
  uniqueName,
  waitForPostgres,
  waitUntil,
  type RunningContainer,
} from "../helpers/docker.js";
import { REPO_ROOT } from "../helpers/fixtures.js";

/** These tests are about the stand-ins themselves: they run where they were built (CIVIC_DOCKER_STANDINS). */
const engine = requireStandins();

const APP_USER = "app";
const APP_PASSWORD = "s3cret-app-pw";
const APP_DB = "appdb";

/** A temp directory readable by the container's postgres user (uid 999), removed on dispose. */
async function worldReadableTempDir(prefix: string): Promise<{ path: string } & AsyncDisposable> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  await chmod(path, 0o755);
  return {
    path,
    async [Symbol.asyncDispose]() {
      await rm(path, { recursive: true, force: true });
    },
  };
}

async function query<T extends pg.QueryResultRow>(
  connection: pg.ClientConfig,
  sql: string,
): Promise<T[]> {
  const client = new pg.Client(connection);
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe.skipIf(!engine)("local Docker stand-ins for the official base images", { timeout: 180_000 }, () => {
  beforeAll(async () => {
    await announceStandins();
  });

  it("tags postgres:16-alpine, redis:7-alpine and node:20-alpine locally, each labelled as a stand-in", async () => {
    for (const image of Object.values(STANDIN_IMAGES)) {
      const labels = await imageLabels(image);
      expect(labels[STANDIN_LABEL], image).toBe("true");
      expect(labels[`${STANDIN_LABEL}.of`], image).toBe(image);
    }
  });

  describe("postgres:16-alpine with POSTGRES_USER/PASSWORD/DB and an init directory", () => {
    let initDir: { path: string } & AsyncDisposable;
    let container: RunningContainer;
    let connection: pg.ClientConfig;

    beforeAll(async () => {
      initDir = await worldReadableTempDir("civic-initdb-");
      const file = (name: string, text: string | Buffer, mode = 0o644) =>
        writeFile(join(initDir.path, name), text, { mode });
      await file(
        "01-schema.sql",
        [
          "CREATE TABLE init_log (id serial PRIMARY KEY, step text NOT NULL,",
          "  db text NOT NULL DEFAULT current_database(), who text NOT NULL DEFAULT current_user);",
          // The temporary server must serve the unix socket only.
          "INSERT INTO init_log (step) VALUES ('sql listen_addresses=' || current_setting('listen_addresses'));",
        ].join("\n"),
      );
      await file(
        "02-executed.sh",
        '#!/bin/bash\nset -e\npsql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" ' +
          "-c \"INSERT INTO init_log (step) VALUES ('executed-sh')\"\n",
        0o755,
      );
      await file("03-data.sql.gz", gzipSync("INSERT INTO init_log (step) VALUES ('sql-gz');\n"));
      // Not executable, so it is sourced: only then is the entrypoint's docker_process_sql defined.
      await file("04-sourced.sh", "docker_process_sql <<<\"INSERT INTO init_log (step) VALUES ('sourced-sh')\"\n");
      await file("05-ignored.txt", "INSERT INTO init_log (step) VALUES ('txt');\n");
      await file("10-last.sql", "INSERT INTO init_log (step) VALUES ('sql-10');\n");

      container = await runContainer({
        image: STANDIN_IMAGES.postgres,
        env: { POSTGRES_USER: APP_USER, POSTGRES_PASSWORD: APP_PASSWORD, POSTGRES_DB: APP_DB },
        mounts: [`${initDir.path}:/docker-entrypoint-initdb.d:ro`],
        publish: [5432],
      });
      await waitForPostgres(container);
      connection = {
        host: "127.0.0.1",
        port: await container.hostPort(5432),
        user: APP_USER,
        password: APP_PASSWORD,
        database: APP_DB,
      };
    });

    afterAll(async () => {
      await container?.[Symbol.asyncDispose]();
      await initDir?.[Symbol.asyncDispose]();
    });

    it("runs *.sql, executable *.sh, *.sql.gz and sourced *.sh in sorted order into POSTGRES_DB as POSTGRES_USER, ignoring other files", async () => {
      const rows = await query<{ step: string; db: string; who: string }>(
        connection,
        "SELECT step, db, who FROM init_log ORDER BY id",
      );
      expect(rows).toEqual(
        ["sql listen_addresses=", "executed-sh", "sql-gz", "sourced-sh", "sql-10"].map((step) => ({
          step,
          db: APP_DB,
          who: APP_USER,
        })),
      );
      const logs = await container.logs();
      expect(logs).toContain("ignoring /docker-entrypoint-initdb.d/05-ignored.txt");
      expect(logs).toContain("sourcing /docker-entrypoint-initdb.d/04-sourced.sh");
      expect(logs).toContain("PostgreSQL init process complete; ready for start up.");
    });

    it("serves PostgreSQL 16 over the published port, with POSTGRES_USER as superuser", async () => {
      const [row] = await query<{ server_version_num: string; rolsuper: boolean; encoding: string }>(
        connection,
        "SELECT current_setting('server_version_num') AS server_version_num, " +
          "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS rolsuper, " +
          "pg_encoding_to_char(encoding) AS encoding FROM pg_database WHERE datname = current_database()",
      );
      expect(row?.server_version_num.slice(0, 2)).toBe("16");
      expect(row?.rolsuper).toBe(true);
      expect(row?.encoding).toBe("UTF8");
    });

    it("refuses a wrong password over TCP from outside the container (28P01)", async () => {
      await expect(query({ ...connection, password: "wrong" }, "SELECT 1")).rejects.toMatchObject({ code: "28P01" });
    });

    it("appends 'host all all all scram-sha-256' to pg_hba.conf, as initdb without --auth plus the official rule", async () => {
      const hba = await container.exec(["sh", "-c", 'grep -v "^#" "$PGDATA/pg_hba.conf" | grep -v "^$"']);
      const rules = String(hba.stdout).split("\n").map((line) => line.trim().split(/\s+/).join(" "));
      expect(rules.at(-1)).toBe("host all all all scram-sha-256");
      expect(rules).toContain("local all all trust");
    });

    it("answers pg_isready inside the container", async () => {
      const ready = await container.exec(["pg_isready", "--host", "127.0.0.1", "--username", APP_USER]);
      expect(ready.exitCode).toBe(0);
      expect(String(ready.stdout)).toContain("accepting connections");
    });
  });

  it("refuses to initialise without POSTGRES_PASSWORD unless POSTGRES_HOST_AUTH_METHOD=trust", async () => {
    await using container = await runContainer({ image: STANDIN_IMAGES.postgres });
    expect(await container.waitForExit()).toBe(1);
    expect(await container.logs()).toContain("superuser password is not specified");
  });

  it("reads POSTGRES_PASSWORD_FILE and defaults user and database to postgres", async () => {
    await using secrets = await worldReadableTempDir("civic-secret-");
    await writeFile(join(secrets.path, "password"), "file-pw", { mode: 0o644 });
    await using container = await runContainer({
      image: STANDIN_IMAGES.postgres,
      env: { POSTGRES_PASSWORD_FILE: "/run/secrets/password" },
      mounts: [`${secrets.path}:/run/secrets:ro`],
      publish: [5432],
    });
    await waitForPostgres(container);
    const port = await container.hostPort(5432);
    const rows = await query<{ who: string; db: string }>(
      { host: "127.0.0.1", port, user: "postgres", password: "file-pw", database: "postgres" },
      "SELECT current_user AS who, current_database() AS db",
    );
    expect(rows).toEqual([{ who: "postgres", db: "postgres" }]);
  });

  it("redis:7-alpine answers PING from another container on a user network (protected mode off, as the official image)", async () => {
    await using network = await createNetwork();
    await using redis = await runContainer({ image: STANDIN_IMAGES.redis, network: network.name });
    await waitUntil("redis to answer", async () => (await redis.exec(["redis-cli", "ping"])).stdout === "PONG");
    await using client = await runContainer({
      image: STANDIN_IMAGES.redis,
      network: network.name,
      command: ["redis-cli", "-h", redis.name, "ping"],
    });
    expect(await client.waitForExit()).toBe(0);
    expect((await client.logs()).trim()).toBe("PONG");
  });

  it("cleanup-docker.sh --dry-run would remove a labelled test container and volume, never a stand-in image", async () => {
    await using container = await runContainer({
      image: STANDIN_IMAGES.node,
      command: ["node", "-e", "setInterval(() => {}, 1000)"],
    });
    const volume = uniqueName("volume");
    await docker(["volume", "create", "--label", `${TEST_LABEL}=true`, volume]);
    try {
      const { stdout } = await execa(join(REPO_ROOT, "scripts/ci/cleanup-docker.sh"), ["--dry-run"]);
      expect(stdout).toContain(`would remove container ${container.id.slice(0, 12)}\n`);
      expect(stdout).toContain(`would remove volume ${volume}\n`);
      for (const image of Object.values(STANDIN_IMAGES)) {
        const { stdout: id } = await docker(["image", "inspect", "--format", "{{.Id}}", image]);
        expect(stdout).not.toContain(String(id));
      }
      const kept = stdout.split("\n").find((line) => line.includes("kept stand-in images:"));
      expect(kept?.split(": ")[1]?.split(" ").sort()).toEqual(Object.values(STANDIN_IMAGES).sort());
      // A dry run removes nothing.
      expect(String((await docker(["inspect", "--format", "{{.State.Running}}", container.id])).stdout)).toBe("true");
    } finally {
      await docker(["volume", "rm", volume], { reject: false });
    }
  });

  describe("a docker-compose (v1) project: postgres with a healthcheck, a node service depending on it", () => {
    const project = uniqueName("compose");
    let composeDir: { path: string } & AsyncDisposable;
    let composeFile: string;

    beforeAll(async () => {
      composeDir = await worldReadableTempDir("civic-compose-");
      composeFile = join(composeDir.path, "docker-compose.yml");
      const probe =
        "const s = require('net').connect(5432, 'db', () => { console.log('reached db:5432'); s.end(); });" +
        "s.on('error', (e) => { console.error(e.message); process.exit(1); }); setInterval(() => {}, 60000);";
      await writeFile(
        composeFile,
        [
          "services:",
          "  db:",
          `    image: ${STANDIN_IMAGES.postgres}`,
          "    environment:",
          `      POSTGRES_USER: ${APP_USER}`,
          `      POSTGRES_PASSWORD: ${APP_PASSWORD}`,
          `      POSTGRES_DB: ${APP_DB}`,
          "    volumes:",
          "      - dbdata:/var/lib/postgresql/data",
          "    healthcheck:",
          `      test: ["CMD-SHELL", "pg_isready -h 127.0.0.1 -U ${APP_USER} -d ${APP_DB}"]`,
          "      interval: 1s",
          "      timeout: 3s",
          "      retries: 90",
          "  app:",
          `    image: ${STANDIN_IMAGES.node}`,
          "    depends_on:",
          "      db:",
          "        condition: service_healthy",
          `    command: ["node", "-e", ${JSON.stringify(probe)}]`,
          "volumes:",
          "  dbdata: {}",
          "",
        ].join("\n"),
      );
    });

    afterAll(async () => {
      // Whatever the assertions did, leave nothing behind.
      await composeDownQuietly(project, composeFile);
      await composeDir?.[Symbol.asyncDispose]();
    });

    it("comes up with db healthy before app starts, and app reaches db by service name", async () => {
      await dockerCompose(project, composeFile, ["up", "--detach"]);
      const dbId = (await dockerCompose(project, composeFile, ["ps", "-q", "db"])).stdout;
      const appId = (await dockerCompose(project, composeFile, ["ps", "-q", "app"])).stdout;
      const health = await docker(["inspect", "--format", "{{.State.Health.Status}}", String(dbId)]);
      expect(String(health.stdout)).toBe("healthy");
      await waitUntil("app to reach db:5432", async () =>
        String((await docker(["logs", String(appId)])).stdout).includes("reached db:5432"),
      );
      const running = await docker(["inspect", "--format", "{{.State.Running}}", String(appId)]);
      expect(String(running.stdout)).toBe("true");
    });

    it("`down -v` removes every container, volume and network of the project", async () => {
      const projectLabel = `label=com.docker.compose.project=${project}`;
      expect(await dockerList(["volume", "ls", "-q", "--filter", projectLabel])).toEqual([`${project}_dbdata`]);

      await dockerCompose(project, composeFile, ["down", "--volumes"]);

      expect(await dockerList(["ps", "-aq", "--filter", projectLabel])).toEqual([]);
      expect(await dockerList(["volume", "ls", "-q", "--filter", projectLabel])).toEqual([]);
      expect(await dockerList(["volume", "ls", "-q", "--filter", `name=${project}`])).toEqual([]);
      expect(await dockerList(["network", "ls", "-q", "--filter", projectLabel])).toEqual([]);
      expect(await dockerList(["network", "ls", "-q", "--filter", `name=${project}`])).toEqual([]);
    });
  });

  describe("testcontainers@11 on this engine", () => {
    const ryukBefore = process.env.TESTCONTAINERS_RYUK_DISABLED;
    // The reaper image (testcontainers/ryuk) cannot be pulled here; containers are stopped explicitly.
    beforeAll(() => {
      process.env.TESTCONTAINERS_RYUK_DISABLED = "true";
    });
    afterAll(() => {
      if (ryukBefore === undefined) delete process.env.TESTCONTAINERS_RYUK_DISABLED;
      else process.env.TESTCONTAINERS_RYUK_DISABLED = ryukBefore;
    });

    /**
     * testcontainers has no "never" policy: `shouldPull() === false` is "do not force a pull", and a
     * missing image would still be requested from the registry. The test first proves the image is
     * local, so nothing is pulled.
     */
    const neverPull: ImagePullPolicy = { shouldPull: () => false };

    it("starts the postgres stand-in without pulling, serves queries, and removes it on stop", async () => {
      expect((await imageLabels(STANDIN_IMAGES.postgres))[STANDIN_LABEL]).toBe("true");
      const started = await new GenericContainer(STANDIN_IMAGES.postgres)
        .withPullPolicy(neverPull)
        .withLabels({ [TEST_LABEL]: "true" })
        .withEnvironment({ POSTGRES_USER: APP_USER, POSTGRES_PASSWORD: APP_PASSWORD, POSTGRES_DB: APP_DB })
        .withExposedPorts(5432)
        // The first "ready" line is the socket-only init server; the second is the real one.
        .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
        .start();
      const id = started.getId();
      let volumes: string[] = [];
      try {
        volumes = await dockerList(["inspect", "--format", "{{range .Mounts}}{{.Name}}\n{{end}}", id]);
        const rows = await query<{ major: string }>(
          {
            host: started.getHost(),
            port: started.getMappedPort(5432),
            user: APP_USER,
            password: APP_PASSWORD,
            database: APP_DB,
          },
          "SELECT split_part(current_setting('server_version'), '.', 1) AS major",
        );
        expect(rows).toEqual([{ major: "16" }]);
      } finally {
        await started.stop();
      }
      expect(volumes).toHaveLength(1);
      expect(await dockerList(["ps", "-aq", "--filter", `id=${id}`])).toEqual([]);
      expect(await dockerList(["volume", "ls", "-q", "--filter", `name=${volumes[0]}`])).toEqual([]);
    });
  });
});

async function composeDownQuietly(project: string, composeFile: string): Promise<void> {
  try {
    await dockerCompose(project, composeFile, ["down", "--volumes", "--remove-orphans"]);
  } catch (error) {
    console.warn(`cleanup of compose project ${project} failed: ${(error as Error).message}`);
  }
}
