/**
 * Rules are data: every rule id a check can emit is declared in its `rules.ts`, and every declared
 * rule is emitted somewhere. Proven on the sources: each `"<check id>/<rule>"` literal in a check's
 * folder must be one of its declarations, and a rule id built at run time (a template literal that
 * starts with the check's id) is refused outright, since no scan could see which ids it makes.
 */
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { templateCheck } from "../../src/checks/_template/index.js";
import type { Check } from "../../src/checks/check.js";
import { ALL_CHECKS, ALL_RULES, CHECK_IDS, ruleDeclaration } from "../../src/checks/registered.js";
import { REPO_ROOT } from "../helpers/fixtures.js";

const CHECKS_DIR = join(REPO_ROOT, "src", "checks");

export interface RuleUse {
  readonly file: string;
  readonly line: number;
  readonly id: string;
  readonly dynamic: boolean;
}

/** Rule ids a source text names: `"<check>/<rule>"` literals, and template literals that build one. */
export function ruleUses(source: string, checkId: string, file: string): RuleUse[] {
  const escaped = checkId.replace(/[-]/g, "\\-");
  const pattern = new RegExp(String.raw`(["'\`])(${escaped}/[a-z0-9-]*)(\$\{)?`, "g");
  const uses: RuleUse[] = [];
  for (const match of source.matchAll(pattern)) {
    const dynamic = match[1] === "`" && match[3] !== undefined;
    const closed = source[match.index + match[0].length] === match[1];
    if (!dynamic && !closed) continue; // a path such as "registry/model.js", not a rule id
    uses.push({ file, line: source.slice(0, match.index).split("\n").length, id: match[2]!, dynamic });
  }
  return uses;
}

async function checkSources(folder: string): Promise<{ file: string; source: string }[]> {
  const entries = await readdir(join(CHECKS_DIR, folder), { recursive: true, withFileTypes: true });
  const files = entries.filter((entry) => entry.isFile() && entry.name.endsWith(".ts") && entry.name !== "rules.ts");
  return Promise.all(files.map(async (entry) => {
    const path = join(entry.parentPath, entry.name);
    return { file: relative(REPO_ROOT, path), source: await readFile(path, "utf8") };
  }));
}

/** Every problem with one check's rules: undeclared ids, ids built at run time, declared ids never named. */
export function ruleProblems(check: Pick<Check, "id" | "rules">, sources: readonly { file: string; source: string }[]): string[] {
  const declared = new Set(check.rules.map((rule) => rule.id));
  const uses = sources.flatMap(({ file, source }) => ruleUses(source, check.id, file));
  const problems: string[] = [];
  for (const use of uses) {
    if (use.dynamic) problems.push(`${use.file}:${use.line}: a rule id built at run time (\`${use.id}\${…}\`): name each rule in full`);
    else if (!declared.has(use.id)) problems.push(`${use.file}:${use.line}: ${use.id} is emitted but not declared in rules.ts`);
  }
  const named = new Set(uses.map((use) => use.id));
  for (const id of declared) if (!named.has(id)) problems.push(`${id} is declared but no source of the check names it`);
  for (const rule of check.rules) if (!rule.id.startsWith(`${check.id}/`)) problems.push(`${rule.id} is declared by ${check.id} without its prefix`);
  return problems;
}

const folderOf = (id: string) => (id === "template" ? "_template" : id);

describe("rule declarations", () => {
  for (const check of [...ALL_CHECKS, templateCheck] as Check[]) {
    it(`cover exactly the rule ids the ${check.id} check emits`, async () => {
      expect(ruleProblems(check, await checkSources(folderOf(check.id)))).toEqual([]);
    });
  }

  it("give every rule a summary and help, and CHECK_IDS follows the registered checks", () => {
    expect(CHECK_IDS).toEqual(ALL_CHECKS.map((check) => check.id));
    expect(new Set(ALL_RULES.map((rule) => rule.id)).size).toBe(ALL_RULES.length);
    for (const rule of ALL_RULES) {
      expect(rule.summary.length, rule.id).toBeGreaterThan(10);
      expect(rule.help.length, rule.id).toBeGreaterThan(10);
      expect(ruleDeclaration(rule.id)).toBe(rule);
    }
  });

  it("fail on an undeclared rule id, a rule id built at run time, and a declared rule nobody emits (the test can fail)", () => {
    const check = { id: "compose", rules: [{ id: "compose/port", severity: "error", summary: "s", help: "h" }, { id: "compose/unused-rule", severity: "error", summary: "s", help: "h" }] } as const;
    const sources = [
      { file: "a.ts", source: 'import x from "./compose/model.js";\nconst a = { rule: "compose/port" };\nconst b = { rule: "compose/not-declared" };' },
      { file: "b.ts", source: "const c = { rule: `compose/${kind}` };" },
    ];
    expect(ruleProblems(check, sources)).toEqual([
      "a.ts:3: compose/not-declared is emitted but not declared in rules.ts",
      "b.ts:1: a rule id built at run time (`compose/${…}`): name each rule in full",
      "compose/unused-rule is declared but no source of the check names it",
    ]);
  });
});
