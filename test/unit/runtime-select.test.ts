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

describe("Docker probe", () => {
  it("says no engine answers when the daemon socket is absent or the docker CLI is missing", async () => {
    expect(await dockerEngineAnswers({ PATH: process.env.PATH, DOCKER_HOST: "unix:///nonexistent/civic-docker.sock" })).toBe(false);
    expect(await dockerEngineAnswers({ PATH: "/nonexistent" })).toBe(false);
  });
});
