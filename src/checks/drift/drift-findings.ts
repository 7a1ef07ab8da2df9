import { formatPatch, structuredPatch, type StructuredPatch } from "diff";
import type { Finding } from "../../core/report-model.js";
import { maskSecrets } from "../../core/secrets.js";
import type { TreeSnapshot } from "../../sandbox/repo-copy.js";

/** One file that the generator's output and the committed tree disagree on. */
export interface FileDrift {
  readonly kind: "changed" | "created" | "deleted";
  /** Repository-relative, forward slashes. */
  readonly file: string;
  /** Undefined when the file is not committed. */
  readonly committed: string | undefined;
  /** Undefined when the generator deleted it. */
  readonly regenerated: string | undefined;
}

/** How a finding tells the user to regenerate: the command, and what produced the expected files. */
export interface Regeneration {
  /** E.g. `cd products/property-tax && npx tsx infra/generate.ts`. */
  readonly command: string;
  /** E.g. `infra/generate.ts`, for messages. */
  readonly source: string;
}

/** Paths (sorted) whose content differs between the committed tree and the regenerated one. */
export function compareSnapshots(
  committed: TreeSnapshot,
  regenerated: TreeSnapshot,
): { changed: string[]; created: string[]; deleted: string[] } {
  const changed: string[] = [];
  const created: string[] = [];
  const deleted: string[] = [];
  for (const [path, hash] of regenerated) {
    const before = committed.get(path);
    if (before === undefined) created.push(path);
    else if (before !== hash) changed.push(path);
  }
  for (const path of committed.keys()) if (!regenerated.has(path)) deleted.push(path);
  return { changed: changed.sort(), created: created.sort(), deleted: deleted.sort() };
}

/** The first line of the committed file that the patch touches (1-based). */
function firstChangedLine(patch: StructuredPatch): number | undefined {
  const hunk = patch.hunks[0];
  if (!hunk) return undefined;
  let line = hunk.oldStart;
  for (const text of hunk.lines) {
    if (text.startsWith("-") || text.startsWith("+")) return Math.max(line, 1);
    if (text.startsWith(" ")) line += 1;
  }
  return Math.max(hunk.oldStart, 1);
}

function isBinary(text: string | undefined): boolean {
  return text?.includes("\0") ?? false;
}

function countChangedLines(patch: StructuredPatch): number {
  return patch.hunks.flatMap((hunk) => hunk.lines).filter((text) => text.startsWith("-") || text.startsWith("+")).length;
}

/** A finding for one drifted file, with a unified diff (committed → regenerated) as its details. */
export function driftFinding(drift: FileDrift, regeneration: Regeneration): Finding {
  const { file, committed, regenerated } = drift;
  const binary = isBinary(committed) || isBinary(regenerated);
  const patch = binary
    ? undefined
    : structuredPatch(`a/${file}`, `b/${file}`, committed ?? "", regenerated ?? "", "committed", "regenerated");
  const details = patch ? maskSecrets(formatPatch(patch)) : `Binary file ${file} differs.`;
  const rerun = `Run \`${regeneration.command}\``;
  switch (drift.kind) {
    case "changed": {
      const count = patch ? countChangedLines(patch) : 0;
      const line = patch ? firstChangedLine(patch) : undefined;
      return {
        rule: "drift/changed",
        severity: "error",
        message:
          `${file} is not what ${regeneration.source} produces from the registry` +
          (count > 0 ? ` (${count} line${count === 1 ? "" : "s"} differ)` : "") +
          ": it was edited by hand, or not regenerated after a registry change.",
        file,
        ...(line !== undefined ? { line } : {}),
        fix: `${rerun} and commit ${file}; change the registry, never the generated file.`,
        details,
      };
    }
    case "created":
      return {
        rule: "drift/created",
        severity: "error",
        message: `${regeneration.source} produces ${file}, which is not committed.`,
        file,
        fix: `${rerun} and commit ${file} (or change the generator so it no longer writes it).`,
        details,
      };
    case "deleted":
      return {
        rule: "drift/deleted",
        severity: "error",
        message: `${regeneration.source} deletes ${file}, which is committed.`,
        file,
        line: 1,
        fix: `${rerun} and commit the removal of ${file} (or change the generator so it keeps it).`,
        details,
      };
  }
}
