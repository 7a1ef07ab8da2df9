import { isAbsolute, relative, resolve } from "node:path";
import { pathKind } from "../../core/path-probe.js";
import type { Finding } from "../../core/report-model.js";
import { readPrismaModule, type PrismaModule } from "../../prisma/read-module.js";
import { isStateful, type Registry, type Service } from "../../registry/model.js";
import { fieldFinding, snakeCase } from "./finding.js";

/** The variable the generated compose file sets for every stateful service. */
const DATABASE_URL_VARIABLE = "DATABASE_URL";

/**
 * Each entry against its module on disk: the Dockerfile exists, a database comes with a Prisma
 * schema and a schema with a database (stateless ⇔ `database: ""` ⇔ no schema), and the schema
 * reads its URL from `DATABASE_URL`, the one variable compose gives the service.
 */
export async function moduleFindings(registry: Registry, repoRoot: string): Promise<Finding[]> {
  const perService = await Promise.all(registry.services.map((service) => serviceModuleFindings(registry, repoRoot, service)));
  return perService.flat();
}

async function serviceModuleFindings(registry: Registry, repoRoot: string, service: Service): Promise<Finding[]> {
  // Without a Dockerfile (none given, or `dockerfile: ""`) there is no module to look at: an image-only
  // service runs a published image. `registry/missing-field` asks for the field in the civic profile.
  if (service.dockerfile === undefined || service.dockerfile.trim() === "") return [];
  const dockerfilePath = resolve(repoRoot, service.dockerfile);
  const fromRoot = relative(repoRoot, dockerfilePath);
  if (fromRoot.startsWith("..") || isAbsolute(fromRoot) || isAbsolute(service.dockerfile)) {
    // Nothing outside the repository is read: the module of such an entry is not looked at.
    return [
      fieldFinding(
        registry,
        service,
        "dockerfile",
        "registry/dockerfile-missing",
        `The Dockerfile path ${JSON.stringify(service.dockerfile)} of service '${service.key}' points outside the repository.`,
        "Give the Dockerfile path relative to the monorepo root, e.g. modules/<layer>/<service>/Dockerfile.",
      ),
    ];
  }

  const findings: Finding[] = [];
  const [dockerfileKind, moduleKind, prismaModule] = await Promise.all([
    pathKind(dockerfilePath),
    pathKind(resolve(dockerfilePath, "..")),
    readPrismaModule(repoRoot, service),
  ]);
  if (dockerfileKind !== "file") {
    findings.push(
      fieldFinding(
        registry,
        service,
        "dockerfile",
        "registry/dockerfile-missing",
        `The Dockerfile ${service.dockerfile} of service '${service.key}' does not exist.`,
        `Create ${service.dockerfile}, or point dockerfile at the module's existing Dockerfile (relative to the monorepo root).`,
      ),
    );
  }
  findings.push(...statefulnessFindings(registry, service, prismaModule, moduleKind === "dir"));
  return findings;
}

function statefulnessFindings(registry: Registry, service: Service, module: PrismaModule, moduleExists: boolean): Finding[] {
  const schemaFile = module.schemaFile;
  if (!isStateful(service)) {
    if (!schemaFile) return [];
    return [
      fieldFinding(
        registry,
        service,
        "database",
        "registry/stateless-with-schema",
        `Service '${service.key}' is stateless (database: "") but its module has a Prisma schema at ${schemaFile}.`,
        `Either set database: "${snakeCase(service.key)}" so the service gets its own database, or remove the Prisma schema, migrations and PrismaService from the module.`,
      ),
    ];
  }
  if (!schemaFile) {
    // A missing module folder is already a dockerfile-missing finding; one cause, one finding.
    if (!moduleExists) return [];
    return [
      fieldFinding(
        registry,
        service,
        "database",
        "registry/stateful-without-schema",
        `Service '${service.key}' owns database '${service.database}' but its module has no Prisma schema (prisma/schema.prisma or prisma/schema/).`,
        `Add prisma/schema.prisma to the module with datasource url = env("${DATABASE_URL_VARIABLE}"), or set database: "" if the service is stateless.`,
      ),
    ];
  }
  const url = module.datasourceUrl;
  if (url && !(url.kind === "env" && url.variable === DATABASE_URL_VARIABLE)) {
    return [
      {
        rule: "registry/schema-url",
        severity: "error",
        message: `The Prisma datasource of service '${service.key}' ${describeUrlSource(url)}, not from env("${DATABASE_URL_VARIABLE}"), so it does not follow the DATABASE_URL compose gives it.`,
        service: service.key,
        file: url.file,
        line: url.line,
        fix: url.file.endsWith(".prisma")
          ? `In the datasource block write url = env("${DATABASE_URL_VARIABLE}").`
          : `In prisma.config.ts write datasource: { url: env("${DATABASE_URL_VARIABLE}") }.`,
      },
    ];
  }
  return [];
}

function describeUrlSource(url: NonNullable<PrismaModule["datasourceUrl"]>): string {
  switch (url.kind) {
    case "env":
      return `reads its URL from env("${url.variable}")`;
    case "literal":
      return "has a hard-coded URL";
    case "missing":
      return "declares no URL";
    case "other":
      return "builds its URL from an expression";
  }
}
