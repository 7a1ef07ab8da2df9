import type { RunStamp } from "../report/comment-markers.js";

/**
 * True when `candidate` reports on an older state than `posted`: an older head commit (by committer
 * date), or the same commit from an earlier run or attempt. Run ids grow over a repository's runs,
 * so they order runs of different commits when a date is missing.
 */
export function isOlderThan(candidate: RunStamp, posted: RunStamp): boolean {
  if (candidate.sha !== posted.sha && candidate.committedAt && posted.committedAt) {
    const [a, b] = [Date.parse(candidate.committedAt), Date.parse(posted.committedAt)];
    if (a !== b) return a < b;
  }
  if (candidate.runId !== posted.runId) return candidate.runId < posted.runId;
  return candidate.runAttempt < posted.runAttempt;
}
