import { execa } from "execa";
import { readFile } from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import { EnvironmentError, UsageError } from "../../core/errors.js";
import type { Logger } from "../../core/logger.js";
import { maskSecrets } from "../../core/secrets.js";
import type { InitScript } from "../../compose-file/init-scripts.js";
import { asUser, type ServerUser } from "./server-user.js";

/** Everything the scripts see, as the image's entrypoint would have it when it reaches them. */
export interface InitScriptSession {
  /** The postgres service's container environment plus what the entrypoint exports (PGHOST points at the socket). */
  readonly env: Readonly<Record<string, string>>;
  readonly superuser: string;
  readonly database: string;
  readonly user: ServerUser;
  /** Working directory of the scripts. */
  readonly cwd: string;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** The script's path as the user should see it in an error (repo-relative). */
  displayPath(script: InitScript): string;
  /** Where the copy of the script that is actually run lives (readable by `user`). */
  runPath(script: InitScript): string;
}

/**
 * Psql exactly as the image's entrypoint calls it for init scripts: stop at the first error, no
 * password prompt, no ~/.psqlrc, into POSTGRES_DB over the local socket.
 */
function psqlArgs(session: InitScriptSession): string[] {
  return ["-v", "ON_ERROR_STOP=1", "--username", session.superuser, "--no-password", "--no-psqlrc", "--dbname", session.database];
}

/**
 * What the entrypoint offers a sourced `*.sh` script: its shell options and a `docker_process_sql`
 * that runs psql the same way as for `*.sql` files (scripts written for the image call it).
 */
const SOURCING_SHELL = [
  "set -Eeo pipefail",
  'docker_process_sql() { local args=(-v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc); [ -n "$POSTGRES_DB" ] && args+=(--dbname "$POSTGRES_DB"); psql "${args[@]}" "$@"; }',
  // The image's older name for the same runner, which some scripts still use as "${psql[@]}".
  "psql=(docker_process_sql)",
  '. "$1"',
].join("\n");

/**
 * Runs the init scripts in the order given (the image's: byte order of the name), as the image does.
 * A failing script is the product's bug, not the machine's: it throws a `UsageError` naming the
 * script and, for SQL, the line psql stopped at — the same failure that keeps the container from
 * becoming healthy.
 */
export async function runInitScripts(scripts: readonly InitScript[], session: InitScriptSession): Promise<void> {
  for (const script of scripts) {
    session.signal.throwIfAborted();
    if (script.kind === "ignored") {
      session.logger.debug(`init: ignoring ${script.containerName} (the image only runs *.sh, *.sql and compressed *.sql)`);
      continue;
    }
    session.logger.debug(`init: running ${script.containerName}`);
    const result = await runOne(script, session);
    session.signal.throwIfAborted();
    if (result.exitCode !== 0) throw scriptFailure(script, session, result.output);
  }
}

interface ScriptResult {
  readonly exitCode: number | undefined;
  readonly output: string;
}

async function runOne(script: InitScript, session: InitScriptSession): Promise<ScriptResult> {
  const path = session.runPath(script);
  const options = {
    ...asUser(session.user),
    env: session.env,
    extendEnv: false,
    cwd: session.cwd,
    reject: false,
    all: true,
    cancelSignal: session.signal,
  } as const;
  switch (script.kind) {
    case "sql":
      return collect(await execa("psql", [...psqlArgs(session), "-f", path], options));
    case "sql.gz":
      return collect(await execa("psql", psqlArgs(session), { ...options, input: gunzipSync(await readFile(path)) }));
    case "sql.xz":
    case "sql.zst": {
      const [tool, ...args] = script.kind === "sql.xz" ? ["xz", "-dc", path] : ["zstd", "-dc", path];
      const decompressed = await execa(tool!, args, { encoding: "buffer", reject: false });
      if (decompressed.failed) {
        throw new EnvironmentError(`init script ${script.containerName} needs \`${tool}\` to decompress, and it is not installed here`);
      }
      return collect(await execa("psql", psqlArgs(session), { ...options, input: decompressed.stdout }));
    }
    case "sh":
      // The image executes an executable script (its shebang decides the interpreter) and sources any other.
      return collect(
        script.executable ? await execa(path, [], options) : await execa("bash", ["-c", SOURCING_SHELL, "bash", path], options),
      );
  }
  return { exitCode: 0, output: "" };
}

function collect(result: { exitCode?: number; all?: unknown; failed: boolean; code?: string; message?: string }): ScriptResult {
  const output = typeof result.all === "string" ? result.all : "";
  // A spawn failure (no psql on PATH) has no exit code and is the machine's problem.
  if (result.exitCode === undefined && result.code === "ENOENT") {
    throw new EnvironmentError(`could not run an init script: ${result.message ?? "program not found"}. The embedded runtime needs the PostgreSQL client (psql) on PATH.`);
  }
  return { exitCode: result.exitCode, output };
}

// psql reports `psql:<file>:<line>: ERROR:  ...` (`<stdin>` for piped input).
const PSQL_ERROR = /^psql:(?:.*?):(\d+):\s*(ERROR|FATAL|error):\s*(.*)$/m;

function scriptFailure(script: InitScript, session: InitScriptSession, output: string): UsageError {
  const file = session.displayPath(script);
  const psqlError = PSQL_ERROR.exec(output);
  if (psqlError && script.kind !== "sh") {
    const line = Number(psqlError[1]);
    const detail = maskSecrets(`${psqlError[2]}: ${psqlError[3]}`.replace(/\s+/g, " "));
    return new UsageError(
      `init script ${script.containerName} failed, as it would in the postgres container's first start: ${detail}`,
      // A line in a compressed script is a line of the decompressed text; still the best pointer there is.
      { file, line },
    );
  }
  const lastLines = maskSecrets(output.trimEnd().split("\n").slice(-5).join("\n"));
  return new UsageError(
    `init script ${script.containerName} failed, as it would in the postgres container's first start${lastLines ? `:\n${lastLines}` : " (no output)"}`,
    { file },
  );
}
