/**
 * The product's PostgreSQL side as its files declare it: every instance of the compose file, and
 * for each registry service the credentials its compose service holds and the instance its
 * database lives on. Read once per loaded product (the compose check, the runtimes and the live
 * checks all ask), from files only.
 */
import type { ComposeProject, ComposeService } from "../compose-file/model.js";
import { findPostgresInstances, type PostgresInstance } from "../compose-file/postgres-instances.js";
import { isStateful, locationOf, type Registry, type Service } from "../registry/model.js";
import type { CredentialProblem, DeclaredCredential } from "./credentials/declared-credential.js";
import { readServiceCredentials } from "./credentials/read-service-credentials.js";
import type { Product } from "./product.js";
import { composeServiceOf } from "./service-database-url.js";

export interface ServicePostgres {
  readonly service: Service;
  /** Its compose service (named after its hostname, else its key); `undefined` when the compose file has none. */
  readonly composeService: ComposeService | undefined;
  /** In precedence order: the first is the one it uses for its own database. */
  readonly credentials: readonly DeclaredCredential[];
  readonly problems: readonly CredentialProblem[];
  /** The instance its database lives on: the registry's `instance`, else the one its credential names, else the only instance. */
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
        return { service, composeService, credentials: [], problems, home: registryInstance(service, instances) ?? soleInstance(instances) };
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
      const bound = read.credentials.find((credential) => credential.instance !== undefined)?.instance;
      const home = registryInstance(service, instances) ?? instances.find((instance) => instance.name === bound) ?? soleInstance(instances);
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
