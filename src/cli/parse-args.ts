import { parseArgs } from "node:util";
import { extname } from "node:path";
import { UsageError } from "../core/errors.js";
import { CHECK_IDS, type CheckId } from "../checks/registered.js";
import { type CheckSettings, FORMATS, type Format, type GenerateSettings, type InitSettings, MAX_TIMEOUT_SECONDS, type OutputTarget, RUNTIME_CHOICES, type RuntimeChoice } from "../core/settings.js";
import { parseComposeCommand } from "../docker/compose-cli.js";

export type Command =
  | { kind: "help"; topic?: string }
  | { kind: "version" }
  | { kind: "check"; settings: CheckSettings }
  | { kind: "generate"; settings: GenerateSettings }
  | { kind: "init"; settings: InitSettings };

const DEFAULT_TIMEOUT_MS = 120_000;
const DEFAULT_CONCURRENCY = 16;

function expectOneOf<T extends string>(what: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`Invalid ${what} '${value}'. Expected one of ${allowed.join(", ")}.`);
}

function checkIds(flag: string, values: readonly string[]): CheckId[] {
  return values.flatMap((value) => value.split(",")).map((id) => id.trim()).filter(Boolean).map((id) => expectOneOf(`check id in --${flag}`, id, CHECK_IDS));
}

/** `--timeout` in seconds: one day at most (setTimeout overflows past 2^31-1 ms, about 24.8 days, to 1 ms). */
const MAX_CONCURRENCY = 256;

/**
 * A numeric flag: plain decimal digits without sign, space, exponent, fraction or leading zero
 * (`0x10`, `1e1`, `8.0`, `" 8"` are refused), within `1..max`.
 */
function wholeNumber(flag: string, value: string | undefined, fallback: number, max: number, unit = ""): number {
  if (value === undefined) return fallback;
  const parsed = /^[1-9]\d*$/.test(value) ? Number(value) : Number.NaN;
  if (!(parsed <= max)) throw new UsageError(`Invalid --${flag} '${value}'. Expected a whole number${unit} from 1 to ${max}.`);
  return parsed;
}

/** `--profile a,b --profile c` → a, b, c. */
function profiles(values: readonly string[]): string[] {
  return values.flatMap((value) => value.split(",")).map((profile) => profile.trim()).filter(Boolean);
}

const FORMAT_BY_EXTENSION: Record<string, Format> = { ".json": "json", ".md": "markdown", ".sarif": "sarif", ".xml": "junit", ".txt": "text" };

/**
 * `--format` and `--output` pair up in the order given: each `--output` belongs to the latest
 * `--format` that has no file yet, or, if there is none, to the format its extension names
 * (`.json`, `.md`, `.sarif`, `.xml`, `.txt`). A format left without a file goes to standard output.
 * With no `--format` at all, text goes to standard output as well.
 */
function outputTargets(tokens: readonly { name: string; value: string | undefined }[]): OutputTarget[] {
  const targets: { format: Format; file?: string }[] = [];
  let sawFormat = false;
  for (const { name, value = "" } of tokens) {
    if (name === "format") {
      sawFormat = true;
      targets.push({ format: expectOneOf("format", value, FORMATS) });
    } else if (name === "output") {
      const open = [...targets].reverse().find((t) => t.file === undefined);
      if (open) open.file = value;
      else {
        const format = FORMAT_BY_EXTENSION[extname(value).toLowerCase()];
        if (!format) throw new UsageError(`Cannot tell the format of --output '${value}'. Put --format <format> before it, or use a .json, .md, .sarif, .xml or .txt file.`);
        targets.push({ format, file: value });
      }
    }
  }
  if (!sawFormat) targets.push({ format: "text" });
  const toStdout = targets.filter((t) => t.file === undefined);
  if (toStdout.length > 1) {
    throw new UsageError(`Only one format can go to standard output, got ${toStdout.map((t) => t.format).join(" and ")}. Give the others an --output file.`);
  }
  return targets;
}

