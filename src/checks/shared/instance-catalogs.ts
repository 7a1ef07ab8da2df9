/**
 * Each live instance's catalog, read as its admin: what the checks compare the registry with and
 * judge roles by. A catalog that cannot be read makes the check unable to look, never pass.
 */
import { mapBounded } from "../../core/concurrency.js";
import { withConnection } from "../../postgres/connect.js";
import { type ClusterCatalog, readClusterCatalog } from "../../postgres/cluster-catalog.js";
import { isUnreachable } from "../../postgres/sqlstate.js";
import type { LiveEnvironment } from "../../runtime/runtime.js";
import { CheckUnableError } from "../check.js";

export async function readInstanceCatalogs(live: LiveEnvironment, applicationName: string, signal: AbortSignal): Promise<Map<string, ClusterCatalog>> {
  const instances = [...live.instances.values()];
  const catalogs = await mapBounded(
    instances,
    instances.length,
    (instance) =>
      withConnection(instance.adminUrl, { applicationName }, readClusterCatalog).catch((error: unknown) => {
        if (isUnreachable(error)) throw error;
        const which = live.instances.size > 1 ? ` of instance "${instance.name}"` : "";
        throw new CheckUnableError(`could not log in with the admin URL${which} to read the catalog: ${(error as Error).message}`);
      }),
    signal,
  );
  return new Map(instances.map((instance, index) => [instance.name, catalogs[index]!]));
}
