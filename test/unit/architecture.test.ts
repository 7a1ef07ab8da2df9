/**
 * The layer rule of docs/architecture.md, enforced: every relative import in src/ goes to the same
 * folder or to a folder listed above it (a lower layer), and no chain of imports comes back to where
 * it started. The layer list is read from the document itself, so the two cannot drift apart.
 */
import { readdir, readFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../helpers/fixtures.js";

const SRC = join(REPO_ROOT, "src");

/** Folder → rank (1 = lowest), from the numbered list between the `layers` markers. */
export function parseLayers(markdown: string): Map<string, number> {
  const block = /<!-- layers:start -->\n([\s\S]*?)<!-- layers:end -->/.exec(markdown)?.[1];
  if (!block) throw new Error("docs/architecture.md has no <!-- layers:start/end --> block");
  const layers = new Map<string, number>();
  for (const line of block.split("\n")) {
    const match = /^(\d+)\. `([a-z-]+)`/.exec(line);
    if (match) layers.set(match[2]!, Number(match[1]));
  }
  return layers;
}

/** Relative specifiers of every static import / re-export and literal dynamic import. */
export function importSpecifiers(source: string): string[] {
  const specifiers: string[] = [];
  const patterns = [/^\s*(?:import|export)\s[^;]*?\sfrom\s+["']([^"']+)["']/gm, /^\s*import\s+["']([^"']+)["']/gm, /\bimport\(\s*["']([^"']+)["']\s*\)/g];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) specifiers.push(match[1]!);
  return specifiers.filter((specifier) => specifier.startsWith("."));
}

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts"))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

export interface ImportEdge {
  readonly from: string;
  readonly to: string;
}

/** Import edges between src/ files (repo-relative), `.js` specifiers mapped to their `.ts` source. */
export async function importGraph(srcDir: string): Promise<ImportEdge[]> {
  const edges: ImportEdge[] = [];
  for (const file of await sourceFiles(srcDir)) {
    for (const specifier of importSpecifiers(await readFile(file, "utf8"))) {
      const target = resolve(dirname(file), specifier).replace(/\.js$/, ".ts");
      if (!target.startsWith(srcDir + sep)) continue; // package.json and the like: not a layer
      edges.push({ from: relative(srcDir, file), to: relative(srcDir, target) });
    }
  }
  return edges;
}

const folderOf = (path: string) => (path.includes(sep) ? path.split(sep)[0]! : "(src root)");

/** Every import that goes up (to a later layer) or sideways (to another folder of the same rank), or into an unlisted folder. */
export function layerViolations(edges: readonly ImportEdge[], layers: ReadonlyMap<string, number>): string[] {
  const problems: string[] = [];
  for (const { from, to } of edges) {
    const [source, target] = [folderOf(from), folderOf(to)];
    const [sourceRank, targetRank] = [layers.get(source), layers.get(target)];
    if (sourceRank === undefined) problems.push(`${from}: folder ${source} is not a layer of docs/architecture.md`);
    else if (targetRank === undefined) problems.push(`${from} imports ${to}: folder ${target} is not a layer of docs/architecture.md`);
    else if (source !== target && targetRank >= sourceRank) problems.push(`${from} (${source}, layer ${sourceRank}) imports ${to} (${target}, layer ${targetRank})`);
  }
  return [...new Set(problems)];
}

/** Each import cycle once, as the chain of files that closes it (Tarjan's strongly connected components). */
export function importCycles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) next.set(from, [...(next.get(from) ?? []), to]);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let counter = 0;
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter++);
    stack.push(node);
    onStack.add(node);
    for (const target of next.get(node) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node)!, index.get(target)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || next.get(node)?.includes(node)) cycles.push(component.sort());
  };
  for (const node of [...next.keys()].sort()) if (!index.has(node)) visit(node);
  return cycles;
}

describe("the layers of docs/architecture.md", () => {
  it("hold in src/: no import goes up or sideways, and every folder is a listed layer", async () => {
    const layers = parseLayers(await readFile(join(REPO_ROOT, "docs", "architecture.md"), "utf8"));
    expect(layers.size).toBeGreaterThanOrEqual(10);
    const folders = (await readdir(SRC, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
    expect(folders.filter((folder) => !layers.has(folder))).toEqual([]);
    expect(layerViolations(await importGraph(SRC), layers)).toEqual([]);
  });

  it("keep the pg package inside postgres/: no raw pg client anywhere else", async () => {
    const outside: string[] = [];
    for (const file of await sourceFiles(SRC)) {
      const path = relative(SRC, file);
      if (folderOf(path) === "postgres") continue;
      if (/from\s+["']pg(?:\/[^"']*)?["']/.test(await readFile(file, "utf8"))) outside.push(path);
    }
    expect(outside).toEqual([]);
  });

  it("leave no import cycle among src/ files", async () => {
    expect(importCycles(await importGraph(SRC))).toEqual([]);
  });

  it("catch an upward import, a sideways one and a cycle (the test can fail)", () => {
    const layers = new Map([
      ["core", 1],
      ["postgres", 2],
      ["registry", 2],
      ["checks", 3],
    ]);
    const edges: ImportEdge[] = [
      { from: join("checks", "a.ts"), to: join("core", "b.ts") },
      { from: join("core", "b.ts"), to: join("checks", "a.ts") },
      { from: join("postgres", "c.ts"), to: join("registry", "d.ts") },
      { from: "loose.ts", to: join("core", "b.ts") },
    ];
    expect(layerViolations(edges, layers)).toEqual([
      `${join("core", "b.ts")} (core, layer 1) imports ${join("checks", "a.ts")} (checks, layer 3)`,
      `${join("postgres", "c.ts")} (postgres, layer 2) imports ${join("registry", "d.ts")} (registry, layer 2)`,
      "loose.ts: folder (src root) is not a layer of docs/architecture.md",
    ]);
    expect(importCycles(edges)).toEqual([[join("checks", "a.ts"), join("core", "b.ts")]]);
    expect(importSpecifiers(`import type { A } from "./a.js";\nexport { b } from "../b.js";\nimport "./side.js";\nconst c = await import("./c.js");\nimport pg from "pg";`)).toEqual(["./a.js", "../b.js", "./side.js", "./c.js"]);
  });
});
