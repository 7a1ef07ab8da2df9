import { posix } from "node:path";
import type { ComposeService } from "../../compose-file/model.js";
import type { Finding } from "../../core/report-model.js";
import type { Service } from "../../registry/model.js";
import { at, composeDockerfile, type ServiceRuleContext } from "./service-rule-context.js";

// An error: the registry's dockerfile names the module; building another one runs other code under this name.
export function dockerfileFindings(service: Service, composeService: ComposeService, context: ServiceRuleContext): Finding[] {
  // An image-only service (no Dockerfile, or `dockerfile: ""`) is built from nothing of the repository.
  if (service.dockerfile === undefined || service.dockerfile.trim() === "") return [];
  const expected = posix.normalize(service.dockerfile.replace(/\\/g, "/")).replace(/^\.\//, "");
  const actual = composeDockerfile(composeService, context.repoRoot);
  if (actual === expected) return [];
  const build = composeService.build;
  return [
    {
      rule: "compose/dockerfile",
      severity: "error",
      message:
        actual === undefined
          ? `Service "${composeService.name}" has no build:, so it is not built from the registry's ${expected}.`
          : `Service "${composeService.name}" builds from ${actual}; the registry says ${expected}.`,
      ...at(
        context,
        service,
        build?.dockerfileLine !== undefined
          ? { file: build.dockerfileFile ?? build.file, line: build.dockerfileLine }
          : build ?? { file: composeService.file, line: composeService.line },
      ),
      fix: `Build "${composeService.name}" with context at the repository root and dockerfile ${expected}.`,
    },
  ];
}
