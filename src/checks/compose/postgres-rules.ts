import { readFile } from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import type { Finding } from "../../core/report-model.js";
import { initScriptsOf, type InitScript } from "../../compose-file/init-scripts.js";
import type { ComposeProject } from "../../compose-file/model.js";
import type { PostgresService } from "../../compose-file/postgres-service.js";
import { isStateful, type Registry } from "../../registry/model.js";
import { createdDatabases } from "./created-databases.js";
import { repoRelative } from "../../core/repo-path.js";

export interface PostgresRuleContext {
  readonly registry: Registry;
  readonly compose: ComposeProject;
  readonly repoRoot: string;
}

/** Rules about the PostgreSQL service itself: it exists, reports health, and its init scripts create every registry database. */
export async function postgresFindings(postgres: PostgresService | undefined, context: PostgresRuleContext): Promise<Finding[]> {
  const stateful = context.registry.services.filter(isStateful);
  if (!postgres) {
    if (stateful.length === 0) return [];
    return [
      {
        rule: "compose/missing-postgres",
        severity: "error",
        message: `The compose file has no PostgreSQL service (a postgres image or a service mounting /docker-entrypoint-initdb.d), yet ${stateful.length} service(s) own a database.`,
        file: context.compose.file,
        fix: "Add a `postgres` service (image postgres:16-alpine) that mounts infra/init-databases.sql into /docker-entrypoint-initdb.d (regenerate from the registry).",
      },
    ];
  }
  const findings: Finding[] = [...healthcheckFindings(postgres)];
  const { scripts, problems } = await initScriptsOf(postgres.service);
  const name = postgres.service.name;

  // Errors: docker creates an empty directory for a missing bind source, so the databases are silently never created.
  for (const problem of problems) {
    const source = problem.reason === "named-volume" ? `volume "${problem.source}"` : repoRelative(context.repoRoot, problem.source);
    const reason = {
      missing: `does not exist, so nothing is mounted at ${problem.target}`,
      "named-volume": `is a named volume mounted at ${problem.target}; its scripts cannot be read from the repository`,
      "file-over-directory": `is a file mounted over the directory ${problem.target}, which the image cannot list`,
    }[problem.reason];
    findings.push({
      rule: "compose/init-scripts",
      // A named volume may be filled elsewhere: it cannot be verified, so it warns rather than fails.
      severity: problem.reason === "named-volume" ? "warning" : "error",
      message: `The init script source ${source} of "${name}" ${reason}.`,
      file: problem.file,
      line: problem.line,
      fix: "Mount the generated infra/init-databases.sql into /docker-entrypoint-initdb.d/ with a path relative to the compose file.",
    });
  }
  const runnable = scripts.filter((script) => script.kind !== "ignored");
  if (runnable.length === 0 && problems.length === 0) {
    findings.push({
      rule: "compose/init-scripts",
      severity: "error",
      message: `The PostgreSQL service "${name}" mounts no init script into /docker-entrypoint-initdb.d, so no service database is created.`,
      file: postgres.service.file,
      line: postgres.service.line,
      fix: `Add "- ./infra/init-databases.sql:/docker-entrypoint-initdb.d/01-init-databases.sql:ro" to the volumes of "${name}".`,
    });
  }
  // With nothing runnable mounted, the init-scripts finding already says no database is created.
  if (runnable.length === 0) return findings;
  return [...findings, ...(await missingDatabaseFindings(postgres, runnable, context))];
}

// An error: `depends_on: condition: service_healthy` needs it, or services race the init scripts.
function healthcheckFindings(postgres: PostgresService): Finding[] {
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
async function missingDatabaseFindings(postgres: PostgresService, scripts: readonly InitScript[], context: PostgresRuleContext): Promise<Finding[]> {
  const created = new Set<string>([postgres.database]);
  const opaque: InitScript[] = [];
  for (const script of scripts) {
    if (script.kind !== "sql" && script.kind !== "sql.gz") {
      opaque.push(script);
      continue;
    }
    const bytes = await readFile(script.hostPath);
    const sql = script.kind === "sql.gz" ? gunzipSync(bytes).toString("utf8") : bytes.toString("utf8");
    const result = createdDatabases(sql);
    for (const database of result.names) created.add(database);
    if (result.dynamic) opaque.push(script);
  }
  const { line, file } = scripts[0] ?? postgres.service;
  const findings: Finding[] = [];
  for (const service of context.registry.services.filter(isStateful)) {
    if (created.has(service.database)) continue;
    const unverifiable = opaque.map((script) => script.containerName);
    findings.push(
      unverifiable.length > 0
        ? {
            rule: "compose/init-database-missing",
            severity: "warning",
            message: `No SQL init script creates database "${service.database}"; ${unverifiable.join(", ")} may, but cannot be read statically.`,
            service: service.key,
            file,
            line,
            fix: `Create "${service.database}" with a plain CREATE DATABASE in a mounted .sql script (regenerate infra/init-databases.sql).`,
          }
        : {
            rule: "compose/init-database-missing",
            severity: "error",
            message: `The init scripts of "${postgres.service.name}" never create database "${service.database}" of "${service.key}".`,
            service: service.key,
            file,
            line,
            fix: `Regenerate infra/init-databases.sql from the registry so it contains CREATE DATABASE ${service.database}.`,
          },
    );
  }
  return findings;
}
