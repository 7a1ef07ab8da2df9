/**
 * The built CLI (`node bin/civic-conformance.js`, after `npm run build`) run as a user or an attacker
 * runs it: a child process in its own process group (so a Ctrl-C can reach the whole group, as a
 * terminal sends it), a hard upper bound after which the test kills the group itself and records that
 * the CLI did not finish on its own, stderr watched line by line so a test can act at a phase.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { REPO_ROOT } from "../../helpers/fixtures.js";
import { isPostmaster } from "./run-folder.js";

export const CLI = join(REPO_ROOT, "bin", "civic-conformance.js");

export interface CliRunOptions {
  /** The whole environment of the CLI (nothing is inherited). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /** The test's bound: past it the process group is SIGKILLed and `boundHit` is set. */
  readonly boundMs: number;
}

export interface CliResult {
  readonly exitCode: number | null;
  /** The signal that ended the CLI, when it did not exit by itself. */
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
  /** The CLI was still running at the test's bound and was killed by the test. */
  readonly boundHit: boolean;
}

/** A CLI run in progress: watch its stderr, signal it, close its stdout, wait for it. */
export class CliRun {
  readonly child: ChildProcess;
  private stdoutText = "";
  private stderrText = "";
  private boundHit = false;
  private readonly started = performance.now();
  private readonly done: Promise<CliResult>;
  private readonly waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];

  constructor(args: readonly string[], options: CliRunOptions) {
    this.child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: definedOnly(options.env),
      // Its own process group: `signalGroup` reaches every process the CLI started in it, as Ctrl-C does.
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child.stdout!.setEncoding("utf8");
    this.child.stderr!.setEncoding("utf8");
    // A closed stdout (the `| head -1` case) must not fail the test process itself.
    this.child.stdout!.on("error", () => {});
    const pending = { stdout: "", stderr: "" };
    const onData = (stream: "stdout" | "stderr") => (chunk: string) => {
      if (stream === "stdout") this.stdoutText += chunk;
      else this.stderrText += chunk;
      pending[stream] += chunk;
      const lines = pending[stream].split("\n");
      pending[stream] = lines.pop() ?? "";
      for (const line of lines) this.notify(line);
    };
    this.child.stdout!.on("data", onData("stdout"));
    this.child.stderr!.on("data", onData("stderr"));
    const bound = setTimeout(() => {
      this.boundHit = true;
      void endGroup(this.pid);
    }, options.boundMs);
    this.done = new Promise((resolve) => {
      this.child.on("close", (exitCode, signal) => {
        clearTimeout(bound);
        for (const rest of [pending.stdout, pending.stderr]) if (rest) this.notify(rest);
        resolve({
          exitCode,
          signal,
          stdout: this.stdoutText,
          stderr: this.stderrText,
          durationMs: Math.round(performance.now() - this.started),
          boundHit: this.boundHit,
        });
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get stderr(): string {
    return this.stderrText;
  }

  get stdout(): string {
    return this.stdoutText;
  }

  /**
   * Resolves with the first line of stdout or stderr (already printed or still to come) matching
   * `pattern`; rejects when the CLI ends first.
   */
  waitForLine(pattern: RegExp, timeoutMs = 120_000): Promise<string> {
    const seen = `${this.stdoutText}\n${this.stderrText}`.split("\n").find((line) => pattern.test(line));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no line matched ${pattern} within ${timeoutMs} ms; stderr so far:\n${this.stderrText}`)), timeoutMs);
      this.waiters.push({
        pattern,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
      void this.done.then(() => {
        clearTimeout(timer);
        reject(new Error(`the CLI ended before a line matched ${pattern}; stderr:\n${this.stderrText}`));
      });
    });
  }

  /** Signals the CLI process only (`kill <pid>`, a runner cancelling a job, the OOM killer). */
  signal(signal: NodeJS.Signals): void {
    try {
      process.kill(this.pid, signal);
    } catch {
      // Already gone.
    }
  }

  /** Signals the CLI's whole process group, as a terminal's Ctrl-C does. */
  signalGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch {
      // Already gone.
    }
  }

  /** Closes the read end of the CLI's stdout, as `| head -1` does after its first line. */
  closeStdout(): void {
    this.child.stdout!.destroy();
  }

  result(): Promise<CliResult> {
    return this.done;
  }

  private notify(line: string): void {
    for (const waiter of [...this.waiters]) {
      if (waiter.pattern.test(line)) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  }
}

/** Runs the CLI to its end (or to the test's bound). */
export function runCli(args: readonly string[], options: CliRunOptions): Promise<CliResult> {
  return new CliRun(args, options).result();
}

/**
 * Ends a process group the test gave up on: the CLI first (SIGKILL), a postmaster SIGQUIT (immediate
 * shutdown still releases its shared memory and /dev/shm segments; SIGKILL would leak them), its
 * backends left to it, everything else SIGKILL.
 */
async function endGroup(pgid: number): Promise<void> {
  try {
    process.kill(pgid, "SIGKILL");
  } catch {
    // Already gone.
  }
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    // Fields after the command name (which may hold spaces): state, ppid, pgrp, …
    const pgrp = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
    if (pgrp !== pgid) continue;
    const args = (await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "")).split("\0").join(" ").trim();
    if (args.startsWith("postgres:")) continue;
    try {
      process.kill(Number(entry), isPostmaster(args) ? "SIGQUIT" : "SIGKILL");
    } catch {
      // Gone meanwhile.
    }
  }
}

function definedOnly(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/** A Node or V8 stack frame (`    at main (file:///…/cli.js:12:3)`). */
export const STACK_FRAME = /^\s+at .+:\d+:\d+\)?$/m;

/** What the CLI printed that says it crashed instead of failing cleanly. */
export function crashSigns(text: string): string[] {
  const signs: string[] = [];
  if (STACK_FRAME.test(text)) signs.push("a stack trace");
  if (/internal error/i.test(text)) signs.push("'internal error'");
  if (/Unhandled|uncaught|ERR_UNHANDLED|FATAL ERROR/i.test(text)) signs.push("an unhandled error");
  return signs;
}
