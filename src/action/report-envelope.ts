import { open, readdir } from "node:fs/promises";
import { join } from "node:path";
import type { ErrorObject } from "ajv";
import { pathKind } from "../core/path-probe.js";
import { UsageError } from "../core/errors.js";
import type { Report } from "../core/report-model.js";
import type { RunStamp } from "../report/comment-markers.js";
import { validate } from "./report-envelope-validator.generated.js";

/**
 * The `report-json` file: every product's report (each exactly the CLI's JSON contract) and the run
 * it came from. `mode: comment` reads it back in a trusted workflow, so it carries what that
 * workflow cannot learn for a fork's pull request (`workflow_run.pull_requests` is empty there).
 * Its shape is `schema/report-envelope.schema.json`.
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

/** Far above a real report (a 100-service isolation matrix is about 2 MB), far below what would strain a runner. */
export const MAX_REPORT_FILE_BYTES = 32 * 1024 * 1024;

const SCHEMA = "schema/report-envelope.schema.json";
const validateEnvelope = validate as unknown as ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

/**
 * Reads a `report-json` file and checks it against the schema before anything of it is used: in
 * `mode: comment` it comes from an artifact a fork's workflow run uploaded, so it is untrusted.
 *
 * @throws UsageError naming the file and what is wrong (too large, not JSON, the first place it breaks the schema)
 */
export async function readReportEnvelope(path: string): Promise<ReportEnvelope> {
  const text = await readBounded(path);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`The report JSON does not parse: ${(error as Error).message}`, { file: path });
  }
  if (!validateEnvelope(value)) {
    throw new UsageError(`Not a civic-conformance report-json file: ${describeSchemaError(validateEnvelope.errors?.[0])} (${SCHEMA}).`, { file: path });
  }
  return value as ReportEnvelope;
}

async function readBounded(path: string): Promise<string> {
  try {
    // One open file: its size and its content are the same file's, whatever happens to the path meanwhile.
    const file = await open(path, "r");
    try {
      const { size } = await file.stat();
      if (size > MAX_REPORT_FILE_BYTES) {
        throw new UsageError(`The report JSON is ${size.toLocaleString("en-US")} bytes; a civic-conformance report-json file is at most ${MAX_REPORT_FILE_BYTES.toLocaleString("en-US")} bytes.`, { file: path });
      }
      return await file.readFile("utf8");
    } finally {
      await file.close();
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`Could not read the report JSON: ${(error as Error).message}`, { file: path });
  }
}

/** `/reports/0/checks/1/durationMs must be integer`; names from the file are quoted and cut, never echoed whole. */
function describeSchemaError(error: ErrorObject | undefined): string {
  if (!error) return "it does not match the schema";
  const where = error.instancePath || "the top level";
  const params = error.params as { additionalProperty?: unknown; allowedValues?: unknown[] };
  const quote = (value: unknown) => JSON.stringify(String(value).slice(0, 60));
  if (params.additionalProperty !== undefined) return `${where} has a property the schema does not allow: ${quote(params.additionalProperty)}`;
  if (params.allowedValues) return `${where} must be one of ${params.allowedValues.map((v) => JSON.stringify(v)).join(", ")}`;
  return `${where} ${error.message ?? "does not match the schema"}`;
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
