import { isAbsolute, resolve } from "node:path";
import { UsageError } from "../core/errors.js";
import { CHECK_IDS, type CheckId } from "../checks/registered.js";
import { MAX_TIMEOUT_SECONDS, RUNTIME_CHOICES, type RuntimeChoice } from "../core/settings.js";

export const FAIL_ON = ["error", "warning", "never"] as const;
export type FailOn = (typeof FAIL_ON)[number];

export const MODES = ["check", "discover", "comment"] as const;
export type ActionMode = (typeof MODES)[number];

/** The action's inputs, parsed once (action.yml documents each; the names here match it). */
export interface ActionSettings {
  /**
   * `check` runs the checks; `discover` lists the products under `products` (for a matrix);
   * `comment` posts the comments of the reports other jobs or workflows uploaded.
   */
  readonly mode: ActionMode;
  /** Absolute folder relative paths are resolved from (`working-directory`, default the workspace). */
  readonly workingDirectory: string;
  /** Product folders to check (`discover`: folders to search), in the order given, relative to `workingDirectory`. */
  readonly products: readonly string[];
  /** Where PostgreSQL comes from. */
  readonly runtime: RuntimeChoice;
  /** Checks to run; empty means all. */
  readonly only: readonly CheckId[];
  /** Checks not to run. */
  readonly skip: readonly CheckId[];
  /** What makes the step fail: an error finding, any finding, or nothing. */
  readonly failOn: FailOn;
  /** Post (or update) the sticky pull-request comment. */
  readonly comment: boolean;
  /** Token for comments, check runs and statuses; empty disables every GitHub write. */
  readonly githubToken: string;
  /** Absolute paths of the report files to write; `undefined` writes none. */
  readonly sarifFile: string | undefined;
  readonly junitFile: string | undefined;
  /** Where the report JSON goes (the `report-json` output); a temp file when not given. */
  readonly jsonFile: string | undefined;
  /** `comment` mode: absolute paths of the report JSON files (or folders holding them) the `check` runs uploaded. */
  readonly reportFiles: readonly string[];
  /** File with the admin and per-service URLs for `runtime: external`. */
  readonly externalConfig: string | undefined;
  /** `allow-outside-links`: read files reached through a link outside the repository (off by default). */
  readonly allowOutsideLinks: boolean;
  /** `ready-timeout`: how long the compose runtime waits for the stack to be ready; unset: its default. */
  readonly readyTimeoutMs?: number;
}

/** Reads one input as the runner passes it (`INPUT_<NAME>`), trimmed; `""` when unset. */
export type InputReader = (name: string) => string;

function oneOf<T extends string>(input: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`Invalid ${input} '${value}'. Expected one of ${allowed.join(", ")}.`);
}

/** Newline- or comma-separated list, as YAML block scalars and one-liners both read naturally. */
function list(value: string): string[] {
  return value
    .split(/[\n,]/)
    .map((item) => item.trim())
    .filter(Boolean);
}

function checkIds(input: string, value: string): CheckId[] {
  const ids = list(value);
  if (ids.length === 1 && ids[0] === "all") return [];
  return ids.map((id) => oneOf(`check id in ${input}`, id, CHECK_IDS));
}

/** A whole number of seconds from 1 to `MAX_TIMEOUT_SECONDS`, as the CLI's timeouts (`undefined` when unset). */
function seconds(input: string, value: string): number | undefined {
  if (value === "") return undefined;
  const parsed = /^[1-9]\d*$/.test(value) ? Number(value) : Number.NaN;
  if (!(parsed <= MAX_TIMEOUT_SECONDS)) throw new UsageError(`Invalid ${input} '${value}'. Expected a whole number of seconds from 1 to ${MAX_TIMEOUT_SECONDS}.`);
  return parsed;
}

function boolean(input: string, value: string, fallback: boolean): boolean {
  if (value === "") return fallback;
  const normalised = value.toLowerCase();
  if (normalised === "true") return true;
  if (normalised === "false") return false;
  throw new UsageError(`Invalid ${input} '${value}'. Expected one of true, false.`);
}

/**
 * Parses every input once. Relative paths resolve from `working-directory`, itself relative to
 * `workspace` (GITHUB_WORKSPACE on a runner).
 *
 * @throws UsageError naming the input and the accepted values
 */
export function parseActionSettings(read: InputReader, workspace: string): ActionSettings {
  const workingDirectory = resolve(workspace, read("working-directory") || ".");
  const path = (value: string) => (value === "" ? undefined : isAbsolute(value) ? value : resolve(workingDirectory, value));
  const mode = oneOf("mode", read("mode") || "check", MODES);
  const runtime = oneOf("runtime", read("runtime") || "auto", RUNTIME_CHOICES);
  const externalConfig = path(read("external-config"));
  if (runtime !== "external" && externalConfig !== undefined) throw new UsageError("Input external-config needs runtime: external.");
  const readyTimeout = seconds("ready-timeout", read("ready-timeout"));
  if ((runtime === "embedded" || runtime === "external") && readyTimeout !== undefined) throw new UsageError("Input ready-timeout needs runtime: compose or auto.");
  const reportFiles = list(read("report-file")).map((file) => path(file)!);
  if (mode === "comment" && reportFiles.length === 0) throw new UsageError("mode: comment needs report-file: the report JSON the check run uploaded.");
  const products = list(read("product"));
  return {
    mode,
    workingDirectory,
    products: products.length > 0 ? products : ["."],
    runtime,
    only: checkIds("checks", read("checks")),
    skip: checkIds("skip-checks", read("skip-checks")),
    failOn: oneOf("fail-on", read("fail-on") || "error", FAIL_ON),
    comment: boolean("comment", read("comment"), true),
    githubToken: read("github-token"),
    sarifFile: path(read("sarif-file")),
    junitFile: path(read("junit-file")),
    jsonFile: path(read("json-file")),
    reportFiles,
    externalConfig,
    allowOutsideLinks: boolean("allow-outside-links", read("allow-outside-links"), false),
    ...(readyTimeout !== undefined && { readyTimeoutMs: readyTimeout * 1000 }),
  };
}
