import { availableParallelism } from "node:os";
import { relative, resolve } from "node:path";
import { UsageError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import { mapBounded } from "../core/concurrency.js";
import { type CheckResult, type Report, summarize } from "../core/report-model.js";
import { maskSecrets } from "../core/secrets.js";
import type { CheckSettings } from "../core/settings.js";
import { registryCheck } from "../checks/registry/index.js";
import { discoverProducts } from "../product/discover-products.js";
import { type CheckRun, type RunIo, runCheck, selectChecks } from "./check-pipeline.js";
import { exitCodeFor } from "./run-outcome.js";

/** What `check` of a path produced: a run per product it could read, and a report per product it could not. */
export interface ProductsRun {
  readonly runs: readonly CheckRun[];
  /** Products whose registry or compose file could not be read: printed with its file:line, and a report whose registry check is an error saying so. */
  readonly unreadable: readonly Report[];
  /** Every product's report, in product order: the readable ones' and the unreadable ones'. */
  readonly reports: readonly Report[];
}

/**
 * The products `check <path>` covers: the path alone (a product folder, or a monorepo root holding
 * one product: `locateProduct` decides), or, when the path is a monorepo root holding several
 * products and is none itself, each of them (see `discoverProducts`).
 */
export async function productPathsOf(settings: Pick<CheckSettings, "productPath" | "cwd">): Promise<string[]> {
  const root = resolve(settings.cwd, settings.productPath);
  const found = await discoverProducts(root).catch(() => []);
  if (found.length < 2 || found.some((product) => product.path === ".")) return [settings.productPath];
  return found.map((product) => resolve(root, product.path));
}

/**
 * How many products run at once. Each embedded run is its own server on its own port, so they can
 * share the machine, one per core (at most 4); compose stacks may publish the same host ports, so
 * `compose` and `auto` with live checks run one product after another.
 */
function parallelismFor(settings: CheckSettings): number {
  const live = selectChecks(settings).some((check) => check.needs.includes("postgres"));
  if (live && (settings.runtime === "compose" || settings.runtime === "auto")) return 1;
  return Math.max(1, Math.min(4, availableParallelism()));
}

/**
 * `check` of one product, or of every product of a monorepo root with bounded parallelism: one
 * `runCheck` each, their progress lines and logs prefixed with the product's name. A product that
 * cannot be read is printed (file:line) and counted; the others still run. A single product's
 * input error propagates unchanged, as before.
 */
export async function runProducts(settings: CheckSettings, io: RunIo): Promise<ProductsRun> {
  const paths = await productPathsOf(settings);
  if (paths.length === 1) {
    const run = await runCheck(settings, io);
    return { runs: [run], unreadable: [], reports: [run.report] };
  }
  const root = resolve(settings.cwd, settings.productPath);
  const names = paths.map((path) => path.split(/[\\/]/).pop() ?? path);
  io.logger.info(`${paths.length} products: ${names.join(", ")} (${parallelismFor(settings)} at a time)`);
  const results = await mapBounded(paths, parallelismFor(settings), async (productPath, index) => {
    const name = names[index]!;
    const logger = prefixed(io.logger, name);
    const progress = io.progress && { started: io.progress.started.bind(io.progress), finished: (result: Parameters<NonNullable<RunIo["progress"]>["finished"]>[0]) => io.progress!.finished(result, name) };
    try {
      return await runCheck({ ...settings, productPath }, { ...io, logger, ...(progress && { progress }) });
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      const reason = maskSecrets(error.format());
      logger.error(reason);
      return unreadableReport(name, relative(root, productPath).split("\\").join("/"), reason);
    }
  }, io.signal);
  const runs = results.filter((result): result is CheckRun => !isReport(result));
  const unreadable = results.filter(isReport);
  return { runs, unreadable, reports: results.map((result) => (isReport(result) ? result : result.report)) };
}

function isReport(result: CheckRun | Report): result is Report {
  return !("report" in result);
}

/** The report of a product that could not be read: its registry check is an error with the reason, so no format can show it as passing. */
function unreadableReport(product: string, productDir: string, reason: string): Report {
  const checks: CheckResult[] = [{ id: registryCheck.id, title: registryCheck.title, status: "error", durationMs: 0, findings: [], reason: `the product could not be read: ${reason}` }];
  return { version: 1, product, productDir, runtime: "none", checks, summary: summarize(checks) };
}

/** The exit code of several products: 1 when any failed on its findings, else the worst of 2 (input) and 3 (environment), else 0. */
export function exitCodeForProducts(result: ProductsRun): 0 | 1 | 2 | 3 {
  const codes = result.runs.map((run) => exitCodeFor(run));
  if (codes.includes(1)) return 1;
  if (codes.includes(2) || result.unreadable.length > 0) return 2;
  if (codes.includes(3)) return 3;
  return 0;
}

function prefixed(logger: Logger, name: string): Logger {
  return {
    debug: (message) => logger.debug(`${name}: ${message}`),
    info: (message) => logger.info(`${name}: ${message}`),
    warn: (message) => logger.warn(`${name}: ${message}`),
    error: (message) => logger.error(`${name}: ${message}`),
  };
}
