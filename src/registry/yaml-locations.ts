import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from "yaml";

/** Lines of a parsed YAML (or JSON) document by value path: a mapping key's line, a list item's line. */
export interface YamlLocations {
  /** Line of the deepest part of `path` that exists; 1 when none does. */
  lineOf(path: readonly PropertyKey[]): number;
}

export function yamlLocations(document: Document, lineCounter: LineCounter): YamlLocations {
  const lineAt = (node: Node | null | undefined) => (node?.range ? lineCounter.linePos(node.range[0]).line : undefined);
  return {
    lineOf(path) {
      let node: unknown = document.contents;
      let line = lineAt(document.contents as Node | null) ?? 1;
      for (const segment of path) {
        if (isMap(node)) {
          const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment));
          if (!pair) break;
          line = lineAt(pair.key as Node) ?? line;
          node = pair.value;
        } else if (isSeq(node)) {
          const item = node.items[Number(segment)];
          if (item === undefined) break;
          line = lineAt(item as Node) ?? line;
          node = item;
        } else {
          break;
        }
      }
      return line;
    },
  };
}
