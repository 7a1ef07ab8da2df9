import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { homedir } from "node:os";
import { LineCounter, parseDocument } from "yaml";
import { UsageError } from "../core/errors.js";
import { pathExists } from "../core/path-probe.js";
import { repoRelative } from "../core/repo-path.js";
import { registerSecret } from "../core/secrets.js";
import { parseDotenv } from "./dotenv.js";
import type { InterpolationPolicy } from "./interpolate.js";
import type {
  ComposeEnvValue,
  ComposePort,
  ComposeProject,
  ComposeSecretMount,
  ComposeService,
  ComposeVolume,
  Located,
} from "./model.js";
import { YamlReader } from "./yaml-reader.js";

/** The names `docker compose` looks for, in its own order of precedence. */
export const COMPOSE_FILE_NAMES = ["compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"] as const;

/** Files `docker compose` merges over the main file when they exist beside it. */
export const COMPOSE_OVERRIDE_FILE_NAMES = [
  "compose.override.yaml",
  "compose.override.yml",
  "docker-compose.override.yml",
  "docker-compose.override.yaml",
] as const;

/** Variables whose values are secrets by name; their values are masked in every output. */
const SECRET_NAME = /PASSWORD|SECRET|TOKEN|KEY/i;

/**
 * Loads the product's compose file as compose would see it: `.env` beside it read, every value
 * interpolated (process environment over `.env`), and every line kept so findings can point at it.
 * A variable the file needs that nobody sets gets a random URL-safe value for this run, registered
 * as a secret, so a stack whose `POSTGRES_PASSWORD` comes from a developer's shell still boots here.
 *
 * @param env the process environment, passed by the door (the core never reads `process.env`)
 * @throws UsageError when no compose file exists, or the YAML, `.env` or an interpolation is malformed
 */
export async function loadCompose(
  productDir: string,
  repoRoot: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<ComposeProject> {
  const path = await findComposeFile(productDir);
  const toRepoPath = (absolute: string) => repoRelative(repoRoot, absolute);
  const file = toRepoPath(path);
  const dir = dirname(path);

  const dotenv = await readDotenv(join(dir, ".env"), toRepoPath(join(dir, ".env")), env);
  const variables = new Map<string, string>();
  for (const [name, entry] of dotenv) variables.set(name, env[name] ?? entry.value);
  const generatedVariables: string[] = [];
  const policy: InterpolationPolicy = {
    lookup(name) {
      const value = env[name] ?? dotenv.get(name)?.value;
      if (value !== undefined) variables.set(name, value);
      return value ?? (generatedVariables.includes(name) ? variables.get(name) : undefined);
    },
    missing(name) {
      const existing = variables.get(name);
      if (existing !== undefined) return existing;
      const value = randomBytes(18).toString("base64url");
      registerSecret(value);
      variables.set(name, value);
      generatedVariables.push(name);
      return value;
    },
  };

  const text = await readFile(path, "utf8");
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, merge: true, prettyErrors: true });
  const firstError = document.errors[0];
  if (firstError) {
    // The library's message repeats the position and ends with a colon before a source excerpt: keep the reason only.
    const reason = firstError.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    throw new UsageError(`invalid YAML: ${reason}`, {
      file,
      line: firstError.linePos?.[0]?.line ?? 1,
      ...(firstError.linePos?.[0]?.col !== undefined && { column: firstError.linePos[0].col }),
    });
  }
  const reader: YamlReader = new YamlReader(document, lineCounter, file, policy);
  if (!reader.isMap(document.contents)) reader.fail("the compose file must be a mapping with a `services:` key", document.contents);

  const topLevel = reader.entries(document.contents, "the compose file");
  const servicesEntry = topLevel.find((entry) => entry.key === "services");
  if (!servicesEntry || reader.isNull(servicesEntry.value)) {
    reader.fail("the compose file has no `services:`", servicesEntry ? servicesEntry.value : document.contents, servicesEntry?.keyLine);
  }
  const secretFiles = readTopLevelSecrets(reader, topLevel.find((entry) => entry.key === "secrets")?.value, dir);
  const volumesEntry = topLevel.find((entry) => entry.key === "volumes");
  const volumeNames =
    volumesEntry && !reader.isNull(volumesEntry.value) ? reader.entries(volumesEntry.value, "`volumes`").map((e) => e.key) : [];

  const services = new Map<string, ComposeService>();
  for (const entry of reader.entries(servicesEntry.value, "`services`")) {
    const context: ServiceContext = { reader, dir, toRepoPath, secretFiles, policy };
    services.set(entry.key, await readService(entry.key, entry.keyLine, entry.value, context));
  }

  for (const [name, value] of variables) if (SECRET_NAME.test(name)) registerSecret(value);
  for (const service of services.values()) {
    for (const [name, value] of service.environment) if (SECRET_NAME.test(name)) registerSecret(value.value);
  }
  const overrideFiles: string[] = [];
  for (const name of COMPOSE_OVERRIDE_FILE_NAMES) {
    if (await pathExists(join(dir, name))) overrideFiles.push(toRepoPath(join(dir, name)));
  }
  return { path, file, services, volumeNames, variables, generatedVariables, ...(overrideFiles.length > 0 && { overrideFiles }) };
}

