import { execa } from "execa";
import { readFile } from "node:fs/promises";
import { EnvironmentError, UsageError } from "../../core/errors.js";
import { formatSize, gunzipInitScript, INPUT_FILE_LIMITS } from "../../core/input-files.js";
import type { Logger } from "../../core/logger.js";
import { maskSecrets } from "../../core/secrets.js";
import type { InitScript } from "../../compose-file/init-scripts.js";
import { type BoundedResult, runBounded } from "../../sandbox/bounded-process.js";
import type { OsUser } from "../../sandbox/os-user.js";

/** Everything the scripts see, as the image's entrypoint would have it when it reaches them. */
export interface InitScriptSession {
  /** The postgres service's container environment plus what the entrypoint exports (PGHOST points at the socket). */
  readonly env: Readonly<Record<string, string>>;
  readonly superuser: string;
  readonly database: string;
  readonly user: OsUser;
  /** Working directory of the scripts. */
  readonly cwd: string;
  /** Limit for each script (`--timeout`): a statement past it is cancelled by the server, a script past it stopped. */
  readonly timeoutMs: number;
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

/** After the statement timeout, the script itself gets this much longer, so psql reports the cancelled statement's line first. */
const STATEMENT_TIMEOUT_MARGIN_MS = 3_000;

/**
 * Runs the init scripts in the order given (the image's: byte order of the name), as the image does,
 * each bounded by `--timeout` (sandbox/bounded-process.ts: its own process group, stopped whole).
 * A failing or overrunning script is the product's bug, not the machine's: it throws a `UsageError`
 * naming the script and, for SQL, the line psql stopped at — the same failure that keeps the
 * container from becoming healthy.
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
    if (result.spawnError !== undefined) {
      // No psql on PATH: the machine's problem.
      throw new EnvironmentError(`could not run init script ${script.containerName}: ${result.spawnError}. The embedded runtime needs the PostgreSQL client (psql) on PATH.`);
    }
    if (result.exitCode !== 0 || result.timedOut) throw scriptFailure(script, session, result);
  }
}

async function runOne(script: InitScript, session: InitScriptSession): Promise<BoundedResult> {
  const path = session.runPath(script);
  // The server cancels a statement that runs past the limit, and psql names its line.
  const pgOptions = [session.env.PGOPTIONS, `-c statement_timeout=${session.timeoutMs}`].filter(Boolean).join(" ");
  const options = {
    user: session.user,
    env: { ...session.env, PGOPTIONS: pgOptions },
    cwd: session.cwd,
    timeoutMs: session.timeoutMs + STATEMENT_TIMEOUT_MARGIN_MS,
    signal: session.signal,
  };
  const shown = { shown: session.displayPath(script) };
  switch (script.kind) {
    case "sql":
      return runBounded("psql", [...psqlArgs(session), "-f", path], options);
    case "sql.gz":
      return runBounded("psql", psqlArgs(session), { ...options, input: gunzipInitScript(await readFile(path), shown) });
    case "sql.xz":
    case "sql.zst": {
      const [tool, ...args] = script.kind === "sql.xz" ? ["xz", "-dc", path] : ["zstd", "-dc", path];
      const decompressed = await execa(tool!, args, { encoding: "buffer", reject: false, maxBuffer: { stdout: INPUT_FILE_LIMITS["decompressed init script"] } });
      if (decompressed.isMaxBuffer) throw new UsageError(`${shown.shown} decompresses to more than ${formatSize(INPUT_FILE_LIMITS["decompressed init script"])}`, { file: shown.shown });
      if (decompressed.failed) {
        throw new EnvironmentError(`init script ${script.containerName} needs \`${tool}\` to decompress, and it is not installed here`);
      }
      return runBounded("psql", psqlArgs(session), { ...options, input: Buffer.from(decompressed.stdout) });
    }
    case "sh":
      // The image executes an executable script (its shebang decides the interpreter) and sources any other.
      return script.executable ? runBounded(path, [], options) : runBounded("bash", ["-c", SOURCING_SHELL, "bash", path], options);
    case "ignored":
      throw new Error(`an ignored init script (${script.containerName}) was asked to run`);
  }
}

// psql reports `psql:<file>:<line>: ERROR:  ...` (`<stdin>` for piped input).
const PSQL_ERROR = /^psql:(?:.*?):(\d+):\s*(ERROR|FATAL|error):\s*(.*)$/m;

function scriptFailure(script: InitScript, session: InitScriptSession, result: BoundedResult): UsageError {
  const file = session.displayPath(script);
  const { output } = result;
  const seconds = `${Math.round(session.timeoutMs / 100) / 10} s`;
  const psqlError = PSQL_ERROR.exec(output);
  if (psqlError && script.kind !== "sh") {
    const line = Number(psqlError[1]);
    const detail = maskSecrets(`${psqlError[2]}: ${psqlError[3]}`.replace(/\s+/g, " "));
    const what = /statement timeout/.test(detail)
      ? `did not finish within ${seconds} (--timeout): the server cancelled its statement`
      : `failed, as it would in the postgres container's first start: ${detail}`;
    // A line in a compressed script is a line of the decompressed text; still the best pointer there is.
    return new UsageError(`init script ${script.containerName} ${what}`, { file, line });
  }
  if (result.timedOut) return new UsageError(`init script ${script.containerName} did not finish within ${seconds} (--timeout), so it was stopped`, { file });
  const lastLines = maskSecrets(output.trimEnd().split("\n").slice(-5).join("\n"));
  return new UsageError(
    `init script ${script.containerName} failed, as it would in the postgres container's first start${lastLines ? `:\n${lastLines}` : " (no output)"}`,
    { file },
  );
}
