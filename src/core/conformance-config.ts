/**
 * Rule profiles: `civic` holds the seed's house conventions (database = snake_case of the key, a
 * `PORT`, Prisma per stateful service, a generator whose output must not drift, unique container
 * ports); `portable` turns those off or down to warnings, so only what bears on isolation fails.
 */
export const PROFILES = ["civic", "portable"] as const;
export type Profile = (typeof PROFILES)[number];

/** What a rule's findings become: a severity (`error` | `warning`, as `Severity`), or `off` (not reported). */
export type RuleLevel = "error" | "warning" | "off";
export const RULE_LEVELS: readonly RuleLevel[] = ["error", "warning", "off"];

/** A line of the configuration file: reports and errors point at it. */
export interface ConfigLocation {
  /** Repo-relative, forward slashes. */
  readonly file: string;
  readonly line: number;
}

/** `rules: { <rule id>: error | warning | off }` in the configuration file: the rule's findings all get this level. */
export interface RuleOverride {
  readonly rule: string;
  readonly level: RuleLevel;
  readonly at: ConfigLocation;
}

/**
 * A finding the team accepts for now: the rule, the service (or file) it is about, why, and until
 * when. An expired suppression suppresses nothing and is itself a failure.
 */
export interface Suppression {
  readonly rule: string;
  /** Registry key of the service; absent = any service. */
  readonly service?: string;
  /** Repo-relative file the finding points at; absent = any file. */
  readonly file?: string;
  readonly reason: string;
  /** `YYYY-MM-DD`: the last day it holds. */
  readonly expires: string;
  readonly at: ConfigLocation;
}

/** What the configuration file (`civic-conformance.yaml`) says beside the services. */
export interface ConformanceConfig {
  /** Repo-relative path of the configuration file, when there is one. */
  readonly file?: string;
  /** The profile the file asks for; absent = the registry source's default. */
  readonly profile?: Profile;
  readonly profileAt?: ConfigLocation;
  readonly overrides: readonly RuleOverride[];
  readonly suppressions: readonly Suppression[];
}

export const EMPTY_CONFIG: ConformanceConfig = { overrides: [], suppressions: [] };