async function findComposeFile(productDir: string): Promise<string> {
  for (const name of COMPOSE_FILE_NAMES) {
    const candidate = join(productDir, name);
    if (await pathExists(candidate)) return candidate;
  }
  throw new UsageError(`no compose file found: looked for ${COMPOSE_FILE_NAMES.join(", ")}`, { file: productDir });
}

async function readDotenv(path: string, file: string, env: Readonly<Record<string, string | undefined>>) {
  if (!(await pathExists(path))) return new Map<string, { value: string; line: number }>();
  return parseDotenv(await readFile(path, "utf8"), file, (name) => env[name]);
}

interface ServiceContext {
  readonly reader: YamlReader;
  /** Directory of the compose file: relative paths in it resolve against this. */
  readonly dir: string;
  readonly toRepoPath: (absolute: string) => string;
  readonly secretFiles: ReadonlyMap<string, string>;
  readonly policy: InterpolationPolicy;
}

async function readService(name: string, line: number, node: unknown, context: ServiceContext): Promise<ComposeService> {
  const reader: YamlReader = context.reader;
  const what = `service "${name}"`;
  const fields = new Map(reader.entries(node, what).map((entry) => [entry.key, entry]));
  const image = fields.get("image");
  const environment = new Map<string, ComposeEnvValue>();
  const envFile = fields.get("env_file");
  if (envFile) for (const [key, value] of await readEnvFiles(envFile.value, envFile.keyLine, what, context)) environment.set(key, value);
  const environmentEntry = fields.get("environment");
  const duplicateEnvironment: Located<string>[] = [];
  if (environmentEntry) {
    for (const [key, value] of readEnvironment(environmentEntry.value, what, context, duplicateEnvironment)) environment.set(key, value);
  }
  const dependsOnEntry = fields.get("depends_on");
  const build = fields.get("build");
  const healthcheck = fields.get("healthcheck");
  const secrets = fields.get("secrets");
  return {
    name,
    line,
    ...(image && !reader.isNull(image.value) && { image: located(reader.scalar(image.value, `the image of ${what}`, image.keyLine)) }),
    ...(build && { build: readBuild(build.value, build.keyLine, what, context) }),
    environment,
    dependsOn: dependsOnEntry ? readDependsOn(dependsOnEntry.value, what, reader) : new Map(),
    ports: fields.has("ports") ? readPorts(fields.get("ports")!.value, what, reader) : [],
    volumes: fields.has("volumes") ? readVolumes(fields.get("volumes")!.value, what, context) : [],
    ...(healthcheck && { healthcheck: readHealthcheck(healthcheck.value, healthcheck.keyLine, what, reader) }),
    ...(environmentEntry && { environmentLine: environmentEntry.keyLine }),
    ...(dependsOnEntry && { dependsOnLine: dependsOnEntry.keyLine }),
    ...(duplicateEnvironment.length > 0 && { duplicateEnvironment }),
    ...(secrets && { secrets: readServiceSecrets(secrets.value, what, context) }),
  };
}

