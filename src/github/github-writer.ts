import { getOctokit } from "@actions/github";
import type { Logger } from "../core/logger.js";

export type Octokit = ReturnType<typeof getOctokit>;

/** The HTTP status of an Octokit request error, if it is one. */
export function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === "number" ? status : undefined;
}

/**
 * The one place GitHub writes go through. A pull request from a fork gets a read-only token: its
 * first refused write (403, or 404 where GitHub hides the resource) turns every later write into a
 * no-op, with one warning, so the run still succeeds on its own merits and the job summary stays
 * the report.
 */
export class GitHubWriter {
  private refusal: string | undefined;

  constructor(
    readonly octokit: Octokit,
    readonly owner: string,
    readonly repo: string,
    private readonly logger: Logger,
  ) {}

  /** Builds the client; `GITHUB_API_URL` (GitHub Enterprise, tests) is honoured through `apiUrl`. */
  static create(token: string, owner: string, repo: string, apiUrl: string | undefined, logger: Logger): GitHubWriter {
    return new GitHubWriter(getOctokit(token, apiUrl ? { baseUrl: apiUrl } : {}), owner, repo, logger);
  }

  /** Why writes stopped, once one was refused. */
  get refused(): string | undefined {
    return this.refusal;
  }

  /**
   * Runs one write. Returns `undefined` when writes are refused (now or earlier); other failures
   * are warnings too, since a report that could not be posted must not fail a passing run.
   */
  async write<T>(what: string, request: () => Promise<T>): Promise<T | undefined> {
    if (this.refusal) return undefined;
    try {
      return await request();
    } catch (error) {
      const status = statusOf(error);
      if (status === 403 || status === 404) {
        this.refusal = `${what} was refused (HTTP ${status})`;
        this.logger.warn(
          `${this.refusal}: the token cannot write to ${this.owner}/${this.repo}, as on pull requests from forks. ` +
            "The report is in the job summary; to comment on fork pull requests, use the workflow_run pattern (docs/action.md).",
        );
        return undefined;
      }
      this.logger.warn(`${what} failed: ${(error as Error).message}`);
      return undefined;
    }
  }
}
