import type { Logger } from "../core/logger.js";
import { UsageError } from "../core/errors.js";
import { GitHubWriter } from "../github/github-writer.js";
import { readRunContext, runUrl } from "../github/run-context.js";
import type { ActionSettings } from "./action-settings.js";
import { publishReports } from "./publish-reports.js";
import { readReportEnvelope } from "./report-envelope.js";

type Env = Readonly<Record<string, string | undefined>>;

/**
 * `mode: comment`, for the `workflow_run` pattern: a trusted workflow downloads the report JSON a
 * fork's run uploaded and posts the comments and statuses that run's read-only token could not.
 * The artifact is untrusted input: its commit must be the one the triggering run checked, and the
 * pull request it names must still have that commit as its head, else nothing is posted.
 * Returns how many products were posted.
 */
export async function runCommentMode(settings: ActionSettings, env: Env, logger: Logger): Promise<number> {
  if (!settings.reportFile) throw new UsageError("mode: comment needs report-file.");
  if (!settings.githubToken) throw new UsageError("mode: comment needs github-token.");
  const envelope = await readReportEnvelope(settings.reportFile);
  const context = await readRunContext(env);
  const triggering = (context.event.workflow_run as { head_sha?: string; html_url?: string } | undefined) ?? undefined;
  const expectedSha = triggering?.head_sha ?? context.sha;
  if (envelope.stamp.sha !== expectedSha) {
    logger.warn(`The report is about commit ${envelope.stamp.sha.slice(0, 7)}, but the triggering run checked ${expectedSha.slice(0, 7)}: nothing posted.`);
    return 0;
  }
  if (envelope.pullRequest === undefined) {
    logger.info("The report names no pull request: nothing to comment on.");
    return 0;
  }
  const writer = GitHubWriter.create(settings.githubToken, context.owner, context.repo, env.GITHUB_API_URL, logger);
  const { data: pull } = await writer.octokit.rest.pulls.get({ owner: context.owner, repo: context.repo, pull_number: envelope.pullRequest });
  if (pull.head.sha !== envelope.stamp.sha) {
    logger.info(`Pull request #${envelope.pullRequest} has moved on to ${pull.head.sha.slice(0, 7)}; its own run will report.`);
    return 0;
  }
  const reportRun = triggering?.html_url ?? runUrl(context);
  // No check run here (it would need the workspace layout to place annotations), so no path mapping either.
  const published = envelope.reports.map((report) => ({ report, repoRoot: "/" }));
  await publishReports(writer, published, { workspace: "/", sha: envelope.stamp.sha, runUrl: reportRun, stamp: envelope.stamp, pullRequest: envelope.pullRequest, checkRuns: false, statuses: true }, logger);
  return envelope.reports.length;
}
