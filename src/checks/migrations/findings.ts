import type { Finding } from "../../core/report-model.js";
import { describeChanges } from "../../postgres/fingerprint-changes.js";
import type { MigratingService } from "./migrating-services.js";
import type { PassResult, ServiceOutcome } from "./migration-pass.js";
import { migrationsRules } from "./rules.js";
import type { StaticHit, StaticHitKind } from "./static-scan.js";

type RuleId = keyof typeof migrationsRules;

const STATIC_HIT_RULE: Readonly<Record<StaticHitKind, RuleId>> = {
  "cross-database-link": "migrations/cross-database-link",
  "foreign-reference": "migrations/foreign-reference",
  "outside-effect": "migrations/outside-effect",
  "server-side-io": "migrations/server-side-io",
};

/** A finding of `rule`; its fix is the rule's help, which names no service. */
function finding(
  rule: RuleId,
  message: string,
  service: string,
  file: string | undefined,
  line: number | undefined,
  severity: Finding["severity"] = "error",
): Finding {
  return {
    rule,
    severity,
    message,
    service,
    ...(file !== undefined && { file }),
    ...(line !== undefined && { line }),
    fix: migrationsRules[rule].help,
  };
}

function failureText(failure: ServiceOutcome["failure"]): string {
  if (!failure) return "";
  const code = failure.sqlstate ? ` (SQLSTATE ${failure.sqlstate})` : "";
  const statement = failure.statement ? ` in statement: ${failure.statement}` : "";
  return `${failure.message}${code}${statement}`;
}

/**
 * Turns static hits and the passes' outcomes into findings, one per problem: a live observation and
 * the static hit that explains it become one finding on the hit's line.
 */
export function findingsFrom(
  services: readonly MigratingService[],
  hits: ReadonlyMap<string, StaticHit[]>,
  forward: PassResult | undefined,
  reverse: PassResult | undefined,
): Finding[] {
  const findings: Finding[] = [];
  for (const current of services) {
    const key = current.service.key;
    const role = current.standInFor ? `${current.user} (a non-superuser stand-in for ${current.standInFor})` : current.user;
    const out = forward?.outcomes.find((o) => o.service === key);
    const back = reverse?.outcomes.find((o) => o.service === key);
    // A failure counts as the service's own when it happens in every order that was tried.
    const ownFailure = out?.failure && (!reverse || back?.failure) ? out.failure : undefined;
    const failureFile = ownFailure?.migration?.file;
    let failureReported = false;
    const serviceFindings: Finding[] = [];

    for (const script of current.scripts) {
      const file = script.migration.file;
      const folder = script.migration.name;
      const fileHits = hits.get(file) ?? [];
      const clusterChanges = out?.clusterChanges.find((c) => c.migration === script.migration.name)?.changes ?? [];
      const failsHere = failureFile === file;
      const suffix = () => {
        if (!failsHere || failureReported) return "";
        failureReported = true;
        return `; applying it as role ${role} fails: ${failureText(ownFailure)}`;
      };
      for (const hit of fileHits.filter((h) => h.kind !== "outside-effect")) {
        serviceFindings.push(finding(STATIC_HIT_RULE[hit.kind], `Migration ${folder} of ${key} ${hit.what}${suffix()}.`, key, file, hit.line));
      }
      const clusterHits = fileHits.filter((h) => h.kind === "outside-effect");
      if (clusterChanges.length > 0) {
        serviceFindings.push(
          finding(
            "migrations/outside-effect",
            `Migration ${folder} of ${key} changes the server outside its own database: ${clusterChanges.join("; ")}${suffix()}.`,
            key,
            file,
            clusterHits[0]?.line,
          ),
        );
      } else {
        // Applied cleanly and nothing changed (e.g. a grant the owner already held): worth a look, not a failure.
        const harmless = out !== undefined && out.failure === undefined && out.clusterChanges.length === 0;
        for (const hit of clusterHits) {
          serviceFindings.push(
            finding(
              "migrations/outside-effect",
              `Migration ${folder} of ${key} ${hit.what}, which reaches outside its own database${suffix()}.`,
              key,
              file,
              hit.line,
              harmless ? "warning" : "error",
            ),
          );
        }
      }
    }
    if (out) {
      // A migrate command does not say which migration did it.
      const commandChanges = out.clusterChanges.filter((c) => c.migration === undefined).flatMap((c) => c.changes);
      if (commandChanges.length > 0) {
        serviceFindings.push(
          finding("migrations/outside-effect", `Applying the migrations of ${key} changes the server outside its own database: ${commandChanges.join("; ")}.`, key, current.anchorFile, undefined),
        );
      }
      for (const change of out.otherDatabaseChanges) {
        serviceFindings.push(
          finding("migrations/outside-effect", `Applying the migrations of ${key} changed another service's database: ${change}.`, key, current.anchorFile, undefined),
        );
      }
      const staticLinks = current.scripts.some((s) => (hits.get(s.migration.file) ?? []).some((h) => h.kind === "cross-database-link"));
      if (!staticLinks && out.liveLinks.length > 0) {
        serviceFindings.push(
          finding("migrations/cross-database-link", `After its migrations, the database of ${key} holds ${out.liveLinks.join(", ")}.`, key, current.anchorFile, undefined),
        );
      }
    }
    if (ownFailure && !failureReported) {
      const where = ownFailure.migration ? `Migration ${ownFailure.migration.name} of ${key}` : `The migrate command of ${key}`;
      serviceFindings.push(
        finding(
          "migrations/apply-failed",
          `${where} does not apply on an empty database as role ${role}: ${failureText(ownFailure)}.`,
          key,
          ownFailure.migration?.file ?? current.anchorFile,
          ownFailure.line,
        ),
      );
    }
    if (out && back) serviceFindings.push(...orderFindings(current, out, back));
    findings.push(...serviceFindings);
  }
  return findings;
}

function orderFindings(current: MigratingService, out: ServiceOutcome, back: ServiceOutcome): Finding[] {
  const key = current.service.key;
  if (out.failure && back.failure) return [];
  const failed = out.failure ?? back.failure;
  if (failed) {
    const order = out.failure ? "in registry order, after the services before it" : "in reverse registry order, after the services after it";
    const worksIn = out.failure ? "reverse registry order" : "registry order";
    return [
      finding(
        "migrations/order-dependent",
        `The migrations of ${key} apply in ${worksIn} but fail ${order}: ${failureText(failed)}. They depend on what another service's migrations do.`,
        key,
        failed.migration?.file ?? current.anchorFile,
        failed.line,
      ),
    ];
  }
  const differences = describeChanges(out.ownFingerprint!, back.ownFingerprint!);
  if (differences.length === 0) return [];
  return [
    finding(
      "migrations/order-dependent",
      `The database of ${key} ends up different when the services' migrations run in reverse registry order: ${differences.slice(0, 10).join("; ")}.`,
      key,
      current.scripts.at(-1)?.migration.file ?? current.anchorFile,
      undefined,
    ),
  ];
}
