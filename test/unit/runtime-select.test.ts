import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EnvironmentError, UsageError } from "../../src/core/errors.js";
import { RecordingLogger } from "../../src/core/logger.js";
import type { Product } from "../../src/product/product.js";
import { ComposeRuntime } from "../../src/runtime/compose-stack/compose-stack-runtime.js";
import { dockerEngineAnswers } from "../../src/docker/engine-probe.js";
import { EmbeddedRuntime } from "../../src/runtime/embedded/embedded-runtime.js";
import { ExternalRuntime } from "../../src/runtime/external/external-runtime.js";
import { createRuntime } from "../../src/runtime/choose-runtime.js";

const product: Product = {
  name: "mini",
  dir: "/nowhere/products/mini",
  repoRoot: "/nowhere",
  registry: { path: "/nowhere/products/mini/infra/service-registry.ts", file: "products/mini/infra/service-registry.ts", services: [], source: "typescript" },
};

describe("runtime selection", () => {
  it("builds the embedded runtime for --runtime embedded without starting anything", async () => {
    const runtime = await createRuntime("embedded", { product, env: {}, logger: new RecordingLogger() });
    expect(runtime).toBeInstanceOf(EmbeddedRuntime);
    expect(runtime.name).toBe("embedded");
  });

  it("picks compose for auto where a Docker engine answers, embedded where none does", async () => {
    const withDocker = await createRuntime("auto", { product, env: {}, logger: new RecordingLogger(), dockerAvailable: async () => true });
    expect(withDocker).toBeInstanceOf(ComposeRuntime);
    expect(withDocker.name).toBe("compose");

    const logger = new RecordingLogger();
    const withoutDocker = await createRuntime("auto", { product, env: {}, logger, dockerAvailable: async () => false });
    expect(withoutDocker).toBeInstanceOf(EmbeddedRuntime);
    expect(logger.entries).toEqual([{ level: "debug", message: "auto: no Docker engine answers; using embedded" }]);
  });

  it("refuses --runtime compose with an EnvironmentError (exit 3) when no Docker engine answers", async () => {
    const attempt = createRuntime("compose", { product, env: {}, logger: new RecordingLogger(), dockerAvailable: async () => false });
    await expect(attempt).rejects.toThrow(EnvironmentError);
    await expect(attempt).rejects.toThrow("--runtime compose needs a Docker engine, and none answers here (`docker version` failed); start Docker or use --runtime embedded");
    expect(await createRuntime("compose", { product, env: {}, logger: new RecordingLogger(), dockerAvailable: async () => true })).toBeInstanceOf(ComposeRuntime);
  });

  it("builds the external runtime from CIVIC_ADMIN_URL, and refuses --runtime external without any admin URL (UsageError)", async () => {
    const runtime = await createRuntime("external", { product, env: { CIVIC_ADMIN_URL: "postgresql://admin:pw@db.example:5432/postgres" }, logger: new RecordingLogger() });
    expect(runtime).toBeInstanceOf(ExternalRuntime);
    await expect(createRuntime("external", { product, env: {}, logger: new RecordingLogger() })).rejects.toThrow(UsageError);
  });
});

describe("the Compose CLI's version, asked beside the engine's", () => {
  // The docker CLI is a stand-in here (a script on PATH that logs when each call starts and ends):
  // what is tested is when the tool asks, which a real engine answers too fast to see.
  async function fakeDocker(): Promise<{ dir: string; calls: () => Promise<string[]> }> {
    const dir = await mkdtemp(join(tmpdir(), "civic-fake-docker-"));
    const log = join(dir, "calls.log");
    await writeFile(
      join(dir, "docker"),
      [
        "#!/bin/bash",
        `log=${JSON.stringify(log)}`,
        'what="$1"; [ "$1" = compose ] && what="compose $2"',
        'echo "start $what" >> "$log"',
        "sleep 1",
        'echo "end $what" >> "$log"',
        'if [ "$1" = compose ]; then echo "2.26.1"; else echo "24.0.7"; fi',
        "",
      ].join("\n"),
    );
    await chmod(join(dir, "docker"), 0o755);
    return { dir, calls: async () => (await readFile(log, "utf8").catch(() => "")).trim().split("\n").filter(Boolean) };
  }

  for (const choice of ["compose", "auto"] as const) {
    it(`--runtime ${choice}: \`docker compose version\` starts while \`docker version\` still runs, not after it`, async () => {
      const docker = await fakeDocker();
      try {
        const runtime = await createRuntime(choice, { product, env: { PATH: `${docker.dir}:/usr/bin:/bin` }, logger: new RecordingLogger() });
        expect(runtime).toBeInstanceOf(ComposeRuntime);
        // createRuntime returns once the engine answered; the Compose CLI's answer is awaited by start.
        await expect.poll(docker.calls, { timeout: 10_000 }).toContain("end compose version");
        const calls = await docker.calls();
        expect(calls.indexOf("start compose version")).toBeGreaterThanOrEqual(0);
        expect(calls.indexOf("start compose version")).toBeLessThan(calls.indexOf("end version"));
      } finally {
        await rm(docker.dir, { recursive: true, force: true });
      }
    });
  }
});

describe("Docker probe", () => {
  it("says no engine answers when the daemon socket is absent or the docker CLI is missing", async () => {
    expect(await dockerEngineAnswers({ PATH: process.env.PATH, DOCKER_HOST: "unix:///nonexistent/civic-docker.sock" })).toBe(false);
    expect(await dockerEngineAnswers({ PATH: "/nonexistent" })).toBe(false);
  });
});
