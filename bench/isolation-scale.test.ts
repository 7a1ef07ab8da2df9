import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { isolationCheck } from "../src/checks/isolation/index.js";
import { executeChecks } from "../src/pipeline/check-executor.js";
import { RecordingLogger } from "../src/core/logger.js";
import { generateProduct } from "../src/generator/generate-command.js";
import { copyFixture } from "../test/helpers/fixtures.js";
import { startLiveProduct } from "../test/helpers/live-product.js";

const SERVICES = 100;

/** A registry of `count` stateful services; the built-in generator renders per-service roles for it. */
function registryOf(count: number): string {
  const entries = Array.from({ length: count }, (_, i) => {
    const key = `service-${String(i).padStart(3, "0")}`;
    return `  "${key}": {
    hostname: "${key}",
    port: ${5000 + i},
    database: "${key.replace("-", "_")}",
    dockerfile: "modules/platform/auth-gateway/Dockerfile",
    layer: "platform" as const,
    label: "Service ${i}",
    routes: ["/api/v1/s${i}"],
  },`;
  });
  return `const serviceRegistry = {\n${entries.join("\n")}\n};\nexport { serviceRegistry };\n`;
}

/** CPU seconds the server has used (postmaster plus its reaped backends), from /proc; for the measurement line only. */
function serverCpuSeconds(port: number): number {
  for (const pid of readdirSync("/proc").filter((entry) => /^\d+$/.test(entry))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(`port=${port}`)) continue;
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0) / 100; // utime stime cutime cstime
    } catch {
      // The process went away while we looked.
    }
  }
  return Number.NaN;
}

describe("isolation at scale", { timeout: 600_000 }, () => {
  it(`proves ${SERVICES} per-service roles isolated: ${SERVICES * (SERVICES - 1)} cells refused by the catalog, which one sampled login per credential agrees with`, async () => {
    await using copy = await copyFixture("property-tax");
    await copy.write("products/property-tax/infra/service-registry.ts", registryOf(SERVICES));
    await generateProduct(copy.product, copy.root, { write: true });
    await using started = await startLiveProduct(copy.product, copy.root);
    const logger = new RecordingLogger();
    const port = started.live.instances.get("postgres")!.port;
    const serverCpu = serverCpuSeconds(port);
    const nodeCpu = process.cpuUsage();
    const [result] = await executeChecks([isolationCheck], {
      product: started.product,
      live: started.live,
      logger,
      signal: new AbortController().signal,
      options: { commandTimeoutMs: 60_000, concurrency: 16, env: {} },
    });
    const node = process.cpuUsage(nodeCpu);
    console.info(
      `isolation, ${SERVICES} services: ${result!.durationMs} ms wall, ${((node.user + node.system) / 1e6).toFixed(1)} s node CPU, ` +
        `${(serverCpuSeconds(port) - serverCpu).toFixed(1)} s PostgreSQL CPU`,
    );

    expect(result!.status).toBe("pass");
    expect(result!.findings).toEqual([]);
    // The credential rows; PUBLIC's row (read from the catalog alone) carries \`role\`.
    const matrix = result!.data!.matrix!.filter((cell) => cell.role === undefined);
    expect(matrix).toHaveLength(SERVICES * SERVICES);
    expect(matrix.filter((cell) => cell.outcome === "own")).toHaveLength(SERVICES);
    const refused = matrix.filter((cell) => cell.outcome === "refused");
    expect(refused).toHaveLength(SERVICES * (SERVICES - 1));
    // One sampled login per credential (each database sampled once); the other cells refused by the catalog alone.
    const byLogin = refused.filter((cell) => cell.proof === "login+catalog");
    expect(byLogin).toHaveLength(SERVICES);
    expect(new Set(byLogin.map((cell) => cell.database)).size).toBe(SERVICES);
    expect(new Set(byLogin.map((cell) => cell.reason))).toEqual(new Set(["no CONNECT privilege (42501)"]));
    const byCatalog = refused.filter((cell) => cell.proof === "catalog");
    expect(byCatalog).toHaveLength(SERVICES * (SERVICES - 2));
    expect(new Set(byCatalog.map((cell) => cell.reason))).toEqual(new Set(["no CONNECT privilege"]));
    // The samples alone: postgres, template1 and POSTGRES_DB, closed to PUBLIC, are refused by the catalog too.
    expect(logger.text()).toContain(`isolation: ${SERVICES} connection attempts for ${SERVICES} credentials`);
  });
});
