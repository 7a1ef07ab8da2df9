/**
 * The product's PostgreSQL side as its files declare it: every instance of the compose file, and
 * for each registry service the credentials its compose service holds and the instance its
 * database lives on. Read once per loaded product (the compose check, the runtimes and the live
 * checks all ask), from files only.
 */
import type { ComposeProject, ComposeService } from "../compose-file/model.js";
import { instanceDatabases } from "../compose-file/init-script-databases.js";
import { findPostgresInstances, type PostgresInstance } from "../compose-file/postgres-instances.js";
import { isStateful, locationOf, type Registry, type Service } from "../registry/model.js";
import type { CredentialProblem, DeclaredCredential } from "./credentials/declared-credential.js";
import { readServiceCredentials } from "./credentials/read-service-credentials.js";
import type { Product } from "./product.js";
import { composeServiceOf } from "./compose-service-of.js";

export interface ServicePostgres {
  readonly service: Service;
  /** Its compose service (named after its hostname, else its key); `undefined` when the compose file has none. */
  readonly composeService: ComposeService | undefined;
  /** In precedence order: the first is the one it uses for its own database. */
  readonly credentials: readonly DeclaredCredential[];
  readonly problems: readonly CredentialProblem[];
  /**
   * The instance its database lives on: the registry's `instance`; else the one instance whose init
   * scripts create it; else the one its credential names, unless that instance's scripts are all
   * readable and do not create it; else the one instance whose scripts could (not readable
   * statically); else the only instance. `undefined` when none of these tells.
   */
  readonly home: PostgresInstance | undefined;
}

export interface ProductPostgres {
  readonly instances: readonly PostgresInstance[];
  /** Registry order. */
  readonly services: readonly ServicePostgres[];
  of(serviceKey: string): ServicePostgres | undefined;
}

const cache = new WeakMap<ComposeProject, WeakMap<Registry, Promise<ProductPostgres>>>();

/**
 * @param compose the compose file to read (default: the product's own)
 * @throws UsageError when an instance's `_FILE` variables cannot be resolved (see `findPostgresInstances`)
 */
export function productPostgres(product: Product, compose: ComposeProject | undefined = product.compose): Promise<ProductPostgres> {
  if (!compose) return Promise.resolve(emptyPostgres(product.registry));
  let byRegistry = cache.get(compose);
  if (!byRegistry) cache.set(compose, (byRegistry = new WeakMap()));
  let model = byRegistry.get(product.registry);
  if (!model) byRegistry.set(product.registry, (model = readProductPostgres(product.registry, compose)));
  return model;
}

async function readProductPostgres(registry: Registry, compose: ComposeProject): Promise<ProductPostgres> {
  const instances = await findPostgresInstances(compose);
  const databases = new Map(await Promise.all(instances.map(async (instance) => [instance, await instanceDatabases(instance)] as const)));
  const homeOf = (service: Service, bound: PostgresInstance | undefined) => {
    const registered = registryInstance(service, instances);
    if (registered) return registered;
    const creators = instances.filter((instance) => databases.get(instance)!.created.has(service.database));
    if (creators.length === 1) return creators[0];
    if (bound && (creators.includes(bound) || databases.get(bound)!.opaque.length > 0)) return bound;
    const couldCreate = creators.length > 1 ? creators : instances.filter((instance) => databases.get(instance)!.opaque.length > 0);
    if (couldCreate.length === 1) return couldCreate[0];
    return soleInstance(instances);
  };
  const sources = { instances, registryFile: registry.file };
  const services = await Promise.all(
    registry.services.map(async (service): Promise<ServicePostgres> => {
      const composeService = composeServiceOf(compose, service);
      if (!composeService) {
        const problems: CredentialProblem[] = isStateful(service)
          ? [
              {
                service: service.key,
                kind: "no-credential",
                reason: `the compose file has no service "${service.hostname}" for ${service.key}, so no credential of it can be read`,
                ...locationOf(registry, service),
                variables: [],
              },
            ]
          : [];
        return { service, composeService, credentials: [], problems, home: homeOf(service, undefined) };
      }
      const read = await readServiceCredentials(composeService, service, sources);
      const problems = [...read.problems];
      if (service.instance !== undefined && !instances.some((instance) => instance.name === service.instance)) {
        problems.push({
          service: service.key,
          kind: "unknown-instance",
          reason: `the registry places ${service.key} on instance "${service.instance}", which is no PostgreSQL service of ${compose.file} (${instances.map((instance) => instance.name).join(", ") || "none"})`,
          ...locationOf(registry, service, "instance"),
          variables: [],
        });
      }
      const boundName = read.credentials.find((credential) => credential.instance !== undefined)?.instance;
      const home = homeOf(service, instances.find((instance) => instance.name === boundName));
      return { service, composeService, credentials: read.credentials, problems, home };
    }),
  );
  const byKey = new Map(services.map((entry) => [entry.service.key, entry]));
  return { instances, services, of: (key) => byKey.get(key) };
}

function registryInstance(service: Service, instances: readonly PostgresInstance[]): PostgresInstance | undefined {
  return service.instance === undefined ? undefined : instances.find((instance) => instance.name === service.instance);
}

function soleInstance(instances: readonly PostgresInstance[]): PostgresInstance | undefined {
  return instances.length === 1 ? instances[0] : undefined;
}

function emptyPostgres(registry: Registry): ProductPostgres {
  const services = registry.services.map((service) => ({ service, composeService: undefined, credentials: [], problems: [], home: undefined }));
  const byKey = new Map(services.map((entry) => [entry.service.key, entry]));
  return { instances: [], services, of: (key) => byKey.get(key) };
}
