/**
 * The embedded runtime with several PostgreSQL instances (issue 14) and with an instance built
 * from the repository's own Dockerfile (issue 8, item 6): one server per instance, started
 * concurrently, each provisioned exactly like its container (bootstrap user/password/database,
 * init scripts from mounts or the build context), each credential reached on its own instance only.
 * One instance's init script failing names that instance and script, and stops the others.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UsageError } from "../../src/core/errors.js";
import { RecordingLogger } from "../../src/core/logger.js";
import { pendingCleanups, runCleanups } from "../../src/core/cleanup-registry.js";
import { loadProduct } from "../../src/product/load-product.js";
import { productPostgres } from "../../src/product/product-postgres.js";
import { EmbeddedRuntime } from "../../src/runtime/embedded/embedded-runtime.js";
import { instanceFailuresOf } from "../../src/runtime/instance-start-error.js";
import type { LiveEnvironment } from "../../src/runtime/runtime.js";
import { copyRealLayout, type RealLayoutCopy } from "../helpers/real-layouts.js";

const ENV = { PATH: process.env.PATH };

async function rows<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function loginError(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    await client.end();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

describe("embedded runtime: multi-instance, one server per instance", { timeout: 180_000 }, () => {
  let copy: RealLayoutCopy;
  let runtime: EmbeddedRuntime;
  let live: LiveEnvironment;

  beforeAll(async () => {
    copy = await copyRealLayout("multi-instance");
    const product = await loadProduct(copy.root, copy.root, { composeEnv: ENV });
    runtime = new EmbeddedRuntime({ product, env: ENV, logger: new RecordingLogger() });
    live = await runtime.start(AbortSignal.timeout(170_000));
  }, 180_000);
  afterAll(async () => {
    await runtime?.stop();
    await copy?.[Symbol.asyncDispose]();
  });

  it("starts the three instances concurrently: every server began before any was ready", () => {
    expect([...live.instances.keys()]).toEqual(["postgres", "postgres-fees", "postgres-docs"]);
    const timings = [...runtime.serverTimings.values()];
    expect(timings).toHaveLength(3);
    expect(Math.max(...timings.map((timing) => timing.startedAt))).toBeLessThan(Math.min(...timings.map((timing) => timing.readyAt)));
    const ports = [...live.instances.values()].map((instance) => instance.port);
    expect(new Set(ports).size).toBe(3);
  });

  it("provisions each instance from its own bootstrap settings and init scripts", async () => {
    const databases = async (name: string) =>
      (await rows<{ datname: string }>(live.instances.get(name)!.adminUrl, "SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY 1")).map((row) => row.datname);
    expect(await databases("postgres")).toEqual(["inspections", "licensing", "permits", "platform", "postgres"]);
    expect(await databases("postgres-fees")).toEqual(["fee_collection", "fees_admin", "postgres"]);
    expect(await databases("postgres-docs")).toEqual(["docs_admin", "documents", "postgres"]);
    expect(new URL(live.instances.get("postgres-fees")!.adminUrl).username).toBe("fees_admin");
  });

  it("reaches each credential on its own instance, where it lands in its own database; on another instance its role does not exist", async () => {
    const postgres = await productPostgres(await loadProduct(copy.root, copy.root, { composeEnv: ENV }));
    const landed: Record<string, string> = {};
    for (const entry of postgres.services) {
      const url = live.reach(entry.credentials[0]!)!;
      const [row] = await rows<{ where: string }>(url, "SELECT current_user || '@' || current_database() AS where");
      landed[entry.service.key] = `${row!.where} on ${entry.credentials[0]!.instance}`;
    }
    expect(landed).toEqual({
      permits: "permits@permits on postgres",
      inspections: "inspections@inspections on postgres",
      licensing: "licensing@licensing on postgres",
      "fee-collection": "fee_collection@fee_collection on postgres-fees",
      "document-store": "document_store@documents on postgres-docs",
    });
    const permits = new URL(live.reach(postgres.of("permits")!.credentials[0]!)!);
    permits.port = String(live.instances.get("postgres-fees")!.port);
    expect(await loginError(permits.toString())).toBe("28P01");
  });
});

describe("embedded runtime: an instance built FROM postgres with its init SQL copied in", { timeout: 120_000 }, () => {
  it("custom-db-image: provisions `db` from db/Dockerfile's build context", async () => {
    await using copy = await copyRealLayout("custom-db-image");
    const product = await loadProduct(copy.root, copy.root, { composeEnv: ENV });
    const runtime = new EmbeddedRuntime({ product, env: ENV, logger: new RecordingLogger() });
    try {
      const live = await runtime.start(AbortSignal.timeout(110_000));
      const db = live.instances.get("db")!;
      expect(new URL(db.adminUrl).username).toBe("inventory_admin");
      expect((await rows<{ datname: string }>(db.adminUrl, "SELECT datname FROM pg_database WHERE datname IN ('inventory', 'notes') ORDER BY 1")).map((row) => row.datname)).toEqual([
        "inventory",
        "notes",
      ]);
      const inventory = new URL(db.adminUrl);
      inventory.pathname = "/inventory";
      expect(await rows(inventory.toString(), "SELECT extname FROM pg_extension WHERE extname = 'citext'")).toEqual([{ extname: "citext" }]);
      // The HedgeDoc URL reaches the same server as the instance's superuser.
      const notes = (await productPostgres(product)).of("notes")!.credentials[0]!;
      expect(await rows(live.reach(notes)!, "SELECT current_database() AS db")).toEqual([{ db: "notes" }]);
    } finally {
      await runtime.stop();
    }
  });
});

describe("embedded runtime: one instance's init script failing", { timeout: 180_000 }, () => {
  // Was: the whole start failed and every server was stopped. Issue 14: the others are still checked.
  it("keeps the instances that started running, names the failed one and the script's file:line, and leaves no server behind once stopped", async () => {
    await using copy = await copyRealLayout("multi-instance");
    await copy.edit("infra/postgres-fees/init/01-fee-collection.sql", (text) => `${text}\\connect fee_collection\nCREATE EXTENSION postgis;\n`);
    const product = await loadProduct(copy.root, copy.root, { composeEnv: ENV });
    const runtime = new EmbeddedRuntime({ product, env: ENV, logger: new RecordingLogger() });
    const before = pendingCleanups();
    const live = await runtime.start(AbortSignal.timeout(170_000));
    expect([...live.instances.keys()]).toEqual(["postgres", "postgres-docs"]);
    expect([...runtime.locations.keys()].sort()).toEqual(["postgres", "postgres-docs"]);
    const error = live.unstarted!.error;
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).location).toEqual({ file: "infra/postgres-fees/init/01-fee-collection.sql", line: 12 });
    expect((error as UsageError).message).toMatch(/^instance "postgres-fees": init script 01-fee-collection\.sql failed.*extension "postgis" is not available/);
    const failures = instanceFailuresOf(error)!;
    expect(failures.failures.map((failure) => failure.instance)).toEqual(["postgres-fees"]);
    expect([...failures.started].sort()).toEqual(["postgres", "postgres-docs"]);
    expect([...live.unstarted!.causes.keys()]).toEqual(["postgres-fees"]);
    const [row] = await rows<{ where: string }>(live.instances.get("postgres-docs")!.adminUrl, "SELECT current_user || '@' || current_database() AS where");
    expect(row!.where).toBe("docs_admin@docs_admin");
    await runtime.stop();
    expect(runtime.locations.size).toBe(0);
    expect(pendingCleanups()).toBe(before);
  });
});

afterAll(async () => {
  await runCleanups();
});
