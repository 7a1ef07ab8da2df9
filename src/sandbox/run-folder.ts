/**
 * One folder per `check` run, holding everything the run makes on disk: the embedded cluster, the
 * drift check's throwaway copy, the HOME and TMPDIR of the programs the repository controls. It
 * lives in a temp root the unprivileged user can reach (temp-root.ts), is 0711 (traversable, not
 * listable), and carries a run record, `run.json`: the pid and start time of the CLI that made it.
 * A run that ends in any orderly way (signals included) removes the folder; a run that is killed
 * (SIGKILL, OOM killer, a machine crash) leaves the record, and the next run finds the owner gone
 * and reaps the folder and what still runs in it (leftover-runs.ts).
 */
import { chmod, chown, mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, join } from "node:path";
import type { OsUser } from "./os-user.js";
import { processStartTime } from "./process-table.js";
import { removeTree } from "./remove-tree.js";
import { chooseTempRoot } from "./temp-root.js";

/** Every run folder's name starts with this; the reaper looks for nothing else. */
export const RUN_FOLDER_PREFIX = "civic-conformance-run-";
export const RUN_RECORD = "run.json";

/** What `run.json` holds. */
export interface RunRecord {
  readonly pid: number;
  /** `/proc/<pid>/stat` field 22: a later process with the same pid is not this run. */
  readonly startTime?: string;
  readonly host: string;
  readonly startedAt: string;
  /** The folders made inside it (the cluster's, the drift copy's), by name. */
  readonly folders?: readonly string[];
  /** The PostgreSQL servers it started: postmaster pid and data directory. */
  readonly servers?: ReadonlyArray<{ readonly pid: number; readonly dataDir: string }>;
  /** The compose projects it booted (the reaper removes their containers, volumes, networks and images). */
  readonly composeProjects?: readonly string[];
}

export class RunFolder {
  private removing: Promise<void> | undefined;
  /** Record writes one after another, so the last one on disk is the whole record. */
  private recording: Promise<void> = Promise.resolve();

  private constructor(
    /** Absolute path of the folder. */
    readonly path: string,
    /** The account product programs and the embedded server run as; owns `home`, `tmp` and subfolders. */
    readonly user: OsUser,
    /** Why the preferred temp root was passed over, for the verbose log. */
    readonly passedOver: string | undefined,
    private record: RunRecord,
  ) {}

  /** Makes the folder and its record; `env` decides the temp root (TMPDIR), `user` who must reach it. */
  static async create(env: Readonly<Record<string, string | undefined>>, user: OsUser): Promise<RunFolder> {
    const { root, passedOver } = await chooseTempRoot(env, user);
    const path = await mkdtemp(join(root, RUN_FOLDER_PREFIX));
    await chmod(path, 0o711);
    const record: RunRecord = {
      pid: process.pid,
      ...(await processStartTime(process.pid).then((startTime) => (startTime ? { startTime } : {}))),
      host: hostname(),
      startedAt: new Date().toISOString(),
    };
    const folder = new RunFolder(path, user, passedOver, record);
    await folder.writeRecord();
    await Promise.all([folder.ownedFolder("home"), folder.ownedFolder("tmp")]);
    return folder;
  }

  /** A throwaway, empty HOME for product programs, owned by `user`. */
  get home(): string {
    return join(this.path, "home");
  }

  /** TMPDIR for product programs, owned by `user`. */
  get tmp(): string {
    return join(this.path, "tmp");
  }

  /** A new folder `<prefix>-XXXXXX` inside the run folder, 0700, owned by `user`, named in the record. */
  async subfolder(prefix: string): Promise<string> {
    const path = await mkdtemp(join(this.path, `${prefix}-`));
    await this.own(path);
    this.record = { ...this.record, folders: [...(this.record.folders ?? []), basename(path)] };
    await this.writeRecord();
    return path;
  }

  /** Records a PostgreSQL server started for the run (the reaper stops it if the run is killed). */
  async noteServer(pid: number | undefined, dataDir: string): Promise<void> {
    if (pid === undefined) return;
    this.record = { ...this.record, servers: [...(this.record.servers ?? []), { pid, dataDir }] };
    await this.writeRecord();
  }

  /** Records a compose project before the run boots it (the reaper tears it down if the run is killed). */
  async noteComposeProject(project: string): Promise<void> {
    this.record = { ...this.record, composeProjects: [...(this.record.composeProjects ?? []), project] };
    await this.writeRecord();
  }

  /** Hands `path` to `user` (a tree copied for the user is owned as it is copied: sandbox/repo-copy.ts). */
  async own(path: string): Promise<void> {
    const { uid, gid } = this.user;
    if (uid === undefined) return;
    await chown(path, uid, gid ?? uid);
  }

  /** Removes the folder and its record; every caller (finally, signal, cleanup registry) shares one removal. */
  remove(): Promise<void> {
    this.removing ??= removeTree(this.path);
    return this.removing;
  }

  private writeRecord(): Promise<void> {
    const text = `${JSON.stringify(this.record)}\n`;
    const write = this.recording.then(() => writeFile(join(this.path, RUN_RECORD), text, { mode: 0o644 }));
    this.recording = write.catch(() => undefined);
    return write;
  }

  private async ownedFolder(name: string): Promise<void> {
    const path = join(this.path, name);
    await mkdir(path, { mode: 0o700 });
    await this.own(path);
  }
}
