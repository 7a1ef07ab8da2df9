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

/** SARIF 2.1.0 for code scanning: one rule per rule id (help from its declaration), each result carrying its own fix. */
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
