import type { Finding } from "../../core/report-model.js";
import type { InitScript } from "../../compose-file/init-scripts.js";
import type { ComposeProject } from "../../compose-file/model.js";
import type { PostgresInstance } from "../../compose-file/postgres-instances.js";
import { isStateful, type Registry, type Service } from "../../registry/model.js";
import { instanceDatabases } from "../../compose-file/init-script-databases.js";
import { repoRelative } from "../../core/repo-path.js";

export interface PostgresRuleContext {
  readonly registry: Registry;
  readonly compose: ComposeProject;
  readonly repoRoot: string;
  /** The instance each stateful service uses (its home); `undefined` when it cannot be told. */
  readonly homeOf: (service: Service) => PostgresInstance | undefined;
  /**
   * The civic profile: fixes say to regenerate infra/init-databases.sql from the registry, as every
   * check's fix does under it (checks/shared/init-script-names.ts); else they name the product's own scripts.
   */
  readonly civic: boolean;
}

/**
 * Rules about the PostgreSQL services themselves: there is at least one, each reports health, and
 * each stateful service's database is created by the init scripts of the instance it uses.
 */
export async function postgresFindings(instances: readonly PostgresInstance[], context: PostgresRuleContext): Promise<Finding[]> {
  const stateful = context.registry.services.filter(isStateful);
  if (instances.length === 0) {
    if (stateful.length === 0) return [];
    return [
      {
        rule: "compose/missing-postgres",
        severity: "error",
        message:
          `The compose file has no PostgreSQL service (an image of the postgres, postgis, timescaledb, pgvector or bitnami/postgresql family, ` +
          `a build FROM one, or a service mounting /docker-entrypoint-initdb.d), yet ${stateful.length} service(s) own a database.`,
        file: context.compose.file,
        fix: context.civic
          ? "Add a `postgres` service (image postgres:16-alpine) that mounts infra/init-databases.sql into /docker-entrypoint-initdb.d (regenerate from the registry)."
          : "Add a PostgreSQL service (e.g. image postgres:16-alpine) whose init script in /docker-entrypoint-initdb.d creates each service's database and its own role.",
      },
    ];
  }
  const findings: Finding[] = [];
  for (const instance of instances) {
    // With one instance every service uses it; with several, one whose instance cannot be told is checked below.
    const served = stateful.filter((service) => {
      const home = context.homeOf(service);
      return home === undefined ? instances.length === 1 : home === instance;
    });
    findings.push(...(await instanceFindings(instance, served, context)));
  }
  const unplaced = instances.length > 1 ? stateful.filter((service) => context.homeOf(service) === undefined) : [];
  findings.push(...(await unplacedDatabaseFindings(unplaced, instances)));
  return findings;
}

async function instanceFindings(postgres: PostgresInstance, served: readonly Service[], context: PostgresRuleContext): Promise<Finding[]> {
  const findings: Finding[] = [...healthcheckFindings(postgres)];
  const scripts = postgres.initScripts;
  const problems = postgres.initProblems;
  const name = postgres.service.name;

  // Errors: docker creates an empty directory for a missing bind source, so the databases are silently never created.
  for (const problem of problems) {
    const source = problem.reason === "named-volume" ? `volume "${problem.source}"` : repoRelative(context.repoRoot, problem.source);
    const reason = {
      missing: `does not exist, so nothing is put at ${problem.target}`,
      "named-volume": `is a named volume mounted at ${problem.target}; its scripts cannot be read from the repository`,
      "file-over-directory": `is a file mounted over the directory ${problem.target}, which the image cannot list`,
      "other-stage": `is another build stage copied to ${problem.target}; its files cannot be read from the repository`,
      unreadable: `(a URL or an archive ADDed to ${problem.target}) cannot be read from the repository`,
    }[problem.reason];
    // A named volume or another stage may be filled elsewhere: it cannot be verified, so it warns rather than fails.
    const unverifiable = problem.reason === "named-volume" || problem.reason === "other-stage" || problem.reason === "unreadable";
    findings.push({
      rule: "compose/init-scripts",
      severity: unverifiable ? "warning" : "error",
      message: `The init script source ${source} of "${name}" ${reason}.`,
      file: problem.origin.file,
      line: problem.origin.line,
      fix: context.civic
        ? "Mount the generated infra/init-databases.sql into /docker-entrypoint-initdb.d/ with a path relative to the compose file."
        : "Mount an init script (or folder) that exists in the repository into /docker-entrypoint-initdb.d/, with a path relative to the compose file.",
    });
  }
  const runnable = scripts.filter((script) => script.kind !== "ignored");
  // An instance whose services all live in POSTGRES_DB (which the image creates) needs no init script.
  if (runnable.length === 0 && problems.length === 0 && served.some((service) => service.database !== postgres.database)) {
    findings.push({
      rule: "compose/init-scripts",
      severity: "error",
      message: `The PostgreSQL service "${name}" has no init script in /docker-entrypoint-initdb.d (mounted, or copied by its build), so no service database is created.`,
      file: postgres.service.file,
      line: postgres.service.line,
      fix: context.civic
        ? `Add "- ./infra/init-databases.sql:/docker-entrypoint-initdb.d/01-init-databases.sql:ro" to the volumes of "${name}".`
        : `Mount an init script creating the services' databases into /docker-entrypoint-initdb.d of "${name}" (e.g. "- ./initdb:/docker-entrypoint-initdb.d:ro").`,
    });
  }
  // With nothing runnable mounted, the init-scripts finding already says no database is created.
  if (runnable.length === 0) return findings;
  return [...findings, ...(await missingDatabaseFindings(postgres, runnable, served, context.civic, context.repoRoot))];
}

