import type { ComposeService } from "../../compose-file/model.js";
import type { Finding } from "../../core/report-model.js";
import type { DeclaredCredential } from "../../product/credentials/declared-credential.js";
import { isStateful, type Service } from "../../registry/model.js";
import type { ServiceRuleContext } from "./service-rule-context.js";

/**
 * Errors: every credential a stateful service holds, in whatever form, must reach the PostgreSQL
 * instance its database lives on. A host naming no instance (or its wrong port) never connects; a
 * credential on an instance other than the one the registry places the service on, or on one whose
 * init scripts do not create its database while another's do, reaches some other service's server.
 * (`DATABASE_URL`'s own host is judged by the DATABASE_URL rules.)
 */
export function credentialInstanceFindings(service: Service, composeService: ComposeService, context: ServiceRuleContext): Finding[] {
  if (!isStateful(service)) return [];
  const findings: Finding[] = [];
  const names = context.instances.map((instance) => `${instance.name}:${instance.networkPort}`).join(", ");
  for (const credential of context.credentialsOf(service)) {
    const isDatabaseUrl = credential.source.variable === "DATABASE_URL";
    const hostField = credential.fields.host ?? credential.fields.url ?? credential.source;
    const at = { service: service.key, file: hostField.file, line: hostField.line };
    const instance = context.instances.find((candidate) => candidate.name === credential.instance);
    if (!instance) {
      if (isDatabaseUrl || context.instances.length === 0) continue;
      findings.push({
        rule: "compose/database-host",
        severity: "error",
        message: `${hostField.variable} of "${composeService.name}" names host "${credential.host}", which is no PostgreSQL service of the compose file (${names}).`,
        ...at,
        fix: `Name the PostgreSQL service ${service.key} uses (${context.instances.map((candidate) => candidate.name).join(", ")}) as the host, with its container port.`,
      });
      continue;
    }
    if (credential.port !== instance.networkPort && !isDatabaseUrl) {
      const portField = credential.fields.port ?? hostField;
      findings.push({
        rule: "compose/database-host",
        severity: "error",
        message: `${portField.variable} of "${composeService.name}" names port ${credential.port} of "${instance.name}", which listens on ${instance.networkPort} inside the network.`,
        service: service.key,
        file: portField.file,
        line: portField.line,
        fix: `Use port ${instance.networkPort} (the container port, not the published one).`,
      });
    }
    const wrong = foreignInstance(service, credential, context);
    if (wrong) findings.push({ rule: "compose/database-host", severity: "error", message: wrong.message, ...at, fix: wrong.fix });
  }
  return findings;
}

function foreignInstance(service: Service, credential: DeclaredCredential, context: ServiceRuleContext): { message: string; fix: string } | undefined {
  const reached = credential.instance!;
  const via = `${credential.source.variable} of "${service.key}"`;
  if (service.instance !== undefined && service.instance !== reached) {
    return {
      message: `${via} reaches PostgreSQL service "${reached}", but the registry places ${service.key} on "${service.instance}".`,
      fix: `Point ${credential.source.variable} at "${service.instance}", or change the registry's instance of ${service.key}.`,
    };
  }
  // Only with several instances: with one, a database its scripts lack is compose/init-database-missing.
  const here = context.createdOn.get(reached);
  if (context.instances.length < 2 || !here || here.opaque || here.created.has(credential.database)) return undefined;
  const home = context.homeOf(service);
  const creators = [...context.createdOn].filter(([name, entry]) => name !== reached && entry.created.has(credential.database)).map(([name]) => name);
  const elsewhere = creators.length > 0 ? creators : home && home.name !== reached ? [home.name] : [];
  const owners = context.registry.services.filter((other) => other.key !== service.key && context.homeOf(other)?.name === reached).map((other) => other.key);
  return {
    message:
      `${via} reaches PostgreSQL service "${reached}"${owners.length > 0 ? ` (the instance of ${owners.join(", ")})` : ""}, ` +
      `whose init scripts do not create database "${credential.database}"` +
      (creators.length > 0 ? `; ${creators.map((name) => `"${name}"`).join(", ")} creates it.` : elsewhere.length > 0 ? `; it lives on "${elsewhere[0]}".` : "."),
    fix:
      elsewhere.length > 0
        ? `Point ${credential.source.variable} at ${elsewhere.map((name) => `"${name}"`).join(" or ")}, the instance that holds ${service.key}'s database.`
        : `Point ${credential.source.variable} at the instance that holds ${service.key}'s database, or create "${credential.database}" in an init script of "${reached}".`,
  };
}
