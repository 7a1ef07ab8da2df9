/**
 * The server's own command line, as the official image's entrypoint hands it to `postgres`: the
 * service's `command:` (else the built Dockerfile's `CMD`), `postgres -c name=value …` or only the
 * options (`-c …`, the entrypoint puts `postgres` in front of an argument starting with `-`). The
 * settings it passes apply to the image's init-phase server and to the final one, and win over
 * `postgresql.conf` and `ALTER SYSTEM`. Real compose files pass `-c max_connections=200`,
 * `-c shared_preload_libraries=pg_stat_statements`, `-c config_file=/etc/postgresql/postgresql.conf`,
 * `-p 5433` (which moves the port the other containers reach), in the string form, the list form,
 * and the list form's `-cname=value`.
 */
import type { DockerfileStage } from "./dockerfile.js";
import type { ComposeService } from "./model.js";

export interface ServerSetting {
  /** Lower case, dashes as underscores, as PostgreSQL reads it (`--max-connections` is `max_connections`). */
  readonly name: string;
  readonly value: string;
}

/** The server command of one PostgreSQL service. */
export interface ServerCommand {
  /** Where it is written: the `command:` key, or the Dockerfile's `CMD`. */
  readonly file: string;
  readonly line: number;
  /** The settings it passes, in order (a later one of the same name wins, as in PostgreSQL). */
  readonly settings: readonly ServerSetting[];
  /** Why it was not read as the server's options (a shell, another program, an overridden entrypoint, an option that is no setting): nothing of it applies here then. */
  readonly unread?: string;
}

/** `postgres` short options that set a configuration parameter (PostgreSQL's `postmaster.c`), with the value they take. */
const SHORT_OPTIONS: Readonly<Record<string, { readonly name: string; readonly value?: string }>> = {
  B: { name: "shared_buffers" },
  N: { name: "max_connections" },
  S: { name: "work_mem" },
  p: { name: "port" },
  h: { name: "listen_addresses" },
  k: { name: "unix_socket_directories" },
  D: { name: "data_directory" },
  d: { name: "log_min_messages" },
  i: { name: "listen_addresses", value: "*" },
  l: { name: "ssl", value: "on" },
  F: { name: "fsync", value: "off" },
};

/** The official image's entrypoint, by the name its Dockerfile gives it (also under /usr/local/bin). */
const IMAGE_ENTRYPOINT = /^(\/usr\/local\/bin\/)?docker-entrypoint\.sh$/;

/**
 * The server command of an official-flavour instance (bitnami's image runs its own scripts and is
 * configured by its variables): `command:` replaces the image's `CMD`, an `entrypoint:` replaces
 * the image's entrypoint (then nothing says what runs).
 */
export function serverCommandOf(service: ComposeService, build: { readonly file: string; readonly chain: readonly DockerfileStage[] } | undefined): ServerCommand | undefined {
  const from = (args: readonly string[], where: { file: string; line: number }): ServerCommand => ({ file: where.file, line: where.line, ...postgresOptions(args) });
  if (service.entrypoint) {
    const [program, ...before] = service.entrypoint.args;
    // `entrypoint: docker-entrypoint.sh` names the image's own (an `entrypoint:` drops the image's CMD, so only `command:` follows it).
    if (program !== undefined && IMAGE_ENTRYPOINT.test(program)) {
      return from([...before, ...(service.command?.args ?? [])], before.length > 0 || !service.command ? service.entrypoint : service.command);
    }
    return { file: service.entrypoint.file, line: service.entrypoint.line, settings: [], unread: "the service replaces the image's entrypoint" };
  }
  if (service.command) return from(service.command.args, service.command);
  if (!build) return undefined;
  const instructions = build.chain.flatMap((stage) => stage.instructions);
  const entrypoint = instructions.findLast((instruction) => instruction.keyword === "ENTRYPOINT");
  const cmd = instructions.findLast((instruction) => instruction.keyword === "CMD");
  const dockerfile = build.file;
  if (entrypoint && (!cmd || entrypoint.line > cmd.line)) {
    return { file: dockerfile, line: entrypoint.line, settings: [], unread: "the Dockerfile replaces the image's entrypoint" };
  }
  if (!cmd) return undefined;
  const exec = execForm(cmd.args);
  if (!exec) return { file: dockerfile, line: cmd.line, settings: [], unread: "the Dockerfile's CMD is in shell form: /bin/sh runs it, not the image's postgres" };
  return from(exec, { file: dockerfile, line: cmd.line });
}

/** What the entrypoint does with `args`: the options of `postgres`, else why they are not. */
function postgresOptions(args: readonly string[]): { settings: ServerSetting[]; unread?: string } {
  const first = args[0];
  if (first === undefined) return { settings: [] };
  // docker-entrypoint.sh: `if [ "${1:0:1}" = '-' ]; then set -- postgres "$@"; fi`.
  const options = first.startsWith("-") ? args : first === "postgres" ? args.slice(1) : undefined;
  if (!options) return { settings: [], unread: `the command runs ${JSON.stringify(first)}, not postgres` };
  const settings: ServerSetting[] = [];
  for (let i = 0; i < options.length; i += 1) {
    const option = options[i]!;
    const long = /^--([^=]+)=(.*)$/s.exec(option);
    if (long) {
      settings.push({ name: normalised(long[1]!), value: long[2]! });
      continue;
    }
    const short = /^-([A-Za-z])(.*)$/s.exec(option);
    if (!short) return { settings: [], unread: `the command passes ${JSON.stringify(option)}, which postgres takes for no option` };
    const [, letter, attached] = short as unknown as [string, string, string];
    if (letter === "c") {
      const assignment = attached !== "" ? attached : options[(i += 1)];
      const split = assignment === undefined ? undefined : /^([^=]+)=(.*)$/s.exec(assignment);
      if (!split) return { settings: [], unread: `-c takes name=value, the command passes ${JSON.stringify(assignment ?? "")}` };
      settings.push({ name: normalised(split[1]!), value: split[2]! });
      continue;
    }
    const known = SHORT_OPTIONS[letter];
    if (!known) return { settings: [], unread: `the command passes -${letter}, which sets no configuration parameter` };
    if (known.value !== undefined) {
      settings.push({ name: known.name, value: known.value });
      continue;
    }
    const value = attached !== "" ? attached : options[(i += 1)];
    if (value === undefined) return { settings: [], unread: `-${letter} has no value` };
    settings.push({ name: known.name, value: letter === "d" ? (Number(value) > 0 ? `debug${value}` : "notice") : value });
  }
  return { settings };
}

function normalised(name: string): string {
  return name.trim().toLowerCase().replaceAll("-", "_");
}

/** A Dockerfile instruction's exec form (`["a", "b"]`), or undefined for the shell form. */
function execForm(args: string): string[] | undefined {
  const text = args.trim();
  if (!text.startsWith("[")) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) && parsed.every((part) => typeof part === "string") ? parsed : undefined;
  } catch {
    return undefined;
  }
}
