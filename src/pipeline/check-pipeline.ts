import { resolve } from "node:path";
import type { Check, CheckContext, CheckOptions } from "../checks/check.js";
import { ALL_CHECKS } from "../checks/registered.js";
import { EnvironmentError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import { repoRelative } from "../core/repo-path.js";
import { type CheckResult, type Report, summarize } from "../core/report-model.js";
import { maskSecrets } from "../core/secrets.js";
import type { CheckSettings } from "../core/settings.js";
import { isoDate } from "../checks/check.js";
import { loadProduct } from "../product/load-product.js";
import { configOf, profileOf } from "../product/product.js";
import { readBaseline } from "./baseline-report.js";
import { FindingPolicy } from "./finding-policy.js";
import { locateProduct } from "../product/locate-product.js";
import { createRuntime } from "../runtime/choose-runtime.js";
import type { LiveEnvironment, Runtime } from "../runtime/runtime.js";
import { type CheckProgress, executeChecks } from "./check-executor.js";

export interface RunIo {
  readonly logger: Logger;
  readonly progress?: CheckProgress;
  /** Aborted on Ctrl-C / SIGTERM: the run stops and cleans up. */
  readonly signal: AbortSignal;
}

/** What one `check` run produced, and where: the doors need both (the action maps paths to its workspace). */
export interface CheckRun {
  readonly report: Report;
  /** Absolute product folder the run located. */
  readonly productDir: string;
  /** Absolute monorepo root: finding paths are relative to it. */
  readonly repoRoot: string;
}

/** Needs a server: the runtime starts for it. */
const needsServer = (check: Check) => check.needs.includes("postgres");
/** Looks at the running stack when there is one (e.g. the live dependency probe), else runs from files. */
const usesStack = (check: Check) => check.needs.includes("stack");

export function selectChecks(settings: Pick<CheckSettings, "only" | "skip">): Check[] {
  return ALL_CHECKS.filter(
    (check) => (settings.only.length === 0 || settings.only.includes(check.id)) && !settings.skip.includes(check.id),
  );
}

/**
 * `civic-conformance check`: load the product, run the static checks while the runtime starts,
 * then the live checks against it, and always stop the runtime. Throws `UsageError` when the input
 * cannot be read; everything else ends up in the report.
 */
export async function runCheck(settings: CheckSettings, io: RunIo): Promise<CheckRun> {
  const checks = selectChecks(settings);
  const { productDir, repoRoot } = await locateProduct(settings.productPath, settings.cwd, settings.repoRoot);
  const startsRuntime = checks.some(needsServer);
  const liveChecks = checks.filter((c) => needsServer(c) || (startsRuntime && usesStack(c)));
  const needsCompose = startsRuntime || checks.some((c) => c.needs.includes("compose"));

  const composeSelection = {
    ...(settings.composeFiles && { files: settings.composeFiles.map((file) => resolve(settings.cwd, file)) }),
    ...(settings.composeProfiles && { profiles: settings.composeProfiles }),
  };
  const product = await loadProduct(productDir, repoRoot, needsCompose ? { composeEnv: settings.env, composeSelection } : {});
  const today = settings.today ?? isoDate(new Date());
  const productPath = repoRelative(repoRoot, productDir) || ".";
  const profile = profileOf(product);
  const policy = new FindingPolicy({
    profile,
    profileFrom: product.config?.profileAt ?? (product.registry.source === "typescript" ? "typescript registry" : "yaml or inferred registry"),
    config: configOf(product),
    today,
    ...(settings.baseline !== undefined && { baseline: await readBaseline(settings.baseline, settings.cwd, productPath) }),
  });
  const options: CheckOptions = {
    commandTimeoutMs: settings.commandTimeoutMs,
    concurrency: settings.concurrency,
    env: settings.env,
    today,
    ...(settings.generatorCommand !== undefined && { generatorCommand: settings.generatorCommand }),
    ...(settings.migrateCommand !== undefined && { migrateCommand: settings.migrateCommand }),
  };
  const context: CheckContext = { product, options, logger: io.logger, signal: io.signal };

  let runtime: Runtime | undefined;
  const starting: Promise<LiveEnvironment> | undefined =
    startsRuntime
      ? (async () => {
          runtime = await createRuntime(settings.runtime, {
            product,
            env: settings.env,
            logger: io.logger,
            needsScratchServer: checks.some((check) => check.needs.includes("scratch-server")),
            ...(settings.externalConfig !== undefined && { externalConfig: settings.externalConfig }),
          });
          io.logger.info(`Starting the ${runtime.name} runtime…`);
          return runtime.start(io.signal);
        })()
      : undefined;
  // Keep a rejected start from surfacing as an unhandled rejection while the static checks run.
  starting?.catch(() => undefined);

  try {
    const staticResults = await executeChecks(checks.filter((c) => !liveChecks.includes(c)), context, io.progress, { concurrent: true, policy });
    let liveResults: CheckResult[] = [];
    if (starting) {
      let live: LiveEnvironment | undefined;
      let startError: string | undefined;
      try {
        live = await starting;
      } catch (error) {
        if (!(error instanceof EnvironmentError)) throw error;
        startError = maskSecrets(error.message);
        io.logger.error(startError);
      }
      liveResults = live
        ? await executeChecks(liveChecks, { ...context, live }, io.progress, { policy })
        : liveChecks.map((check) => {
            const result: CheckResult = { id: check.id, title: check.title, status: "error", durationMs: 0, findings: [], reason: `runtime could not start: ${startError}` };
            io.progress?.finished(result);
            return result;
          });
    }
    const byOrder = (a: CheckResult, b: CheckResult) => ALL_CHECKS.findIndex((c) => c.id === a.id) - ALL_CHECKS.findIndex((c) => c.id === b.id);
    const results = [...staticResults, ...liveResults].sort(byOrder);
    const report: Report = {
      version: 1,
      product: product.name,
      productDir: productPath,
      runtime: (runtime as Runtime | undefined)?.name ?? "none",
      checks: results,
      summary: summarize(results),
      registry: { source: product.registry.source, file: product.registry.file },
      ...policy.report(),
    };
    return { report, productDir, repoRoot };
  } finally {
    if (starting) {
      await starting.catch(() => undefined);
      try {
        await (runtime as Runtime | undefined)?.stop();
      } catch (error) {
        io.logger.warn(`cleanup: could not stop the runtime: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
}

/** 0 every check passed (skips allowed), 1 a check failed, 3 a check could not run. */
export function exitCodeFor(report: Report): 0 | 1 | 3 {
  if (report.summary.verdict === "fail") return 1;
  if (report.summary.verdict === "error") return 3;
  return 0;
}
