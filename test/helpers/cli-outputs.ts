/**
 * The built CLI run as a user runs it (`node bin/civic-conformance.js check …`, after `npm run build`),
 * asked for every report format at once: JSON, Markdown, SARIF and JUnit into files, text on stdout.
 * What comes back is every byte the run printed or wrote, so a test can parse each format and grep
 * all of them for secrets.
 */
import { execa } from "execa";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "./fixtures.js";

export const CLI = join(REPO_ROOT, "bin", "civic-conformance.js");

/** The files a run was asked to write; `undefined` when the run did not write it. */
export interface ReportFiles {
  readonly json: string | undefined;
  readonly markdown: string | undefined;
  readonly sarif: string | undefined;
  readonly junit: string | undefined;
}

export interface CliRun {
  readonly exitCode: number | undefined;
  /** The text report (and the progress lines), as printed. */
  readonly stdout: string;
  readonly stderr: string;
  readonly files: ReportFiles;
  /** stdout, stderr and every written file: everything a secret could leak into. */
  readonly everything: readonly string[];
}

/** A minimal environment, so the developer's shell never leaks into a run (as in CI). */
export function cliEnv(extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", NO_COLOR: "1", ...extra };
}

async function readIfWritten(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * `civic-conformance check <target> <args…>` with every format requested: the four files in a temp
 * dir (removed afterwards) and text on stdout.
 */
export async function checkWithEveryFormat(
  target: string,
  args: readonly string[],
  options: { env?: Readonly<Record<string, string>>; cwd?: string; timeoutMs?: number } = {},
): Promise<CliRun> {
  const out = await mkdtemp(join(tmpdir(), "civic-truth-out-"));
  try {
    const paths = {
      json: join(out, "report.json"),
      markdown: join(out, "report.md"),
      sarif: join(out, "report.sarif"),
      junit: join(out, "report.xml"),
    };
    const result = await execa(
      process.execPath,
      [
        CLI,
        "check",
        target,
        ...args,
        "--format", "json", "--output", paths.json,
        "--format", "markdown", "--output", paths.markdown,
        "--format", "sarif", "--output", paths.sarif,
        "--format", "junit", "--output", paths.junit,
        "--format", "text",
      ],
      {
        env: options.env ?? cliEnv(),
        extendEnv: false,
        reject: false,
        cwd: options.cwd ?? REPO_ROOT,
        timeout: options.timeoutMs ?? 300_000,
      },
    );
    const files: ReportFiles = {
      json: await readIfWritten(paths.json),
      markdown: await readIfWritten(paths.markdown),
      sarif: await readIfWritten(paths.sarif),
      junit: await readIfWritten(paths.junit),
    };
    const stdout = String(result.stdout ?? "");
    const stderr = String(result.stderr ?? "");
    return {
      exitCode: result.exitCode,
      stdout,
      stderr,
      files,
      everything: [stdout, stderr, ...Object.values(files).filter((text): text is string => text !== undefined)],
    };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/** Every place (stream or file) of a run where `needle` appears, for a readable failure message. */
export function whereFound(run: CliRun, needle: string): string[] {
  const named: Array<[string, string | undefined]> = [
    ["stdout", run.stdout],
    ["stderr", run.stderr],
    ["report.json", run.files.json],
    ["report.md", run.files.markdown],
    ["report.sarif", run.files.sarif],
    ["report.xml", run.files.junit],
  ];
  return named.filter(([, text]) => text?.includes(needle)).map(([name]) => name);
}

/** Asserts-friendly: the secrets (and tails) that appear anywhere in the run, with where. */
export function leakedSecrets(run: CliRun, secrets: readonly string[]): string[] {
  return secrets.flatMap((secret) => {
    const places = whereFound(run, secret);
    return places.length > 0 ? [`${JSON.stringify(secret)} in ${places.join(", ")}`] : [];
  });
}
