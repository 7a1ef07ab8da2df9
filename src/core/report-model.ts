/**
 * The report model: what every check produces and every renderer consumes.
 * The JSON renderer writes this shape as it is (PRODUCT.md, "Contract").
 */
import type { Profile, RuleLevel } from "./conformance-config.js";

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

/**
 * One cell of the isolation matrix: may `credentialOf`'s credential reach `database`? Rows are the
 * services' credentials (tried by login and looked up in the catalog), then the LOGIN roles no
 * credential uses (`credentialOf` = `role <name>`) and PUBLIC (`credentialOf` = `PUBLIC`), both
 * proven by the catalog alone.
 */
export interface MatrixCell {
  credentialOf: string;
  database: string;
  /** The PostgreSQL instance the database lives on; set when the product has several. */
  instance?: string;
  /** `own` for the service's own database; `connected`: it gets in (by login, or the catalog allows its role); `error`: not proven, or the proofs disagree. */
  outcome: "connected" | "refused" | "own" | "error";
  /** SQLSTATE or short reason for a refusal or an error; the catalog's reason for a catalog-only cell. */
  reason?: string;
  /** Catalog-only rows: the role (or `PUBLIC`) the row is about. */
  role?: string;
  /** The connection attempt's answer; absent when none was made. */
  login?: "connected" | "refused";
  /** `has_database_privilege(role, database, 'CONNECT')` read as the admin; absent when the catalog could not be read. */
  catalog?: "allowed" | "denied";
  /** Why the catalog allows it or not, e.g. `PUBLIC has CONNECT`, `superuser`, `no CONNECT privilege`, `role "x" does not exist`. */
  cause?: string;
  /** Which proofs back `outcome`; absent for `own` and for a cell nothing proved. */
  proof?: "login" | "catalog" | "login+catalog";
}

/** What one coverage item is: the unit a live check looks at. */
export type CoverageKind = "service" | "credential" | "database" | "instance" | "migration-set" | "dependency";

/** One thing a live check looked at (covered) or could not look at (uncovered, with `reason`). */
export interface CoverageItem {
  kind: CoverageKind;
  /** E.g. a service key, `role@instance`, a database name, a migrations folder. */
  name: string;
  /** The registry key of the service it belongs to, where there is one. */
  service?: string;
  /** Why it was not covered; set on every uncovered item. */
  reason?: string;
  /** Where it was read (a credential: the line of its variable), relative to the repository root. */
  file?: string;
  line?: number;
}

/**
 * What a live check covered. `complete: false` means the check could not look at everything it
 * should have: it is then never `pass` (the executor makes it `error` unless an error finding
 * already fails it).
 */
export interface Coverage {
  complete: boolean;
  /** One human line, e.g. "5/5 stateful services, 6 credentials x 7 databases (42 logins, catalog read)". */
  summary: string;
  covered: CoverageItem[];
  uncovered: CoverageItem[];
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
  /** What a live check looked at; present on every live check that ran, whatever its status. */
  coverage?: Coverage;
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
  /** Where the registry came from; for an inferred one, what was read from which line and what could not be. */
  registry?: RegistryReport;
  /** The rule profile and the configuration's rule levels that shaped the findings. */
  policy?: ReportPolicy;
  /** Every suppression of the configuration file, in force or expired, with how many findings it set aside. */
  suppressions?: ReportSuppression[];
  /** Findings a suppression in force set aside: listed, not counted. */
  suppressed?: SetAsideFinding[];
  /** `--baseline`: findings already in the baseline report are listed here, not counted; only new ones fail. */
  baseline?: ReportBaseline;
}

/** A place in a file of the repository. */
export interface ReportLocation {
  /** Repo-relative, forward slashes. */
  file: string;
  line?: number;
}

export interface RegistryReport {
  source: "typescript" | "yaml" | "json" | "inferred";
  /** The registry file (for an inferred registry: the main compose file). */
  file: string;
  /** Inferred registries: each fact and the lines it was read from. */
  inferred?: InferredFact[];
  /** Inferred registries: what could not be inferred (the `TODO`s `init` writes). */
  todo?: InferredTodo[];
}

export interface InferredFact {
  service: string;
  /** What was inferred, e.g. `stateful, database "auth_db"`, `depends on users`, `Dockerfile apps/auth/Dockerfile`. */
  fact: string;
  from: ReportLocation[];
}

export interface InferredTodo {
  service?: string;
  /** What could not be inferred and why; `init` writes it as a `TODO` comment. */
  message: string;
  at?: ReportLocation;
}

export interface ReportPolicy {
  profile: Profile;
  /** Where the profile comes from: the configuration file's line, or the registry source's default. */
  profileFrom: ReportLocation | "typescript registry" | "yaml or inferred registry";
  /** The configuration file's `rules:` levels. */
  overrides: { rule: string; level: RuleLevel; file: string; line: number }[];
  /** Findings not reported because their rule is off here, per rule. */
  off: { rule: string; findings: number; by: "profile" | "configuration" }[];
}

export interface ReportSuppression {
  rule: string;
  service?: string;
  file?: string;
  reason: string;
  /** `YYYY-MM-DD`, the last day it holds. */
  expires: string;
  /** The suppression's line in the configuration file. */
  at: ReportLocation;
  /** Past its date: it sets nothing aside, and the registry check reports `registry/expired-suppression`. */
  expired: boolean;
  /** How many findings it set aside in this run. */
  suppressed: number;
}

/** A finding set aside (suppressed, or known from the baseline), with the check that reported it. */
export interface SetAsideFinding extends Finding {
  check: string;
}

export interface ReportBaseline {
  /** The baseline report, as given. */
  file: string;
  /** Findings of this run already in the baseline: listed, not counted. */
  known: SetAsideFinding[];
  /** Findings of this run that are not in the baseline (they count as usual). */
  new: number;
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

/** "a (why), b (why)": what an incomplete coverage left out, for a reason line. */
export function describeUncovered(coverage: Coverage, limit = 5): string {
  const items = coverage.uncovered.map((item) => `${item.name}${item.reason ? ` (${item.reason})` : ""}`);
  const shown = items.slice(0, limit).join(", ");
  return items.length > limit ? `${shown} and ${items.length - limit} more` : shown;
}
