import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fillRuleMarkers, renderRuleTable, updateRuleDocs } from "../../scripts/rule-docs.js";
import { ALL_RULES } from "../../src/checks/registered.js";
import { REPO_ROOT } from "../helpers/fixtures.js";

describe("the rule list in README.md", () => {
  it("is what the checks declare (run `npx tsx scripts/rule-docs.ts` when this fails)", async () => {
    expect(await updateRuleDocs({ check: true })).toBe(false);
  });

  it("names every declared rule with its default severity", async () => {
    const readme = await readFile(join(REPO_ROOT, "README.md"), "utf8");
    for (const rule of ALL_RULES) expect(readme).toContain(`| \`${rule.id}\` | ${rule.severity} |`);
  });

  it("replaces a stale list between the markers and fails loudly without markers", () => {
    const table = renderRuleTable([{ id: "x", rules: [{ id: "x/a", severity: "warning", summary: "first | second", help: "do\nthis" }] }]);
    const filled = fillRuleMarkers("intro\n<!-- rules:start -->\nold\n<!-- rules:end -->\n", table);
    expect(filled).toContain("| `x/a` | warning | first \\| second | do this |");
    expect(filled).not.toContain("old");
    expect(() => fillRuleMarkers("no markers", table)).toThrow(/markers/);
  });
});
