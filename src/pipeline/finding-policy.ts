import type { ConformanceConfig, Profile, RuleOverride, Suppression } from "../core/conformance-config.js";
import { UsageError } from "../core/errors.js";
import { type CheckResult, type CheckStatus, describeUncovered, type Finding, type Report, type ReportPolicy, type ReportSuppression, type SetAsideFinding } from "../core/report-model.js";
import { levelInProfile } from "../core/rule-declaration.js";
import { ALL_RULES, ruleDeclaration } from "../checks/registered.js";
import { closestName } from "../registry/closest-name.js";

/** The rule that reports an expired suppression: it can never be suppressed itself. */
export const EXPIRED_SUPPRESSION_RULE = "registry/expired-suppression";

/** A report this run is compared with (`--baseline`): the findings it already had. */
export interface Baseline {
  /** As the user gave it. */
  readonly file: string;
  readonly findings: readonly SetAsideFinding[];
}

export interface FindingPolicyInputs {
  readonly profile: Profile;
  /** Where the profile comes from (for the report). */
  readonly profileFrom: ReportPolicy["profileFrom"];
  readonly config: ConformanceConfig;
  /** `YYYY-MM-DD`: a suppression whose `expires` is before it no longer holds. */
  readonly today: string;
  readonly baseline?: Baseline;
}

/**
 * What the team decided about findings, applied to each check's result as it finishes: the rule
 * profile and the configuration's `rules:` levels (a finding of a rule that is `off` is counted, not
 * reported), then the suppressions in force (a finding they match is listed as suppressed, not
 * counted), then the baseline (a finding it already had is listed as known, not counted). The
 * check's status follows from what is left; a check that could not look stays `error` or `skip`.
 *
 * The baseline matches a finding by rule, service, file and message with every number replaced by
 * `#` and whitespace collapsed: lines are not compared, so a finding that moves is the same finding,
 * and each baseline finding matches at most one finding of this run.
 */
export class FindingPolicy {
  private readonly overrides: ReadonlyMap<string, RuleOverride>;
  private readonly suppressions: ReadonlyArray<{ readonly suppression: Suppression; readonly expired: boolean; count: number }>;
  private readonly known = new Map<string, number>();
  private readonly off = new Map<string, { findings: number; by: "profile" | "configuration" }>();
  private readonly suppressedFindings: SetAsideFinding[] = [];
  private readonly knownFindings: SetAsideFinding[] = [];
  private newFindings = 0;

  constructor(private readonly inputs: FindingPolicyInputs) {
    validateConfig(inputs.config);
    this.overrides = new Map(inputs.config.overrides.map((override) => [override.rule, override]));
    this.suppressions = inputs.config.suppressions.map((suppression) => ({ suppression, expired: suppression.expires < inputs.today, count: 0 }));
    for (const finding of inputs.baseline?.findings ?? []) {
      const key = baselineKey(finding.check, finding);
      this.known.set(key, (this.known.get(key) ?? 0) + 1);
    }
  }

  apply(result: CheckResult): CheckResult {
    const findings: Finding[] = [];
    for (const finding of result.findings) {
      const leveled = this.level(finding);
      if (!leveled) continue;
      const suppression = this.suppressionOf(leveled);
      if (suppression) {
        suppression.count++;
        this.suppressedFindings.push({ check: result.id, ...leveled });
        continue;
      }
      if (this.inputs.baseline) {
        const key = baselineKey(result.id, leveled);
        const remaining = this.known.get(key) ?? 0;
        if (remaining > 0) {
          this.known.set(key, remaining - 1);
          this.knownFindings.push({ check: result.id, ...leveled });
          continue;
        }
        this.newFindings++;
      }
      findings.push(leveled);
    }
    const status = statusAfter(result, findings);
    // A check the policy turned from fail to error (its error findings lowered, its coverage incomplete) says why.
    const reason = status === "error" && result.reason === undefined && result.coverage ? `could not look at: ${describeUncovered(result.coverage) || result.coverage.summary}` : undefined;
    return { ...result, findings, status, ...(reason !== undefined && { reason }) };
  }

