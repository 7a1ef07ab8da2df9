import { dirname, resolve } from "node:path";
import type { ComposeProject, ComposeService } from "../compose-file/model.js";
import { findPostgresInstances, type PostgresInstance } from "../compose-file/postgres-instances.js";
import { isPostgresUrl } from "../postgres/database-url.js";
import { repoRelative } from "../core/repo-path.js";
import type { InferredFact, InferredTodo, ReportLocation } from "../core/report-model.js";
import type { MigrationsSpec, Registry, Service, ServiceDefinition } from "../registry/model.js";
import { readServiceCredentials } from "./credentials/read-service-credentials.js";
import { guessCredentialMapping, type GuessedMapping } from "./guess-credential-mapping.js";
import { findMigrations, type FoundMigrations } from "./migration-sets.js";

/** What inference found beside the registry: each fact with the lines it was read from, and what it could not decide. */
export interface Inference {
  readonly facts: readonly InferredFact[];
  readonly todo: readonly InferredTodo[];
  /** Migration sets found by convention, per service key (also in each entry's `migrations`). */
  readonly migrations: ReadonlyMap<string, FoundMigrations>;
  /** The PostgreSQL instances of the compose project. */
  readonly instances: readonly PostgresInstance[];
}

export interface InferredRegistry {
  readonly registry: Registry;
  readonly inference: Inference;
}