function located(scalar: { value: string; line: number }): Located<string> {
  return { value: scalar.value, line: scalar.line };
}

function readEnvironment(
  node: unknown,
  what: string,
  context: ServiceContext,
  duplicates: Located<string>[],
): Map<string, ComposeEnvValue> {
  const reader: YamlReader = context.reader;
  const environment = new Map<string, ComposeEnvValue>();
  if (reader.isNull(node)) return environment;
  if (reader.isSeq(node)) {
    const seen = new Set<string>();
    for (const item of reader.items(node, `the environment of ${what}`)) {
      // List form: compose interpolates the whole `KEY=VALUE` item, then splits at the first `=`.
      const entry = reader.scalar(item, `an environment entry of ${what}`);
      const equals = entry.raw.indexOf("=");
      if (equals < 0) {
        const inherited = context.policy.lookup(entry.raw.trim());
        if (inherited !== undefined) environment.set(entry.raw.trim(), { value: inherited, raw: entry.raw, line: entry.line });
        continue;
      }
      const key = entry.raw.slice(0, equals).trim();
      const raw = entry.raw.slice(equals + 1);
      if (seen.has(key)) duplicates.push({ value: key, line: entry.line });
      seen.add(key);
      environment.set(key, { value: reader.interpolate(raw, entry.line), raw, line: entry.line });
    }
    return environment;
  }
  for (const { key, keyLine, value } of reader.entries(node, `the environment of ${what}`)) {
    if (reader.isNull(value)) {
      // `KEY:` with no value passes the caller's value through; unset stays unset.
      const inherited = context.policy.lookup(key);
      if (inherited !== undefined) environment.set(key, { value: inherited, raw: "", line: keyLine });
      continue;
    }
    const scalar = reader.scalar(value, `the value of ${key} in ${what}`, keyLine);
    environment.set(key, { value: scalar.value, raw: scalar.raw, line: keyLine });
  }
  return environment;
}

async function readEnvFiles(node: unknown, keyLine: number, what: string, context: ServiceContext): Promise<Map<string, ComposeEnvValue>> {
  const reader: YamlReader = context.reader;
  const items = reader.isSeq(node) ? reader.items(node, `env_file of ${what}`) : [node];
  const environment = new Map<string, ComposeEnvValue>();
  for (const item of items) {
    let pathNode = item;
    let required = true;
    if (reader.isMap(item)) {
      pathNode = reader.field(item, "path", `env_file of ${what}`)?.value;
      const requiredNode = reader.field(item, "required", `env_file of ${what}`)?.value;
      if (requiredNode !== undefined) required = reader.scalar(requiredNode, "`required`").value !== "false";
    }
    const entry = reader.scalar(pathNode, `an env_file of ${what}`, reader.lineOf(item, keyLine));
    const absolute = resolve(context.dir, entry.value);
    if (!(await pathExists(absolute))) {
      if (!required) continue;
      throw new UsageError(`env_file ${entry.value} of ${what} does not exist`, { file: reader.file, line: entry.line });
    }
    const envFile = context.toRepoPath(absolute);
    const parsed = parseDotenv(await readFile(absolute, "utf8"), envFile, context.policy.lookup);
    for (const [key, value] of parsed) environment.set(key, { value: value.value, raw: value.value, line: entry.line, envFile });
  }
  return environment;
}

