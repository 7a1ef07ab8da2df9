/**
 * One linear pass over a parsed compose document, before anything reads it:
 * - every alias is resolved once (the `yaml` library's `Alias.resolve(doc)` walks the whole
 *   document on each call, which is quadratic for a file with an alias per service);
 * - what the aliases and `<<` merge keys expand to is counted without expanding anything, and a
 *   document that expands past a budget is refused: a 2 KB "billion laughs" of nested `<<:` merges
 *   would otherwise keep the reader busy for ever (docker compose's YAML library refuses those too);
 * - duplicate keys in a mapping are refused at the second key's line, as compose refuses them (the
 *   document is parsed with `uniqueKeys: false`: the library's own check is quadratic per mapping).
 */
import { type Alias, type Document, isAlias, isMap, isPair, isScalar, isSeq, type LineCounter, type Node } from "yaml";
import { UsageError } from "../core/errors.js";

/** Nodes an alias-free document may grow to through its aliases: at least this many… */
const MIN_EXPANSION_BUDGET = 100_000;
/** …or this many times the nodes written in the file, whichever is more. */
const EXPANSION_FACTOR = 10;

/** Each alias of the document and the node it stands for (the last anchor of that name before it). */
export type AliasTargets = ReadonlyMap<Alias, Node | undefined>;

export function inspectAliases(document: Document, lineCounter: LineCounter, file: string): AliasTargets {
  const lineOf = (node: unknown) => {
    const range = (node as Node | null)?.range;
    return range ? lineCounter.linePos(range[0]).line : 1;
  };
  const fail = (message: string, node: unknown): never => {
    throw new UsageError(message, { file, line: lineOf(node) });
  };

  const targets = new Map<Alias, Node | undefined>();
  const anchors = new Map<string, Node>();
  /** Expanded size of each finished anchored node (what an alias may name; bookkeeping for anchored nodes only, a big file has few). */
  const weights = new Map<Node, number>();
  /** Anchored collections being weighed: an alias to one of them is a cycle. */
  const inProgress = new Set<Node>();
  let written = 0;
  let expanded = 0;
  const aliasSites: Array<{ alias: Alias; weight: number }> = [];

  // Document order, post-order sizes. Recursion depth is the document's nesting depth.
  const weigh = (node: unknown): number => {
    if (node === null || node === undefined) return 1;
    written += 1;
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      targets.set(node, target);
      if (target === undefined) return 1;
      if (inProgress.has(target)) fail(`the alias *${node.source} refers to a node that contains it (a cycle)`, node);
      const weight = weights.get(target) ?? 1;
      aliasSites.push({ alias: node, weight });
      expanded += weight;
      return weight;
    }
    const anchored = node as Node;
    let weight = 1;
    if (isMap(node) || isSeq(node)) {
      if (anchored.anchor) {
        inProgress.add(anchored);
        anchors.set(anchored.anchor, anchored);
      }
      const keys = new Map<string, Node>();
      for (const item of node.items) {
        if (isPair(item)) {
          if (isScalar(item.key) && typeof item.key.value !== "symbol") {
            const key = String(item.key.value);
            const first = keys.get(key);
            if (first !== undefined) fail(`invalid YAML: map keys must be unique, and "${key}" is repeated (first at line ${lineOf(first)})`, item.key);
            keys.set(key, item.key);
          }
          weight += weigh(item.key) + weigh(item.value);
        } else {
          weight += weigh(item);
        }
      }
      inProgress.delete(anchored);
    } else if (anchored.anchor) {
      anchors.set(anchored.anchor, anchored);
    }
    if (anchored.anchor) weights.set(anchored, weight);
    return weight;
  };

  try {
    weigh(document.contents);
  } catch (error) {
    if (error instanceof RangeError) fail("the compose file nests too deeply to be read", document.contents);
    throw error;
  }

  const budget = Math.max(MIN_EXPANSION_BUDGET, EXPANSION_FACTOR * written);
  if (expanded > budget) {
    // Point at the alias where the running total crosses the budget: the first one of the pattern.
    let total = 0;
    const culprit = aliasSites.find((site) => (total += site.weight) > budget) ?? aliasSites[0]!;
    fail(
      `aliases and \`<<\` merge keys expand this compose file to more than ${budget} nodes (from ${written} written): ` +
        `a resource exhaustion pattern, refused as docker compose refuses it`,
      culprit.alias,
    );
  }
  return targets;
}
