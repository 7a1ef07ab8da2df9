/** Where PostgreSQL comes from (see runtime/): one implementation per name. */
export type RuntimeName = "compose" | "embedded" | "external";
/** What the user may ask for: a runtime, or `auto` (decided by `runtime/choose-runtime.ts`). */
export type RuntimeChoice = RuntimeName | "auto";
export const RUNTIME_CHOICES: readonly RuntimeChoice[] = ["auto", "compose", "embedded", "external"];

/** The Compose CLIs a user can name: the v2 plugin of the docker CLI, or the standalone binary (v1 1.29, or a v2 installed under that name). */
export const COMPOSE_COMMANDS = ["docker compose", "docker-compose"] as const;
export type ComposeCommandChoice = (typeof COMPOSE_COMMANDS)[number];

/** A Compose CLI the user asked for, and where they asked (named again when it does not answer). */
export interface RequestedCompose {
  readonly choice: ComposeCommandChoice;
  /** `--compose-command` or `CIVIC_COMPOSE_COMMAND`. */
  readonly source: string;
}

export const FORMATS = ["text", "json", "markdown", "sarif", "junit"] as const;
export type Format = (typeof FORMATS)[number];

export interface OutputTarget {
  readonly format: Format;
  /** File to write; `undefined` writes to standard output. */
  readonly file?: string;
}

/** Everything `check` needs, parsed once by a door (CLI or action). */
export interface CheckSettings {
  /** Product folder or a monorepo root with one product, as the user gave it. */
  readonly productPath: string;
  /** Overrides where the monorepo root is (Dockerfile paths are relative to it). */
  readonly repoRoot?: string;
  /** Where PostgreSQL comes from. */
  readonly runtime: RuntimeChoice;
  /** Ids of the checks to run (the door validates them against `CHECK_IDS`); empty = all. */
  readonly only: readonly string[];
  /** Ids of the checks not to run. */
  readonly skip: readonly string[];
  /** Where each report format goes; at most one goes to standard output. */
  readonly outputs: readonly OutputTarget[];
  /** Compose files to merge, in order, instead of the main file and its override (as `docker compose -f`), relative to `cwd`. */
  readonly composeFiles?: readonly string[];
  /** Compose profiles to activate (as `docker compose --profile`): services under other profiles are not started. */
  readonly composeProfiles?: readonly string[];
  /** A report JSON of an earlier run: only findings it does not have count (relative to `cwd`). */
  readonly baseline?: string;
  /** Today as `YYYY-MM-DD`, for suppression expiry; default the clock's (UTC). */
  readonly today?: string;
  /** Replaces `infra/generate.ts` for the drift check (run from the product folder through a shell). */
  readonly generatorCommand?: string;
  /** Replaces the built-in migration applier (see README, "migrations"). */
  readonly migrateCommand?: string;
  /** File with the admin and per-service URLs for `--runtime external`. */
  readonly externalConfig?: string;
  /** The Compose CLI the compose runtime must use (`--compose-command`, else `CIVIC_COMPOSE_COMMAND`); unset: the first that answers. */
  readonly composeCommand?: RequestedCompose;
  /** Limit for any child process a check runs (generator, migrate command), in milliseconds. */
  readonly commandTimeoutMs: number;
  /** How long the compose runtime waits for every service to be running and healthy (`--ready-timeout`); unset: its default. */
  readonly readyTimeoutMs?: number;
  /** Upper bound for concurrent connections and processes. */
  readonly concurrency: number;
  /** Print debug logs. */
  readonly verbose: boolean;
  /**
   * Read files whose real path is outside the repository (a symbolic link, an absolute path): the
   * compose file, `.env`, `env_file`s, init scripts, secrets, build contexts. Off by default: a
   * pull request could otherwise make the run read any file of the machine.
   */
  readonly allowOutsideLinks?: boolean;
  /** The working directory relative paths are resolved from. */
  readonly cwd: string;
  /** The process environment (the core never reads `process.env` itself). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface GenerateSettings {
  readonly productPath: string;
  readonly repoRoot?: string;
  /** Write the files into the product folder instead of printing them. */
  readonly write: boolean;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Everything `init` needs, parsed once by the CLI door. */
export interface InitSettings {
  /** The folder to adopt (a product folder, or a repository root with a compose file). */
  readonly productPath: string;
  readonly repoRoot?: string;
  /** Replace files that exist with other content. */
  readonly force: boolean;
  /** Compose files to merge instead of the main file and its override, relative to `cwd`. */
  readonly composeFiles?: readonly string[];
  /** Compose profiles to activate. */
  readonly composeProfiles?: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** The longest timeout a flag or an input accepts, in seconds (a day). */
export const MAX_TIMEOUT_SECONDS = 86_400;