function readBuild(node: unknown, keyLine: number, what: string, context: ServiceContext): NonNullable<ComposeService["build"]> {
  const reader: YamlReader = context.reader;
  if (!reader.isMap(node)) {
    const contextPath = reader.scalar(node, `the build of ${what}`, keyLine);
    return { context: resolve(context.dir, contextPath.value), line: keyLine };
  }
  const contextNode = reader.field(node, "context", `the build of ${what}`);
  const dockerfileNode = reader.field(node, "dockerfile", `the build of ${what}`);
  const contextPath = contextNode ? reader.scalar(contextNode.value, "`build.context`", contextNode.keyLine).value : ".";
  const dockerfile = dockerfileNode && reader.scalar(dockerfileNode.value, "`build.dockerfile`", dockerfileNode.keyLine);
  return {
    context: resolve(context.dir, contextPath),
    line: keyLine,
    ...(dockerfile && { dockerfile: dockerfile.value, dockerfileLine: dockerfile.line }),
  };
}

function readDependsOn(node: unknown, what: string, reader: YamlReader): Map<string, Located<string>> {
  const dependsOn = new Map<string, Located<string>>();
  if (reader.isNull(node)) return dependsOn;
  if (reader.isSeq(node)) {
    for (const item of reader.items(node, `depends_on of ${what}`)) {
      const name = reader.scalar(item, `a depends_on entry of ${what}`);
      dependsOn.set(name.value, { value: "service_started", line: name.line });
    }
    return dependsOn;
  }
  for (const { key, keyLine, value } of reader.entries(node, `depends_on of ${what}`)) {
    const condition = reader.isNull(value) ? undefined : reader.field(value, "condition", `depends_on.${key} of ${what}`);
    const conditionValue = condition ? reader.scalar(condition.value, "`condition`", condition.keyLine).value : "service_started";
    dependsOn.set(key, { value: conditionValue, line: keyLine });
  }
  return dependsOn;
}

function readPorts(node: unknown, what: string, reader: YamlReader): ComposePort[] {
  if (reader.isNull(node)) return [];
  return reader.items(node, `ports of ${what}`).map((item) => {
    if (reader.isMap(item)) {
      const target = reader.field(item, "target", `a port of ${what}`);
      if (!target) reader.fail(`a port of ${what} has no target`, item);
      const published = reader.field(item, "published", `a port of ${what}`);
      const line = reader.lineOf(item);
      return {
        target: portNumber(reader.scalar(target.value, "`target`", target.keyLine), reader),
        ...(published && { published: portNumber(reader.scalar(published.value, "`published`", published.keyLine), reader) }),
        line,
      };
    }
    // Short form: [[ip:]published:]target[/protocol]; an IPv6 address comes in brackets.
    const entry = reader.scalar(item, `a port of ${what}`);
    const withoutProtocol = entry.value.split("/")[0]!;
    const parts = withoutProtocol.replace(/^\[[^\]]*\]:/, "").split(":");
    const target = parts[parts.length - 1]!;
    const published = parts.length >= 2 ? parts[parts.length - 2] : undefined;
    return {
      target: portNumber({ ...entry, value: target }, reader),
      ...(published && { published: portNumber({ ...entry, value: published }, reader) }),
      line: entry.line,
    };
  });
}

/** A port number; of a range (`3000-3005`) the first port, which is the one a service listens on. */
function portNumber(scalar: { value: string; line: number }, reader: YamlReader): number {
  const port = Number(scalar.value.split("-")[0]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`"${scalar.value}" is not a port number`, { file: reader.file, line: scalar.line });
  }
  return port;
}

