/**
 * A PostgreSQL 16 server keeps a small System V shared memory segment (56 bytes: the interlock that
 * tells a new postmaster whether an old one's processes still run), named on line 7 of its data
 * folder's `postmaster.pid` (key and id). A postmaster that exits removes it; one killed with
 * SIGKILL (the OOM killer, a hard cancel, a test) cannot, and the kernel keeps the segment after
 * the folder is gone, until reboot. On a long-lived machine they pile up towards the kernel's limit
 * (SHMMNI, 4096 by default), after which no server starts. PostgreSQL removes such a segment itself
 * when it starts again on the same folder; a throwaway cluster never starts again, so whoever
 * removes its folder removes the segment, as PostgreSQL would: only the one its `postmaster.pid`
 * names, with the same key, attached by no process, made by the folder's owner.
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { systemTool } from "./os-user.js";

/** The kernel's table of System V shared memory segments: key, id, perms, size, cpid, lpid, nattch, uid, gid, cuid, … */
const SEGMENTS = "/proc/sysvipc/shm";

/**
 * Removes the segment `dataDir`'s postmaster left, if it left one nobody is attached to. Returns
 * whether one was removed; `false` when there is nothing to remove (the postmaster exited and
 * removed its pid file and segment) or when it cannot tell (no pid file line, no /proc).
 */
export async function releaseOrphanedSegment(dataDir: string): Promise<boolean> {
  // The server's OS user owns its folder and made its segment. The pid file is that user's to
  // write (a superuser's COPY … TO PROGRAM can): it may name only a segment that user made, which
  // it could remove itself.
  const owner = (await stat(dataDir).catch(() => undefined))?.uid;
  const pidFile = await readFile(join(dataDir, "postmaster.pid"), "utf8").catch(() => undefined);
  const [key, id] = (pidFile?.split("\n")[6] ?? "").trim().split(/\s+/);
  if (!key || !id || !/^-?\d+$/.test(key) || !/^\d+$/.test(id)) return false;
  const table = await readFile(SEGMENTS, "utf8").catch(() => "");
  const row = table
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .find((fields) => fields[1] === id);
  // A key_t is 32 bits: the pid file writes it unsigned, the kernel's table signed.
  if (!row || !/^-?\d+$/.test(row[0] ?? "") || BigInt.asUintN(32, BigInt(row[0]!)) !== BigInt.asUintN(32, BigInt(key))) return false;
  // Attached by nobody (7th field), made by the folder's owner (10th, cuid).
  if (row[6] !== "0" || owner === undefined || row[9] !== String(owner)) return false;
  const removed = await execa(systemTool("ipcrm"), ["-m", id], { reject: false, env: { LC_ALL: "C" }, extendEnv: false });
  return removed.exitCode === 0;
}
