/**
 * The hidden markers of a sticky pull-request comment: which product it is about (so a run finds it
 * again) and which run wrote it (so a slow, older run never overwrites what a newer one posted:
 * pushes race, and re-runs of old commits happen). Part of the comment body, so rendered here;
 * the publisher (github/sticky-comment.ts) reads them back.
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

/**
 * The marker of the one comment that combines several products' reports (`mode: comment` after a
 * matrix). No colon: no product's marker can contain it, nor it a product's.
 */
export const COMBINED_MARKER = "<!-- civic-conformance-products -->";

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
