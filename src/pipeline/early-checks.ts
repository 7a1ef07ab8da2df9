import type { Logger, LogLevel } from "../core/logger.js";
import type { CheckResult } from "../core/report-model.js";
import type { Check, CheckContext } from "../checks/check.js";
import { type LiveEnvironment, sameInstances } from "../runtime/runtime.js";
import { type CheckProgress, executeChecks, type ExecuteOptions } from "./check-executor.js";

/**
 * The live checks that start before the runtime has finished starting (`Check.beforeStackReady`),
 * on the instances-only environment `StartHooks.onPostgresReady` gives, once the run's context
 * exists too. What they find stands only when the runtime's own environment has the same instances
 * at the same places (`sameInstances`) and they did not end in `error` (a container restarting
 * under them, say): otherwise they are stopped or set aside and run again with the others. Their
 * progress lines and log lines above debug are held back until then, so nothing shown
 * is later replaced (a start that fails takes their scratch server away under them: what they say
 * of it then is not shown at all).
 */
export class EarlyChecks {
  private context: CheckContext | undefined;
  private options: ExecuteOptions = {};
  private live: LiveEnvironment | undefined;
  private running: Promise<CheckResult[]> | undefined;
  private readonly stopping = new AbortController();
  /** What the early run logged above debug, shown once its results stand. */
  private readonly held: Array<{ level: Exclude<LogLevel, "debug">; message: string }> = [];

  constructor(
    /** The live checks that may start early, in the run's order. */
    readonly checks: readonly Check[],
    private readonly progress: CheckProgress | undefined,
  ) {}

  /** The runtime's instances are ready (`StartHooks.onPostgresReady`). */
  ready(live: LiveEnvironment): void {
    this.live ??= live;
    this.begin();
  }

  /** The run's context is made (the product loaded), with the options its live checks run with. */
  attach(context: CheckContext, options: ExecuteOptions): void {
    if (this.context) return;
    this.context = context;
    this.options = options;
    this.begin();
  }

  /**
   * With the runtime's own environment: the checks whose early run is kept, and a promise of their
   * results with those that ended in `error` left out (`again`: to run on `live`). Without a kept
   * early run, none (every check runs on `live`, as without this).
   */
  keptFor(live: LiveEnvironment): { kept: readonly Check[]; results: Promise<{ results: CheckResult[]; again: Check[] }> } | undefined {
    if (!this.running || !this.live || !sameInstances(this.live, live)) return undefined;
    const running = this.running;
    const results = (async () => {
      const all = await running;
      const interrupted = this.context?.signal.aborted === true;
      const again = interrupted ? [] : this.checks.filter((check) => all.some((result) => result.id === check.id && result.status === "error"));
      const standing = all.filter((result) => !again.some((check) => check.id === result.id));
      for (const result of standing) {
        const check = this.checks.find((candidate) => candidate.id === result.id);
        if (check) this.progress?.started(check);
        this.progress?.finished(result);
      }
      // A check run again says again what matters: what the early run said is then only for --verbose.
      const logger = this.context?.logger;
      for (const { level, message } of this.held.splice(0)) {
        if (again.length > 0) logger?.debug(`(before the stack was ready) ${message}`);
        else logger?.[level](message);
      }
      if (again.length > 0) this.context?.logger.debug(`${again.map((check) => check.id).join(", ")}: ended in error before the stack was ready; run again now that it is`);
      return { results: standing, again };
    })();
    return { kept: this.checks, results };
  }

  /** Stops an early run whose results will not be used and waits for it; a no-op when none started. */
  async drop(): Promise<void> {
    this.stopping.abort();
    await this.running?.catch(() => undefined);
  }

  private begin(): void {
    const { context, live } = this;
    if (this.running || !context || !live || this.stopping.signal.aborted || context.signal.aborted) return;
    // Only where nothing they make lands on the instances the other checks look at.
    if (![...live.instances.values()].every((instance) => instance.scratchDisposable === true)) return;
    context.logger.debug(`${this.checks.map((check) => check.id).join(", ")}: started on the PostgreSQL instances while the rest of the stack boots`);
    const signal = AbortSignal.any([context.signal, this.stopping.signal]);
    const hold = (level: Exclude<LogLevel, "debug">) => (message: string) => this.held.push({ level, message });
    const logger: Logger = { debug: (message) => context.logger.debug(message), info: hold("info"), warn: hold("warn"), error: hold("error") };
    this.running = executeChecks(this.checks, { ...context, live, signal, logger }, undefined, {
      ...this.options,
      // An input error makes the check `error`, so it runs again: the run that stands says it.
      onInputError: () => undefined,
    });
    this.running.catch(() => undefined);
  }
}
