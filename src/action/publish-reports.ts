import { repoRelative } from "../core/repo-path.js";
import type { Logger } from "../core/logger.js";
import { maskReport } from "../core/mask-report.js";
import type { Report } from "../core/report-model.js";
import type { GitHubWriter } from "../github/github-writer.js";
import { publishCheckRun, publishCommitStatus } from "../github/publish-checks.js";
import { COMBINED_MARKER, type RunStamp } from "../report/comment-markers.js";
import { upsertStickyComment } from "../github/sticky-comment.js";
import { renderCombinedComment, renderComment } from "../report/render-comment.js";
import { renderMarkdown } from "../report/render-markdown.js";

/** A report and where its repository root sits in the checked-out workspace. */
export interface PublishedReport {
  readonly report: Report;
  /** Absolute monorepo root of the product (finding paths are relative to it). */
  readonly repoRoot: string;
}

export interface PublishTarget {
  readonly workspace: string;
  readonly sha: string;
  readonly runUrl: string;
  readonly stamp: RunStamp;
  /** The pull request to comment on; `undefined` posts no comment. */
  readonly pullRequest: number | undefined;
  /** A check run with annotations per product (needs paths relative to the workspace). */
  readonly checkRuns: boolean;
  /** A commit status per product. */
  readonly statuses: boolean;
}

/**
 * Check runs with annotations, commit statuses and sticky comments, per product. Every write is
 * masked: the reports are masked value by value here, before any of them is rendered.
 */
export async function publishReports(writer: GitHubWriter, published: readonly PublishedReport[], target: PublishTarget, logger: Logger): Promise<void> {
  for (const { report: unmasked, repoRoot } of published) {
    const report = maskReport(unmasked);
    const pathPrefix = repoRelative(target.workspace, repoRoot);
    const checkTarget = { sha: target.sha, targetUrl: target.runUrl, pathPrefix: pathPrefix.startsWith("..") ? "" : pathPrefix };
    if (target.checkRuns && target.sha) {
      const annotated = await publishCheckRun(writer, report, checkTarget, renderMarkdown(report));
      logger.debug(`${report.product}: ${annotated} annotations sent`);
    }
    if (target.statuses && target.sha) await publishCommitStatus(writer, report, checkTarget);
    if (target.pullRequest !== undefined) {
      const body = renderComment(report, { stamp: target.stamp, summaryUrl: target.runUrl });
      const outcome = await upsertStickyComment(writer, { product: report.product, issueNumber: target.pullRequest, body, stamp: target.stamp }, logger);
      logger.info(`${report.product}: pull-request comment ${outcome}`);
    }
  }
}

/** One sticky comment for several products' reports (masked here, value by value, before rendering). */
export async function publishCombinedComment(writer: GitHubWriter, reports: readonly Report[], target: PublishTarget & { readonly pullRequest: number }, logger: Logger): Promise<void> {
  const masked = reports.map((report) => maskReport(report));
  const body = renderCombinedComment(masked, { stamp: target.stamp, summaryUrl: target.runUrl });
  const products = masked.map((report) => report.product).join(", ");
  const outcome = await upsertStickyComment(writer, { product: products, marker: COMBINED_MARKER, issueNumber: target.pullRequest, body, stamp: target.stamp }, logger);
  logger.info(`${products}: one pull-request comment ${outcome}`);
}
