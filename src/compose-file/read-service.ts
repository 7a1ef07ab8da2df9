import { resolve } from "node:path";
import { UsageError } from "../core/errors.js";
import { assertInsideRepository, readInputText } from "../core/input-files.js";
import { pathExists } from "../core/path-probe.js";
import { parseDotenv } from "./dotenv.js";
import { shellWords } from "./shell-words.js";
import type { NodeOrigin } from "./located-yaml.js";
import type { ComposeEnvValue, ComposeService, Located } from "./model.js";
import { assertInitMountsInside, readHealthcheck, readPorts, readServiceSecrets, readVolumes } from "./service-mounts.js";
import type { ServiceContext, YamlReader } from "./yaml-reader.js";

/** One compose service read from its merged node: environment (with env files), build, depends_on, profiles; ports and mounts in service-mounts.ts. */
export async function readService(name: string, at: NodeOrigin, node: unknown, context: ServiceContext): Promise<ComposeService> {
  const reader: YamlReader = context.reader;
  const what = `service "${name}"`;
  const fields = new Map(reader.entries(node, what).map((entry) => [entry.key, entry]));
  const image = fields.get("image");
  const environment = new Map<string, ComposeEnvValue>();
  const envFile = fields.get("env_file");
  if (envFile) for (const [key, value] of await readEnvFiles(envFile.value, envFile.keyOrigin, what, context)) environment.set(key, value);
  const environmentEntry = fields.get("environment");
  const duplicateEnvironment: Located<string>[] = [];
  if (environmentEntry) {
    for (const [key, value] of readEnvironment(environmentEntry.value, what, context, duplicateEnvironment)) environment.set(key, value);
  }
  const dependsOnEntry = fields.get("depends_on");
  const build = fields.get("build");
  const healthcheck = fields.get("healthcheck");
  const command = fields.get("command");
  const entrypoint = fields.get("entrypoint");
  const secrets = fields.get("secrets");
  const volumes = fields.has("volumes") ? readVolumes(fields.get("volumes")!.value, what, context) : [];
  await assertInitMountsInside(volumes, context);
  const buildContext = build && readBuild(build.value, build.keyOrigin, what, context);
  if (buildContext) await assertBuildInside(buildContext, context);
  const profiles = fields.get("profiles");
  const containerName = fields.get("container_name");
  const hostname = fields.get("hostname");
  const networks = fields.get("networks");
  const networkAliases = networks ? readNetworkAliases(networks.value, what, reader) : [];
  return {
    name,
    line: at.line,
    file: at.file,
    ...(image && !reader.isNull(image.value) && { image: located(reader.scalar(image.value, `the image of ${what}`, image.keyOrigin)) }),
    ...(buildContext && { build: buildContext }),
    ...(containerName && !reader.isNull(containerName.value) && { containerName: reader.scalar(containerName.value, `container_name of ${what}`, containerName.keyOrigin).value }),
    ...(hostname && !reader.isNull(hostname.value) && { hostname: reader.scalar(hostname.value, `hostname of ${what}`, hostname.keyOrigin).value }),
    ...(networkAliases.length > 0 && { networkAliases }),
    environment,
    dependsOn: dependsOnEntry ? readDependsOn(dependsOnEntry.value, what, reader) : new Map(),
    ports: fields.has("ports") ? readPorts(fields.get("ports")!.value, what, reader) : [],
    volumes,
    ...(healthcheck && { healthcheck: readHealthcheck(healthcheck.value, healthcheck.keyOrigin, what, reader) }),
    ...(command && !reader.isNull(command.value) && { command: readWords(command, `the command of ${what}`, reader) }),
    ...(entrypoint && !reader.isNull(entrypoint.value) && { entrypoint: readWords(entrypoint, `the entrypoint of ${what}`, reader) }),
    ...(environmentEntry && { environmentLine: environmentEntry.keyLine, environmentFile: environmentEntry.keyOrigin.file }),
    ...(dependsOnEntry && { dependsOnLine: dependsOnEntry.keyLine, dependsOnFile: dependsOnEntry.keyOrigin.file }),
    ...(duplicateEnvironment.length > 0 && { duplicateEnvironment }),
    ...(secrets && { secrets: readServiceSecrets(secrets.value, what, context) }),
    ...(profiles && !reader.isNull(profiles.value) && { profiles: readProfiles(profiles.value, what, reader) }),
  };
}

