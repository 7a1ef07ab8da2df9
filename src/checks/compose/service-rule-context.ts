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

/** A place in the compose project: a value's file and line (the main file, an override, or a file `extends:` names). */
export interface ComposeLine {
  readonly file: string;
  readonly line: number;
}

/** A finding's location in the compose project, for one registry service. */
export function at(_context: ServiceRuleContext, service: Service, where: ComposeLine): Pick<Finding, "service" | "file" | "line"> {
  return { service: service.key, file: where.file, line: where.line };
}

/** Where a variable belongs that the service lacks: its `environment:` key, else the service's own key. */
export function environmentAt(composeService: ComposeService): ComposeLine {
  return composeService.environmentLine === undefined
    ? { file: composeService.file, line: composeService.line }
    : { file: composeService.environmentFile ?? composeService.file, line: composeService.environmentLine };
}

/** Where a dependency belongs that the service lacks: its `depends_on:` key, else the service's own key. */
export function dependsOnAt(composeService: ComposeService): ComposeLine {
  return composeService.dependsOnLine === undefined
    ? { file: composeService.file, line: composeService.line }
    : { file: composeService.dependsOnFile ?? composeService.file, line: composeService.dependsOnLine };
}

/** The instance a name reaches inside the compose network (service name, container_name, hostname, alias). */
export function instanceNamed(instances: readonly PostgresInstance[], host: string): PostgresInstance | undefined {
  return instances.find((instance) => instance.aliases.includes(host));
}
