/**
 * Everything a hostile case asserts about how a run ended, gathered into one object so a failing
 * case shows all that went wrong in one diff: exit code, whether the test had to kill it, crash signs
 * on stderr, what was left behind, and whether the user's tree changed.
 */
import type { HostileRepo } from "./hostile-repo.js";
import type { Leftovers, RunFolder } from "./run-folder.js";
import { crashSigns, type CliResult } from "./run-cli.js";

export interface Outcome {
  readonly exitCode: number | null;
  /** The CLI was still running at the test's bound and the test killed it. */
  readonly boundHit: boolean;
  /** Stack traces, "internal error", unhandled errors on stderr or stdout. */
  readonly crash: string[];
  readonly leftovers: Leftovers;
  readonly treeUnchanged: boolean;
}

export async function outcomeOf(result: CliResult, folder: RunFolder, repo?: HostileRepo, hashBefore?: string): Promise<Outcome> {
  const log = `${result.stdout}\n${result.stderr}`;
  return {
    exitCode: result.exitCode,
    boundHit: result.boundHit,
    crash: crashSigns(log),
    leftovers: await folder.leftovers(log, repo ? [repo.root] : []),
    treeUnchanged: repo === undefined || hashBefore === undefined || (await repo.hash()) === hashBefore,
  };
}

/** The outcome of a run that ended as it should, with `exitCode`. */
export function cleanEnd(exitCode: number): Outcome {
  return { exitCode, boundHit: false, crash: [], leftovers: { tempEntries: [], processes: [], namedFolders: [] }, treeUnchanged: true };
}

/**
 * For a case where more than one exit code is right: the outcome with its exit code replaced by
 * `"one of …"` when it is among `codes`, to compare with `cleanEndAmong(codes)` in one diff.
 */
export function withExitAmong(outcome: Outcome, codes: readonly number[]): Omit<Outcome, "exitCode"> & { exitCode: number | string | null } {
  return { ...outcome, exitCode: outcome.exitCode !== null && codes.includes(outcome.exitCode) ? `one of ${codes.join(", ")}` : outcome.exitCode };
}

export function cleanEndAmong(codes: readonly number[]): Omit<Outcome, "exitCode"> & { exitCode: string } {
  return { ...cleanEnd(0), exitCode: `one of ${codes.join(", ")}` };
}
