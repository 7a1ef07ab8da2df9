/**
 * Which run wrote a comment, kept in a hidden marker so a slow, older run never overwrites what a
 * newer one posted: pushes race, and re-runs of old commits happen.
 */
export interface RunStamp {
  /** The head commit the report is about. */
  readonly sha: string;
  /** That commit's committer date (ISO 8601), when the API told it. */
  readonly committedAt?: string;
  readonly runId: number;
  readonly runAttempt: number;
}

const STAMP_PREFIX = "<!-- civic-conformance-run: ";

/** The marker that finds a product's sticky comment again. */
export function productMarker(product: string): string {
  return `<!-- civic-conformance:${product} -->`;
}

export function stampMarker(stamp: RunStamp): string {
  return `${STAMP_PREFIX}${JSON.stringify(stamp)} -->`;
}

export function readStamp(body: string): RunStamp | undefined {
  const start = body.indexOf(STAMP_PREFIX);
  if (start === -1) return undefined;
  const end = body.indexOf(" -->", start);
  try {
    const parsed = JSON.parse(body.slice(start + STAMP_PREFIX.length, end)) as Partial<RunStamp>;
    if (typeof parsed.sha !== "string" || typeof parsed.runId !== "number" || typeof parsed.runAttempt !== "number") return undefined;
    return { sha: parsed.sha, runId: parsed.runId, runAttempt: parsed.runAttempt, ...(typeof parsed.committedAt === "string" && { committedAt: parsed.committedAt }) };
  } catch {
    return undefined;
  }
}

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
