/**
 * `own-database/cluster-state`: the server should hold what the registry implies and nothing more.
 * A database or LOGIN role nobody in the registry owns is a leftover from a hand edit (or a service
 * that was removed): harmless today, and the first thing someone reuses tomorrow. Warnings only,
 * since the server may legitimately carry things outside this product (an external runtime).
 */
import type { Product } from "../../product/product.js";
import type { Finding } from "../../core/report-model.js";
import { isStateful, type Service } from "../../registry/model.js";
import { describeUrl } from "../../postgres/connect.js";
import type { ClusterCatalog } from "../../postgres/cluster-catalog.js";
import type { ServiceCredential } from "../shared/service-credentials.js";
import { GENERIC_WORDING, type FixWording } from "../shared/init-script-names.js";

const BUILT_IN_DATABASES = new Set(["postgres", "template0", "template1"]);

/**
 * For one instance: `credentials` are those that reach it, `services` the stateful services whose
 * database lives on it; `instance` names it in messages when the product has several.
 */
export function clusterStateFindings(
  product: Product,
  adminUrl: string,
  catalog: ClusterCatalog,
  credentials: readonly ServiceCredential[],
  services: readonly Service[],
  instance?: string,
  wording: FixWording = GENERIC_WORDING,
): Finding[] {
  const where = wording.where(instance);
  const admin = describeUrl(adminUrl);
  const registryFile = product.registry.file;
  const on = instance ? ` of instance "${instance}"` : "";
  const registryDatabases = new Set(services.filter(isStateful).map((service) => service.database));
  const serviceRoles = new Set(credentials.map((credential) => credential.user));
  const findings: Finding[] = [];

  for (const database of catalog.databases) {
    // The admin URL's database is POSTGRES_DB: the image creates it, the registry does not list it.
    if (BUILT_IN_DATABASES.has(database.name) || database.name === admin?.database || registryDatabases.has(database.name)) continue;
    findings.push({
      rule: "own-database/cluster-state",
      severity: "warning",
      message: `Database "${database.name}" (owner "${database.owner}") exists on the server${on}, but no registry service owns it.`,
      file: registryFile,
      fix: `Remove it from ${where}, or add the service that owns it to the registry${wording.hint}.`,
    });
  }

  const owners = new Map(catalog.databases.map((database) => [database.name, database.owner]));
  for (const credential of credentials) {
    const { service } = credential;
    const owner = owners.get(service.database);
    if (owner === undefined || owner === credential.user) continue;
    findings.push({
      rule: "own-database/cluster-state",
      severity: "warning",
      message: `Database "${service.database}" is owned by "${owner}", not by ${service.key}'s role "${credential.user}".`,
      service: service.key,
      file: credential.source.file,
      line: credential.source.line,
      fix: `Create the database with OWNER ${credential.user} (or ALTER DATABASE ${service.database} OWNER TO ${credential.user}) in ${where}${wording.hint}.`,
    });
  }

  for (const role of catalog.roles) {
    if (!role.canLogin || role.name === admin?.user || serviceRoles.has(role.name)) continue;
    findings.push({
      rule: "own-database/cluster-state",
      severity: "warning",
      message: `Role "${role.name}" can log in${instance ? ` on instance "${instance}"` : ""}, but no service's credential uses it.`,
      file: registryFile,
      fix: `Drop the role (or make it NOLOGIN) in ${where} unless something outside this product needs it${wording.hint}.`,
    });
  }
  return findings;
}
