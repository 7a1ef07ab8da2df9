import { EnvironmentError, UsageError } from "../core/errors.js";
import { COMPOSE_COMMANDS, type ComposeCommandChoice, type RequestedCompose } from "../core/settings.js";
import { definedEnv, type ProcessEnv } from "./docker-cli.js";
import { execa } from "execa";

/** The environment variable that picks the Compose CLI when `--compose-command` is not given. */
export const COMPOSE_COMMAND_VARIABLE = "CIVIC_COMPOSE_COMMAND";

/** How to invoke Compose here: the v2 plugin (`docker compose`) or the standalone `docker-compose`. */
export interface ComposeCommand {
  readonly command: string;
  /** Arguments before the compose ones (`["compose"]` for the plugin). */
  readonly prefix: readonly string[];
  /** As `version --short` printed it (`2.26.1`, `1.29.2`), for the log. */
  readonly version: string;
}

/**
 * A Compose CLI asked for by name; spacing is free (`docker  compose`).
 *
 * @param source `--compose-command` or `CIVIC_COMPOSE_COMMAND`, named in the error
 * @throws UsageError for anything but `docker compose` or `docker-compose`
 */
export function parseComposeCommand(value: string, source: string): RequestedCompose {
  const normalized = value.trim().split(/\s+/).join(" ");
  const choice = COMPOSE_COMMANDS.find((command) => command === normalized);
  if (!choice) throw new UsageError(`Invalid ${source} '${value}'. Expected one of ${COMPOSE_COMMANDS.join(", ")}.`);
  return { choice, source };
}

/**
 * The Compose CLI `CIVIC_COMPOSE_COMMAND` asks for; `undefined` when it is unset or empty.
 *
 * @throws UsageError for a value that names neither CLI
 */
export function composeCommandFromEnv(env: ProcessEnv): RequestedCompose | undefined {
  const value = env[COMPOSE_COMMAND_VARIABLE];
  return value?.trim() ? parseComposeCommand(value, COMPOSE_COMMAND_VARIABLE) : undefined;
}

const CANDIDATES: Record<ComposeCommandChoice, { command: string; prefix: string[]; what: string }> = {
  "docker compose": { command: "docker", prefix: ["compose"], what: "the Compose v2 plugin of the docker CLI" },
  "docker-compose": { command: "docker-compose", prefix: [], what: "the standalone Compose CLI" },
};

/**
 * The Compose CLI this run uses: the one asked for, or else the first that answers of the v2 plugin
 * (what `docker compose` users and GitHub's runners have) and the standalone `docker-compose`.
 *
 * @throws EnvironmentError when the one asked for, or when neither, answers
 */
export async function resolveComposeCommand(requested: RequestedCompose | undefined, env: ProcessEnv): Promise<ComposeCommand> {
  const choices = requested ? [requested.choice] : COMPOSE_COMMANDS;
  for (const choice of choices) {
    const { command, prefix } = CANDIDATES[choice];
    const version = await versionOf(command, prefix, env);
    if (version !== undefined) return { command, prefix, version };
  }
  if (requested) {
    throw new EnvironmentError(
      `${requested.source} asks for \`${requested.choice}\` (${CANDIDATES[requested.choice].what}), and \`${requested.choice} version\` does not answer here; ` +
        `install it, ask for the other one (${COMPOSE_COMMANDS.join(" or ")}), or leave ${requested.source} unset to use whichever is installed`,
    );
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

/** The standalone Python CLI (1.x), whatever its name: `docker-compose` may be v2 too. */
export function isComposeV1(compose: ComposeCommand): boolean {
  return /^v?1\./.test(compose.version);
}

/** The Compose arguments that select this run's project: `-p <name> -f <copy> --project-directory <dir>`. */
export function projectArgs(compose: ComposeCommand, project: { name: string; file: string; directory: string }): string[] {
  return [...compose.prefix, "-p", project.name, "-f", project.file, "--project-directory", project.directory];
}
