/**
 * The catalog proves a refusal, logins check it (issue 12): past a few cells per instance, a cell the
 * catalog refuses is not logged into, except a deterministic sample; a sampled login that gets in
 * where the catalog refuses is a proof mismatch, and then every cell of that credential is logged
 * into, so no cell passes on a catalog the server contradicts. Real PostgreSQL 16 servers; the
 * threshold is forced to 0 so the 10-service fixture takes the path a 100-service product takes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isolationCheckWith } from "../../src/checks/isolation/index.js";
import { executeChecks } from "../../src/pipeline/check-executor.js";
import { RecordingLogger } from "../../src/core/logger.js";
import type { CheckResult, MatrixCell } from "../../src/core/report-model.js";
import type { LiveEnvironment } from "../../src/runtime/runtime.js";
import { copyFixture, type FixtureCopy } from "../helpers/fixtures.js";
import { startLiveProduct, type LiveProduct } from "../helpers/live-product.js";

const INIT_SQL = "products/property-tax/infra/init-databases.sql";
const sampling = isolationCheckWith({ allLoginsUpTo: 0 });

interface Started {
  readonly copy: FixtureCopy;
  readonly started: LiveProduct;
}

async function start(mutate?: (copy: FixtureCopy) => Promise<void>): Promise<Started> {
  const copy = await copyFixture("property-tax");
  try {
    await mutate?.(copy);
    return { copy, started: await startLiveProduct(copy.product, copy.root) };
  } catch (error) {
    await copy[Symbol.asyncDispose]();
    throw error;
  }
}

async function dispose(product: Started | undefined): Promise<void> {
  await product?.started[Symbol.asyncDispose]();
  await product?.copy[Symbol.asyncDispose]();
}

async function run(product: Started, live: LiveEnvironment = product.started.live): Promise<CheckResult & { log: string }> {
  const logger = new RecordingLogger();
  const [result] = await executeChecks([sampling], {
    product: product.started.product,
    live,
    options: { commandTimeoutMs: 60_000, concurrency: 8, env: {} },
    logger,
    signal: new AbortController().signal,
  });
  return { ...result!, log: logger.text() };
}

const foreignCells = (result: CheckResult) => result.data!.matrix!.filter((cell) => cell.role === undefined && cell.outcome !== "own");
const marks = (cells: readonly MatrixCell[]) => cells.map((cell) => `${cell.credentialOf}>${cell.database} ${cell.outcome} ${cell.proof}`).sort();

describe("isolation, catalog first, on the conformant fixture", { timeout: 180_000 }, () => {
  let product: Started;
  let first: CheckResult & { log: string };
  beforeAll(async () => {
    product = await start();
    first = await run(product);
  }, 180_000);
  afterAll(() => dispose(product));

  it("passes with one sampled login per credential; the other 80 cells are refused by the catalog alone, and say so", () => {
    expect(first.status).toBe("pass");
    expect(first.findings).toEqual([]);
    const cells = foreignCells(first);
    expect(cells).toHaveLength(90);
    const byLogin = cells.filter((cell) => cell.proof === "login+catalog");
    const byCatalog = cells.filter((cell) => cell.proof === "catalog");
    expect(byLogin).toHaveLength(10);
    expect(byCatalog).toHaveLength(80);
    // Every cell is refused and proven: by the login and the catalog, or by the catalog, never by nothing.
    expect(new Set(byLogin.map((c) => `${c.outcome} ${c.login} ${c.catalog} ${c.reason}`))).toEqual(new Set(["refused refused denied no CONNECT privilege (42501)"]));
    expect(new Set(byCatalog.map((c) => `${c.outcome} ${c.login} ${c.catalog} ${c.reason}`))).toEqual(new Set(["refused undefined denied no CONNECT privilege"]));
    // One sample per credential, and the samples go round the databases: each database is logged into once.
    expect(new Set(byLogin.map((cell) => cell.credentialOf)).size).toBe(10);
    expect(new Set(byLogin.map((cell) => cell.database)).size).toBe(10);
    // The 10 samples alone: the maintenance databases (postgres, template1, the bootstrap database), closed to PUBLIC, are the catalog's too.
    expect(first.log).toContain("isolation: 10 connection attempts for 10 credentials on 1 instance(s)");
    expect(first.log).toContain("(10 sampled, 0 after a contradiction; 110 cells refused by the catalog alone)");
    expect(first.coverage!.summary).toMatch(
      /^10\/10 stateful services, 10 credentials x 10 databases \(10 logins; catalog read on 1 instance: \d+ roles incl\. PUBLIC x 10 databases; of 90 foreign cells, 10 proved by login and 80 refused by the catalog alone, which 10 sampled logins agree with\)$/,
    );
  });

  it("samples the same cells every run", async () => {
    const again = await run(product);
    expect(marks(foreignCells(again))).toEqual(marks(foreignCells(first)));
  });
});

describe("isolation, catalog first, on a service database marked as a template", { timeout: 180_000 }, () => {
  let product: Started | undefined;
  afterAll(() => dispose(product));

  it("logs into it (the catalog read leaves templates out) and reports every credential that gets in", async () => {
    // tax_levy_rate keeps PUBLIC's CONNECT and is marked IS_TEMPLATE: it still accepts connections.
    product = await start((copy) =>
      copy.edit(INIT_SQL, (text) => text.replace(/^REVOKE ALL ON DATABASE tax_levy_rate FROM PUBLIC;\n/m, "").concat("\nALTER DATABASE tax_levy_rate IS_TEMPLATE true;\n")),
    );
    const result = await run(product);
    expect(result.status).toBe("fail");
    const intoTemplate = foreignCells(result).filter((cell) => cell.database === "tax_levy_rate");
    expect(intoTemplate).toHaveLength(9);
    expect(new Set(intoTemplate.map((cell) => `${cell.outcome} ${cell.login}`))).toEqual(new Set(["connected connected"]));
    const intruders = result.findings.filter((f) => f.rule === "isolation/foreign-connect" && f.message.includes("tax_levy_rate"));
    expect(intruders).toHaveLength(9);
  });
});

describe("isolation, catalog first, when the server contradicts the catalog", { timeout: 240_000 }, () => {
  let leaky: Started | undefined;
  let closed: Started | undefined;
  afterAll(async () => {
    await dispose(leaky);
    await dispose(closed);
  });

  it("reports isolation/proof-mismatch and logs into every cell: none passes on the catalog of a server the logins do not reach", async () => {
    // The logins reach a server whose databases still grant CONNECT to PUBLIC; the admin URL reads the
    // catalog of another one (the same roles and databases, closed): the catalog refuses every cell the server lets in.
    leaky = await start((copy) => copy.edit(INIT_SQL, (text) => text.replace(/^REVOKE ALL ON DATABASE \w+ FROM PUBLIC;\n/gm, "")));
    closed = await start();
    const base = leaky.started.live;
    const closedAdmin = [...closed.started.live.instances.values()][0]!.adminUrl;
    const instances = new Map([...base.instances].map(([name, instance]) => [name, { ...instance, adminUrl: closedAdmin, scratchAdminUrl: () => instance.scratchAdminUrl() }]));
    const live: LiveEnvironment = { runtime: base.runtime, servicesRunning: base.servicesRunning, instances, reach: (credential) => base.reach(credential) };

    const result = await run(leaky, live);
    expect(result.status).toBe("fail");
    const cells = foreignCells(result);
    expect(cells).toHaveLength(90);
    // Every cell (the maintenance databases too) was logged into after the sample contradicted the catalog; every foreign one got in.
    expect(cells.filter((cell) => cell.proof === "catalog")).toEqual([]);
    expect(new Set(cells.map((cell) => `${cell.outcome} ${cell.login} ${cell.catalog} ${cell.proof}`))).toEqual(new Set(["connected connected denied login"]));
    expect(result.findings.filter((f) => f.rule === "isolation/proof-mismatch")).toHaveLength(90);
    expect(result.findings.filter((f) => f.rule === "isolation/foreign-connect")).toHaveLength(10);
    expect(result.log).toMatch(/isolation: 120 connection attempts for 10 credentials on 1 instance\(s\) in \d+ ms \(10 sampled, 110 after a contradiction; 0 cells refused by the catalog alone\)/);
  });
});
