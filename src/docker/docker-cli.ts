import { execa, type ResultPromise } from "execa";

/** Environment for docker / compose child processes: the caller's, without unset entries. */
export type ProcessEnv = Readonly<Record<string, string | undefined>>;

export interface DockerResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

export interface DockerCallOptions {
  readonly env: ProcessEnv;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly cwd?: string;
  /** Extra variables on top of `env` (compose interpolation variables). */
  readonly extraEnv?: Readonly<Record<string, string>>;
}

export function definedEnv(env: ProcessEnv, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const defined = Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined);
  return { ...Object.fromEntries(defined), ...extra };
}

/**
 * Starts `command args` without throwing on a non-zero exit; the caller decides what a failure
 * means. The returned subprocess can be killed (teardown on Ctrl-C kills a running `up` first).
 */
export function spawnTool(command: string, args: readonly string[], options: DockerCallOptions): ResultPromise<{ reject: false; stdin: "ignore"; extendEnv: false }> {
  return execa(command, args, {
    env: definedEnv(options.env, options.extraEnv),
    extendEnv: false,
    reject: false,
    stdin: "ignore",
    ...(options.timeoutMs !== undefined && { timeout: options.timeoutMs }),
    ...(options.signal !== undefined && { cancelSignal: options.signal }),
    ...(options.cwd !== undefined && { cwd: options.cwd }),
    // SIGTERM first and SIGKILL after a grace period: compose must get the chance to stop a build.
    forceKillAfterDelay: 5_000,
  }) as unknown as ResultPromise<{ reject: false; stdin: "ignore"; extendEnv: false }>;
}

/** Runs `docker <args>` to completion. */
export async function docker(args: readonly string[], options: DockerCallOptions): Promise<DockerResult> {
  return settle(spawnTool("docker", args, options));
}

/** The outcome of a spawned tool as plain data. */
export async function settle(subprocess: ResultPromise): Promise<DockerResult> {
  const result = await subprocess;
  return {
    exitCode: result.exitCode ?? -1,
    stdout: String(result.stdout ?? ""),
    stderr: String(result.stderr ?? ""),
    timedOut: result.timedOut === true,
  };
}

/** The last `count` non-empty lines of a tool's output, for error messages. */
export function lastLines(text: string, count: number): string {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .slice(-count)
    .join("\n");
}
