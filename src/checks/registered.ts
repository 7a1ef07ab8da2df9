import type { RuleDeclaration } from "../core/rule-declaration.js";
import { composeCheck } from "./compose/index.js";
import { dependenciesCheck } from "./dependencies/index.js";
import { driftCheck } from "./drift/index.js";
import { isolationCheck } from "./isolation/index.js";
import { migrationsCheck } from "./migrations/index.js";
import { ownDatabaseCheck } from "./own-database/index.js";
import { registryCheck } from "./registry/index.js";

/** Every check, in the order they run and are reported. Adding a check = its folder and one entry here. */
export const ALL_CHECKS = [
  registryCheck,
  driftCheck,
  composeCheck,
  ownDatabaseCheck,
  isolationCheck,
  migrationsCheck,
  dependenciesCheck,
] as const;

export type CheckId = (typeof ALL_CHECKS)[number]["id"];

/** The ids `--only` / `--skip` and the action's `checks` input accept. */
export const CHECK_IDS: readonly CheckId[] = ALL_CHECKS.map((check) => check.id);

/** Every rule of every registered check, in check order then declaration order. */
export const ALL_RULES: readonly RuleDeclaration[] = ALL_CHECKS.flatMap((check) => check.rules);

const rulesById = new Map(ALL_RULES.map((rule) => [rule.id, rule]));

/** The declaration of a rule id, or `undefined` for an id no registered check declares. */
export function ruleDeclaration(id: string): RuleDeclaration | undefined {
  return rulesById.get(id);
}
