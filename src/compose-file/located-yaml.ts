import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from "yaml";
import { UsageError } from "../core/errors.js";
import { inspectAliases } from "./yaml-aliases.js";

/**
 * A compose file's YAML as a plain tree where every node remembers the file and line it was written
 * at. Aliases and `<<` merge keys are expanded on reading, so several files (the main file, its
 * overrides, the files `extends:` names) can be merged node by node, and every value of the merged
 * project still points at the line a user has to change.
 */
export interface NodeOrigin {
  /** Repo-relative path of the file, forward slashes. */
  readonly file: string;
  /** 1-based. */
  readonly line: number;
}

interface NodeBase {
  readonly origin: NodeOrigin;
  /** Compose's merge tags on an override's value: `!reset` removes what earlier files set, `!override` replaces it whole. */
  readonly tag?: "!reset" | "!override";
}

export interface LocatedScalar extends NodeBase {
  readonly kind: "scalar";
  /** As YAML typed it (a string as written, never interpolated). */
  readonly value: string | number | boolean | null;
  /** The text as written: what interpolation reads (numbers and booleans keep their spelling). */
  readonly raw: string;
}

export interface LocatedPair {
  readonly key: string;
  readonly keyOrigin: NodeOrigin;
  readonly value: LocatedNode;
}

export interface LocatedMap extends NodeBase {
  readonly kind: "map";
  readonly pairs: readonly LocatedPair[];
}

export interface LocatedSeq extends NodeBase {
  readonly kind: "seq";
  readonly items: readonly LocatedNode[];
}

export type LocatedNode = LocatedScalar | LocatedMap | LocatedSeq;

/** The document's content as a located tree; `undefined` for an empty document. */
export function locatedDocument(document: Document, lineCounter: LineCounter, file: string): LocatedNode | undefined {
  // Aliases resolved once, their expansion bounded and duplicate keys refused before anything is built.
  const aliasTargets = inspectAliases(document, lineCounter, file);
  const lineOf = (node: unknown, fallback: number) => {
    const range = (node as Node | null)?.range;
    return range ? lineCounter.linePos(range[0]).line : fallback;
  };
  const convert = (node: unknown, fallbackLine: number): LocatedNode => {
    const resolved = isAlias(node) ? aliasTargets.get(node) : node;
    const origin: NodeOrigin = { file, line: lineOf(node, fallbackLine) };
    const tag = mergeTag(resolved);
    if (isMap(resolved)) return { kind: "map", origin, ...(tag && { tag }), pairs: mapPairs(resolved, origin.line) };
    if (isSeq(resolved)) return { kind: "seq", origin, ...(tag && { tag }), items: resolved.items.map((item) => convert(item, origin.line)) };
    if (isScalar(resolved)) {
      const value = resolved.value;
      const typed = value === null || value === undefined ? null : typeof value === "number" || typeof value === "boolean" ? value : String(value);
      const raw = resolved.source ?? (typeof value === "string" ? value : typed === null ? "" : String(typed));
      return { kind: "scalar", origin, ...(tag && { tag }), value: typed, raw };
    }
    // An empty value (`key:`) is a null scalar.
    return { kind: "scalar", origin, value: null, raw: "" };
  };
  // Explicit keys win over `<<` merged ones; among merge sources the first one listed wins (YAML merge key spec).
  const mapPairs = (map: { items: unknown[] }, line: number): LocatedPair[] => {
    const explicit: LocatedPair[] = [];
    const merged: LocatedPair[] = [];
    for (const pair of map.items) {
      if (!isPair(pair)) continue;
      if (!isScalar(pair.key)) throw new UsageError("a mapping has a key that is not a plain value", { file, line: lineOf(pair.key, line) });
      // With `merge: true` the parser turns `<<` into a symbol key; its source is still `<<`.
      const key = typeof pair.key.value === "symbol" ? (pair.key.source ?? "<<") : String(pair.key.value);
      const keyOrigin: NodeOrigin = { file, line: lineOf(pair.key, line) };
      if (key === "<<" && (isAlias(pair.value) || isSeq(pair.value))) {
        const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
        for (const source of sources) {
          const converted = convert(source, keyOrigin.line);
          if (converted.kind !== "map") throw new UsageError("a `<<` merge source must be a mapping", { file, line: keyOrigin.line });
          merged.push(...converted.pairs);
        }
        continue;
      }
      explicit.push({ key, keyOrigin, value: pair.value === null || pair.value === undefined ? { kind: "scalar", origin: keyOrigin, value: null, raw: "" } : convert(pair.value, keyOrigin.line) });
    }
    const seen = new Set(explicit.map((pair) => pair.key));
    for (const pair of merged) {
      if (seen.has(pair.key)) continue;
      seen.add(pair.key);
      explicit.push(pair);
    }
    return explicit;
  };
  if (document.contents === null || document.contents === undefined) return undefined;
  return convert(document.contents, 1);
}

function mergeTag(node: unknown): "!reset" | "!override" | undefined {
  const tag = (node as { tag?: string } | null)?.tag;
  return tag === "!reset" || tag === "!override" ? tag : undefined;
}

/** The value of a mapping's key, or undefined. */
export function pairOf(map: LocatedMap, key: string): LocatedPair | undefined {
  return map.pairs.find((pair) => pair.key === key);
}

/** The tree as plain YAML data (for writing a compose file back out): merge tags dropped, scalars as typed. */
export function toPlain(node: LocatedNode): unknown {
  switch (node.kind) {
    case "scalar":
      return node.value;
    case "seq":
      return node.items.map(toPlain);
    case "map":
      return Object.fromEntries(node.pairs.map((pair) => [pair.key, toPlain(pair.value)]));
  }
}
