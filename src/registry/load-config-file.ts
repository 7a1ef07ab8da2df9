import { dirname, join, posix, resolve } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import type { ConfigLocation, ConformanceConfig } from "../core/conformance-config.js";
import { UsageError } from "../core/errors.js";
import { readInputText } from "../core/input-files.js";
import { pathExists } from "../core/path-probe.js";
import { repoRelative } from "../core/repo-path.js";
import { closestName } from "./closest-name.js";
import { configFileSchema, type ConfigFileContent } from "./config-schema.js";
import type { Registry, Service, ServiceDefinition } from "./model.js";
import { displayPath } from "./parse-typescript.js";
import { SERVICE_FIELDS } from "./schema.js";
import { yamlLocations, type YamlLocations } from "./yaml-locations.js";

/** The configuration file's names, in the order they are looked for in the product folder. */
export const CONFIG_FILE_NAMES = ["civic-conformance.yaml", "civic-conformance.yml", "civic-conformance.json"] as const;

/** What `civic-conformance.yaml` holds: its services (a registry), when it lists any, and the configuration. */
export interface ConfigFile {
  /** Absolute path. */
  readonly path: string;
  /** Repo-relative. */
  readonly file: string;
  readonly registry?: Registry;
  readonly config: ConformanceConfig;
  /** Line of the `services:` key, when present. */
  readonly servicesLine?: number;
}

/** The configuration file of a product folder, or undefined; two of them (yaml and json) are refused. */
export async function findConfigFile(productDir: string): Promise<string | undefined> {
  const found: string[] = [];
  for (const name of CONFIG_FILE_NAMES) if (await pathExists(join(productDir, name))) found.push(join(productDir, name));
  if (found.length > 1) {
    throw new UsageError(`${found.map(displayPath).join(" and ")} both configure civic-conformance; keep one`, { file: displayPath(found[1]!) });
  }
  return found[0];
}

/**
 * Reads `civic-conformance.yaml` (or `.json`) with a line for everything in it. Every problem is a
 * `UsageError` naming the file and line (exit code 2). Paths in it are relative to its folder and
 * come out relative to the repository root, as the registry model wants them.
 */
export async function loadConfigFile(path: string, repoRoot: string, { allowOutsideLinks = false }: { allowOutsideLinks?: boolean } = {}): Promise<ConfigFile> {
  const shown = displayPath(path);
  const text = await readInputText(path, "configuration file", { shown }, { repoRoot: resolve(repoRoot), allowOutsideLinks }).catch((error: unknown) => {
    if (error instanceof UsageError) throw error;
    throw new UsageError("cannot read the configuration file", { file: shown });
  });
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const firstError = document.errors[0];
  if (firstError) {
    const reason = firstError.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    throw new UsageError(`invalid ${path.endsWith(".json") ? "JSON" : "YAML"}: ${reason}`, { file: shown, line: firstError.linePos?.[0]?.line ?? 1 });
  }
  const locations = yamlLocations(document, lineCounter);
  let value: unknown;
  try {
    // The library refuses a document whose aliases expand past its own budget (`maxAliasCount`).
    value = document.toJS() ?? {};
  } catch (error) {
    throw new UsageError(`cannot be read: ${error instanceof Error ? error.message : String(error)}`, { file: shown, line: 1 });
  }
  const parsed = configFileSchema.safeParse(value);
  if (!parsed.success) throw schemaError(parsed.error.issues, locations, shown);

  const file = repoRelative(resolve(repoRoot), path);
  const content = parsed.data;
  const at = (segments: readonly PropertyKey[]): ConfigLocation => ({ file, line: locations.lineOf(segments) });
  const config: ConformanceConfig = {
    file,
    ...(content.profile !== undefined && { profile: content.profile, profileAt: at(["profile"]) }),
    overrides: Object.entries(content.rules ?? {}).map(([rule, level]) => ({ rule, level, at: at(["rules", rule]) })),
    suppressions: (content.suppressions ?? []).map((suppression, index) => ({
      rule: suppression.rule,
      ...(suppression.service !== undefined && { service: suppression.service }),
      ...(suppression.file !== undefined && { file: suppression.file }),
      reason: suppression.reason.trim(),
      expires: suppression.expires,
      at: at(["suppressions", index]),
    })),
  };
  const registry = content.services && readServices(content.services, { path, file, repoRoot, locations, shown });
  return { path, file, config, ...(registry && { registry }), ...(content.services && { servicesLine: locations.lineOf(["services"]) }) };
}

