/**
 * One way to run a program the repository controls (or one that works on its files: initdb, psql):
 * in a process group of its own, so a terminal's Ctrl-C reaches only the CLI, which then stops it in
 * order (no PANIC lines from a backend killed mid-step), and so a timeout or an abort ends everything
 * it started, its shell's children too; with a time limit; and with a bounded memory of its output
 * (the last bytes, for error messages), however much it prints.
 */
import { execa } from "execa";
import { asUser, type OsUser } from "./os-user.js";

/** Output kept for messages: the tail of stdout and stderr interleaved. */
const OUTPUT_TAIL_BYTES = 64 * 1024;
/** After SIGTERM to the group, SIGKILL follows this much later. */
const KILL_GRACE_MS = 2_000;

export interface BoundedOptions {
  readonly cwd: string;
  /** The whole environment (nothing is inherited). */
  readonly env: Readonly<Record<string, string>>;
  /** Past this the group is stopped and the result says `timedOut`. */
  readonly timeoutMs: number;
  /** Aborting stops the group; the result says `aborted`. */
  readonly signal?: AbortSignal;
  /** Run as this OS user (as root: the unprivileged account). */
  readonly user?: OsUser;
  /** Standard input; none by default. */
  readonly input?: string | Buffer;
  /** Run through `/bin/sh -c` (a command line the user wrote). */
  readonly shell?: boolean;
  /** Collect file descriptor 3 (the registry sandbox's result channel), at most this many bytes. */
  readonly resultChannelBytes?: number;
}

export interface BoundedResult {
  /** Undefined when it was killed by a signal or never started. */
  readonly exitCode: number | undefined;
  /** The signal that ended it, e.g. SIGKILL after a timeout, SIGABRT after V8 ran out of heap. */
  readonly signal: string | undefined;
  readonly timedOut: boolean;
  readonly aborted: boolean;
  /** The program could not be started (not found, not executable): the reason. */
  readonly spawnError: string | undefined;
  /** The last 64 KB of what it printed (stdout and stderr, as they came). */
  readonly output: string;
  /** What it wrote on file descriptor 3 (`resultChannelBytes`); `overflowed` when it wrote more. */
  readonly resultChannel?: { readonly text: string; readonly overflowed: boolean };
}

/** Ends a process group: SIGTERM, then SIGKILL after a grace period. Never throws. */
export function stopGroup(pid: number | undefined, graceMs = KILL_GRACE_MS): void {
  if (pid === undefined) return;
  signalGroup(pid, "SIGTERM");
  setTimeout(() => signalGroup(pid, "SIGKILL"), graceMs).unref();
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}

/** Runs `file args` bounded as described above; never rejects. */
export async function runBounded(file: string, args: readonly string[], options: BoundedOptions): Promise<BoundedResult> {
  const resultBytes = options.resultChannelBytes;
  const subprocess = execa(file, args, {
    cwd: options.cwd,
    env: options.env,
    extendEnv: false,
    ...asUser(options.user),
    ...(options.shell && { shell: true }),
    detached: true,
    // Detached children are not killed by execa at exit; the stop below and the run's reaper are.
    cleanup: false,
    reject: false,
    buffer: false,
    // File descriptor 3 only when asked for: the registry sandbox's answer, apart from what the code prints.
    stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe", ...(resultBytes === undefined ? [] : ["pipe" as const])],
    ...(options.input !== undefined && { input: options.input }),
  });

  let tail = "";
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString("utf8")).slice(-OUTPUT_TAIL_BYTES);
  };
  subprocess.stdout?.on("data", keep);
  subprocess.stderr?.on("data", keep);

  let channel = "";
  let overflowed = false;
  const resultStream = resultBytes !== undefined ? (subprocess.stdio[3] as NodeJS.ReadableStream | undefined) : undefined;
  resultStream?.on("data", (chunk: Buffer) => {
    if (overflowed) return;
    channel += chunk.toString("utf8");
    if (channel.length > resultBytes!) {
      overflowed = true;
      channel = "";
      stopGroup(subprocess.pid, 0);
    }
  });

  let timedOut = false;
  let aborted = false;
  const timer = setTimeout(() => {
    timedOut = true;
    stopGroup(subprocess.pid);
  }, options.timeoutMs);
  const onAbort = () => {
    aborted = true;
    stopGroup(subprocess.pid);
  };
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener("abort", onAbort, { once: true });

  try {
    const result = await subprocess;
    const spawnError = result.exitCode === undefined && result.signal === undefined ? result.message : undefined;
    return {
      exitCode: result.exitCode,
      signal: result.signal,
      timedOut,
      aborted,
      spawnError,
      output: tail,
      ...(resultBytes !== undefined && { resultChannel: { text: channel, overflowed } }),
    };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
    // Whatever it left running in the background goes with it.
    if (subprocess.pid !== undefined) signalGroup(subprocess.pid, "SIGKILL");
  }
}
