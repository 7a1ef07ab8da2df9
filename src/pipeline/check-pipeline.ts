import { resolve } from "node:path";
import type { Check, CheckContext, CheckOptions } from "../checks/check.js";
import { ALL_CHECKS } from "../checks/registered.js";
import { driftCheck, regenerate } from "../checks/drift/index.js";
import { registerCleanup } from "../core/cleanup-registry.js";
import type { Logger } from "../core/logger.js";
import { repoRelative } from "../core/repo-path.js";
import { type CheckResult, type Report, summarize } from "../core/report-model.js";
import { maskReport } from "../core/mask-report.js";
import type { CheckSettings } from "../core/settings.js";
import { isoDate } from "../checks/check.js";
import { loadProduct } from "../product/load-product.js";
import { configOf, type Product, productPlace, profileOf } from "../product/product.js";
import type { ComposeProject } from "../compose-file/model.js";
import { locateProduct, type ProductLocation } from "../product/locate-product.js";
import { composeProjectsTeardown } from "../docker/run-resources.js";
import { describeReaped, reapLeftoverRuns } from "../sandbox/leftover-runs.js";
import { resolveUnprivilegedUser } from "../sandbox/os-user.js";
import { RunFolder } from "../sandbox/run-folder.js";
import { tempRootCandidates } from "../sandbox/temp-root.js";
import { readBaseline } from "./baseline-report.js";
import { FindingPolicy } from "./finding-policy.js";
import { createRuntime } from "../runtime/choose-runtime.js";
import type { LiveEnvironment, Runtime } from "../runtime/runtime.js";
import { type CheckProgress, executeChecks, INTERRUPTED } from "./check-executor.js";
import { EarlyChecks } from "./early-checks.js";
import { type StartFailure, startFailureOf } from "./run-outcome.js";

export interface RunIo {
  readonly logger: Logger;
  readonly progress?: CheckProgress;
  /** Aborted on Ctrl-C / SIGTERM: the run stops and cleans up. */
  readonly signal: AbortSignal;
}

