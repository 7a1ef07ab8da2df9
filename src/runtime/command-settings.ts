/**
 * The settings of the postgres service's command line (`-c name=value`, compose-file/server-command.ts)
 * that a server this tool starts takes, as the image's server takes them: the embedded server (on
 * its command line, so they win over postgresql.conf and an init script's ALTER SYSTEM, for the
 * init-phase server and the final one) and the compose runtime's scratch-server container (the
 * migrations check's: a migration may need a preloaded library or a search_path the command sets).
 * Those that name the container's own places and files, or that these servers need set their way,
 * are not applied, each with the reason.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { ServerSetting } from "../compose-file/server-command.js";
import type { PostgresBinaries } from "./embedded/postgres-binaries.js";

export interface CommandSettings {
  /** Passed to the server, in order. */
  readonly applied: readonly ServerSetting[];
  /** Not passed: the setting and why. */
  readonly skipped: readonly { readonly setting: ServerSetting; readonly reason: string }[];
}

const WHERE_IT_LISTENS = "where the server listens is the runtime's own (the compose network's port is read from it)";
const CONTAINER_FILE = "it names a file or folder of the service's container, which this server does not have";
const THIS_RUNTIME = "the runtime sets it its own way (a throwaway cluster, a log it reads)";
// The repository is untrusted: its init scripts and migrations are bounded, a program the server
// would start on its own (the archiver's, recovery's) or code loaded from a path it names is not.
const RUNS_CODE = "it runs a program or loads code from a path, outside the limits the repository's code runs under";

const NOT_APPLIED: Readonly<Record<string, string>> = {
  listen_addresses: WHERE_IT_LISTENS,
  port: WHERE_IT_LISTENS,
  unix_socket_directories: WHERE_IT_LISTENS,
  unix_socket_group: WHERE_IT_LISTENS,
  unix_socket_permissions: WHERE_IT_LISTENS,
  data_directory: CONTAINER_FILE,
  config_file: CONTAINER_FILE,
  hba_file: CONTAINER_FILE,
  ident_file: CONTAINER_FILE,
  external_pid_file: CONTAINER_FILE,
  fsync: THIS_RUNTIME,
  synchronous_commit: THIS_RUNTIME,
  full_page_writes: THIS_RUNTIME,
  dynamic_shared_memory_type: THIS_RUNTIME,
  lc_messages: THIS_RUNTIME,
  logging_collector: THIS_RUNTIME,
  log_destination: THIS_RUNTIME,
  log_min_messages: THIS_RUNTIME,
  archive_command: RUNS_CODE,
  archive_library: RUNS_CODE,
  restore_command: RUNS_CODE,
  archive_cleanup_command: RUNS_CODE,
  recovery_end_command: RUNS_CODE,
  ssl_passphrase_command: RUNS_CODE,
  dynamic_library_path: RUNS_CODE,
};

const PRELOAD = new Set(["shared_preload_libraries", "session_preload_libraries", "local_preload_libraries"]);

/**
 * Which of `settings` a server takes: the embedded one (`binaries`: a preload library it lacks is
 * not applied) or a container of the service's own image (which has the image's libraries).
 */
export function commandSettings(settings: readonly ServerSetting[], binaries?: PostgresBinaries): CommandSettings {
  const applied: ServerSetting[] = [];
  const skipped: { setting: ServerSetting; reason: string }[] = [];
  for (const setting of settings) {
    const reason =
      NOT_APPLIED[setting.name] ??
      (setting.name === "ssl" || setting.name.startsWith("ssl_") ? "TLS needs the container's certificate files" : undefined) ??
      (binaries && missingLibraries(setting, binaries));
    if (reason) skipped.push({ setting, reason });
    else applied.push(setting);
  }
  return { applied, skipped };
}

/** For a preload setting: why not, when a library it names is not among the embedded server's. */
function missingLibraries(setting: ServerSetting, binaries: PostgresBinaries): string | undefined {
  if (!PRELOAD.has(setting.name)) return undefined;
  const libraryDir = join(binaries.nativeDir, "lib", "postgresql");
  const missing = setting.value
    .split(",")
    .map((name) => name.trim().replace(/^"(.*)"$/, "$1").replace(/^\$libdir\//, ""))
    .filter((name) => name !== "" && !existsSync(join(libraryDir, name.endsWith(".so") ? name : `${name}.so`)));
  return missing.length > 0 ? `the embedded PostgreSQL has no ${missing.join(", ")} library (the image's extensions are not here)` : undefined;
}

/** `name=value` for the server's `-c`. */
export function asServerOption(setting: ServerSetting): string {
  return `${setting.name}=${setting.value}`;
}
