import { ruleDeclaration } from "../checks/registered.js";
import type { Finding, Report } from "../core/report-model.js";

const INFORMATION_URI = "https://github.com/civic/db-per-service-check";

interface SarifRule {
  id: string;
  name: string;
  shortDescription: { text: string };
  help: { text: string };
  defaultConfiguration?: { level: "error" | "warning" };
  properties: { tags: string[] };
}

function ruleName(id: string): string {
  return id
    .split(/[/-]/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");
}

/** A rule's metadata from its check's declaration (`checks/<id>/rules.ts`), never from one finding. */
function sarifRule(id: string): SarifRule {
  const declared = ruleDeclaration(id);
  return {
    id,
    name: ruleName(id),
    shortDescription: { text: declared?.summary ?? `civic-conformance ${id}` },
    help: { text: declared?.help ?? `See the civic-conformance README for ${id}.` },
    ...(declared && { defaultConfiguration: { level: declared.severity } }),
    properties: { tags: ["database-per-service", id.split("/")[0] ?? "civic-conformance"] },
  };
}

interface SarifNotification {
  level: "note" | "warning" | "error";
  message: { text: string };
  locations?: { physicalLocation: { artifactLocation: { uri: string; uriBaseId: string }; region?: { startLine: number } } }[];
  properties: { product: string; check: string };
}

/**
 * What the checks did not look at, as the run's tool execution notifications: why a check was
 * skipped (note) or could not run (error), its notes, its coverage line, each item it could not
 * cover (warning, at the item's file and line).
 */
function notifications(report: Report): SarifNotification[] {
  const out: SarifNotification[] = [];
  for (const check of report.checks) {
    const properties = { product: report.product, check: check.id };
    const say = (level: SarifNotification["level"], text: string, file?: string, line?: number) =>
      out.push({
        level,
        message: { text: `${check.id}: ${text}` },
        ...(file && { locations: [{ physicalLocation: { artifactLocation: { uri: file, uriBaseId: "%SRCROOT%" }, ...(line !== undefined && { region: { startLine: line } }) } }] }),
        properties,
      });
    if (check.status === "skip" && check.reason) say("note", `skipped: ${check.reason}`);
    if (check.status === "error" && check.reason) say("error", `could not run: ${check.reason}`);
    for (const note of check.notes ?? []) say("note", note);
    if (check.coverage) {
      say(check.coverage.complete ? "note" : "warning", `coverage (${check.coverage.complete ? "complete" : "incomplete"}): ${check.coverage.summary}`);
      for (const item of check.coverage.uncovered) say("warning", `not covered: ${item.kind} ${item.name}${item.reason ? ` — ${item.reason}` : ""}`, item.file, item.line);
    }
  }
  return out;
}

/**
 * SARIF 2.1.0 for code scanning: one rule per rule id (help from its declaration), each result
 * carrying its own fix; the invocation says whether every check could run and what was not covered.
 */
export function renderSarif(reports: readonly Report[], toolVersion: string): string {
  const findings = reports.flatMap((r) => r.checks.flatMap((c) => c.findings));
  // Suppressed findings are results too, marked as accepted with the team's reason (SARIF's own suppressions).
  const suppressed = reports.flatMap((r) => (r.suppressed ?? []).map((finding) => ({ finding, justification: justificationOf(r, finding) })));
  const rules = new Map<string, SarifRule>();
  for (const finding of [...findings, ...suppressed.map((entry) => entry.finding)]) {
    if (!rules.has(finding.rule)) rules.set(finding.rule, sarifRule(finding.rule));
  }
  const ruleIndex = [...rules.keys()];
  const result = (finding: Finding) => ({
    ruleId: finding.rule,
    ruleIndex: ruleIndex.indexOf(finding.rule),
    level: finding.severity === "error" ? "error" : "warning",
    message: { text: finding.fix ? `${finding.message} Fix: ${finding.fix}` : finding.message },
    ...(finding.file && {
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: finding.file, uriBaseId: "%SRCROOT%" },
            ...(finding.line !== undefined && { region: { startLine: finding.line } }),
          },
        },
      ],
    }),
    ...(finding.service && { properties: { service: finding.service } }),
  });
  const sarif = {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: { driver: { name: "civic-conformance", version: toolVersion, informationUri: INFORMATION_URI, rules: [...rules.values()] } },
        // Successful only when every check could run; the notifications say what was not looked at.
        invocations: [
          {
            executionSuccessful: reports.every((r) => r.checks.every((c) => c.status !== "error")),
            toolExecutionNotifications: reports.flatMap(notifications),
          },
        ],
        results: [
          ...findings.map(result),
          ...suppressed.map(({ finding, justification }) => ({ ...result(finding), suppressions: [{ kind: "external", status: "accepted", justification }] })),
        ],
      },
    ],
  };
  return `${JSON.stringify(sarif, null, 2)}\n`;
}

/** The reason and expiry of the suppression that set a finding aside. */
function justificationOf(report: Report, finding: Finding): string {
  const suppression = (report.suppressions ?? []).find(
    (candidate) =>
      !candidate.expired &&
      candidate.rule === finding.rule &&
      (candidate.service === undefined || candidate.service === finding.service) &&
      (candidate.file === undefined || candidate.file === finding.file),
  );
  return suppression ? `${suppression.reason} (until ${suppression.expires})` : "suppressed in civic-conformance.yaml";
}
