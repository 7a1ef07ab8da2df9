import { readFile } from "node:fs/promises";
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
