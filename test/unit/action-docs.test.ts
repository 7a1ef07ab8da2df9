import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs build script without type declarations
import { fillMarkers, renderTables, updateDocs } from "../../scripts/action-docs.mjs";
import { REPO_ROOT } from "../helpers/fixtures.js";

describe("the action's inputs and outputs tables in the docs", () => {
  it("are what action.yml says (run `node scripts/action-docs.mjs` when this fails)", async () => {
    expect(await updateDocs({ check: true })).toEqual([]);
  });

  it("list every input of action.yml, with its default, in README.md", async () => {
    const readme = await readFile(join(REPO_ROOT, "README.md"), "utf8");
    const { inputs } = renderTables(await readFile(join(REPO_ROOT, "action.yml"), "utf8"));
    for (const name of ["working-directory", "product", "runtime", "checks", "fail-on", "comment", "github-token", "sarif-file", "junit-file"]) {
      expect(inputs).toContain(`| \`${name}\` |`);
    }
    expect(readme).toContain(inputs);
  });

  it("replace a stale table between the markers and fail loudly without markers", () => {
    const tables = renderTables("inputs:\n  a:\n    description: first | second\n    default: x\noutputs: {}\n");
    const filled = fillMarkers("intro\n<!-- action-inputs:start -->\nold\n<!-- action-inputs:end -->\n<!-- action-outputs:start -->\n<!-- action-outputs:end -->\n", tables);
    expect(filled).toContain("| `a` | `x` | first \\| second |");
    expect(filled).not.toContain("old");
    expect(() => fillMarkers("no markers", tables)).toThrow(/markers/);
  });
});
