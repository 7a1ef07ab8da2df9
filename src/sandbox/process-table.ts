/**
 * The bits of Linux's process table the run record and the reaper need (`/proc`): a process's start
 * time (so a recorded pid that was reused is not mistaken for the run that recorded it), and the
 * processes tied to a folder by their command line or working directory (a postmaster names its data
 * directory with `-D`, its backends and psql/initdb work inside it). Elsewhere (no `/proc`) both come
 * back empty: the reaper then only removes folders.
 */
import { readdir, readFile, readlink } from "node:fs/promises";
import { sep } from "node:path";

export interface TableProcess {
  readonly pid: number;
  /** The command line, arguments joined by spaces. */
  readonly args: string;
  readonly cwd: string;
}

/** Field 22 of `/proc/<pid>/stat` (clock ticks after boot); undefined when no such process. */
export async function processStartTime(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  if (stat === undefined) return undefined;
  // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
}

/** Processes (never this one) whose command line names a path inside `folder`, or whose working directory is inside it. */
export async function processesInside(folder: string): Promise<TableProcess[]> {
  const found: TableProcess[] = [];
  const entries = await readdir("/proc").catch(() => [] as string[]);
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const [cmdline, cwd] = await Promise.all([
      readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => ""),
      readlink(`/proc/${entry}/cwd`).catch(() => ""),
    ]);
    const args = cmdline.split("\0").join(" ").trim();
    if (args.includes(folder + sep) || args.endsWith(folder) || args.includes(`${folder} `) || cwd === folder || cwd.startsWith(folder + sep)) {
      found.push({ pid: Number(entry), args, cwd });
    }
  }
  return found;
}

/** `…/bin/postgres -D <data dir> …`: a postmaster (its backends are named `postgres: …`). */
export function isPostmaster(process: TableProcess): boolean {
  return / -D /.test(` ${process.args} `) && /(^|\/)postgres /.test(process.args);
}