/** `command:` or `entrypoint:`: a list of words, or a string Compose splits into words. */
function readWords(entry: { value: unknown; keyOrigin: NodeOrigin }, what: string, reader: YamlReader): { args: string[]; line: number; file: string } {
  const where = { line: entry.keyOrigin.line, file: entry.keyOrigin.file };
  if (reader.isSeq(entry.value)) return { args: reader.items(entry.value, what).map((item) => reader.scalar(item, `a word of ${what}`).value), ...where };
  const text = reader.scalar(entry.value, what, entry.keyOrigin).value;
  const args = shellWords(text, "refuse");
  if (!args) reader.fail(`${what} has an unclosed quote: ${JSON.stringify(text)}`, entry.value, entry.keyOrigin);
  return { args, ...where };
}

function located(scalar: { value: string; line: number; file: string }): Located<string> {
  return { value: scalar.value, line: scalar.line, file: scalar.file };
}

function readProfiles(node: unknown, what: string, reader: YamlReader): Located<string>[] {
  return reader.items(node, `profiles of ${what}`).map((item) => located(reader.scalar(item, `a profile of ${what}`)));
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
        if (inherited !== undefined) environment.set(entry.raw.trim(), { value: inherited, raw: entry.raw, line: entry.line, file: entry.file, source: { file: entry.file, line: entry.line } });
        continue;
      }
      const key = entry.raw.slice(0, equals).trim();
      const raw = entry.raw.slice(equals + 1);
      if (seen.has(key)) duplicates.push({ value: key, line: entry.line, file: entry.file });
      seen.add(key);
      environment.set(key, { value: reader.interpolate(raw, entry), raw, line: entry.line, file: entry.file, source: { file: entry.file, line: entry.line } });
    }
    return environment;
  }
  for (const { key, keyOrigin, value } of reader.entries(node, `the environment of ${what}`)) {
    if (reader.isNull(value)) {
      // `KEY:` with no value passes the caller's value through; unset stays unset.
      const inherited = context.policy.lookup(key);
      if (inherited !== undefined) environment.set(key, { value: inherited, raw: "", line: keyOrigin.line, file: keyOrigin.file, source: keyOrigin });
      continue;
    }
    const scalar = reader.scalar(value, `the value of ${key} in ${what}`, keyOrigin);
    // The key's line; a value an override file replaced carries the override's key (merge-compose.ts).
    environment.set(key, { value: scalar.value, raw: scalar.raw, line: keyOrigin.line, file: keyOrigin.file, source: keyOrigin });
  }
  return environment;
}

async function readEnvFiles(node: unknown, at: NodeOrigin, what: string, context: ServiceContext): Promise<Map<string, ComposeEnvValue>> {
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
    const entry = reader.scalar(pathNode, `an env_file of ${what}`, reader.originOf(item, at));
    const absolute = resolve(context.dir, entry.value);
    if (!(await pathExists(absolute))) {
      if (!required) continue;
      throw new UsageError(`env_file ${entry.value} of ${what} does not exist`, { file: entry.file, line: entry.line });
    }
    const envFile = context.toRepoPath(absolute);
    const text = await readInputText(absolute, "env file", { shown: envFile, location: { file: entry.file, line: entry.line } }, context.boundary);
    const parsed = parseDotenv(text, envFile, context.policy.lookup);
    for (const [key, value] of parsed) {
      environment.set(key, { value: value.value, raw: value.value, line: entry.line, file: entry.file, envFile, source: { file: envFile, line: value.line } });
    }
  }
  return environment;
}

function readBuild(node: unknown, at: NodeOrigin, what: string, context: ServiceContext): NonNullable<ComposeService["build"]> {
  const reader: YamlReader = context.reader;
  if (!reader.isMap(node)) {
    const contextPath = reader.scalar(node, `the build of ${what}`, at);
    return { context: resolve(context.dir, contextPath.value), line: at.line, file: at.file };
  }
  const contextNode = reader.field(node, "context", `the build of ${what}`);
  const dockerfileNode = reader.field(node, "dockerfile", `the build of ${what}`);
  const targetNode = reader.field(node, "target", `the build of ${what}`);
  const argsNode = reader.field(node, "args", `the build of ${what}`);
  const contextPath = contextNode ? reader.scalar(contextNode.value, "`build.context`", contextNode.keyOrigin).value : ".";
  const dockerfile = dockerfileNode && reader.scalar(dockerfileNode.value, "`build.dockerfile`", dockerfileNode.keyOrigin);
  const target = targetNode && reader.scalar(targetNode.value, "`build.target`", targetNode.keyOrigin).value;
  const args = argsNode && !reader.isNull(argsNode.value) ? readBuildArgs(argsNode.value, what, context) : undefined;
  return {
    context: resolve(context.dir, contextPath),
    line: at.line,
    file: at.file,
    ...(dockerfile && { dockerfile: dockerfile.value, dockerfileLine: dockerfile.line, dockerfileFile: dockerfile.file }),
    ...(target && { target }),
    ...(args && args.size > 0 && { args }),
  };
}

