import { readFile, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { parseDocument, stringify } from "yaml";

/** Loopback only: published ports are for this tool, never for the network the machine sits on. */
const LOOPBACK = "127.0.0.1";

type Yaml = Record<string, unknown>;

/** The copy's name in the run's temp dir; Compose records its path on every container it creates. */
export const COMPOSE_COPY_NAME = "docker-compose.yml";

/**
 * Writes the compose project as this run must boot it to `<dir>/docker-compose.yml` (one file: the
 * merged project, or a single compose file), leaving the user's files untouched. Compose merges `ports` across override files instead of replacing them, so a
 * rewritten copy is the only way to drop a fixed host port:
 * - every relative path (build contexts, bind mounts, env_file, secret/config files) made absolute,
 *   so the copy means the same from a temp dir;
 * - every published port re-published on 127.0.0.1 at a port Docker picks (`127.0.0.1::<target>`),
 *   and each PostgreSQL service's in-network port published that way even when the file publishes
 *   nothing, so parallel runs never collide and a developer's own stack on 5433 is not in the way;
 *   always in the short syntax, which Compose v1 and v2 both read (v1 1.29 refuses `host_ip` in the long one);
 * - `container_name`, and the `name:` of non-external volumes and networks, dropped: fixed names
 *   would collide between runs and escape the run's project. A dropped `container_name` becomes a
 *   network alias of the service, so clients that use it as a host still reach it;
 * - the top-level `name:` dropped: the run passes its own project name.
 * `${VAR}` references stay as written; the run passes the variables in the environment.
 */
export async function writeComposeCopy(source: string | MergedCompose, postgresPorts: ReadonlyMap<string, number>, dir: string): Promise<ComposeCopy> {
  const merged: MergedCompose =
    typeof source === "string"
      ? { path: source, document: parseDocument(await readFile(source, "utf8"), { merge: true }).toJS({ maxAliasCount: -1 }) as Yaml }
      : source;
  const project = structuredClone(merged.document) as Yaml;
  const composePath = merged.path;
  const base = dirname(composePath);
  const topLevelName = typeof project.name === "string" ? project.name : undefined;
  delete project.name;

  const services = asMap(project.services) ?? {};
  for (const [name, value] of Object.entries(services)) {
    const service = asMap(value);
    if (!service) continue;
    // Compose would not start a service under an inactive profile: the copy leaves it out, and drops
    // `profiles:` from the others, so both Compose CLIs boot exactly the services this run checks.
    if (merged.inactiveServices?.includes(name)) {
      delete services[name];
      continue;
    }
    delete service.profiles;
    if (typeof service.container_name === "string") aliasOnEveryNetwork(service, service.container_name);
    delete service.container_name;
    rewriteBuild(service, base);
    if (service.volumes !== undefined) service.volumes = asList(service.volumes).map((volume) => absoluteVolume(volume, base));
    if (service.env_file !== undefined) service.env_file = asList(service.env_file).map((entry) => absoluteEnvFile(entry, base));
    const ports = asList(service.ports ?? []).map(loopbackPort);
    const postgresPort = postgresPorts.get(name);
    if (postgresPort !== undefined && !ports.some((port) => portTarget(port) === String(postgresPort))) ports.push(`${LOOPBACK}::${postgresPort}`);
    if (ports.length > 0) service.ports = ports;
    else delete service.ports;
  }
  for (const section of ["secrets", "configs"]) {
    for (const value of Object.values(asMap(project[section]) ?? {})) {
      const entry = asMap(value);
      if (entry && typeof entry.file === "string") entry.file = absolutePath(entry.file, base);
    }
  }
  for (const section of ["volumes", "networks"]) {
    for (const value of Object.values(asMap(project[section]) ?? {})) {
      const entry = asMap(value);
      if (entry && !entry.external) delete entry.name;
    }
  }

  const copy = join(dir, COMPOSE_COPY_NAME);
  await writeFile(copy, `# Rewritten by civic-conformance for one run from ${composePath}\n${stringify(project, { lineWidth: 0 })}`, { mode: 0o600 });
  return { file: copy, topLevelName };
}

/** A compose project already merged (overrides, `extends:`) as plain YAML data, with its main file's path (the project directory). */
export interface MergedCompose {
  readonly path: string;
  readonly document: Readonly<Record<string, unknown>>;
  /** Services this run does not start (under an inactive profile). */
  readonly inactiveServices?: readonly string[];
}

export interface ComposeCopy {
  /** Absolute path of the rewritten copy. */
  readonly file: string;
  /** The original's top-level `name:`, which names the developer's own project. */
  readonly topLevelName: string | undefined;
}

/** Adds `alias` to every network the service joins (`default` when it names none), in the long form. */
function aliasOnEveryNetwork(service: Yaml, alias: string): void {
  // `network_mode:` services join no network of the project: nothing to alias.
  if (service.network_mode !== undefined) return;
  const networks: Yaml = Array.isArray(service.networks)
    ? Object.fromEntries(service.networks.map((network) => [String(network), {}]))
    : (asMap(service.networks) ?? { default: {} });
  for (const [network, value] of Object.entries(networks)) {
    const settings = asMap(value) ?? {};
    const aliases = Array.isArray(settings.aliases) ? settings.aliases : [];
    networks[network] = { ...settings, aliases: [...new Set([...aliases, alias])] };
  }
  service.networks = networks;
}

function asMap(value: unknown): Yaml | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Yaml) : undefined;
}

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

