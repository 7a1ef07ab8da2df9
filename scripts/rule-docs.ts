// Renders the rule list of README.md between `<!-- rules:start -->` / `<!-- rules:end -->` from the
// checks' declarations (src/checks/<id>/rules.ts), so the documentation never drifts from the code.
// `npx tsx scripts/rule-docs.ts` writes it; `--check` fails when it is stale (test/unit/rule-docs.test.ts runs it).
import { readFile, writeFile } from "node:fs/promises";
import { ALL_CHECKS } from "../src/checks/registered.js";
import type { RuleDeclaration } from "../src/core/rule-declaration.js";

const README = new URL("../README.md", import.meta.url);
const MARKERS = /(<!-- rules:start -->\n)[\s\S]*?(<!-- rules:end -->)/;

const cell = (text: string) => text.replace(/\s*\n\s*/g, " ").replace(/\|/g, "\\|").trim();

/** One table of every rule, grouped by check in the order the checks run. */
export function renderRuleTable(checks: readonly { readonly id: string; readonly rules: readonly RuleDeclaration[] }[]): string {
  return [
    "| rule | default severity | a finding means | how to fix | `portable` profile |",
    "|---|---|---|---|---|",
    ...checks.flatMap((check) =>
      check.rules.map((rule) => `| \`${rule.id}\` | ${rule.severity} | ${cell(rule.summary)} | ${cell(rule.help)} | ${rule.profiles?.portable ?? "as declared"} |`),
    ),
  ].join("\n");
}

export function fillRuleMarkers(document: string, table: string): string {
  if (!MARKERS.test(document)) throw new Error("no <!-- rules:start/end --> markers");
  return document.replace(MARKERS, (_match, start: string, end: string) => `${start}${table}\n${end}`);
}

/** Whether README.md was (or, with `check`, would be) changed. */
export async function updateRuleDocs({ check = false } = {}): Promise<boolean> {
  const before = await readFile(README, "utf8");
  const after = fillRuleMarkers(before, renderRuleTable(ALL_CHECKS));
  if (after === before) return false;
  if (!check) await writeFile(README, after);
  return true;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const check = process.argv.includes("--check");
  const stale = await updateRuleDocs({ check });
  if (check && stale) {
    console.error("The rule list in README.md is stale: run npx tsx scripts/rule-docs.ts");
    process.exit(1);
  }
  if (!check) console.log(stale ? "updated README.md" : "README.md already up to date");
}
