import type { Logger } from "../core/logger.js";
import { type GitHubWriter, statusOf } from "./github-writer.js";
import { productMarker, readStamp, type RunStamp } from "../report/comment-markers.js";
import { isOlderThan } from "./run-order.js";

/** What became of a product's comment. */
export type CommentOutcome = "created" | "updated" | "kept-newer" | "not-posted";

/** The login GITHUB_TOKEN writes as: `GET /user` is refused to installation tokens. */
const ACTIONS_BOT = "github-actions[bot]";

const authorByWriter = new WeakMap<GitHubWriter, Promise<string>>();

/**
 * The login the token comments as: `GET /user` for a personal or user-to-server token; an
 * installation token (GITHUB_TOKEN, an app's token) is refused there, and GITHUB_TOKEN posts as
 * `github-actions[bot]`. Asked once per client.
 */
export function tokenAuthor(writer: GitHubWriter, logger: Logger): Promise<string> {
  let author = authorByWriter.get(writer);
  if (!author) {
    author = writer.octokit.rest.users.getAuthenticated().then(
      (response) => response.data.login,
      (error: unknown) => {
        logger.debug(`GET /user answered ${statusOf(error) ?? "an error"}; comments are taken to be ${ACTIONS_BOT}'s`);
        return ACTIONS_BOT;
      },
    );
    authorByWriter.set(writer, author);
  }
  return author;
}

interface StickyComment {
  /** Who the comment is about, for the log: a product's name, or a list of them. */
  readonly product: string;
  /** The hidden marker that finds it again; the product's own marker by default. */
  readonly marker?: string;
  readonly issueNumber: number;
  /** The whole body, both markers included (see render-comment.ts). */
  readonly body: string;
  readonly stamp: RunStamp;
}

/**
 * Creates the product's comment, or updates it in place: found by its hidden marker among every
 * page of the pull request's comments, written by the token's own user (anyone can paste a
 * marker). A comment stamped by a newer run is left alone.
 */
export async function upsertStickyComment(writer: GitHubWriter, comment: StickyComment, logger: Logger): Promise<CommentOutcome> {
  const { octokit, owner, repo } = writer;
  const marker = comment.marker ?? productMarker(comment.product);
  const author = await tokenAuthor(writer, logger);
  let existing: { id: number; body?: string | undefined } | undefined;
  try {
    const comments = await octokit.paginate(octokit.rest.issues.listComments, { owner, repo, issue_number: comment.issueNumber, per_page: 100 });
    existing = comments.find((c) => c.user?.login === author && c.body?.includes(marker));
  } catch (error) {
    logger.warn(`Could not list the comments of #${comment.issueNumber}: ${(error as Error).message}`);
    return "not-posted";
  }
  if (existing) {
    const posted = readStamp(existing.body ?? "");
    if (posted && isOlderThan(comment.stamp, posted)) {
      logger.info(`${comment.product}: the pull-request comment is from a newer run (${posted.runId}/${posted.runAttempt} on ${posted.sha.slice(0, 7)}); left as it is.`);
      return "kept-newer";
    }
    const id = existing.id;
    const updated = await writer.write(`Updating the ${comment.product} comment`, () => octokit.rest.issues.updateComment({ owner, repo, comment_id: id, body: comment.body }));
    return updated ? "updated" : "not-posted";
  }
  const created = await writer.write(`Commenting on #${comment.issueNumber}`, () =>
    octokit.rest.issues.createComment({ owner, repo, issue_number: comment.issueNumber, body: comment.body }),
  );
  return created ? "created" : "not-posted";
}

/** The head commit's committer date, for ordering runs; `undefined` when the API does not say. */
export async function commitDate(writer: GitHubWriter, sha: string): Promise<string | undefined> {
  try {
    const { data } = await writer.octokit.rest.repos.getCommit({ owner: writer.owner, repo: writer.repo, ref: sha });
    return data.commit.committer?.date ?? undefined;
  } catch {
    return undefined;
  }
}