/** A relative path or `~` made absolute; a path that still holds `${…}` is left to compose. */
function absolutePath(path: string, base: string): string {
  if (path.includes("$")) return path;
  if (path === "~" || path.startsWith("~/")) return join(homedir(), path.slice(1));
  return isAbsolute(path) ? path : resolve(base, path);
}

function rewriteBuild(service: Yaml, base: string): void {
  if (typeof service.build === "string") {
    service.build = { context: absolutePath(service.build, base) };
    return;
  }
  const build = asMap(service.build);
  if (!build) return;
  // A remote context (git URL) is not a path.
  const context = typeof build.context === "string" ? build.context : ".";
  if (!/^[a-z]+:\/\/|^git@/i.test(context)) build.context = absolutePath(context, base);
}

function absoluteVolume(volume: unknown, base: string): unknown {
  if (typeof volume === "string") {
    const [source, ...rest] = volume.split(":");
    if (rest.length === 0 || source === undefined) return volume;
    const isPath = source.startsWith(".") || source.startsWith("/") || source.startsWith("~");
    return isPath ? [absolutePath(source, base), ...rest].join(":") : volume;
  }
  const entry = asMap(volume);
  if (entry && entry.type === "bind" && typeof entry.source === "string") entry.source = absolutePath(entry.source, base);
  return volume;
}

function absoluteEnvFile(entry: unknown, base: string): unknown {
  if (typeof entry === "string") return absolutePath(entry, base);
  const map = asMap(entry);
  if (map && typeof map.path === "string") map.path = absolutePath(map.path, base);
  return entry;
}

/**
 * `[[ip:]published:]target[/protocol]` or the long form, re-published on loopback at a port Docker
 * picks, as `127.0.0.1::<target>[/<protocol>]`. The long form's `mode`, `name` and `app_protocol`
 * do not change where a port is published on one engine.
 */
function loopbackPort(port: unknown): string {
  const entry = asMap(port);
  if (entry) return `${LOOPBACK}::${String(entry.target)}${entry.protocol === undefined ? "" : `/${String(entry.protocol)}`}`;
  const text = String(port);
  const [address, protocol] = text.split("/");
  const target = address!.split(":").pop()!;
  return `${LOOPBACK}::${target}${protocol === undefined ? "" : `/${protocol}`}`;
}

function portTarget(port: string): string {
  return port.split("/")[0]!.split(":").pop()!;
}
