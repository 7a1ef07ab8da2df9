import { dirname, isAbsolute, resolve } from "node:path";
import { UsageError } from "../core/errors.js";
import type { LocatedMap, LocatedNode, LocatedPair, LocatedScalar } from "./located-yaml.js";
import { mergeService } from "./merge-compose.js";

/** A compose file's `services:` mapping, with the file it was read from. */
export interface ServicesOfFile {
  /** Absolute path. */
  readonly path: string;
  readonly services: LocatedMap;
}

export interface ExtendsContext {
  /** Absolute monorepo root: node origins are relative to it. */
  readonly repoRoot: string;
  /** Reads another compose file's services (parsed once per run). */
  readonly servicesOf: (absolutePath: string, from: { file: string; line: number }) => Promise<LocatedMap>;
}

/**
 * Every service with `extends:` replaced by the service it extends (resolved in turn) with its own
 * settings merged over it, as compose does: `extends: { service }` within the same file,
 * `extends: { file, service }` from another one (its path relative to the file that names it). Paths
 * in a service taken from a file in another folder (build context, bind mounts, env files) are made
 * absolute, so they keep meaning what they meant there. A cycle or a missing service is a UsageError
 * at the `extends:` line.
 */
export async function resolveExtends(project: ServicesOfFile, context: ExtendsContext): Promise<LocatedMap> {
  const resolved = new Map<string, Promise<LocatedMap>>();
  const resolveService = (owner: ServicesOfFile, name: string, node: LocatedMap, chain: readonly string[]): Promise<LocatedMap> => {
    const id = `${owner.path}\u0000${name}`;
    if (chain.includes(id)) {
      const extendsPair = node.pairs.find((pair) => pair.key === "extends")!;
      throw new UsageError(`service "${name}" extends itself through a cycle of \`extends:\``, { file: extendsPair.keyOrigin.file, line: extendsPair.keyOrigin.line });
    }
    let pending = resolved.get(id);
    if (!pending) {
      pending = resolveOne(owner, name, node, [...chain, id]);
      resolved.set(id, pending);
    }
    return pending;
  };

  const resolveOne = async (owner: ServicesOfFile, name: string, node: LocatedMap, chain: readonly string[]): Promise<LocatedMap> => {
    const extendsPair = node.pairs.find((pair) => pair.key === "extends");
    if (!extendsPair) return node;
    const own: LocatedMap = { ...node, pairs: node.pairs.filter((pair) => pair !== extendsPair) };
    const { baseName, file } = readExtends(extendsPair, name);
    const where = { file: extendsPair.keyOrigin.file, line: extendsPair.keyOrigin.line };
    let baseOwner = owner;
    if (file !== undefined) {
      const writtenIn = resolve(context.repoRoot, extendsPair.value.origin.file);
      const path = isAbsolute(file) ? file : resolve(dirname(writtenIn), file);
      baseOwner = { path, services: await context.servicesOf(path, where) };
    }
    const baseNode = baseOwner.services.pairs.find((pair) => pair.key === baseName)?.value;
    if (!baseNode || baseNode.kind !== "map") {
      throw new UsageError(`service "${name}" extends "${baseName}", which ${file === undefined ? "this project" : file} does not define as a service`, where);
    }
    let base = await resolveService(baseOwner, baseName, baseNode, chain);
    if (dirname(baseOwner.path) !== dirname(owner.path)) base = withAbsolutePaths(base, dirname(baseOwner.path));
    return mergeService(base, own);
  };

  const pairs: LocatedPair[] = [];
  for (const pair of project.services.pairs) {
    pairs.push(pair.value.kind === "map" ? { ...pair, value: await resolveService(project, pair.key, pair.value, []) } : pair);
  }
  return { ...project.services, pairs };
}

function readExtends(pair: LocatedPair, name: string): { baseName: string; file?: string } {
  const value = pair.value;
  const fail = (): never => {
    throw new UsageError(`\`extends\` of service "${name}" must name a service (\`extends: <service>\` or \`{ service: <service>, file: <file> }\`)`, {
      file: pair.keyOrigin.file,
      line: pair.keyOrigin.line,
    });
  };
  if (value.kind === "scalar") return value.value === null ? fail() : { baseName: String(value.value) };
  if (value.kind !== "map") return fail();
  const service = value.pairs.find((p) => p.key === "service")?.value;
  const file = value.pairs.find((p) => p.key === "file")?.value;
  if (service?.kind !== "scalar" || service.value === null) return fail();
  return { baseName: String(service.value), ...(file?.kind === "scalar" && file.value !== null && { file: String(file.value) }) };
}

const REMOTE_CONTEXT = /^[a-z]+:\/\/|^git@/i;

/** The service's relative host paths (build context, bind mount sources, env files) made absolute against `dir`. */
function withAbsolutePaths(service: LocatedMap, dir: string): LocatedMap {
  const absolute = (scalar: LocatedScalar): LocatedScalar => {
    const text = scalar.value === null ? "" : String(scalar.value);
    if (text === "" || text.includes("$") || isAbsolute(text) || text.startsWith("~") || REMOTE_CONTEXT.test(text)) return scalar;
    const path = resolve(dir, text);
    return { ...scalar, value: path, raw: path };
  };
  const mapField = (node: LocatedNode, key: string, change: (scalar: LocatedScalar) => LocatedScalar): LocatedNode => {
    if (node.kind !== "map") return node;
    return { ...node, pairs: node.pairs.map((pair) => (pair.key === key && pair.value.kind === "scalar" ? { ...pair, value: change(pair.value) } : pair)) };
  };
  const volume = (item: LocatedNode): LocatedNode => {
    if (item.kind === "map") {
      const type = item.pairs.find((pair) => pair.key === "type")?.value;
      return type?.kind === "scalar" && type.value === "bind" ? mapField(item, "source", absolute) : item;
    }
    if (item.kind !== "scalar" || item.value === null) return item;
    const [source, ...rest] = String(item.value).split(":");
    if (rest.length === 0 || !source?.startsWith(".")) return item;
    const text = [resolve(dir, source), ...rest].join(":");
    return { ...item, value: text, raw: text };
  };
  const envFile = (item: LocatedNode): LocatedNode => (item.kind === "scalar" ? absolute(item) : mapField(item, "path", absolute));
  return {
    ...service,
    pairs: service.pairs.map((pair) => {
      const value = pair.value;
      switch (pair.key) {
        case "build":
          return { ...pair, value: value.kind === "scalar" ? absolute(value) : mapField(value, "context", (context) => (REMOTE_CONTEXT.test(String(context.value)) ? context : absolute(context))) };
        case "volumes":
          return value.kind === "seq" ? { ...pair, value: { ...value, items: value.items.map(volume) } } : pair;
        case "env_file":
          return { ...pair, value: value.kind === "seq" ? { ...value, items: value.items.map(envFile) } : envFile(value) };
        default:
          return pair;
      }
    }),
  };
}
