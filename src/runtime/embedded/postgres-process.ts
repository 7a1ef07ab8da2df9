import { execa, type ResultPromise } from "execa";
import { pause } from "../../core/concurrency.js";
import { EnvironmentError } from "../../core/errors.js";
import { runBounded } from "../../sandbox/bounded-process.js";
import type { PostgresBinaries } from "./postgres-binaries.js";
import { asUser, type OsUser } from "../../sandbox/os-user.js";
import { processesInside } from "../../sandbox/process-table.js";

/** Where and how one postmaster listens. */
export interface ListenSettings {
  /** `""` for socket only (the image's init phase), else e.g. `127.0.0.1`. */
  readonly listenAddresses: string;
  readonly port: number;
  readonly socketDir: string;
  /** The product's own `name=value` settings (its service's command line), passed before this runtime's, which win. */
  readonly productSettings?: readonly string[];
}

const READY = "database system is ready to accept connections";
const PORT_TAKEN = /could not bind|Address already in use|could not create any TCP\/IP sockets/i;
const LOG_TAIL_LINES = 30;

/** The server failed to bind its TCP port; the caller retries on another one. */
export class PortTakenError extends EnvironmentError {}

/**
 * One running postmaster on a data directory, spawned directly (not through `pg_ctl`) so its pid is
 * ours to signal and its log tells the moment it accepts connections.
 */
export class PostgresProcess {
  private exited: Promise<void>;
  private readonly logTail: string[] = [];
  private stopping = false;

  private constructor(private readonly child: ResultPromise) {
    this.exited = child.then(
      () => undefined,
      () => undefined,
    );
  }

  /** Starts `postgres` and resolves once it accepts connections; rejects with its log when it exits first. */
  static async start(binaries: PostgresBinaries, dataDir: string, listen: ListenSettings, user: OsUser, timeoutMs = 30_000): Promise<PostgresProcess> {
    const child = execa(
      binaries.postgres,
      [
        "-D", dataDir,
        ...(listen.productSettings ?? []).flatMap((setting) => ["-c", setting]),
        "-c", `listen_addresses=${listen.listenAddresses}`,
        "-c", `port=${listen.port}`,
        "-c", `unix_socket_directories=${listen.socketDir}`,
        // The log is parsed for readiness and errors, so it must be in English.
        "-c", "lc_messages=C",
        // A throwaway cluster: durability costs startup and migration time and proves nothing here.
        "-c", "fsync=off",
        "-c", "synchronous_commit=off",
        "-c", "full_page_writes=off",
        // Dynamic shared memory as files in the cluster folder (pg_dynshmem), not /dev/shm segments:
        // a server killed with SIGKILL (the OOM killer) cannot remove them, and the folder goes
        // with the run (or the next run's reaper) where /dev/shm/PostgreSQL.* stayed until reboot.
        "-c", "dynamic_shared_memory_type=mmap",
      ],
      {
        ...asUser(user),
        env: { LC_ALL: "C" },
        extendEnv: false,
        // Its own process group: a terminal's Ctrl-C reaches the CLI only, which stops the server in order.
        detached: true,
        cleanup: false,
        stdin: "ignore",
        stdout: "ignore",
        stderr: "pipe",
        buffer: false,
        reject: false,
      },
    );
    const server = new PostgresProcess(child);
    await server.waitUntilReady(timeoutMs);
    return server;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** How the server ended when nobody asked it to (killed, crashed); undefined while it runs or once stopped. */
  unexpectedExit(): string | undefined {
    if (this.stopping) return undefined;
    const { exitCode, signalCode } = this.child;
    if (exitCode === null && signalCode === null) return undefined;
    return `the embedded PostgreSQL server (pid ${this.pid}) exited during the run (${signalCode ?? `exit code ${exitCode}`})`;
  }

  /** The server's last log lines, for error messages. */
  log(): string {
    return this.logTail.join("\n");
  }

  private waitUntilReady(timeoutMs: number): Promise<void> {
    return new Promise((resolveReady, reject) => {
      let pending = "";
      let ready = false;
      const timer = setTimeout(() => {
        void this.stop();
        reject(new EnvironmentError(`The embedded PostgreSQL server did not accept connections within ${timeoutMs / 1000} s:\n${this.log()}`));
      }, timeoutMs);
      this.child.stderr?.on("data", (chunk: Buffer) => {
        pending += chunk.toString("utf8");
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines) {
          this.logTail.push(line);
          if (this.logTail.length > LOG_TAIL_LINES) this.logTail.shift();
          if (!ready && line.includes(READY)) {
            ready = true;
            clearTimeout(timer);
            resolveReady();
          }
        }
      });
      void this.exited.then(() => {
        if (ready) return;
        clearTimeout(timer);
        if (pending) this.logTail.push(pending);
        const log = this.log();
        const message = `The embedded PostgreSQL server exited during startup:\n${log}`;
        reject(PORT_TAKEN.test(log) ? new PortTakenError(message) : new EnvironmentError(message));
      });
    });
  }

