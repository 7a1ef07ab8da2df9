import type { LocatedMap, LocatedNode, LocatedPair, LocatedScalar } from "./located-yaml.js";

/**
 * Merges a later compose file over an earlier one as `docker compose` does (compose-spec "Merge and
 * override", compose-go's override rules), node by node, so every merged value keeps the file and
 * line it came from:
 * - mappings merge key by key, a later scalar replaces an earlier one, sequences append;
 * - `command`, `entrypoint` and `healthcheck.test` are replaced, never appended;
 * - `environment`, `labels`, `annotations`, `sysctls` (list `KEY=VALUE` or mapping) and
 *   `depends_on`, `networks` (list or mapping) merge by key;
 * - `ports` are unique by {ip, published, target, protocol}; `volumes`, `secrets` and `configs` by
 *   target: a later entry replaces the earlier one with the same key, other entries append;
 * - `env_file` appends (a path listed again is not repeated); `build: <context>` merges as `{ context }`;
 * - `!reset` removes what earlier files set, `!override` replaces it whole.
 * The same rules merge a service over the one it `extends:`.
 */
export function mergeProjects(base: LocatedMap, override: LocatedMap): LocatedMap {
  return mergeMapping(base, override, (key, earlier, later) => {
    if (key === "services" && earlier.kind === "map" && later.kind === "map") {
      return mergeMapping(earlier, later, (_name, a, b) => (a.kind === "map" && b.kind === "map" ? mergeService(a, b) : b));
    }
    return mergeGeneric(earlier, later);
  });
}

/** One service over another: an override file's over the earlier file's, or a service over the one it extends. */
export function mergeService(base: LocatedMap, override: LocatedMap): LocatedMap {
  return mergeMapping(base, override, (key, earlier, later) => {
    switch (key) {
      case "command":
      case "entrypoint":
        return later;
      case "healthcheck":
        return earlier.kind === "map" && later.kind === "map" ? mergeMapping(earlier, later, (field, a, b) => (field === "test" ? b : mergeGeneric(a, b))) : later;
      case "environment":
      case "labels":
      case "annotations":
      case "sysctls":
        return mergeGeneric(keyValueMap(earlier), keyValueMap(later));
      case "depends_on":
      case "networks":
        return mergeGeneric(nameMap(earlier), nameMap(later));
      case "ports":
        return mergeUnique(earlier, later, portKey);
      case "volumes":
        return mergeUnique(earlier, later, volumeTarget);
      case "secrets":
      case "configs":
        return mergeUnique(earlier, later, mountTarget);
      case "env_file":
        return mergeUnique(asSeq(earlier), asSeq(later), envFilePath);
      case "build":
        return mergeGeneric(buildMap(earlier), buildMap(later));
      case "profiles":
        return mergeUnique(earlier, later, (item) => (item.kind === "scalar" ? String(item.value) : undefined));
      default:
        return mergeGeneric(earlier, later);
    }
  });
}

type PairMerge = (key: string, earlier: LocatedNode, later: LocatedNode) => LocatedNode;

/** Keys of `base` in their order (merged where `override` has them too), then `override`'s new keys. */
function mergeMapping(base: LocatedMap, override: LocatedMap, merge: PairMerge): LocatedMap {
  const laterByKey = new Map(override.pairs.map((pair) => [pair.key, pair]));
  const pairs: LocatedPair[] = [];
  for (const pair of base.pairs) {
    const later = laterByKey.get(pair.key);
    if (!later) {
      pairs.push(pair);
      continue;
    }
    laterByKey.delete(pair.key);
    const value = resolveTags(later.value, () => merge(pair.key, pair.value, later.value));
    // A mapping merged into keeps the earlier key's line (its entries carry their own); a value the later
    // file writes anew (a scalar, a list, `build: <context>`) is at the later key.
    if (value) pairs.push({ key: pair.key, keyOrigin: later.value.kind === "map" ? pair.keyOrigin : later.keyOrigin, value });
  }
  for (const later of laterByKey.values()) {
    if (later.value.tag === "!reset") continue;
    pairs.push({ ...later, value: untagged(later.value) });
  }
  return { ...base, pairs };
}

/** `!reset` removes, `!override` replaces whole, anything else merges. */
function resolveTags(later: LocatedNode, merge: () => LocatedNode): LocatedNode | undefined {
  if (later.tag === "!reset") return undefined;
  if (later.tag === "!override") return untagged(later);
  return merge();
}

function untagged(node: LocatedNode): LocatedNode {
  if (!node.tag) return node;
  const { tag: _tag, ...rest } = node;
  return rest as LocatedNode;
}