  /** What the report says about the profile, the levels, the suppressions and the baseline. */
  report(): Pick<Report, "policy" | "suppressions" | "suppressed" | "baseline"> {
    const policy: ReportPolicy = {
      profile: this.inputs.profile,
      profileFrom: this.inputs.profileFrom,
      overrides: this.inputs.config.overrides.map((override) => ({ rule: override.rule, level: override.level, file: override.at.file, line: override.at.line })),
      off: [...this.off].map(([rule, entry]) => ({ rule, ...entry })),
    };
    const suppressions: ReportSuppression[] = this.suppressions.map(({ suppression, expired, count }) => ({
      rule: suppression.rule,
      ...(suppression.service !== undefined && { service: suppression.service }),
      ...(suppression.file !== undefined && { file: suppression.file }),
      reason: suppression.reason,
      expires: suppression.expires,
      at: suppression.at,
      expired,
      suppressed: count,
    }));
    return {
      policy,
      ...(suppressions.length > 0 && { suppressions, suppressed: this.suppressedFindings }),
      ...(this.inputs.baseline && { baseline: { file: this.inputs.baseline.file, known: this.knownFindings, new: this.newFindings } }),
    };
  }

  /** The finding at the level the configuration or the profile gives its rule; `undefined` when the rule is off. */
  private level(finding: Finding): Finding | undefined {
    const override = this.overrides.get(finding.rule);
    const level = override ? override.level : levelInProfile(ruleDeclaration(finding.rule), this.inputs.profile, finding.severity);
    if (level === "off") {
      const entry = this.off.get(finding.rule) ?? { findings: 0, by: override ? ("configuration" as const) : ("profile" as const) };
      entry.findings++;
      this.off.set(finding.rule, entry);
      return undefined;
    }
    return level === finding.severity ? finding : { ...finding, severity: level };
  }

  private suppressionOf(finding: Finding) {
    if (finding.rule === EXPIRED_SUPPRESSION_RULE) return undefined;
    return this.suppressions.find(
      ({ suppression, expired }) =>
        !expired &&
        suppression.rule === finding.rule &&
        (suppression.service === undefined || suppression.service === finding.service) &&
        (suppression.file === undefined || suppression.file === finding.file),
    );
  }
}

/** A check that looked: `fail` on an error finding, else `pass` — unless it could not cover everything (then `error`). */
function statusAfter(result: CheckResult, findings: readonly Finding[]): CheckStatus {
  if (result.status === "skip" || result.status === "error") return result.status;
  if (findings.some((finding) => finding.severity === "error")) return "fail";
  return result.coverage && !result.coverage.complete ? "error" : "pass";
}

/** How a finding is recognised in a baseline report: see `FindingPolicy`. */
export function baselineKey(check: string, finding: Finding): string {
  const message = finding.message.replace(/\d+/g, "#").replace(/\s+/g, " ").trim();
  return [check, finding.rule, finding.service ?? "", finding.file ?? "", message].join("\u0000");
}

const RULE_IDS = ALL_RULES.map((rule) => rule.id);

/** Every rule id the configuration names must be one a check declares; a typo would otherwise silently do nothing. */
function validateConfig(config: ConformanceConfig): void {
  const named = [
    ...config.overrides.map((override) => ({ rule: override.rule, at: override.at, what: "`rules:`" })),
    ...config.suppressions.map((suppression) => ({ rule: suppression.rule, at: suppression.at, what: "a suppression" })),
  ];
  for (const { rule, at, what } of named) {
    if (!ruleDeclaration(rule)) {
      const guess = closestName(rule, RULE_IDS);
      throw new UsageError(`${what} names the rule ${rule}, which no check reports${guess ? ` (did you mean ${guess}?)` : ""}`, at);
    }
  }
  for (const suppression of config.suppressions) {
    if (suppression.rule === EXPIRED_SUPPRESSION_RULE) throw new UsageError(`${EXPIRED_SUPPRESSION_RULE} cannot be suppressed: renew or remove the expired suppression instead`, suppression.at);
  }
}