function readVolumes(node: unknown, what: string, context: ServiceContext): ComposeVolume[] {
  const reader: YamlReader = context.reader;
  if (reader.isNull(node)) return [];
  return reader.items(node, `volumes of ${what}`).map((item) => {
    if (reader.isMap(item)) {
      const field = (key: string) => reader.field(item, key, `a volume of ${what}`);
      const type = field("type");
      const source = field("source");
      const target = field("target");
      if (!target) reader.fail(`a volume of ${what} has no target`, item);
      const typeValue = type ? reader.scalar(type.value, "`type`", type.keyLine).value : "volume";
      const sourceValue = source ? reader.scalar(source.value, "`source`", source.keyLine).value : "";
      return {
        type: typeValue === "bind" ? "bind" : typeValue === "tmpfs" ? "tmpfs" : "volume",
        source: typeValue === "bind" ? hostPath(sourceValue, context.dir) : sourceValue,
        target: reader.scalar(target.value, "`target`", target.keyLine).value,
        line: reader.lineOf(item),
      } satisfies ComposeVolume;
    }
    // Short form: [source:]target[:mode]. A source that looks like a path is a bind mount.
    const entry = reader.scalar(item, `a volume of ${what}`);
    const parts = entry.value.split(":");
    if (parts.length === 1) return { type: "volume", source: "", target: parts[0]!, line: entry.line } satisfies ComposeVolume;
    const [source, target] = parts as [string, string];
    const isPath = source.startsWith(".") || source.startsWith("/") || source.startsWith("~");
    return {
      type: isPath ? "bind" : "volume",
      source: isPath ? hostPath(source, context.dir) : source,
      target,
      line: entry.line,
    } satisfies ComposeVolume;
  });
}

function hostPath(source: string, dir: string): string {
  if (source === "~" || source.startsWith("~/")) return join(homedir(), source.slice(1));
  return isAbsolute(source) ? source : resolve(dir, source);
}

function readHealthcheck(node: unknown, keyLine: number, what: string, reader: YamlReader): NonNullable<ComposeService["healthcheck"]> {
  const disable = reader.field(node, "disable", `the healthcheck of ${what}`);
  const testEntry = reader.field(node, "test", `the healthcheck of ${what}`);
  const disabledByFlag = disable !== undefined && reader.scalar(disable.value, "`disable`", disable.keyLine).value === "true";
  const test: string[] | string = !testEntry
    ? []
    : reader.isSeq(testEntry.value)
      ? reader.items(testEntry.value, "`test`").map((part) => reader.scalar(part, "a `test` part").value)
      : reader.scalar(testEntry.value, "`test`", testEntry.keyLine).value;
  // `test: ["NONE"]` is compose's other spelling of `disable: true`.
  const disabledByTest = Array.isArray(test) && test[0] === "NONE";
  return { test, line: testEntry?.keyLine ?? keyLine, disabled: disabledByFlag || disabledByTest };
}

function readTopLevelSecrets(reader: YamlReader, node: unknown, dir: string): Map<string, string> {
  const files = new Map<string, string>();
  if (node === undefined || reader.isNull(node)) return files;
  for (const { key, value } of reader.entries(node, "`secrets`")) {
    const fileEntry = reader.isMap(value) ? reader.field(value, "file", `secret "${key}"`) : undefined;
    if (fileEntry) files.set(key, hostPath(reader.scalar(fileEntry.value, "`file`", fileEntry.keyLine).value, dir));
  }
  return files;
}

function readServiceSecrets(node: unknown, what: string, context: ServiceContext): ComposeSecretMount[] {
  const reader: YamlReader = context.reader;
  if (reader.isNull(node)) return [];
  return reader.items(node, `secrets of ${what}`).map((item) => {
    let source: string;
    let target: string | undefined;
    if (reader.isMap(item)) {
      const sourceEntry = reader.field(item, "source", `a secret of ${what}`);
      if (!sourceEntry) reader.fail(`a secret of ${what} has no source`, item);
      source = reader.scalar(sourceEntry.value, "`source`", sourceEntry.keyLine).value;
      const targetEntry = reader.field(item, "target", `a secret of ${what}`);
      target = targetEntry && reader.scalar(targetEntry.value, "`target`", targetEntry.keyLine).value;
    } else {
      source = reader.scalar(item, `a secret of ${what}`).value;
    }
    const containerPath = target === undefined ? `/run/secrets/${source}` : target.startsWith("/") ? target : `/run/secrets/${target}`;
    const hostFile = context.secretFiles.get(source);
    return { source, target: containerPath, ...(hostFile && { hostPath: hostFile }), line: reader.lineOf(item) };
  });
}