export function parseCliArgs(argv: readonly string[], cwd: string, env: Readonly<Record<string, string | undefined>>): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      tokens: true,
      options: {
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
        runtime: { type: "string" },
        only: { type: "string", multiple: true },
        skip: { type: "string", multiple: true },
        format: { type: "string", multiple: true, short: "f" },
        output: { type: "string", multiple: true, short: "o" },
        "repo-root": { type: "string" },
        "compose-file": { type: "string", multiple: true },
        profile: { type: "string", multiple: true },
        baseline: { type: "string" },
        "generator-command": { type: "string" },
        "migrate-command": { type: "string" },
        "external-config": { type: "string" },
        "compose-command": { type: "string" },
        timeout: { type: "string" },
        "ready-timeout": { type: "string" },
        concurrency: { type: "string" },
        verbose: { type: "boolean" },
        "allow-outside-links": { type: "boolean" },
        write: { type: "boolean" },
        force: { type: "boolean" },
      },
    });
  } catch (error) {
    // parseArgs's messages name the flag; make them ours (no stack, exit 2).
    throw new UsageError(`${(error as Error).message.replace(/\. To specify a positional.*$/s, ".")} Run 'civic-conformance --help' for usage.`);
  }
  const { values, positionals, tokens } = parsed;
  if (values.version) return { kind: "version" };
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === "help") return { kind: "help", ...((command === "help" ? rest[0] : command) !== undefined && { topic: command === "help" ? rest[0] : command }) };
  if (rest.length > 1) throw new UsageError(`Too many arguments: ${rest.join(" ")}. Expected at most one product folder.`);
  const productPath = rest[0] ?? ".";
  const repoRoot = values["repo-root"];

  if (command === "generate") {
    for (const flag of ["runtime", "only", "skip", "format", "output", "generator-command", "migrate-command", "external-config", "compose-file", "profile", "baseline", "force", "compose-command", "ready-timeout"] as const) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} does not apply to 'generate'.`);
    }
    return { kind: "generate", settings: { productPath, ...(repoRoot !== undefined && { repoRoot }), write: values.write ?? false, cwd, env } };
  }
  if (command === "init") {
    for (const flag of ["runtime", "only", "skip", "format", "output", "generator-command", "migrate-command", "external-config", "baseline", "write", "compose-command", "ready-timeout"] as const) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} does not apply to 'init'.`);
    }
    return {
      kind: "init",
      settings: {
        productPath,
        ...(repoRoot !== undefined && { repoRoot }),
        force: values.force ?? false,
        ...(values["compose-file"] !== undefined && { composeFiles: values["compose-file"] }),
        ...(values.profile !== undefined && { composeProfiles: profiles(values.profile) }),
        cwd,
        env,
      },
    };
  }
  if (command !== "check") throw new UsageError(`Unknown command '${command}'. Expected one of check, init, generate, help.`);
  if (values.write) throw new UsageError("--write applies to 'generate' only.");
  if (values.force) throw new UsageError("--force applies to 'init' only.");

  const optionTokens = tokens.filter((t): t is Extract<typeof t, { kind: "option" }> => t.kind === "option");
  const runtime: RuntimeChoice = expectOneOf("runtime", values.runtime ?? "auto", RUNTIME_CHOICES);
  if (runtime !== "external" && values["external-config"] !== undefined) throw new UsageError("--external-config needs --runtime external.");
  for (const flag of ["compose-command", "ready-timeout"] as const) {
    if ((runtime === "embedded" || runtime === "external") && values[flag] !== undefined) throw new UsageError(`--${flag} needs --runtime compose or auto.`);
  }
  const composeCommand = values["compose-command"] !== undefined ? parseComposeCommand(values["compose-command"], "--compose-command") : undefined;
  const settings: CheckSettings = {
    productPath,
    ...(repoRoot !== undefined && { repoRoot }),
    runtime,
    only: checkIds("only", values.only ?? []),
    skip: checkIds("skip", values.skip ?? []),
    outputs: outputTargets(optionTokens.map((t) => ({ name: t.name, value: t.value }))),
    ...(values["compose-file"] !== undefined && { composeFiles: values["compose-file"] }),
    ...(values.baseline !== undefined && { baseline: values.baseline }),
    ...(values.profile !== undefined && { composeProfiles: profiles(values.profile) }),
    ...(values["generator-command"] !== undefined && { generatorCommand: values["generator-command"] }),
    ...(values["migrate-command"] !== undefined && { migrateCommand: values["migrate-command"] }),
    ...(values["external-config"] !== undefined && { externalConfig: values["external-config"] }),
    ...(composeCommand !== undefined && { composeCommand }),
    commandTimeoutMs: wholeNumber("timeout", values.timeout, DEFAULT_TIMEOUT_MS / 1000, MAX_TIMEOUT_SECONDS, " of seconds") * 1000,
    ...(values["ready-timeout"] !== undefined && { readyTimeoutMs: wholeNumber("ready-timeout", values["ready-timeout"], 0, MAX_TIMEOUT_SECONDS, " of seconds") * 1000 }),
    concurrency: wholeNumber("concurrency", values.concurrency, DEFAULT_CONCURRENCY, MAX_CONCURRENCY),
    verbose: values.verbose ?? false,
    allowOutsideLinks: values["allow-outside-links"] ?? false,
    cwd,
    env,
  };
  return { kind: "check", settings };
}