/** Any URL but PostgreSQL's: what a service calls another one with. */
const CALL_URL = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * A registry read from the compose project itself, for a repository that has none:
 * - every compose service but the PostgreSQL instances is a service (its key the compose name),
 *   except an image-only service that holds no database credential (Redis, a mail catcher…);
 * - a service holding a PostgreSQL credential (every form the credential reader knows) is stateful,
 *   its database the credential's, its instance the one the credential's host names; any other is
 *   stateless;
 * - `dependsOn` from `depends_on` and from URL values naming another service, those URLs as `extraEnv`;
 * - the Dockerfile from `build:`, `port` from `PORT` (else the one container port published);
 * - the migration set by convention in the module folder (the Dockerfile's).
 * Every fact keeps the file and line it was read from; what cannot be decided is a `TODO`.
 */
export async function inferRegistry(compose: ComposeProject, repoRoot: string): Promise<InferredRegistry> {
  const instances = await findPostgresInstances(compose);
  const instanceServices = new Set(instances.map((instance) => instance.service));
  const facts: InferredFact[] = [];
  const todo: InferredTodo[] = [];
  const migrations = new Map<string, FoundMigrations>();
  const at = (location: { file: string; line: number }): ReportLocation => ({ file: location.file, line: location.line });

  for (const instance of instances) {
    facts.push({ service: instance.name, fact: `PostgreSQL instance (${instance.image ?? "image of its build"}; superuser ${instance.user})`, from: [at(instance.recognisedBy)] });
  }

  const candidates = [...compose.services.values()].filter((service) => !instanceServices.has(service));
  const drafts: Array<{ composeService: ComposeService; definition: ServiceDefinition; fieldLines: Record<string, number>; fieldFiles: Record<string, string> }> = [];
  for (const composeService of candidates) {
    const key = composeService.name;
    const fieldLines: Record<string, number> = {};
    const fieldFiles: Record<string, string> = {};
    const place = (field: keyof ServiceDefinition, location: { file: string; line: number }) => {
      fieldLines[field] = location.line;
      fieldFiles[field] = location.file;
    };
    // Read as if stateful: a service that holds no credential then says so (a `no-credential` problem).
    const probe: Service = { key, hostname: key, database: key, line: composeService.line, fieldLines: {} };
    let { credentials, problems } = await readServiceCredentials(composeService, probe, { instances, registryFile: compose.file });
    let attempted = problems.filter((problem) => problem.kind !== "no-credential");
    let guessed: GuessedMapping | undefined;
    if (credentials.length === 0 && attempted.length === 0) {
      guessed = guessCredentialMapping(composeService, instances);
      if (guessed) {
        const hostValue = composeService.environment.get(guessed.hostVariable)!.source;
        ({ credentials, problems } = await readServiceCredentials(composeService, { ...probe, credentials: guessed.mapping, fieldLines: { credentials: hostValue.line } }, { instances, registryFile: hostValue.file }));
        attempted = problems.filter((problem) => problem.kind !== "no-credential");
        const parts = Object.entries(guessed.mapping).map(([part, variable]) => `${part} ${variable}`).join(", ");
        facts.push({ service: key, fact: `credentials read by a guessed mapping (${parts}): ${guessed.hostVariable} names PostgreSQL service ${guessed.instance}`, from: [at(hostValue)] });
        todo.push({ service: key, message: `no common credential form matched; the credentials mapping (${parts}) was guessed from the variable names: confirm it`, at: at(hostValue) });
      }
    }
    if (credentials.length === 0 && attempted.length === 0 && !composeService.build) {
      facts.push({ service: key, fact: `left out of the registry: image ${composeService.image?.value ?? "(none)"}, no build and no PostgreSQL credential`, from: [at(composeService)] });
      continue;
    }
    let database = "";
    let instance: string | undefined;
    const [primary, ...others] = credentials;
    if (primary) {
      database = primary.database;
      instance = primary.instance;
      place("database", primary.source);
      const variables = Object.values(primary.fields).map((field) => field.variable);
      facts.push({
        service: key,
        fact: `stateful: database "${primary.database}" as role "${primary.user}"${instance ? ` on ${instance}` : ""} (${primary.form === "url" ? "URL" : primary.form === "split" ? "split variables" : primary.form} ${[...new Set(variables)].join(", ")})`,
        from: uniqueLocations(Object.values(primary.fields).map(at)),
      });
      for (const other of others.filter((credential) => credential.database !== primary.database)) {
        todo.push({ service: key, message: `${key} also holds a credential for database "${other.database}" (${other.source.variable}); the first one, "${primary.database}", is taken as its own`, at: at(other.source) });
      }
    } else if (attempted.length > 0) {
      // A credential that could not be read still makes the service stateful: calling it stateless would leave it untested.
      database = key.toLowerCase().replace(/[^a-z0-9]+/g, "_");
      const first = attempted[0]!;
      place("database", first);
      todo.push({ service: key, message: `its PostgreSQL credential could not be read (${first.reason}); its database is assumed to be "${database}": set database (and credentials) here`, at: at(first) });
    } else {
      facts.push({ service: key, fact: "stateless: holds no PostgreSQL credential", from: [at(composeService)] });
    }
    // Beside a credential that was read, a part that could not be (an unbound host…) is a TODO of its own.
    if (primary) for (const problem of attempted) todo.push({ service: key, message: problem.reason, at: at(problem) });

    const definition: { -readonly [K in keyof ServiceDefinition]: ServiceDefinition[K] } = { hostname: key, database };
    if (guessed) {
      definition.credentials = guessed.mapping;
      place("credentials", composeService.environment.get(guessed.hostVariable)!.source);
    }
    if (instance !== undefined && instances.length > 1) {
      definition.instance = instance;
      place("instance", primary!.source);
    }
    if (composeService.build) {
      const dockerfilePath = resolve(composeService.build.context, composeService.build.dockerfile ?? "Dockerfile");
      definition.dockerfile = repoRelative(repoRoot, dockerfilePath);
      const where = composeService.build.dockerfileLine !== undefined ? { file: composeService.build.dockerfileFile ?? composeService.build.file, line: composeService.build.dockerfileLine } : composeService.build;
      place("dockerfile", where);
      facts.push({ service: key, fact: `Dockerfile ${definition.dockerfile}`, from: [at(where)] });
      const found = await findMigrations(dirname(dockerfilePath), repoRoot);
      if (found && database !== "") {
        migrations.set(key, found);
        const spec: { -readonly [K in keyof MigrationsSpec]: MigrationsSpec[K] } = { dir: found.dir };
        if (found.tool) spec.tool = found.tool;
        definition.migrations = spec;
        facts.push({ service: key, fact: `migrations: ${found.kind}, ${found.dir} (${found.files} file${found.files === 1 ? "" : "s"})`, from: [{ file: found.dir }] });
        if (!found.tool) todo.push({ service: key, message: `its migrations (${found.kind}, ${found.dir}) need a command to apply them: set migrations.command${found.suggestedCommand ? `, e.g. "${found.suggestedCommand}"` : ""}` });
      } else if (database !== "") {
        todo.push({ service: key, message: `no migration set found by convention in ${repoRelative(repoRoot, dirname(dockerfilePath)) || "."}: set migrations.dir (and tool or command)` });
      }
    } else if (database !== "") {
      todo.push({ service: key, message: `${key} runs an image (${composeService.image?.value ?? "none"}) with no build, so no module folder and no migrations were found: set migrations.dir or migrations.command` });
    }
    const port = servicePort(composeService);
    if (port) {
      definition.port = port.value;
      place("port", port);
      facts.push({ service: key, fact: `port ${port.value}`, from: [at(port)] });
    }
    if (composeService.profiles && composeService.profiles.length > 0) {
      const names = composeService.profiles.map((profile) => profile.value);
      facts.push({ service: key, fact: `under profile ${names.join(", ")}: checked, but compose starts it only with --profile`, from: composeService.profiles.map(at) });
    }
    drafts.push({ composeService, definition, fieldLines, fieldFiles });
  }

  // Dependencies need every key: from depends_on and from URL values naming another registry service.
  const keys = new Set(drafts.map((draft) => draft.composeService.name));
  const services: Service[] = drafts.map(({ composeService, definition, fieldLines, fieldFiles }) => {
    const key = composeService.name;
    const dependsOn = new Set<string>();
    const extraEnv: Record<string, string> = {};
    for (const [name, condition] of composeService.dependsOn) {
      if (!keys.has(name) || name === key) continue;
      dependsOn.add(name);
      facts.push({ service: key, fact: `depends on ${name} (depends_on)`, from: [at(condition)] });
    }
    for (const [variable, value] of composeService.environment) {
      const target = calledService(value.value, keys);
      if (!target || target === key) continue;
      extraEnv[variable] = value.value;
      dependsOn.add(target);
      facts.push({ service: key, fact: `calls ${target} (${variable})`, from: [at(value.source)] });
    }
    const full: { -readonly [K in keyof ServiceDefinition]: ServiceDefinition[K] } = { ...definition };
    if (dependsOn.size > 0) {
      full.dependsOn = [...dependsOn];
      if (composeService.dependsOnLine !== undefined) {
        fieldLines.dependsOn = composeService.dependsOnLine;
        fieldFiles.dependsOn = composeService.dependsOnFile ?? composeService.file;
      }
    }
    if (Object.keys(extraEnv).length > 0) {
      full.extraEnv = extraEnv;
      if (composeService.environmentLine !== undefined) {
        fieldLines.extraEnv = composeService.environmentLine;
        fieldFiles.extraEnv = composeService.environmentFile ?? composeService.file;
      }
    }
    return { ...full, key, line: composeService.line, file: composeService.file, fieldLines, fieldFiles };
  });

  const registry: Registry = { path: compose.path, file: compose.file, services, source: "inferred" };
  return { registry, inference: { facts, todo, migrations, instances } };
}

/** The registry service a URL value calls: its host is that service's compose name. */
function calledService(value: string, keys: ReadonlySet<string>): string | undefined {
  if (!CALL_URL.test(value) || isPostgresUrl(value)) return undefined;
  try {
    const host = new URL(value).hostname;
    return keys.has(host) ? host : undefined;
  } catch {
    return undefined;
  }
}

/** `PORT` when it is a number, else the one container port published. */
function servicePort(service: ComposeService): { value: number; file: string; line: number } | undefined {
  const port = service.environment.get("PORT");
  const number = port ? Number(port.value.trim()) : Number.NaN;
  if (port && Number.isInteger(number) && number > 0 && number < 65536) return { value: number, file: port.source.file, line: port.source.line };
  const targets = [...new Set(service.ports.map((entry) => entry.target))];
  if (targets.length === 1) return { value: targets[0]!, file: service.ports[0]!.file, line: service.ports[0]!.line };
  return undefined;
}

function uniqueLocations(locations: readonly ReportLocation[]): ReportLocation[] {
  const seen = new Set<string>();
  return locations.filter((location) => {
    const key = `${location.file}:${location.line ?? ""}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
