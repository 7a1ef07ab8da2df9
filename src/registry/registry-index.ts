import { isStateful, type Registry, type Service } from "./model.js";

/** Lookups over one registry, built once: per-service rules look other services up by key, hostname or database. */
export interface RegistryIndex {
  readonly byKey: ReadonlyMap<string, Service>;
  /** The first service declaring each hostname (duplicates are the registry check's finding). */
  readonly byHostname: ReadonlyMap<string, Service>;
  /** The first stateful service owning each database. */
  readonly byDatabase: ReadonlyMap<string, Service>;
}

const indexes = new WeakMap<Registry, RegistryIndex>();

/**
 * The index of `registry`, memoised per registry object. Rules run once per service; building a map
 * of every service inside each of them made a 2,000-service product quadratic.
 */
export function registryIndex(registry: Registry): RegistryIndex {
  let index = indexes.get(registry);
  if (!index) {
    const byKey = new Map<string, Service>();
    const byHostname = new Map<string, Service>();
    const byDatabase = new Map<string, Service>();
    for (const service of registry.services) {
      if (!byKey.has(service.key)) byKey.set(service.key, service);
      if (!byHostname.has(service.hostname)) byHostname.set(service.hostname, service);
      if (isStateful(service) && !byDatabase.has(service.database)) byDatabase.set(service.database, service);
    }
    index = { byKey, byHostname, byDatabase };
    indexes.set(registry, index);
  }
  return index;
}