function mergeGeneric(earlier: LocatedNode, later: LocatedNode): LocatedNode {
  if (earlier.kind === "map" && later.kind === "map") return mergeMapping(earlier, later, (_key, a, b) => mergeGeneric(a, b));
  if (earlier.kind === "seq" && later.kind === "seq") return { ...earlier, items: [...earlier.items, ...later.items] };
  return later;
}

/** Sequence entries unique by a key: a later entry replaces (or merges into) the earlier one with its key; the rest append. */
function mergeUnique(earlier: LocatedNode, later: LocatedNode, keyOf: (item: LocatedNode) => string | undefined): LocatedNode {
  if (earlier.kind !== "seq" || later.kind !== "seq") return later;
  const items = [...earlier.items];
  for (const item of later.items) {
    const key = keyOf(item);
    const index = key === undefined ? -1 : items.findIndex((existing) => keyOf(existing) === key);
    if (index < 0) items.push(item);
    else items[index] = mergeGeneric(items[index]!, item);
  }
  return { ...earlier, items };
}

function asSeq(node: LocatedNode): LocatedNode {
  return node.kind === "seq" ? node : { kind: "seq", origin: node.origin, items: [node] };
}

/** `KEY=VALUE` list items as mapping pairs (a bare `KEY` passes the caller's value through: a null value). */
function keyValueMap(node: LocatedNode): LocatedNode {
  if (node.kind !== "seq") return node;
  const pairs = new Map<string, LocatedPair>();
  for (const item of node.items) {
    if (item.kind !== "scalar") continue;
    const text = item.raw;
    const equals = text.indexOf("=");
    const key = (equals < 0 ? text : text.slice(0, equals)).trim();
    const value: LocatedScalar =
      equals < 0 ? { kind: "scalar", origin: item.origin, value: null, raw: "" } : { kind: "scalar", origin: item.origin, value: text.slice(equals + 1), raw: text.slice(equals + 1) };
    pairs.set(key, { key, keyOrigin: item.origin, value });
  }
  return { kind: "map", origin: node.origin, pairs: [...pairs.values()] } satisfies LocatedMap;
}

/** A list of names (`depends_on: [db]`, `networks: [front]`) as a mapping of names to empty values. */
function nameMap(node: LocatedNode): LocatedNode {
  if (node.kind !== "seq") return node;
  const pairs: LocatedPair[] = node.items
    .filter((item): item is LocatedScalar => item.kind === "scalar")
    .map((item) => ({ key: String(item.value), keyOrigin: item.origin, value: { kind: "scalar", origin: item.origin, value: null, raw: "" } }));
  return { kind: "map", origin: node.origin, pairs } satisfies LocatedMap;
}

function buildMap(node: LocatedNode): LocatedNode {
  if (node.kind !== "scalar") return node;
  return { kind: "map", origin: node.origin, pairs: [{ key: "context", keyOrigin: node.origin, value: node }] } satisfies LocatedMap;
}

function field(node: LocatedNode, key: string): string | undefined {
  if (node.kind !== "map") return undefined;
  const value = node.pairs.find((pair) => pair.key === key)?.value;
  return value?.kind === "scalar" && value.value !== null ? String(value.value) : undefined;
}

/** `[ip:][published:]target[/protocol]`, or the long form's fields. */
function portKey(item: LocatedNode): string | undefined {
  if (item.kind === "map") return [field(item, "host_ip") ?? "", field(item, "published") ?? "", field(item, "target") ?? "", field(item, "protocol") ?? "tcp"].join("|");
  if (item.kind !== "scalar") return undefined;
  const [address = "", protocol = "tcp"] = String(item.value).split("/");
  const ipMatch = /^(\[[^\]]*\]|[0-9.]+):(.*)$/.exec(address);
  const ip = ipMatch && ipMatch[2]!.includes(":") ? ipMatch[1]! : "";
  const rest = ip ? address.slice(ip.length + 1) : address;
  const parts = rest.split(":");
  return [ip, parts.length > 1 ? parts[0] : "", parts[parts.length - 1], protocol].join("|");
}

function volumeTarget(item: LocatedNode): string | undefined {
  if (item.kind === "map") return field(item, "target");
  if (item.kind !== "scalar") return undefined;
  const parts = String(item.value).split(":");
  return parts.length === 1 ? parts[0] : parts[1];
}

function mountTarget(item: LocatedNode): string | undefined {
  if (item.kind === "map") return field(item, "target") ?? field(item, "source");
  return item.kind === "scalar" ? String(item.value) : undefined;
}

function envFilePath(item: LocatedNode): string | undefined {
  if (item.kind === "map") return field(item, "path");
  return item.kind === "scalar" ? String(item.value) : undefined;
}

