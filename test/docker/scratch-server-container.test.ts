/**
 * The compose runtime's scratch server: a container of the stack's postgres image, started with the
 * docker CLI (no testcontainers, so no reaper container in the CLI or in the action), published on
 * 127.0.0.1, never pulled, and removed with its volume. Real containers of the local postgres
 * stand-in on the real engine.
 */
import { afterAll, describe, expect, it } from "vitest";
import { RUN_LABEL } from "../../src/docker/run-resources.js";
import { connect } from "../../src/postgres/connect.js";
import { parseDatabaseUrl } from "../../src/postgres/database-url.js";
import { startScratchServerContainer } from "../../src/runtime/compose-stack/scratch-server-container.js";
import { docker, dockerList, requireDockerInCI, STANDIN_IMAGES, TEST_LABEL, uniqueName } from "../helpers/docker.js";

const TESTCONTAINERS_LABEL = "org.testcontainers";

describe.skipIf(!requireDockerInCI())("the scratch-server container", { timeout: 180_000 }, () => {
  const run = uniqueName("scratch");
  const labels = { [RUN_LABEL]: run, [TEST_LABEL]: "true" };
  const ofRun = () => dockerList(["ps", "-a", "-q", "--no-trunc", "--filter", `label=${RUN_LABEL}=${run}`]);

  afterAll(async () => {
    for (const id of await ofRun()) await docker(["rm", "-f", "-v", id], { reject: false });
  });

  it("runs the stack's postgres image through the docker CLI, published on 127.0.0.1, and removes it with its volume on stop; no reaper", async () => {
    const server = await startScratchServerContainer(STANDIN_IMAGES.postgres, { env: process.env, labels });
    const [id, ...others] = await ofRun();
    expect(others).toEqual([]);
    // Started by the docker CLI, not by testcontainers: none of its labels, so no reaper watches it. (The
    // engine's reaper count is not compared: other test files use testcontainers on the same engine.)
    const containerLabels = JSON.parse((await dockerList(["inspect", "--format", "{{json .Config.Labels}}", id!])).join("")) as Record<string, string>;
    expect(Object.keys(containerLabels).filter((label) => label.startsWith(TESTCONTAINERS_LABEL))).toEqual([]);
    const volumes = await dockerList(["inspect", "--format", "{{range .Mounts}}{{if eq .Type \"volume\"}}{{.Name}}{{println}}{{end}}{{end}}", id!]);
    try {
      const url = parseDatabaseUrl(server.adminUrl)!;
      expect([url.host, url.user, url.database]).toEqual(["127.0.0.1", "postgres", "postgres"]);
      // The password reached the container through the CLI's environment, never its command line.
      const args = await dockerList(["inspect", "--format", "{{json .Args}}", id!]);
      expect(args.join("")).not.toContain(url.password!);
      const client = await connect(server.adminUrl);
      try {
        const { rows } = await client.query<{ version: string; fsync: string; superuser: string }>(
          "SELECT current_setting('server_version_num') AS version, current_setting('fsync') AS fsync, current_setting('is_superuser') AS superuser",
        );
        expect(rows[0]!.version).toMatch(/^16\d{4}$/);
        expect([rows[0]!.fsync, rows[0]!.superuser]).toEqual(["off", "on"]);
        await client.query("CREATE DATABASE civic_scratch_probe");
      } finally {
        await client.end();
      }
    } finally {
      await server.stop();
    }
    expect(await ofRun()).toEqual([]);
    for (const volume of volumes) expect(await dockerList(["volume", "ls", "-q", "--filter", `name=^${volume}$`])).toEqual([]);
  });

  it("takes the settings of the service's command line (a preload library, a search_path), this tool's own still winning", async () => {
    const settings = ["shared_preload_libraries=pg_stat_statements", "search_path=app, public", "max_connections=20", "fsync=on"];
    const server = await startScratchServerContainer(STANDIN_IMAGES.postgres, { env: process.env, labels, settings });
    try {
      const client = await connect(server.adminUrl);
      try {
        const { rows } = await client.query<Record<string, string>>(
          "SELECT current_setting('shared_preload_libraries') AS preload, current_setting('search_path') AS search_path, current_setting('max_connections') AS max, current_setting('fsync') AS fsync",
        );
        expect(rows[0]).toEqual({ preload: "pg_stat_statements", search_path: "app, public", max: "300", fsync: "off" });
      } finally {
        await client.end();
      }
    } finally {
      await server.stop();
    }
    expect(await ofRun()).toEqual([]);
  });

  it("never pulls: an image the engine lacks fails with a message naming it, and no container is left", async () => {
    const missing = `${uniqueName("absent")}:1`;
    await expect(startScratchServerContainer(missing, { env: process.env, labels })).rejects.toThrow(
      new RegExp(`could not start a scratch PostgreSQL from ${missing}: .*No such image`),
    );
    expect(await ofRun()).toEqual([]);
  });

  it("removes a container that exits before it is ready, and shows its last log lines", async () => {
    // The node stand-in's entrypoint takes `postgres` for a script to run: the container exits at once.
    const failure = await startScratchServerContainer(STANDIN_IMAGES.node, { env: process.env, labels }).catch((error: Error) => error);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toMatch(new RegExp(`^could not start a scratch PostgreSQL from ${STANDIN_IMAGES.node}: the container exited \\(exit code 1\\) before PostgreSQL was ready\n`));
    expect((failure as Error).message).toContain("Cannot find module '/postgres'");
    expect(await ofRun()).toEqual([]);
  });

  it("stops waiting when the run is cancelled, and removes the container", async () => {
    const controller = new AbortController();
    const starting = startScratchServerContainer(STANDIN_IMAGES.postgres, { env: process.env, labels, signal: controller.signal });
    // Cancelled while the entrypoint initialises (initdb takes seconds on this engine).
    setTimeout(() => controller.abort(new Error("cancelled by the test")), 1_500);
    await expect(starting).rejects.toThrow(/could not start a scratch PostgreSQL from .*cancelled by the test/);
    expect(await ofRun()).toEqual([]);
  });
});
