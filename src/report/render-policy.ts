import type { Report, ReportLocation } from "../core/report-model.js";

/** `file:line` of a location. */
export function locationText(location: ReportLocation): string {
  return location.line === undefined ? location.file : `${location.file}:${location.line}`;
}

function placesText(places: readonly ReportLocation[]): string {
  return places.length > 0 ? ` (${places.map(locationText).join(", ")})` : "";
}

/**
 * What shaped the findings, as plain lines every human format shows: where the registry came from,
 * the profile and rule levels, the suppressions (in force or expired) and the baseline. Nothing a
 * team decided is applied silently.
 */
export function policyLines(report: Report): string[] {
  const lines: string[] = [];
  // The civic layout's own case (its TypeScript registry, the civic profile as it is) needs no line.
  const registry = report.registry;
  if (registry && registry.source !== "typescript") {
    const inferred = registry.source === "inferred" ? ` (${registry.inferred?.length ?? 0} facts inferred, ${registry.todo?.length ?? 0} TODO)` : "";
    lines.push(`registry: ${registry.source} · ${registry.file}${inferred}`);
    // What zero-config took from which line, and what it could not decide: the registry `init` would write.
    for (const fact of registry.inferred ?? []) lines.push(`  inferred: ${fact.service}: ${fact.fact}${placesText(fact.from)}`);
    for (const todo of registry.todo ?? []) lines.push(`  TODO: ${todo.service ? `${todo.service}: ` : ""}${todo.message}${todo.at ? ` (${locationText(todo.at)})` : ""}`);
    const dir = report.productDir === "." ? "" : ` ${report.productDir}`;
    if (registry.source === "inferred") lines.push(`  \`npx civic-conformance init${dir}\` writes this registry down as civic-conformance.yaml for you to own`);
  }
  const policy = report.policy;
  if (policy && (policy.profile !== "civic" || typeof policy.profileFrom !== "string" || policy.overrides.length > 0 || policy.off.length > 0)) {
    const from = typeof policy.profileFrom === "string" ? `default for a ${policy.profileFrom}` : locationText(policy.profileFrom);
    const off = policy.off.reduce((sum, entry) => sum + entry.findings, 0);
    const offText = off > 0 ? ` · ${off} finding${off === 1 ? "" : "s"} of rules off here not reported (${policy.off.map((entry) => `${entry.rule} ×${entry.findings}`).join(", ")})` : "";
    lines.push(`profile: ${policy.profile} (${from})${offText}`);
    for (const override of policy.overrides) lines.push(`rule level: ${override.rule} → ${override.level} (${override.file}:${override.line})`);
  }
  for (const suppression of report.suppressions ?? []) {
    const scope = [suppression.service, suppression.file].filter(Boolean).join(" ");
    const state = suppression.expired ? `EXPIRED ${suppression.expires}` : `until ${suppression.expires}, ${suppression.suppressed} finding${suppression.suppressed === 1 ? "" : "s"} set aside`;
    lines.push(`suppression: ${suppression.rule}${scope ? ` [${scope}]` : ""} — ${suppression.reason} (${state}; ${locationText(suppression.at)})`);
  }
  if (report.baseline) {
    lines.push(`baseline: ${report.baseline.file} · ${report.baseline.known.length} known finding${report.baseline.known.length === 1 ? "" : "s"} not counted · ${report.baseline.new} new`);
  }
  return lines;
}
