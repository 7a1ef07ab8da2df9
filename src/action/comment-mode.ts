import type { Logger } from "../core/logger.js";
import { UsageError } from "../core/errors.js";
import { GitHubWriter } from "../github/github-writer.js";
import { readRunContext, runUrl } from "../github/run-context.js";
import type { RunStamp } from "../report/comment-markers.js";
import type { ActionSettings } from "./action-settings.js";
import { publishCombinedComment, publishReports } from "./publish-reports.js";
import { type ReportEnvelope, readReportEnvelopes } from "./report-envelope.js";

type Env = Readonly<Record<string, string | undefined>>;

/**
 * `mode: comment`: posts what the check runs could not or were told not to. Two uses: the
 * `workflow_run` pattern (a trusted workflow downloads the report JSON a fork's run uploaded), and
 * the last job after a matrix, which downloads every job's report JSON and posts them as one
 * comment. The artifacts are untrusted input: every one must be about the commit the triggering
 * run checked and name the same pull request, and that pull request must still have that commit as
 * its head, else nothing is posted. One product keeps its own sticky comment; several share one.
 * Returns how many products were posted.
 */
export async function runCommentMode(settings: ActionSettings, env: Env, logger: Logger): Promise<number> {
  if (settings.reportFiles.length === 0) throw new UsageError("mode: comment needs report-file.");
  if (!settings.githubToken) throw new UsageError("mode: comment needs github-token.");
  const envelopes = await readReportEnvelopes(settings.reportFiles);
  const context = await readRunContext(env);
  const triggering = (context.event.workflow_run as { head_sha?: string; html_url?: string } | undefined) ?? undefined;
  const expectedSha = triggering?.head_sha ?? context.sha;
  const otherCommit = envelopes.find((envelope) => envelope.stamp.sha !== expectedSha);
  if (otherCommit) {
    logger.warn(`A report is about commit ${otherCommit.stamp.sha.slice(0, 7)}, but the triggering run checked ${expectedSha.slice(0, 7)}: nothing posted.`);
    return 0;
  }
  const pullRequests = [...new Set(envelopes.map((envelope) => envelope.pullRequest))];
  if (pullRequests.length > 1) {
    logger.warn(`The reports name different pull requests (${pullRequests.map((n) => (n === undefined ? "none" : `#${n}`)).join(", ")}): nothing posted.`);
    return 0;
  }
  const pullRequest = pullRequests[0];
  if (pullRequest === undefined) {
    logger.info("The report names no pull request: nothing to comment on.");
    return 0;
  }
  const writer = GitHubWriter.create(settings.githubToken, context.owner, context.repo, env.GITHUB_API_URL, logger);
  const { data: pull } = await writer.octokit.rest.pulls.get({ owner: context.owner, repo: context.repo, pull_number: pullRequest });
  if (pull.head.sha !== expectedSha) {
    logger.info(`Pull request #${pullRequest} has moved on to ${pull.head.sha.slice(0, 7)}; its own run will report.`);
    return 0;
  }
  const reportRun = triggering?.html_url ?? runUrl(context);
  const stamp = combinedStamp(envelopes);
  const reports = envelopes.flatMap((envelope) => envelope.reports);
  // No check run here (it would need the workspace layout to place annotations), so no path mapping either.
  const published = reports.map((report) => ({ report, repoRoot: "/" }));
  const target = { workspace: "/", sha: expectedSha, runUrl: reportRun, stamp, checkRuns: false, statuses: true };
  if (reports.length === 1) {
    await publishReports(writer, published, { ...target, pullRequest }, logger);
  } else {
    await publishReports(writer, published, { ...target, pullRequest: undefined }, logger);
    await publishCombinedComment(writer, reports, { ...target, pullRequest }, logger);
  }
  return reports.length;
}

/** The stamp of reports from one workflow run's jobs: the latest run and attempt among them (a re-run job counts as newer). */
function combinedStamp(envelopes: readonly ReportEnvelope[]): RunStamp {
  const latest = envelopes.map((e) => e.stamp).reduce((a, b) => (b.runId > a.runId || (b.runId === a.runId && b.runAttempt > a.runAttempt) ? b : a));
  const committedAt = envelopes.map((e) => e.stamp.committedAt).find((date) => date !== undefined);
  return { sha: latest.sha, runId: latest.runId, runAttempt: latest.runAttempt, ...(committedAt !== undefined && { committedAt }) };
}
