import type { Severity } from "./report-model.js";

/**
 * What a check declares about each rule it reports, beside its code (`checks/<id>/rules.ts`). The
 * documentation (README's rule list), SARIF rule metadata and the id lists derive from these.
 * Room is left for a later per-rule field (e.g. the rule profiles a rule belongs to).
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
}
