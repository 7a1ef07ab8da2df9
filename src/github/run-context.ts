import { readFile } from "node:fs/promises";
import { UsageError } from "../core/errors.js";

/** The pull request a run reports on, as the event payload describes it. */
export interface PullRequestRef {
  readonly number: number;
  readonly headSha: string;
  /** The head branch lives in another repository: the token is read-only there. */
  readonly fromFork: boolean;
}

/** Who and where this workflow run is, read from the variables the runner sets. */
export interface RunContext {
  readonly owner: string;
  readonly repo: string;
  readonly serverUrl: string;
  readonly eventName: string;
  readonly runId: number;
  readonly runAttempt: number;
  /** The commit statuses and check runs go on: the pull request's head, else GITHUB_SHA. */
  readonly sha: string;
  readonly pullRequest: PullRequestRef | undefined;
  /** The raw event payload (the `workflow_run` mode reads its head SHA). */
  readonly event: Record<string, unknown>;
}

type Env = Readonly<Record<string, string | undefined>>;

interface PullRequestPayload {
  number?: number;
  head?: { sha?: string; repo?: { full_name?: string } | null };
  base?: { repo?: { full_name?: string } | null };
}

/** Reads the run's context; the event payload is optional (a local run has none). */
export async function readRunContext(env: Env): Promise<RunContext> {
  const [owner = "", repo = ""] = (env.GITHUB_REPOSITORY ?? "").split("/");
  let event: Record<string, unknown> = {};
  if (env.GITHUB_EVENT_PATH) {
    try {
      event = JSON.parse(await readFile(env.GITHUB_EVENT_PATH, "utf8")) as Record<string, unknown>;
    } catch (error) {
      throw new UsageError(`Could not read the event payload: ${(error as Error).message}`, { file: env.GITHUB_EVENT_PATH });
    }
  }
  const payload = event.pull_request as PullRequestPayload | undefined;
  const pullRequest =
    payload?.number !== undefined && payload.head?.sha
      ? {
          number: payload.number,
          headSha: payload.head.sha,
          fromFork: (payload.head.repo?.full_name ?? "") !== (payload.base?.repo?.full_name ?? ""),
        }
      : undefined;
  return {
    owner,
    repo,
    serverUrl: env.GITHUB_SERVER_URL ?? "https://github.com",
    eventName: env.GITHUB_EVENT_NAME ?? "",
    runId: Number(env.GITHUB_RUN_ID ?? 0),
    runAttempt: Number(env.GITHUB_RUN_ATTEMPT ?? 1),
    sha: pullRequest?.headSha ?? env.GITHUB_SHA ?? "",
    pullRequest,
    event,
  };
}

/** The run's page, where the job summary is shown. */
export function runUrl(context: RunContext): string {
  return `${context.serverUrl}/${context.owner}/${context.repo}/actions/runs/${context.runId}/attempts/${context.runAttempt}`;
}
