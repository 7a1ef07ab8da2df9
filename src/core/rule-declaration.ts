import type { Profile, RuleLevel } from "./conformance-config.js";
import type { Severity } from "./report-model.js";

/**
 * What a check declares about each rule it reports, beside its code (`checks/<id>/rules.ts`). The
 * documentation (README's rule list), SARIF rule metadata and the id lists derive from these.
 * A rule that encodes a house convention of the civic layout says what the other profiles make of it.
 */
export interface RuleDeclaration {
  /** `<check id>/<rule>`, e.g. `isolation/foreign-connect`. Stable: tools key on it. */
  readonly id: string;
  /** The severity of its findings unless a finding says otherwise (a rule that cannot verify something warns). */
  readonly severity: Severity;
  /** One line: what a finding of this rule means. */
  readonly summary: string;
  /** How to fix a finding of this rule, in general terms (a finding's own `fix` names the service and line). */
  readonly help: string;
  /**
   * What a profile makes of the rule's findings when it differs from their own severity: `off` (not
   * reported) or a severity for all of them. The seed's house conventions (`registry/database-name`,
   * `compose/port`, …) are `civic` rules: `{ portable: "off" }` or `{ portable: "warning" }`. Absent:
   * every profile reports the findings as the check gives them. The configuration file's `rules:`
   * override both.
   */
  readonly profiles?: Readonly<Partial<Record<Profile, RuleLevel>>>;
}

/** What `profile` makes of a finding of `rule` with severity `severity`: its level, or `off`. */
export function levelInProfile(rule: Pick<RuleDeclaration, "profiles"> | undefined, profile: Profile, severity: Severity): RuleLevel {
  const level = rule?.profiles?.[profile];
  if (level === undefined || level === "off") return level ?? severity;
  // A profile only ever lowers a rule: a finding the check itself reports as a warning stays one.
  return level === "warning" || severity === "warning" ? "warning" : "error";
}
