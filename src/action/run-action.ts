import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import * as core from "@actions/core";
import packageJson from "../../package.json" with { type: "json" };
import { UsageError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import type { CheckResult, Report } from "../core/report-model.js";
import { maskReport } from "../core/mask-report.js";
import { maskSecrets } from "../core/secrets.js";
import type { CheckSettings, RuntimeChoice } from "../core/settings.js";
import { GitHubWriter } from "../github/github-writer.js";
import { readRunContext, type RunContext, runUrl } from "../github/run-context.js";
import type { RunStamp } from "../report/comment-markers.js";
import { commitDate } from "../github/sticky-comment.js";
import { renderJunit } from "../report/render-junit.js";
import { renderSarif } from "../report/render-sarif.js";
import { renderSummary } from "../report/render-summary.js";
import { renderCheckLine } from "../report/render-text.js";
import { runCheck, selectChecks } from "../pipeline/check-pipeline.js";
import { resolveRuntimeChoice } from "../runtime/choose-runtime.js";
import type { ActionSettings } from "./action-settings.js";
import { announceSecrets } from "./actions-logger.js";
import { ensureEmbeddedPostgres } from "./embedded-postgres-install.js";
import { type PublishedReport, publishReports } from "./publish-reports.js";
import type { ReportEnvelope } from "./report-envelope.js";

export const TOOL_VERSION: string = packageJson.version;

type Env = Readonly<Record<string, string | undefined>>;

/** What a check-mode run produced, for the outputs and the step's outcome. */
export interface ActionOutcome {
  readonly verdict: "pass" | "fail" | "error";
  readonly failedChecks: readonly string[];
  readonly reportJson: string;
  /** Why the step fails under `fail-on`; `undefined` when it passes. */
  readonly failure: string | undefined;
}

const DEFAULT_TIMEOUT_MS = 120_000;
const DEFAULT_CONCURRENCY = 16;

/** The check's settings for one product, from the action's inputs (what the CLI's flags give it). */
export function actionCheckSettings(settings: ActionSettings, runtime: RuntimeChoice, productPath: string, env: Env): CheckSettings {
  return {
    productPath,
    runtime,
    only: settings.only,
    skip: settings.skip,
    outputs: [],
    ...(settings.externalConfig !== undefined && { externalConfig: settings.externalConfig }),
    ...(settings.readyTimeoutMs !== undefined && { readyTimeoutMs: settings.readyTimeoutMs }),
    commandTimeoutMs: DEFAULT_TIMEOUT_MS,
    concurrency: DEFAULT_CONCURRENCY,
    verbose: core.isDebug(),
    allowOutsideLinks: settings.allowOutsideLinks,
    cwd: settings.workingDirectory,
    env,
  };
}

const needsPostgres = (settings: ActionSettings) => selectChecks(settings).some((check) => check.needs.includes("postgres") || check.needs.includes("stack"));

function worstVerdict(verdicts: readonly ("pass" | "fail" | "error")[]): "pass" | "fail" | "error" {
  if (verdicts.includes("fail")) return "fail";
  if (verdicts.includes("error")) return "error";
  return "pass";
}

function failureUnder(settings: ActionSettings, reports: readonly Report[], unreadable: number): string | undefined {
  if (unreadable > 0) return `${unreadable} product${unreadable === 1 ? "" : "s"} could not be read (see the errors above)`;
  if (settings.failOn === "never") return undefined;
  const failed = reports.filter((r) => r.summary.verdict !== "pass");
  if (failed.length > 0) return `civic-conformance: ${failed.map((r) => `${r.product} ${r.summary.verdict === "fail" ? "failed" : "could not run every check"}`).join("; ")}`;
  const warnings = reports.reduce((sum, r) => sum + r.summary.warnings, 0);
  if (settings.failOn === "warning" && warnings > 0) return `civic-conformance: ${warnings} warning${warnings === 1 ? "" : "s"} (fail-on: warning)`;
  return undefined;
}

async function writeText(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}

/**
 * `mode: check`: runs every product through the same `runCheck` as the CLI, writes the report
 * files and the job summary, then reports on the pull request. A product whose registry or compose
 * file cannot be read is annotated on its file and line (no report); one whose runtime cannot start
 * still gets its report, the live checks `error` with the cause. The other products still run.
 */
export async function runCheckMode(settings: ActionSettings, env: Env, logger: Logger, signal: AbortSignal): Promise<ActionOutcome> {
  const context = await readRunContext(env);
  // `auto` is resolved once, before the first product: an embedded run needs its binaries installed first.
  const runtime = needsPostgres(settings) ? await resolveRuntimeChoice(settings.runtime, { env, logger }) : settings.runtime;
  if (runtime === "embedded") await ensureEmbeddedPostgres(env.RUNNER_TOOL_CACHE, env, logger);

  const published: PublishedReport[] = [];
  let unreadable = 0;
  for (const productPath of settings.products) {
    core.startGroup(`civic-conformance · ${productPath}`);
    try {
      const progress = { started() {}, finished: (result: CheckResult) => logger.info(renderCheckLine(result)) };
      const { report, repoRoot } = await runCheck(actionCheckSettings(settings, runtime, productPath, env), { logger, progress, signal });
      published.push({ report, repoRoot });
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      unreadable += 1;
      const where = error.location;
      core.error(maskSecrets(error.message), { title: `civic-conformance: ${productPath}`, ...(where && { file: where.file, ...(where.line !== undefined && { startLine: where.line }) }) });
    } finally {
      announceSecrets();
      core.endGroup();
    }
  }
  // Masked value by value (never the serialised text), again: a later product may have registered more secrets.
  const reports = published.map((p) => maskReport(p.report));

  const writer = settings.githubToken && context.owner ? GitHubWriter.create(settings.githubToken, context.owner, context.repo, env.GITHUB_API_URL, logger) : undefined;
  const stamp = await runStamp(writer, context);
  const envelope: ReportEnvelope = {
    version: 1,
    toolVersion: TOOL_VERSION,
    repository: `${context.owner}/${context.repo}`,
    pullRequest: context.pullRequest?.number,
    stamp,
    reports,
  };
  const reportJson = settings.jsonFile ?? join(env.RUNNER_TEMP || settings.workingDirectory, "civic-conformance", "report.json");
  await writeText(reportJson, `${JSON.stringify(envelope, null, 2)}\n`);
  if (settings.sarifFile) await writeText(settings.sarifFile, renderSarif(reports, TOOL_VERSION));
  if (settings.junitFile) await writeText(settings.junitFile, renderJunit(reports));

  if (env.GITHUB_STEP_SUMMARY && reports.length > 0) {
    await core.summary.addRaw(renderSummary(reports, { fullReport: reportJson })).write();
  }

  if (writer && reports.length > 0) {
    if (context.pullRequest?.fromFork) logger.debug("pull request from a fork: the token is probably read-only");
    await publishReports(
      writer,
      published,
      {
        workspace: env.GITHUB_WORKSPACE || settings.workingDirectory,
        sha: context.sha,
        runUrl: runUrl(context),
        stamp,
        pullRequest: settings.comment ? context.pullRequest?.number : undefined,
        checkRuns: true,
        statuses: true,
      },
      logger,
    );
  }

  const failedChecks = [...new Set(reports.flatMap((r) => r.checks.filter((c) => c.status === "fail" || c.status === "error").map((c) => c.id)))];
  return {
    verdict: unreadable > 0 ? "error" : worstVerdict(reports.map((r) => r.summary.verdict)),
    failedChecks,
    reportJson,
    failure: failureUnder(settings, reports, unreadable),
  };
}

async function runStamp(writer: GitHubWriter | undefined, context: RunContext): Promise<RunStamp> {
  const base = { sha: context.sha, runId: context.runId, runAttempt: context.runAttempt };
  if (!writer || !context.sha) return base;
  const committedAt = await commitDate(writer, context.sha);
  return committedAt ? { ...base, committedAt } : base;
}
