import { execa, type ResultPromise } from "execa";
import { EnvironmentError } from "../../core/errors.js";
import type { PostgresBinaries } from "./postgres-binaries.js";
import { asUser, type ServerUser } from "./server-user.js";

/** Where and how one postmaster listens. */
export interface ListenSettings {
  /** `""` for socket only (the image's init phase), else e.g. `127.0.0.1`. */
  readonly listenAddresses: string;
  readonly port: number;
  readonly socketDir: string;
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

  private constructor(private readonly child: ResultPromise) {
    this.exited = child.then(
      () => undefined,
      () => undefined,
    );
  }

  /** Starts `postgres` and resolves once it accepts connections; rejects with its log when it exits first. */
  static async start(binaries: PostgresBinaries, dataDir: string, listen: ListenSettings, user: ServerUser, timeoutMs = 30_000): Promise<PostgresProcess> {
    const child = execa(
      binaries.postgres,
      [
        "-D", dataDir,
        "-c", `listen_addresses=${listen.listenAddresses}`,
        "-c", `port=${listen.port}`,
        "-c", `unix_socket_directories=${listen.socketDir}`,
        // The log is parsed for readiness and errors, so it must be in English.
        "-c", "lc_messages=C",
        // A throwaway cluster: durability costs startup and migration time and proves nothing here.
        "-c", "fsync=off",
        "-c", "synchronous_commit=off",
        "-c", "full_page_writes=off",
      ],
      { ...asUser(user), env: { LC_ALL: "C" }, extendEnv: false, stdin: "ignore", stdout: "ignore", stderr: "pipe", buffer: false, reject: false },
    );
    const server = new PostgresProcess(child);
    await server.waitUntilReady(timeoutMs);
    return server;
  }

  get pid(): number | undefined {
    return this.child.pid;
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
   * Fast shutdown (SIGINT: sessions are ended, the cluster closed cleanly), escalating to immediate
   * (SIGQUIT) and then SIGKILL when the server does not go. Resolves once the postmaster is gone.
   */
  async stop(): Promise<void> {
    for (const [signal, waitMs] of [["SIGINT", 5_000], ["SIGQUIT", 3_000], ["SIGKILL", 3_000]] as const) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) break;
      this.child.kill(signal);
      if (await settlesWithin(this.exited, waitMs)) break;
    }
    await settlesWithin(this.exited, 1_000);
  }
}

async function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolveTimeout) => {
    timer = setTimeout(() => resolveTimeout(false), ms);
  });
  const settled = await Promise.race([promise.then(() => true as const), timeout]);
  clearTimeout(timer);
  return settled;
}

/**
 * Runs `initdb` as `user`. `pwfile` holds the bootstrap superuser's password (absent for a
 * password-less trust setup). No `--auth`: as in the image, `pg_hba.conf` starts as trust everywhere
 * and the caller rewrites it.
 */
export async function runInitdb(
  binaries: PostgresBinaries,
  options: { dataDir: string; superuser: string; pwfile?: string; extraArgs: readonly string[]; user: ServerUser },
): Promise<void> {
  const result = await execa(
    binaries.initdb,
    [
      `--pgdata=${options.dataDir}`,
      `--username=${options.superuser}`,
      ...(options.pwfile ? [`--pwfile=${options.pwfile}`] : []),
      "--encoding=UTF8",
      "--locale=C",
      // Throwaway: skipping the final fsync of the new cluster saves most of initdb's time on slow disks.
      "--no-sync",
      // The user's POSTGRES_INITDB_ARGS come last so they win, as in the image.
      ...options.extraArgs,
    ],
    { ...asUser(options.user), env: { LC_ALL: "C" }, extendEnv: false, reject: false, all: true },
  );
  if (result.exitCode === undefined) {
    // Not started at all: typically the unprivileged user cannot reach node_modules (a repo under /root).
    throw new EnvironmentError(
      `initdb could not run${options.user.uid === undefined ? "" : ` as the '${options.user.name}' user`}: ${result.message}. ` +
        `The PostgreSQL binaries and every folder above them must be readable and executable by that user.`,
    );
  }
  if (result.exitCode !== 0) {
    throw new EnvironmentError(`initdb failed (exit ${result.exitCode}):\n${lastLines(result.all ?? "", 15)}`);
  }
}

function lastLines(text: string, count: number): string {
  return text.trimEnd().split("\n").slice(-count).join("\n");
}