interface ServicesContext {
  readonly path: string;
  readonly file: string;
  readonly repoRoot: string;
  readonly locations: YamlLocations;
  readonly shown: string;
}

function readServices(services: NonNullable<ConfigFileContent["services"]>, context: ServicesContext): Registry {
  const { path, file, repoRoot, locations, shown } = context;
  const entries = Object.entries(services);
  if (entries.length === 0) throw new UsageError("`services:` lists no service", { file: shown, line: locations.lineOf(["services"]) });
  // Paths are written relative to the file's folder; the model keeps them relative to the repository root.
  const fromRoot = (relativePath: string) => repoRelative(resolve(repoRoot), resolve(dirname(path), relativePath));
  const list: Service[] = entries.map(([key, entry]) => {
    const { hostname, database, dockerfile, migrations, ...rest } = entry;
    const definition: ServiceDefinition = {
      ...rest,
      hostname: hostname ?? key,
      database: database ?? "",
      ...(dockerfile !== undefined && { dockerfile: fromRoot(dockerfile) }),
      ...(migrations !== undefined && { migrations: { ...migrations, ...(migrations.dir !== undefined && { dir: posix.normalize(fromRoot(migrations.dir)) }) } }),
    };
    return {
      ...definition,
      key,
      line: locations.lineOf(["services", key]),
      fieldLines: Object.fromEntries(Object.keys(entry).map((field) => [field, locations.lineOf(["services", key, field])])),
    };
  });
  return { path, file, services: list, source: path.endsWith(".json") ? "json" : "yaml" };
}

function schemaError(issues: readonly z.core.$ZodIssue[], locations: YamlLocations, shown: string): UsageError {
  const problems = issues.flatMap((issue) => describeIssue(issue, locations)).sort((a, b) => a.line - b.line);
  const message = problems.map((problem, index) => (index === 0 ? problem.message : `${shown}:${problem.line}: ${problem.message}`)).join("\n");
  return new UsageError(message, { file: shown, line: problems[0]?.line ?? 1 });
}

const TOP_LEVEL_KEYS = Object.keys(configFileSchema.shape);
const SERVICE_KEYS = [...SERVICE_FIELDS];

function describeIssue(issue: z.core.$ZodIssue, locations: YamlLocations): { line: number; message: string }[] {
  const path = issue.path;
  const where = path.length === 0 ? "the file" : `'${path.map(String).join(".")}'`;
  if (issue.code === "unrecognized_keys") {
    const inService = path.length === 2 && path[0] === "services";
    const known = path.length === 0 ? TOP_LEVEL_KEYS : inService ? SERVICE_KEYS : [];
    return issue.keys.map((key) => {
      const guess = closestName(key, known);
      return {
        line: locations.lineOf([...path, key]),
        message: `Unknown key '${key}' in ${where}${known.length > 0 ? `. Expected one of ${known.join(", ")}` : ""}${guess ? ` (did you mean '${guess}'?)` : ""}`,
      };
    });
  }
  return [{ line: locations.lineOf(path), message: `${where === "the file" ? "The file" : `Value ${where}`} ${expectation(issue)}` }];
}

/** What an issue asks for, as the end of a sentence: "must be a number", "must be one of civic, portable". */
function expectation(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_type") {
    const noun = { object: "a mapping", record: "a mapping", array: "a list" }[issue.expected as string] ?? `a ${issue.expected}`;
    return `must be ${noun}`;
  }
  if (issue.code === "invalid_value") return `must be one of ${issue.values.map(String).join(", ")}`;
  if (issue.code === "invalid_key") return "has a key that is not valid here (a rule id such as registry/database-name, or a compose service name)";
  // The schema's own messages read as what is expected: "a date YYYY-MM-DD", "a reason".
  if (/^an? /.test(issue.message)) return `must be ${issue.message}`;
  if (/^must /.test(issue.message)) return issue.message;
  return `is not valid: ${issue.message}`;
}