/** With several instances, a service whose instance cannot be told must find its database created by one of them. */
async function unplacedDatabaseFindings(services: readonly Service[], instances: readonly PostgresInstance[]): Promise<Finding[]> {
  if (services.length === 0) return [];
  const created = new Set<string>();
  let opaque = false;
  for (const instance of instances) {
    const read = await instanceDatabases(instance);
    for (const name of read.created) created.add(name);
    opaque ||= read.opaque.length > 0;
  }
  return services
    .filter((service) => !created.has(service.database))
    .map((service) => ({
      rule: "compose/init-database-missing",
      severity: opaque ? ("warning" as const) : ("error" as const),
      message: `No init script of the PostgreSQL services ${instances.map((instance) => instance.name).join(", ")} creates database "${service.database}" of "${service.key}"${opaque ? " (some scripts cannot be read statically)" : ""}.`,
      service: service.key,
      file: instances[0]!.service.file,
      line: instances[0]!.service.line,
      fix: `Create "${service.database}" with a plain CREATE DATABASE in an init script of the instance "${service.key}" uses.`,
    }));
}

// An error: `depends_on: condition: service_healthy` needs it, or services race the init scripts.
function healthcheckFindings(postgres: PostgresInstance): Finding[] {
  const { service } = postgres;
  if (service.healthcheck && !service.healthcheck.disabled) return [];
  return [
    {
      rule: "compose/postgres-healthcheck",
      severity: "error",
      message: service.healthcheck
        ? `The healthcheck of PostgreSQL service "${service.name}" is disabled, so no service can wait for it to be ready.`
        : `PostgreSQL service "${service.name}" has no healthcheck, so no service can wait for it to be ready.`,
      file: service.healthcheck?.file ?? service.file,
      line: service.healthcheck?.line ?? service.line,
      fix: `Add a healthcheck to "${service.name}": test: ["CMD-SHELL", "pg_isready -h 127.0.0.1 -U ${postgres.user}"].`,
    },
  ];
}

/**
 * Every registry database must be created by a SQL init script, or be POSTGRES_DB (the image creates
 * that one). What a shell or compressed-other-than-gzip script does cannot be read statically:
 * then a database not found is a warning ("could not confirm"), never a pass.
 */
async function missingDatabaseFindings(
  postgres: PostgresInstance,
  scripts: readonly InitScript[],
  served: readonly Service[],
  civic: boolean,
  repoRoot: string,
): Promise<Finding[]> {
  const { created, opaque } = await instanceDatabases(postgres);
  const origin = scripts[0]?.origin ?? { file: postgres.service.file, line: postgres.service.line };
  // Where the product's own CREATE DATABASE statements live: its SQL init scripts, as files of the repository.
  const sqlScripts = scripts.filter((script) => script.kind.startsWith("sql")).map((script) => repoRelative(repoRoot, script.hostPath));
  const ownScript = sqlScripts.length === 1 ? sqlScripts[0]! : sqlScripts.length > 1 ? `one of ${sqlScripts.join(", ")}` : "a mounted .sql init script";
  const findings: Finding[] = [];
  for (const service of served) {
    if (created.has(service.database)) continue;
    const unverifiable = opaque.map((script) => script.containerName);
    findings.push(
      unverifiable.length > 0
        ? {
            rule: "compose/init-database-missing",
            severity: "warning",
            message: `No SQL init script creates database "${service.database}"; ${unverifiable.join(", ")} may, but cannot be read statically.`,
            service: service.key,
            file: origin.file,
            line: origin.line,
            fix: civic
              ? `Create "${service.database}" with a plain CREATE DATABASE in a mounted .sql script (regenerate infra/init-databases.sql).`
              : `Create "${service.database}" with a plain CREATE DATABASE (owned by the service's own role) in ${ownScript}.`,
          }
        : {
            rule: "compose/init-database-missing",
            severity: "error",
            message: `The init scripts of "${postgres.service.name}" never create database "${service.database}" of "${service.key}".`,
            service: service.key,
            file: origin.file,
            line: origin.line,
            fix: civic
              ? `Regenerate infra/init-databases.sql from the registry so it contains CREATE DATABASE ${service.database}.`
              : `Add CREATE DATABASE ${service.database} (owned by the service's own role) to ${ownScript}.`,
          },
    );
  }
  return findings;
}
