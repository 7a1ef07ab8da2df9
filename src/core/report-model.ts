/**
 * The report model: what every check produces and every renderer consumes.
 * The JSON renderer writes this shape as it is (PRODUCT.md, "Contract").
 */

export type Severity = "error" | "warning";

export type CheckStatus = "pass" | "fail" | "skip" | "error";

export interface Finding {
  /** `<check id>/<rule>`, e.g. `isolation/foreign-connect`. Stable: tools key on it. */
  rule: string;
  severity: Severity;
  /** One plain sentence saying what is wrong. Never contains a password. */
  message: string;
  /** The registry key of the service concerned, where there is one. */
  service?: string;
  /** Path relative to the repository root, with forward slashes. */
  file?: string;
  /** 1-based line in `file`. */
  line?: number;
  /** How to fix it, as an instruction. */
  fix?: string;
  /** A unified diff or other long evidence; rendered collapsed. */
  details?: string;
}

/** One cell of the isolation matrix: may `credentialOf`'s credential reach `database`? */
export interface MatrixCell {
  credentialOf: string;
  database: string;
  /** The PostgreSQL instance the database lives on; set when the product has several. */
  instance?: string;
  /** `own` for the service's own database. */
  outcome: "connected" | "refused" | "own" | "error";
  /** SQLSTATE or short reason for a refusal or an error. */
  reason?: string;
}

export interface CheckResult {
  /** The id of a registered check (`CHECK_IDS` in checks/registered.ts). */
  id: string;
  title: string;
  status: CheckStatus;
  durationMs: number;
  findings: Finding[];
  /** Why the check was skipped or could not run. */
  reason?: string;
  /** Parts the check did not look at, e.g. the live dependency probe under `embedded`. */
  notes?: string[];
  /** Check-specific structured data (e.g. the isolation matrix). */
  data?: { matrix?: MatrixCell[]; [key: string]: unknown };
}

export interface ReportSummary {
  passed: number;
  failed: number;
  skipped: number;
  errored: number;
  errors: number;
  warnings: number;
  verdict: "pass" | "fail" | "error";
}

export interface Report {
  version: 1;
  product: string;
  /** Product directory relative to the repository root. */
  productDir: string;
  runtime: string;
  checks: CheckResult[];
  summary: ReportSummary;
}

export function summarize(checks: readonly CheckResult[]): ReportSummary {
  const count = (status: CheckStatus) => checks.filter((c) => c.status === status).length;
  const findings = checks.flatMap((c) => c.findings);
  const failed = count("fail");
  const errored = count("error");
  return {
    passed: count("pass"),
    failed,
    skipped: count("skip"),
    errored,
    errors: findings.filter((f) => f.severity === "error").length,
    warnings: findings.filter((f) => f.severity === "warning").length,
    verdict: failed > 0 ? "fail" : errored > 0 ? "error" : "pass",
  };
}