  /**
   * Fast shutdown (SIGINT: sessions are ended, the cluster closed cleanly by a shutdown checkpoint),
   * escalating to immediate (SIGQUIT) and then SIGKILL when the server does not go. Resolves once the
   * postmaster is gone. `discard`: the cluster is removed next, so its files need not be consistent:
   * immediate shutdown at once (no checkpoint writing out every buffer the run dirtied: about
   * 150 ms of a 6-service run's end), then SIGKILL.
   */
  async stop({ discard = false }: { discard?: boolean } = {}): Promise<void> {
    this.stopping = true;
    const steps = discard ? STOP_DISCARDING : STOP_CLEANLY;
    for (const [signal, waitMs] of steps) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) break;
      this.child.kill(signal);
      if (await settlesWithin(this.exited, waitMs)) break;
    }
    await settlesWithin(this.exited, 1_000);
  }
}

const STOP_CLEANLY = [["SIGINT", 5_000], ["SIGQUIT", 3_000], ["SIGKILL", 3_000]] as const;
const STOP_DISCARDING = [["SIGQUIT", 3_000], ["SIGKILL", 3_000]] as const;

async function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolveTimeout) => {
    timer = setTimeout(() => resolveTimeout(false), ms);
  });
  const settled = await Promise.race([promise.then(() => true as const), timeout]);
  clearTimeout(timer);
  return settled;
}

/** initdb, bounded: a healthy one takes about a second. */
const INITDB_TIMEOUT_MS = 120_000;

/** initdb ran and failed; `output` is what it printed, for a caller that can tell whose mistake it was. */
export class InitdbFailure extends EnvironmentError {
  constructor(
    readonly exitCode: number | undefined,
    readonly output: string,
  ) {
    super(`initdb failed (${exitCode === undefined ? "killed" : `exit ${exitCode}`}):\n${lastLines(output, 15)}`);
  }
}

/**
 * Runs `initdb` as `user`, in its own process group (Ctrl-C in a terminal does not reach it; an abort
 * stops it and its bootstrap backend). `pwfile` holds the bootstrap superuser's password (absent
 * for a password-less trust setup). No `--auth`: as in the image, `pg_hba.conf` starts as trust
 * everywhere and the caller rewrites it.
 */
export async function runInitdb(
  binaries: PostgresBinaries,
  options: { dataDir: string; superuser: string; pwfile?: string; extraArgs: readonly string[]; user: OsUser; cwd: string; signal: AbortSignal },
): Promise<void> {
  const result = await runBounded(
    binaries.initdb,
    [
      `--pgdata=${options.dataDir}`,
      `--username=${options.superuser}`,
      ...(options.pwfile ? [`--pwfile=${options.pwfile}`] : []),
      "--encoding=UTF8",
      "--locale=C",
      // Throwaway: skipping the final fsync of the new cluster saves most of initdb's time on slow disks.
      "--no-sync",
      // 1 MB WAL segments instead of 16: a new cluster holds about 5 MB of WAL instead of one 16 MB
      // file, so a copy from the cluster cache moves 28 MB instead of 39. Nothing a check reads
      // depends on it (only `wal_segment_size` shows it).
      "--wal-segsize=1",
      // On a signal (a cancelled run) initdb would remove the data folder while its backend is still
      // stopping; the backend then fails on the missing files without removing its System V segment,
      // which the kernel keeps until reboot. The caller removes the folder, and the segment with it.
      "--no-clean",
      // Its backends' dynamic shared memory as files in the data folder (pg_dynshmem), as the
      // server's (PostgresProcess.start): a backend killed with SIGKILL (its group is, once initdb
      // exits) would leave /dev/shm/PostgreSQL.* files until reboot. Also written to postgresql.conf,
      // which the server's own command line overrides anyway.
      "--set=dynamic_shared_memory_type=mmap",
      // The user's POSTGRES_INITDB_ARGS come last so they win, as in the image.
      ...options.extraArgs,
    ],
    { cwd: options.cwd, env: { LC_ALL: "C" }, user: options.user, timeoutMs: INITDB_TIMEOUT_MS, signal: options.signal },
  );
  if (result.exitCode !== 0) await backendGone(options.cwd);
  if (result.spawnError !== undefined) {
    // Not started at all: typically the unprivileged user cannot reach node_modules (a repo under /root).
    throw new EnvironmentError(
      `initdb could not run${options.user.uid === undefined ? "" : ` as the '${options.user.name}' user`}: ${result.spawnError}. ` +
        `The PostgreSQL binaries and every folder above them must be readable and executable by that user.`,
    );
  }
  if (result.timedOut) throw new EnvironmentError(`initdb did not finish within ${INITDB_TIMEOUT_MS / 1000} s:\n${lastLines(result.output, 15)}`);
  if (result.exitCode !== 0) throw new InitdbFailure(result.exitCode, result.output);
}

/** How long a stopped initdb's backend may take to exit before its folder is removed anyway. */
const BACKEND_EXIT_WAIT_MS = 5_000;

/**
 * Waits until no process works inside `folder` (initdb's backend outlives initdb by a moment when
 * initdb is stopped), at most BACKEND_EXIT_WAIT_MS: a backend whose data folder is removed under it
 * fails without removing its System V segment; once it exited, the caller's removal of the folder
 * releases a segment a SIGKILL left (`releaseOrphanedSegment`, named by the pid file `--no-clean` kept).
 */
async function backendGone(folder: string): Promise<void> {
  const deadline = performance.now() + BACKEND_EXIT_WAIT_MS;
  while ((await processesInside(folder)).length > 0 && performance.now() < deadline) await pause(20);
}

function lastLines(text: string, count: number): string {
  return text.trimEnd().split("\n").slice(-count).join("\n");
}
