import { resolve } from "node:path";
import type { ComposeProject, ComposeService } from "../../compose-file/model.js";
import type { PostgresInstance } from "../../compose-file/postgres-instances.js";
import type { DeclaredCredential } from "../../product/credentials/declared-credential.js";
import { repoRelative } from "../../core/repo-path.js";
import type { Finding } from "../../core/report-model.js";
import type { Registry, Service } from "../../registry/model.js";

/** What every per-service rule needs to know about the whole product. */
export interface ServiceRuleContext {
  readonly registry: Registry;
  readonly compose: ComposeProject;
  /** Every PostgreSQL instance of the compose file. */
  readonly instances: readonly PostgresInstance[];
  /** The instance a registry service's database lives on (registry `instance`, else its credential's, else the only one). */
  readonly homeOf: (service: Service) => PostgresInstance | undefined;
  /** The credentials the reader found for a registry service. */
  readonly credentialsOf: (service: Service) => readonly DeclaredCredential[];
  /** Per instance name: the databases its init scripts create (read statically), and whether some script could not be read. */
  readonly createdOn: ReadonlyMap<string, { readonly created: ReadonlySet<string>; readonly opaque: boolean }>;
  readonly repoRoot: string;
}

/** The Dockerfile a compose `build:` uses, repo-relative: `dockerfile` resolves against the context, default `Dockerfile`. */
export function composeDockerfile(service: ComposeService, repoRoot: string): string | undefined {
  if (!service.build) return undefined;
  return repoRelative(repoRoot, resolve(service.build.context, service.build.dockerfile ?? "Dockerfile"));
}

/** A finding's location on the compose file, for one registry service. */
export function at(context: ServiceRuleContext, service: Service, line: number): Pick<Finding, "service" | "file" | "line"> {
  return { service: service.key, file: context.compose.file, line };
}

/** The instance a name reaches inside the compose network (service name, container_name, hostname, alias). */
export function instanceNamed(instances: readonly PostgresInstance[], host: string): PostgresInstance | undefined {
  return instances.find((instance) => instance.aliases.includes(host));
}
