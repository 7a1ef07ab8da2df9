import { relative, sep } from "node:path";

/** `absolutePath` relative to `root`, with forward slashes: the form findings and reports carry. */
export function repoRelative(root: string, absolutePath: string): string {
  return relative(root, absolutePath).split(sep).join("/");
}
