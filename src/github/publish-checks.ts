import type { Report } from "../core/report-model.js";
import { ANNOTATION_BATCH, annotationsFor, batches } from "./annotations.js";
import type { GitHubWriter } from "./github-writer.js";

/** The status context and check-run name of one product. */
export function statusContext(product: string): string {
  return `civic-conformance/${product}`;
}

function conclusionOf(report: Report): "success" | "failure" {
  return report.summary.verdict === "pass" ? "success" : "failure";
}

function description(report: Report): string {
  const s = report.summary;
  if (s.verdict === "pass") return `All ${s.passed} checks passed${s.skipped ? `, ${s.skipped} skipped` : ""}`;
  const parts = [s.failed && `${s.failed} failed`, s.errored && `${s.errored} could not run`, `${s.errors} errors, ${s.warnings} warnings`].filter(Boolean);
  return parts.join(" · ").slice(0, 140);
}

interface Target {
  readonly sha: string;
  /** The run's page, linked from the status. */
  readonly targetUrl: string;
  /** Makes finding paths relative to the checked-out repository (see annotationsFor). */
  readonly pathPrefix: string;
}

/**
 * A check run for the product carrying its findings as annotations on the offending lines: created
 * in progress, its output patched 50 annotations at a time (GitHub's limit per request), then
 * completed. Returns how many annotations were sent.
 */
export async function publishCheckRun(writer: GitHubWriter, report: Report, target: Target, summaryMarkdown: string): Promise<number> {
  const { octokit, owner, repo } = writer;
  const name = statusContext(report.product);
  const created = await writer.write(`Creating the ${name} check run`, () =>
    octokit.rest.checks.create({ owner, repo, name, head_sha: target.sha, status: "in_progress", details_url: target.targetUrl }),
  );
  if (!created) return 0;
  const checkRunId = created.data.id;
  const output = { title: description(report), summary: summaryMarkdown.slice(0, 65_000) };
  const annotations = annotationsFor(report, target.pathPrefix);
  let sent = 0;
  for (const batch of batches(annotations, ANNOTATION_BATCH)) {
    const patched = await writer.write(`Annotating the ${name} check run`, () => octokit.rest.checks.update({ owner, repo, check_run_id: checkRunId, output: { ...output, annotations: batch } }));
    if (!patched) return sent;
    sent += batch.length;
  }
  await writer.write(`Completing the ${name} check run`, () =>
    octokit.rest.checks.update({ owner, repo, check_run_id: checkRunId, status: "completed", conclusion: conclusionOf(report), output }),
  );
  return sent;
}

/** The commit status `civic-conformance/<product>` on the head commit. */
export async function publishCommitStatus(writer: GitHubWriter, report: Report, target: Target): Promise<boolean> {
  const { octokit, owner, repo } = writer;
  const state = report.summary.verdict === "pass" ? "success" : report.summary.verdict === "fail" ? "failure" : "error";
  const result = await writer.write(`Setting the ${statusContext(report.product)} status`, () =>
    octokit.rest.repos.createCommitStatus({ owner, repo, sha: target.sha, state, context: statusContext(report.product), description: description(report), target_url: target.targetUrl }),
  );
  return result !== undefined;
}
