import { execa, execaSync, type Result } from "execa";
import type { ComposeCommandChoice } from "../../src/core/settings.js";
import { requireDockerInCI } from "./docker.js";

/** The two Compose CLIs the compose runtime is tested on. */
export interface ComposeVariant {
  /** `v2` or `v1`, as CIVIC_COMPOSE_VARIANTS names it. */
  readonly name: "v2" | "v1";
  /** What `--compose-command` / CIVIC_COMPOSE_COMMAND call it. */
  readonly command: ComposeCommandChoice;
  /** The major version that command must answer with to be this variant. */
  readonly major: 1 | 2;
  /** For test names: `Compose v2 (docker compose)`. */
  readonly title: string;
}

export const COMPOSE_VARIANTS: readonly ComposeVariant[] = [
  { name: "v2", command: "docker compose", major: 2, title: "Compose v2 (docker compose)" },
  { name: "v1", command: "docker-compose", major: 1, title: "Compose v1 (docker-compose)" },
];

/**
 * The variants that must run: `v2,v1` where scripts/ci/provision-docker.sh installed both
 * (`.ci/run` sets it), `v2` on GitHub's runner (the CI workflow sets it: no v1 there). Unset, CI
 * requires every variant and a local run takes those that answer.
 */
export const COMPOSE_VARIANTS_VARIABLE = "CIVIC_COMPOSE_VARIANTS";

const PROVISION_HINT = "run `scripts/ci/provision-docker.sh` (installs the standalone v1 and the v2 plugin)";

const versions = new Map<ComposeVariant, string | undefined>();

/** `version --short` of the variant's CLI when it answers with the variant's major version (checked once per test file). */
export function composeVersion(variant: ComposeVariant): string | undefined {
  if (!versions.has(variant)) {
    const [command, ...prefix] = variant.command.split(" ") as [string, ...string[]];
    const result = execaSync(command, [...prefix, "version", "--short"], { reject: false, stdin: "ignore" });
    const version = result.exitCode === 0 ? String(result.stdout).trim() : "";
    versions.set(variant, new RegExp(`^v?${variant.major}\\.`).test(version) ? version : undefined);
  }
  return versions.get(variant);
}

function requiredVariants(): readonly string[] {
  const declared = process.env[COMPOSE_VARIANTS_VARIABLE];
  if (declared !== undefined) return declared.split(",").map((name) => name.trim()).filter(Boolean);
  return process.env.CI === "true" ? COMPOSE_VARIANTS.map((variant) => variant.name) : [];
}

/**
 * Decides whether a variant's tests run: `describe.skipIf(!requireComposeVariant(variant))(…)`.
 * A variant that must run (CIVIC_COMPOSE_VARIANTS, or CI=true without it) and does not answer is a
 * failure, thrown at collection so the file fails; otherwise an absent variant is skipped with a
 * loud notice. Needs a Docker engine first (requireDockerInCI).
 */
export function requireComposeVariant(variant: ComposeVariant): boolean {
  if (!requireDockerInCI()) return false;
  if (composeVersion(variant) !== undefined) return true;
  const required = requiredVariants();
  if (required.includes(variant.name)) {
    const why = process.env[COMPOSE_VARIANTS_VARIABLE] !== undefined ? `${COMPOSE_VARIANTS_VARIABLE}=${process.env[COMPOSE_VARIANTS_VARIABLE]}` : "CI=true";
    throw new Error(`${why} requires ${variant.title}, and \`${variant.command} version\` does not answer with ${variant.major}.x: ${PROVISION_HINT}.`);
  }
  console.warn(
    [
      "****************************************************************",
      `SKIPPED: no ${variant.title}. Its variant of the compose tests did not run${process.env[COMPOSE_VARIANTS_VARIABLE] !== undefined ? ` (${COMPOSE_VARIANTS_VARIABLE}=${process.env[COMPOSE_VARIANTS_VARIABLE]} does not require it)` : ""}.`,
      `To run it: ${PROVISION_HINT}.`,
      "****************************************************************",
    ].join("\n"),
  );
  return false;
}

/** Runs the variant's CLI (`docker compose …` or `docker-compose …`); never rejects, the caller reads exitCode. */
export function runCompose(variant: ComposeVariant, args: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<Result> {
  const [command, ...prefix] = variant.command.split(" ") as [string, ...string[]];
  return execa(command, [...prefix, ...args], { reject: false, stdin: "ignore", stripFinalNewline: true, ...(options.cwd && { cwd: options.cwd }), ...(options.env && { env: options.env }) });
}
