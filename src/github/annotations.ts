import type { Report } from "../core/report-model.js";

/** One Checks API annotation (the fields GitHub accepts). */
export interface Annotation {
  path: string;
  start_line: number;
  end_line: number;
  annotation_level: "failure" | "warning" | "notice";
  title: string;
  message: string;
  raw_details?: string;
}

/** GitHub takes at most 50 annotations per request. */
export const ANNOTATION_BATCH = 50;

/**
 * An annotation per finding that has a file and a line. Finding paths are relative to the
 * product's repository root; `pathPrefix` makes them relative to the checked-out repository when
 * the monorepo root is a folder inside it.
 */
export function annotationsFor(report: Report, pathPrefix = ""): Annotation[] {
  return report.checks.flatMap((check) =>
    check.findings.flatMap((finding) => {
      if (!finding.file || finding.line === undefined) return [];
      const annotation: Annotation = {
        path: pathPrefix ? `${pathPrefix.replace(/\/+$/, "")}/${finding.file}` : finding.file,
        start_line: finding.line,
        end_line: finding.line,
        annotation_level: finding.severity === "error" ? "failure" : "warning",
        title: `${finding.rule}${finding.service ? ` (${finding.service})` : ""}`,
        message: finding.fix ? `${finding.message}\nFix: ${finding.fix}` : finding.message,
      };
      if (finding.details) annotation.raw_details = finding.details.slice(0, 60_000);
      return [annotation];
    }),
  );
}

export function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
}
