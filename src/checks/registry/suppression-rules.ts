import type { ConformanceConfig } from "../../core/conformance-config.js";
import type { Finding } from "../../core/report-model.js";

/** A suppression past its date: it sets nothing aside any more, and says so at its own line. */
export function expiredSuppressionFindings(config: ConformanceConfig | undefined, today: string): Finding[] {
  return (config?.suppressions ?? [])
    .filter((suppression) => suppression.expires < today)
    .map((suppression) => ({
      rule: "registry/expired-suppression",
      severity: "error",
      message: `The suppression of ${suppression.rule}${suppression.service ? ` for ${suppression.service}` : ""}${suppression.file ? ` in ${suppression.file}` : ""} expired on ${suppression.expires} ("${suppression.reason}"); its findings are reported again.`,
      ...(suppression.service !== undefined && { service: suppression.service }),
      file: suppression.at.file,
      line: suppression.at.line,
      fix: "Fix the findings it set aside, or give it a new expiry date (and reason) if the team still accepts them.",
    }));
}
