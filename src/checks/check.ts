import type { Coverage, CoverageItem, Finding, MatrixCell } from "../core/report-model.js";
import type { RuleDeclaration } from "../core/rule-declaration.js";
import type { Logger } from "../core/logger.js";
import type { Product } from "../product/product.js";
import type { LiveEnvironment } from "../runtime/runtime.js";
import type { RunFolder } from "../sandbox/run-folder.js";

/**
 * What a check needs before it can look: `compose` the compose file loaded, `postgres` a live server
 * (the runtime starts for it; without one the check is skipped). `stack` is softer: the check runs
 * from files alone, and gets `context.live` too when a runtime is up for another check. `scratch-server`:
 * it will call an instance's `scratchAdminUrl()`, so a runtime may prepare those servers early.
 */
export type Need = "compose" | "postgres" | "stack" | "scratch-server";

export interface CheckOptions {
  /** A command that regenerates the infra files, run from the product folder instead of `infra/generate.ts`. */
  readonly generatorCommand?: string;
  /** A command that applies one service's migrations (see README); replaces the built-in applier. */
  readonly migrateCommand?: string;
  /** Upper bound for any child process a check runs, in milliseconds. */
  readonly commandTimeoutMs: number;
  /** Upper bound for concurrent connections / processes. */
  readonly concurrency: number;
  /**
   * The caller's environment (the door passes `process.env`; the core never reads it). Product
   * programs never get it whole: only PATH and the locale pass (sandbox/minimal-environment.ts).
   */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Today as `YYYY-MM-DD` (UTC), for the expiry of suppressions; the pipeline passes it, default the clock's. */
  readonly today?: string;
}

/** `YYYY-MM-DD` of a moment, in UTC. */
export function isoDate(moment: Date): string {
  return moment.toISOString().slice(0, 10);
}

export interface CheckContext {
  readonly product: Product;
  /** Present when a runtime is up; live checks skip without it. */
  readonly live?: LiveEnvironment;
  readonly options: CheckOptions;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /**
   * The run's folder: HOME and TMPDIR of the programs a check runs, and its OS user. Absent when a
   * check runs on its own (tests): `withRunFolder` then makes one for the check.
   */
  readonly runFolder?: RunFolder;
  /**
   * The drift check's regeneration (its generator run in a throwaway copy, compared), which needs
   * nothing of the loaded product: the pipeline starts it before loading the product. Undefined
   * output: the product has no generator. Absent (tests, a check run on its own): the check starts it.
   */
  readonly regenerated?: Promise<CheckOutput | undefined>;
}

export interface CheckOutput {
  readonly findings: Finding[];
  /** Set instead of findings when the check could not look; the check is reported as `skip`. */
  readonly skipped?: string;
  /** Remarks on parts that were not looked at (e.g. the live probe under `embedded`). */
  readonly notes?: string[];
  /**
   * What a live check looked at. Incomplete coverage without an error finding makes the check
   * `error`, never `pass` (the executor enforces it); build it with `coverageOf`.
   */
  readonly coverage?: Coverage;
  readonly data?: { matrix?: MatrixCell[]; [key: string]: unknown };
}

/**
 * A coverage from what was and was not looked at: complete exactly when nothing is uncovered.
 * `summary` is the one line renderers show (e.g. "10/10 stateful services, 10 credentials").
 */
export function coverageOf(summary: string, covered: readonly CoverageItem[], uncovered: readonly CoverageItem[]): Coverage {
  return { complete: uncovered.length === 0, summary, covered: [...covered], uncovered: [...uncovered] };
}

/** One check = one folder exporting one object of this shape; `checks/registered.ts` lists them. */
export interface Check<Id extends string = string> {
  /** Stable, kebab-case: the prefix of every rule id of the check and what `--only` / `--skip` name. */
  readonly id: Id;
  readonly title: string;
  readonly needs: readonly Need[];
  /**
   * Changes nothing on the server or the stack (reads catalogs, logs in): runs beside the live checks
   * next to it that are read-only too, where the others run alone.
   */
  readonly readsOnly?: true;
  /**
   * Needs only the PostgreSQL instances, reads nothing but their catalogs and changes nothing but a
   * scratch server apart from them: where the runtime has the instances ready before the rest of
   * the product (`compose`: the services boot on) and each has a scratch server of its own
   * (`scratchDisposable`), it starts then, beside the boot (`pipeline/early-checks.ts`).
   */
  readonly beforeStackReady?: true;
  /** Every rule the check may report, declared in its `rules.ts`; a finding of any other rule id is a bug. */
  readonly rules: readonly RuleDeclaration[];
  run(context: CheckContext): Promise<CheckOutput>;
}

/**
 * Thrown by a check that could not look (server down mid-run, file unreadable): the executor
 * reports the check as `error`, never `pass`.
 */
export class CheckUnableError extends Error {
  override readonly name = "CheckUnableError";
}

/** A rule's declaration without its id: the id is the check's id and the key it is declared under. */
export type RuleSpec = Omit<RuleDeclaration, "id">;

/** The rules of one check, keyed by full id (`<check id>/<rule>`). */
export type RuleSet<CheckIdT extends string, Name extends string> = { readonly [N in Name as `${CheckIdT}/${N}`]: RuleDeclaration & { readonly id: `${CheckIdT}/${N}` } };

/**
 * Declares a check's rules: `defineRules("compose", { "port": { severity, summary, help }, … })`.
 * The result is keyed by full rule id, so a check names a rule as `rules["compose/port"].id` and a
 * misspelt id does not type-check.
 */
export function defineRules<const CheckIdT extends string, const Name extends string>(
  checkId: CheckIdT,
  specs: { readonly [N in Name]: RuleSpec },
): RuleSet<CheckIdT, Name> {
  return Object.fromEntries(
    Object.entries<RuleSpec>(specs).map(([name, spec]) => [`${checkId}/${name}`, { id: `${checkId}/${name}`, ...spec }]),
  ) as RuleSet<CheckIdT, Name>;
}
