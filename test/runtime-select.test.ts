import { describe, expect, it } from "vitest";
import { EnvironmentError, UsageError } from "../src/core/errors.js";
import { RecordingLogger } from "../src/core/logger.js";
import type { Product } from "../src/core/product.js";
import { dockerEngineAnswers } from "../src/runtime/docker-probe.js";
import { EmbeddedRuntime } from "../src/runtime/embedded.js";
import { ExternalRuntime } from "../src/runtime/external.js";
import { createRuntime } from "../src/runtime/select-runtime.js";

const product: Product = {
  name: "mini",
  dir: "/nowhere/products/mini",
  repoRoot: "/nowhere",
  registry: { path: "/nowhere/products/mini/infra/service-registry.ts", file: "products/mini/infra/service-registry.ts", services: [] },
};

describe("runtime selection", () => {
  it("builds the embedded runtime for --runtime embedded without starting anything", async () => {
    const runtime = await createRuntime("embedded", { product, env: {}, logger: new RecordingLogger() });
    expect(runtime).toBeInstanceOf(EmbeddedRuntime);
    expect(runtime.name).toBe("embedded");
  });

  it("picks embedded for auto while the compose runtime is not available, whether or not Docker answers", async () => {
    for (const docker of [true, false]) {
      const logger = new RecordingLogger();
      let probed = false;
      const runtime = await createRuntime("auto", {
        product,
        env: {},
        logger,
        dockerAvailable: async () => {
          probed = true;
          return docker;
        },
      });
      expect(runtime.name).toBe("embedded");
      // No compose runtime: no reason to spend the probe's timeout.
      expect(probed).toBe(false);
      expect(logger.entries).toEqual([{ level: "debug", message: "auto: the compose runtime is not available yet; using embedded" }]);
    }
  });

  it("refuses --runtime compose with an EnvironmentError (exit 3) until the compose runtime exists", async () => {
    const attempt = createRuntime("compose", { product, env: {}, logger: new RecordingLogger(), dockerAvailable: async () => true });
    await expect(attempt).rejects.toThrow(EnvironmentError);
    await expect(attempt).rejects.toThrow("the compose runtime is not available yet in this version; use --runtime embedded or --runtime external");
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
