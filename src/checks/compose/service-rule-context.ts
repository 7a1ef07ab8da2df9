import { resolve } from "node:path";
import type { ComposeProject, ComposeService } from "../../compose-file/model.js";
import type { PostgresService } from "../../compose-file/postgres-service.js";
import { repoRelative } from "../../core/repo-path.js";
import type { Finding } from "../../core/report-model.js";
import type { Registry, Service } from "../../registry/model.js";

/** What every per-service rule needs to know about the whole product. */
export interface ServiceRuleContext {
  readonly registry: Registry;
  readonly compose: ComposeProject;
  readonly postgres: PostgresService | undefined;
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
