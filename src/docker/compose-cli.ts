import { EnvironmentError } from "../core/errors.js";
import { definedEnv, type ProcessEnv } from "./docker-cli.js";
import { execa } from "execa";

/** How to invoke Compose here: the v2 plugin (`docker compose`) or the standalone v1 `docker-compose`. */
export interface ComposeCommand {
  readonly command: string;
  /** Arguments before the compose ones (`["compose"]` for the plugin). */
  readonly prefix: readonly string[];
  /** 1 for the standalone Python CLI, 2 for the Go plugin; they differ in image names and flags. */
  readonly major: 1 | 2;
  /** As `version` printed it, for the log. */
  readonly version: string;
}

/**
 * Finds a working Compose: the v2 plugin first (what `docker compose` users have today), then the
 * standalone `docker-compose` (v1 1.29 or a v2 binary installed under that name).
 *
 * @throws EnvironmentError when neither answers
 */
export async function detectComposeCommand(env: ProcessEnv): Promise<ComposeCommand> {
  const candidates: Array<{ command: string; prefix: string[] }> = [
    { command: "docker", prefix: ["compose"] },
    { command: "docker-compose", prefix: [] },
  ];
  for (const candidate of candidates) {
    const version = await versionOf(candidate.command, candidate.prefix, env);
    if (version === undefined) continue;
    const major = /^v?(\d+)/.exec(version)?.[1] === "1" ? 1 : 2;
    return { ...candidate, major, version };
  }
  throw new EnvironmentError(
    "--runtime compose needs Docker Compose, and neither `docker compose` (the v2 plugin) nor `docker-compose` answers here; install one of them or use --runtime embedded",
  );
}

async function versionOf(command: string, prefix: readonly string[], env: ProcessEnv): Promise<string | undefined> {
  try {
    const result = await execa(command, [...prefix, "version", "--short"], {
      env: definedEnv(env),
      extendEnv: false,
      reject: false,
      stdin: "ignore",
      timeout: 10_000,
    });
    const version = String(result.stdout).trim();
    return result.exitCode === 0 && /^v?\d+\.\d+/.test(version) ? version : undefined;
  } catch {
    return undefined;
  }
}

/** The Compose arguments that select this run's project: `-p <name> -f <copy> --project-directory <dir>`. */
export function projectArgs(compose: ComposeCommand, project: { name: string; file: string; directory: string }): string[] {
  return [...compose.prefix, "-p", project.name, "-f", project.file, "--project-directory", project.directory];
}