/** A build context (and its Dockerfile) reached through a link outside the repository would ship outside files to the build. */
async function assertBuildInside(build: NonNullable<ComposeService["build"]>, context: ServiceContext): Promise<void> {
  const location = { file: build.file, line: build.line };
  await assertInsideRepository(build.context, context.boundary, { shown: `the build context ${context.toRepoPath(build.context)}`, location });
  if (build.dockerfile !== undefined) {
    const dockerfile = resolve(build.context, build.dockerfile);
    await assertInsideRepository(dockerfile, context.boundary, { shown: context.toRepoPath(dockerfile), location: { file: build.dockerfileFile ?? build.file, line: build.dockerfileLine ?? build.line } });
  }
}

/** `build.args` in map or list form; a bare name takes the caller's value, as compose does. */
function readBuildArgs(node: unknown, what: string, context: ServiceContext): Map<string, string> {
  const reader: YamlReader = context.reader;
  const args = new Map<string, string>();
  if (reader.isSeq(node)) {
    for (const item of reader.items(node, `build.args of ${what}`)) {
      const entry = reader.scalar(item, `a build arg of ${what}`);
      const equals = entry.raw.indexOf("=");
      if (equals < 0) {
        const inherited = context.policy.lookup(entry.raw.trim());
        if (inherited !== undefined) args.set(entry.raw.trim(), inherited);
        continue;
      }
      args.set(entry.raw.slice(0, equals).trim(), reader.interpolate(entry.raw.slice(equals + 1), entry));
    }
    return args;
  }
  for (const { key, keyOrigin, value } of reader.entries(node, `build.args of ${what}`)) {
    if (reader.isNull(value)) {
      const inherited = context.policy.lookup(key);
      if (inherited !== undefined) args.set(key, inherited);
      continue;
    }
    args.set(key, reader.scalar(value, `build arg ${key} of ${what}`, keyOrigin).value);
  }
  return args;
}

/** The `aliases:` of every network in the long form of `networks:`. */
function readNetworkAliases(node: unknown, what: string, reader: YamlReader): string[] {
  if (reader.isNull(node) || reader.isSeq(node)) return [];
  const aliases: string[] = [];
  for (const { value } of reader.entries(node, `networks of ${what}`)) {
    if (reader.isNull(value) || !reader.isMap(value)) continue;
    const entry = reader.field(value, "aliases", `a network of ${what}`);
    if (!entry || reader.isNull(entry.value)) continue;
    for (const alias of reader.items(entry.value, `aliases of ${what}`)) aliases.push(reader.scalar(alias, `an alias of ${what}`).value);
  }
  return aliases;
}

function readDependsOn(node: unknown, what: string, reader: YamlReader): Map<string, Located<string>> {
  const dependsOn = new Map<string, Located<string>>();
  if (reader.isNull(node)) return dependsOn;
  if (reader.isSeq(node)) {
    for (const item of reader.items(node, `depends_on of ${what}`)) {
      const name = reader.scalar(item, `a depends_on entry of ${what}`);
      dependsOn.set(name.value, { value: "service_started", line: name.line, file: name.file });
    }
    return dependsOn;
  }
  for (const { key, keyOrigin, value } of reader.entries(node, `depends_on of ${what}`)) {
    const condition = reader.isNull(value) ? undefined : reader.field(value, "condition", `depends_on.${key} of ${what}`);
    const conditionValue = condition ? reader.scalar(condition.value, "`condition`", condition.keyOrigin).value : "service_started";
    dependsOn.set(key, { value: conditionValue, line: keyOrigin.line, file: keyOrigin.file });
  }
  return dependsOn;
}
