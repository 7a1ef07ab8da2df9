import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { pathKind } from "../core/path-probe.js";
import { UsageError } from "../core/errors.js";
import type { Report } from "../core/report-model.js";
import type { RunStamp } from "../report/comment-markers.js";

/**
 * The `report-json` file: every product's report (each exactly the CLI's JSON contract) and the run
 * it came from. `mode: comment` reads it back in a trusted workflow, so it carries what that
 * workflow cannot learn for a fork's pull request (`workflow_run.pull_requests` is empty there).
 */
export interface ReportEnvelope {
  readonly version: 1;
  readonly toolVersion: string;
  readonly repository: string;
  /** The pull request the run checked, if any. */
  readonly pullRequest: number | undefined;
  readonly stamp: RunStamp;
  readonly reports: readonly Report[];
}

export async function readReportEnvelope(path: string): Promise<ReportEnvelope> {
  let parsed: Partial<ReportEnvelope>;
  try {
    parsed = JSON.parse(await readFile(path, "utf8")) as Partial<ReportEnvelope>;
  } catch (error) {
    throw new UsageError(`Could not read the report JSON: ${(error as Error).message}`, { file: path });
  }
  if (parsed.version !== 1 || !Array.isArray(parsed.reports) || !parsed.stamp || typeof parsed.stamp.sha !== "string") {
    throw new UsageError("Not a civic-conformance report-json file (expected version 1 with stamp and reports).", { file: path });
  }
  return parsed as ReportEnvelope;
}

/**
 * Every report JSON the paths name: a file is read as it is; a folder gives every `*.json` beneath
 * it, in path order (`actions/download-artifact` puts each matrix job's artifact in a folder of its own).
 *
 * @throws UsageError when a path does not exist, a file is not a report JSON, or nothing was found
 */
export async function readReportEnvelopes(paths: readonly string[]): Promise<ReportEnvelope[]> {
  const files: string[] = [];
  for (const path of paths) {
    const kind = await pathKind(path);
    if (kind === "file") files.push(path);
    else if (kind === "dir") {
      const entries = await readdir(path, { recursive: true, withFileTypes: true });
      files.push(...entries.filter((e) => e.isFile() && e.name.endsWith(".json")).map((e) => join(e.parentPath, e.name)).sort());
    } else throw new UsageError(`Report JSON not found: ${path}`, { file: path });
  }
  if (files.length === 0) throw new UsageError(`No report JSON in ${paths.join(", ")}: did the check jobs upload their report-json?`);
  return Promise.all(files.map((file) => readReportEnvelope(file)));
}
