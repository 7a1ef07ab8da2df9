// Renders the inputs and outputs tables of action.yml into README.md and docs/action.md between
// `<!-- action-inputs:start -->` / `<!-- action-inputs:end -->` markers (and the same for outputs),
// so the documentation never drifts from the action. `node scripts/action-docs.mjs` writes them;
// `--check` fails with the file names when they are stale (test/unit/action-docs.test.ts runs it).
import { readFile, writeFile } from "node:fs/promises";
import { parse } from "yaml";

const root = new URL("..", import.meta.url);
export const DOCUMENTS = ["README.md", "docs/action.md"];

const cell = (text) => String(text ?? "").replace(/\s*\n\s*/g, " ").replace(/\|/g, "\\|").trim();

export function renderTables(actionYml) {
  const action = parse(actionYml);
  const inputs = [
    "| input | default | meaning |",
    "|---|---|---|",
    ...Object.entries(action.inputs ?? {}).map(([name, input]) => `| \`${name}\` | ${input.default === undefined || input.default === "" ? "" : `\`${cell(input.default)}\``} | ${cell(input.description)} |`),
  ].join("\n");
  const outputs = ["| output | meaning |", "|---|---|", ...Object.entries(action.outputs ?? {}).map(([name, output]) => `| \`${name}\` | ${cell(output.description)} |`)].join("\n");
  return { inputs, outputs };
}

export function fillMarkers(document, tables) {
  let filled = document;
  for (const [name, table] of Object.entries(tables)) {
    const pattern = new RegExp(`(<!-- action-${name}:start -->\\n)[\\s\\S]*?(<!-- action-${name}:end -->)`);
    if (!pattern.test(filled)) throw new Error(`no <!-- action-${name}:start/end --> markers`);
    filled = filled.replace(pattern, (_m, start, end) => `${start}${table}\n${end}`);
  }
  return filled;
}

/** Returns the documents that were (or, with `check`, would be) changed. */
export async function updateDocs({ check = false } = {}) {
  const tables = renderTables(await readFile(new URL("action.yml", root), "utf8"));
  const stale = [];
  for (const name of DOCUMENTS) {
    const url = new URL(name, root);
    const before = await readFile(url, "utf8");
    const after = fillMarkers(before, tables);
    if (after === before) continue;
    stale.push(name);
    if (!check) await writeFile(url, after);
  }
  return stale;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const check = process.argv.includes("--check");
  const stale = await updateDocs({ check });
  if (check && stale.length > 0) {
    console.error(`The action's inputs/outputs tables are stale in ${stale.join(", ")}: run node scripts/action-docs.mjs`);
    process.exit(1);
  }
  if (!check) console.log(stale.length ? `updated ${stale.join(", ")}` : "docs already up to date");
}
