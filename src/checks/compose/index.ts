import type { Finding } from "../../core/report-model.js";
import { profileOf } from "../../product/product.js";
import { productPostgres } from "../../product/product-postgres.js";
import { locationOf } from "../../registry/model.js";
import type { Check } from "../check.js";
import { instanceDatabases } from "../../compose-file/init-script-databases.js";
import { postgresFindings } from "./postgres-rules.js";
import { composeDockerfile, type ServiceRuleContext } from "./service-rule-context.js";
import { serviceFindings } from "./service-rules.js";
import { composeRules } from "./rules.js";

/**
 * `compose`: the compose file agrees with the registry, line by line. Every registry service has a
 * compose service of its hostname with exactly one DATABASE_URL naming its own database on the
 * compose PostgreSQL (none when stateless), its PORT, its extraEnv, and depends_on matching dependsOn;
 * PostgreSQL has a healthcheck and init scripts that create every registry database.
 * Severities: a rule whose breach breaks isolation or the stack is an error; one that may be
 * deliberate or cannot be verified from files (an extra module service, an unreadable script) warns.
 */
export const composeCheck: Check<"compose"> = {
  id: "compose",
  title: "Compose file matches the registry",
  needs: ["compose"],
  rules: Object.values(composeRules),
  async run(context) {
    const { registry, repoRoot } = context.product;
    const compose = context.product.compose!;
    const postgres = await productPostgres(context.product);
    const { instances } = postgres;
    const createdOn = new Map(
      await Promise.all(
        instances.map(async (instance) => {
          const read = await instanceDatabases(instance);
          return [instance.name, { created: read.created, opaque: read.opaque.length > 0 }] as const;
        }),
      ),
    );
    const homeOf = (service: (typeof registry.services)[number]) => postgres.of(service.key)?.home;
    const credentialsOf = (service: (typeof registry.services)[number]) => postgres.of(service.key)?.credentials ?? [];
    const rules: ServiceRuleContext = { registry, compose, instances, repoRoot, homeOf, credentialsOf, createdOn };
    const findings: Finding[] = [];

    for (const service of registry.services) {
      const composeService = compose.services.get(service.hostname);
      if (!composeService) {
        // An error: the service would never run, and every other rule for it would be vacuous.
        findings.push({
          rule: "compose/missing-service",
          severity: "error",
          message: `Registry service "${service.key}" has no compose service named "${service.hostname}".`,
          service: service.key,
          ...locationOf(registry, service),
          fix: `Add a "${service.hostname}" service to ${compose.file} (regenerate it from the registry).`,
        });
        continue;
      }
      findings.push(...serviceFindings(service, composeService, rules));
    }

    const hostnames = new Set(registry.services.map((service) => service.hostname));
    for (const composeService of compose.services.values()) {
      if (hostnames.has(composeService.name) || instances.some((instance) => instance.service === composeService)) continue;
      const dockerfile = composeDockerfile(composeService, repoRoot);
      if (!dockerfile?.startsWith("modules/")) continue;
      // A warning: it may be a deliberate worker or tool, but it escapes every check of this tool.
      findings.push({
        rule: "compose/unknown-service",
        severity: "warning",
        message: `Compose service "${composeService.name}" builds the module ${dockerfile} but is not in the registry.`,
        file: composeService.file,
        line: composeService.line,
        fix: `Add "${composeService.name}" to ${registry.file} (and regenerate), or remove it from the compose file.`,
      });
    }

    findings.push(...(await postgresFindings(instances, { registry, compose, repoRoot, homeOf, civic: profileOf(context.product) === "civic" })));
    return { findings };
  },
};