/** What one `check` run produced, and where: the doors need both (the action maps paths to its workspace). */
export interface CheckRun {
  /** Masked value by value: render it as it is. */
  readonly report: Report;
  /** Absolute product folder the run located. */
  readonly productDir: string;
  /** Absolute monorepo root: finding paths are relative to it. */
  readonly repoRoot: string;
  /**
   * Set when the runtime could not start (the live checks are then `error` with its cause), or when
   * some of its instances could not (the live checks look at the others, never `pass` on what they miss).
   */
  readonly startFailure?: StartFailure;
  /** A check stopped on bad input (a `UsageError`): exit 2 unless a check failed. */
  readonly inputError: boolean;
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

/** The live checks' progress line says this; the cause itself is printed once, just before. */
const START_FAILED_SEE_ABOVE = "runtime could not start (see above)";

/**
 * `civic-conformance check`: reap what killed runs left, make this run's folder (sandbox/run-folder.ts),
 * load the product, run the static checks while the runtime starts, then the live checks against it,
 * and always stop the runtime and remove the folder. Throws `UsageError` only when the registry or
 * the compose file cannot be read; from there on a report is always made: a runtime that cannot
 * start (an init script failing on its own SQL, a missing extension, no Docker) makes the live
 * checks `error` with the cause, and the static findings stay.
 */
export async function runCheck(settings: CheckSettings, io: RunIo): Promise<CheckRun> {
  const checks = selectChecks(settings);
  const location = await locateProduct(settings.productPath, settings.cwd, settings.repoRoot);
  await reapLeftovers(settings.env, io.logger);
  const runFolder = await RunFolder.create(settings.env, await resolveUnprivilegedUser(process.getuid?.()));
  // Ctrl-C with the run stuck: the door's forced cleanup removes the folder too.
  const unregister = registerCleanup(() => runFolder.remove());
  io.logger.debug(`run folder ${runFolder.path}${runFolder.passedOver ? ` (${runFolder.passedOver})` : ""}`);
  try {
    return await checkInRunFolder(settings, io, checks, location, runFolder);
  } finally {
    await runFolder.remove().catch((error: unknown) => io.logger.warn(`cleanup: could not remove the run folder ${runFolder.path}: ${error instanceof Error ? error.message : String(error)}`));
    unregister();
  }
}

/** Stops and removes what killed runs left (their run folders, servers, processes and compose projects), and says so. */
export async function reapLeftovers(env: Readonly<Record<string, string | undefined>>, logger: Logger): Promise<void> {
  const { reaped, failures } = await reapLeftoverRuns(tempRootCandidates(env), { tearDownComposeProjects: composeProjectsTeardown(env) });
  for (const run of reaped) logger.warn(describeReaped(run));
  for (const failure of failures) logger.warn(`could not reap a folder an earlier run left: ${failure}`);
}

async function checkInRunFolder(
  settings: CheckSettings,
  io: RunIo,
  checks: readonly Check[],
  { productDir, repoRoot }: ProductLocation,
  runFolder: RunFolder,
): Promise<CheckRun> {
  const startsRuntime = checks.some(needsServer);
  const liveChecks = checks.filter((c) => needsServer(c) || (startsRuntime && usesStack(c)));
  const needsCompose = startsRuntime || checks.some((c) => c.needs.includes("compose"));

  const composeSelection = {
    ...(settings.composeFiles && { files: settings.composeFiles.map((file) => resolve(settings.cwd, file)) }),
    ...(settings.composeProfiles && { profiles: settings.composeProfiles }),
  };
  let runtime: Runtime | undefined;
  let starting: Promise<LiveEnvironment> | undefined;
  // Checks that look only at the PostgreSQL instances start once those are ready, beside the rest of the stack's boot.
  const early = new EarlyChecks(liveChecks.filter((check) => check.beforeStackReady), io.progress);
  const startRuntime = (product: Product | Promise<Product>, compose?: ComposeProject) => {
    starting = (async () => {
      runtime = await createRuntime(settings.runtime, {
        product,
        ...(compose && { compose, location: productPlace(productDir, repoRoot) }),
        env: settings.env,
        logger: io.logger,
        needsScratchServer: checks.some((check) => check.needs.includes("scratch-server")),
        runFolder,
        commandTimeoutMs: settings.commandTimeoutMs,
        ...(settings.readyTimeoutMs !== undefined && { readyTimeoutMs: settings.readyTimeoutMs }),
        ...(settings.externalConfig !== undefined && { externalConfig: settings.externalConfig }),
        ...(settings.composeCommand !== undefined && { composeCommand: settings.composeCommand }),
      });
      // Said once the registry is read: when it is refused, its error is all the user sees (the
      // servers started beside its evaluation are stopped without a word).
      const name = runtime.name;
      void Promise.resolve(product).then(
        () => io.logger.info(`Starting the ${name} runtime…`),
        () => undefined,
      );
      return runtime.start(io.signal, early.checks.length > 0 ? { onPostgresReady: (live) => early.ready(live) } : {});
    })();
    // Keep a rejected start from surfacing as an unhandled rejection while the static checks run.
    starting.catch(() => undefined);
  };
  const stopRuntime = async () => {
    if (!starting) return;
    await starting.catch(() => undefined);
    try {
      await (runtime as Runtime | undefined)?.stop();
    } catch (error) {
      io.logger.warn(`cleanup: could not stop the runtime: ${error instanceof Error ? error.message : String(error)}`);
    }
  };

  const today = settings.today ?? isoDate(new Date());
  const options: CheckOptions = {
    commandTimeoutMs: settings.commandTimeoutMs,
    concurrency: settings.concurrency,
    env: settings.env,
    today,
    ...(settings.generatorCommand !== undefined && { generatorCommand: settings.generatorCommand }),
    ...(settings.migrateCommand !== undefined && { migrateCommand: settings.migrateCommand }),
  };
  // The embedded servers, or the compose stack's `up`, are what the live checks wait for longest,
  // and they need only the compose project: it is read first, and they start while the registry
  // module is still evaluated in its child process (the registry is awaited for the live
  // environment; refused, the start is stopped without a word).
  const startsEarly = startsRuntime && settings.runtime !== "external";
  let composeRead = (): void => undefined;
  const readingCompose = startsEarly ? new Promise<void>((resolve) => (composeRead = resolve)) : Promise.resolve();
  // The drift check's generator needs only the repository: its copy (synchronous, one folder per
  // turn of the event loop) and the generator's child process start once the compose project is
  // read, and go on while the registry is evaluated and the servers start. Started before it, the
  // copy's turns held up the reading, and so the servers, by about 100 ms on the 2-core machine.
  // The regeneration is stopped if the product cannot be loaded.
  const stopRegeneration = new AbortController();
  const regenerated = checks.includes(driftCheck)
    ? regenerate({
        repoRoot: resolve(repoRoot),
        productDir: resolve(productDir),
        options,
        logger: io.logger,
        signal: AbortSignal.any([io.signal, stopRegeneration.signal]),
        runFolder,
        startAfter: readingCompose,
      })
    : undefined;
  // Awaited by the drift check, or below when loading fails; never an unhandled rejection meanwhile.
  regenerated?.catch(() => undefined);

  const loading: { product?: Promise<Product> } = {};
  loading.product = loadProduct(productDir, repoRoot, {
    composeEnv: settings.env,
    composeSelection,
    withCompose: needsCompose,
    allowOutsideLinks: settings.allowOutsideLinks,
    registrySandbox: {
      timeoutMs: settings.commandTimeoutMs,
      env: settings.env,
      signal: io.signal,
      workDir: runFolder.home,
      user: runFolder.user,
      copyFolder: () => runFolder.subfolder("registry"),
      log: (message) => io.logger.debug(message),
    },
    // Called after loadProduct has returned its promise (the compose project is read asynchronously).
    ...(startsEarly && {
      composeLoaded: (compose: ComposeProject) => {
        startRuntime(loading.product!, compose);
        composeRead();
      },
    }),
  });
  // Also when the product cannot be loaded, or the compose project is not read at all.
  loading.product.then(composeRead, composeRead);

  const productPath = repoRelative(repoRoot, productDir) || ".";
  let product: Product;
  let policy: FindingPolicy;
  try {
    product = await loading.product;
    policy = new FindingPolicy({
      profile: profileOf(product),
      profileFrom: product.config?.profileAt ?? (product.registry.source === "typescript" ? "typescript registry" : "yaml or inferred registry"),
      config: configOf(product),
      today,
      ...(settings.baseline !== undefined && { baseline: await readBaseline(settings.baseline, settings.cwd, productPath) }),
    });
  } catch (error) {
    // The registry, the configuration or the baseline is refused: servers starting from the
    // compose project are stopped mid-start.
    await (runtime as Runtime | undefined)?.stop().catch(() => undefined);
    stopRegeneration.abort();
    await Promise.all([stopRuntime(), regenerated?.catch(() => undefined)]);
    throw error;
  }
  const context: CheckContext = { product, options, logger: io.logger, signal: io.signal, runFolder, ...(regenerated && { regenerated }) };

  let inputError = false;
  const onInputError = () => {
    inputError = true;
  };
  early.attach(context, { onInputError, policy });

  if (startsRuntime && !starting) startRuntime(product);
  const runLiveChecks = async (): Promise<{ liveResults: CheckResult[]; startFailure?: StartFailure }> => {
    if (!starting) return { liveResults: [] };
    let live: LiveEnvironment | undefined;
    let startFailure: StartFailure | undefined;
    try {
      live = await starting;
      // Some instances did not start: the cause is printed and decides the exit code as for a
      // failed start, and the live checks still look at the instances that run.
      if (live.unstarted) startFailure = startFailureOf(live.unstarted.error, io);
    } catch (error) {
      startFailure = startFailureOf(error, io);
    }
    if (live) {
      const liveContext = { ...context, live };
      const kept = early.keptFor(live);
      if (!kept) {
        await early.drop();
        return { liveResults: await executeChecks(liveChecks, liveContext, io.progress, { onInputError, policy }), ...(startFailure && { startFailure }) };
      }
      const [earlyOutcome, rest] = await Promise.all([
        kept.results,
        executeChecks(liveChecks.filter((check) => !kept.kept.includes(check)), liveContext, io.progress, { onInputError, policy }),
      ]);
      const again = await executeChecks(earlyOutcome.again, liveContext, io.progress, { onInputError, policy });
      return { liveResults: [...earlyOutcome.results, ...rest, ...again], ...(startFailure && { startFailure }) };
    }
    await early.drop();
    // Checks that need the server are `error` with the cause; those that only use a stack when
    // there is one (dependencies) still give their static part.
    const failed = liveChecks.filter(needsServer).map((check) => {
      const reason = io.signal.aborted ? INTERRUPTED : `runtime could not start: ${startFailure!.cause}`;
      const result: CheckResult = { id: check.id, title: check.title, status: "error", durationMs: 0, findings: [], reason };
      io.progress?.finished(io.signal.aborted ? result : { ...result, reason: START_FAILED_SEE_ABOVE });
      return result;
    });
    const rest = await executeChecks(liveChecks.filter((c) => !needsServer(c)), context, io.progress, { onInputError, policy });
    return { liveResults: [...failed, ...rest], ...(startFailure && { startFailure }) };
  };
  try {
    // The live checks start as soon as the runtime is ready, whether the static checks (drift runs
    // the product's generator) have finished or not: neither reads the other's results.
    const [staticResults, { liveResults, startFailure }] = await Promise.all([
      executeChecks(checks.filter((c) => !liveChecks.includes(c)), context, io.progress, { concurrent: true, onInputError, policy }),
      runLiveChecks(),
    ]);
    const byOrder = (a: CheckResult, b: CheckResult) => ALL_CHECKS.findIndex((c) => c.id === a.id) - ALL_CHECKS.findIndex((c) => c.id === b.id);
    const results = [...staticResults, ...liveResults].sort(byOrder);
    const report: Report = maskReport({
      version: 1,
      product: product.name,
      productDir: productPath,
      runtime: (runtime as Runtime | undefined)?.name ?? "none",
      checks: results,
      summary: summarize(results),
      registry: {
        source: product.registry.source,
        file: product.registry.file,
        ...(product.registry.inference && { inferred: [...product.registry.inference.facts], todo: [...product.registry.inference.todo] }),
      },
      ...policy.report(),
    });
    return { report, productDir, repoRoot, inputError, ...(startFailure && !io.signal.aborted && { startFailure }) };
  } finally {
    await stopRuntime();
  }
}
