import { randomBytes } from "node:crypto";
import { dirname, join, resolve } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import { UsageError } from "../core/errors.js";
import { assertInsideRepository, readInputText, type RepositoryBoundary } from "../core/input-files.js";
import { pathExists } from "../core/path-probe.js";
import { repoRelative } from "../core/repo-path.js";
import { registerPublicValue, registerSecret, urlPassword } from "../core/secrets.js";
import { parseDotenv } from "./dotenv.js";
import type { InterpolationPolicy } from "./interpolate.js";
import { locatedDocument, type LocatedMap, type NodeOrigin, pairOf, toPlain } from "./located-yaml.js";
import { mergeProjects } from "./merge-compose.js";
import type { ComposeProject, ComposeService } from "./model.js";
import { readService } from "./read-service.js";
import { resolveExtends } from "./resolve-extends.js";
import { hostPath } from "./service-mounts.js";
import { type ServiceContext, YamlReader } from "./yaml-reader.js";

/** The names `docker compose` looks for, in its own order of precedence. */
export const COMPOSE_FILE_NAMES = ["compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"] as const;

/** Files `docker compose` merges over the main file when they exist beside it (the first one found). */
export const COMPOSE_OVERRIDE_FILE_NAMES = [
  "compose.override.yaml",
  "compose.override.yml",
  "docker-compose.override.yml",
  "docker-compose.override.yaml",
] as const;

/**
 * Variables that hold a password (`POSTGRES_PASSWORD`, `DB_PASSWORD`, `MB_DB_PASS`, `PGPASSWORD`):
 * their values are masked in every output. Other names (KEY, TOKEN, SECRET) never make a value a
 * secret: `NEED_API_KEY: "false"` stays readable.
 */
const PASSWORD_VARIABLE = /(?:PASSWORD|PASSWD|_PASS|_PWD)$/i;

export interface ComposeSelection {
  /** The compose files to merge, in order (absolute), as `docker compose -f a -f b`; default: the main file and its override beside it. */
  readonly files?: readonly string[];
  /** Profiles to activate, as `docker compose --profile`. */
  readonly profiles?: readonly string[];
  /** Follow symbolic links that lead outside the repository (`--allow-outside-links`); refused by default. */
  readonly allowOutsideLinks?: boolean;
}

/**
 * Loads the product's compose project as `docker compose` would see it: the main file and the
 * override file beside it (or the files given, in order) merged by compose's rules, `extends:`
 * resolved, `.env` of the project directory read, every value interpolated (process environment
 * over `.env`), and every value's file and line kept so findings can point at it. A variable the
 * files need that nobody sets gets a random URL-safe value for this run, registered as a secret, so
 * a stack whose `POSTGRES_PASSWORD` comes from a developer's shell still boots here.
 *
 * Every file it reads (the compose file, `.env`, `env_file`s, and every file the compose file points
 * at: override files, init scripts, secrets, build contexts) must be inside the repository unless
 * `allowOutsideLinks`, and within its size cap (core/input-files.ts).
 *
 * @param env the process environment, passed by the door (the core never reads `process.env`)
 * @throws UsageError when no compose file exists, or the YAML, `.env` or an interpolation is malformed,
 *   or a file is too large or outside the repository
 */
export async function loadCompose(
  productDir: string,
  repoRoot: string,
  env: Readonly<Record<string, string | undefined>>,
  selection: ComposeSelection = {},
): Promise<ComposeProject> {
  const boundary: RepositoryBoundary = { repoRoot, allowOutsideLinks: selection.allowOutsideLinks ?? false };
  const paths = selection.files && selection.files.length > 0 ? [...selection.files] : await defaultComposeFiles(productDir);
  const toRepoPath = (absolute: string) => repoRelative(repoRoot, absolute);
  const path = paths[0]!;
  const file = toRepoPath(path);
  const dir = dirname(path);

  const dotenv = await readDotenv(join(dir, ".env"), toRepoPath(join(dir, ".env")), env, boundary);
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
      registerSecret(value, "generated");
      variables.set(name, value);
      generatedVariables.push(name);
      return value;
    },
  };

  const parsed = new Map<string, Promise<LocatedMap>>();
  const parse = (absolute: string, from?: NodeOrigin) => {
    let pending = parsed.get(absolute);
    if (!pending) {
      pending = parseComposeFile(absolute, toRepoPath(absolute), boundary, from);
      parsed.set(absolute, pending);
    }
    return pending;
  };
  const documents = await Promise.all(paths.map((absolute) => parse(absolute)));
  const merged = documents.reduce((base, override) => mergeProjects(base, override));
  const reader = new YamlReader(policy);
  const servicesPair = pairOf(merged, "services");
  const servicesValue = servicesPair?.value;
  if (!servicesPair || servicesValue === undefined || reader.isNull(servicesValue)) {
    return reader.fail("the compose file has no `services:`", servicesValue ?? merged, merged.origin);
  }
  if (servicesValue.kind !== "map") return reader.fail("`services` must be a mapping", servicesValue);
  const extendsFiles = new Set<string>();
  const servicesNode = await resolveExtends(
    { path, services: servicesValue },
    {
      repoRoot,
      servicesOf: async (absolute, from) => {
        const document = await parse(absolute, from);
        if (!paths.includes(absolute)) extendsFiles.add(toRepoPath(absolute));
        const services = pairOf(document, "services")?.value;
        return services?.kind === "map" ? services : { kind: "map", origin: document.origin, pairs: [] };
      },
    },
  );
  const project: LocatedMap = { ...merged, pairs: merged.pairs.map((pair) => (pair === servicesPair ? { ...pair, value: servicesNode } : pair)) };

  const topLevel = reader.entries(project, "the compose file");
  const secretFiles = await readTopLevelSecrets(reader, topLevel.find((entry) => entry.key === "secrets")?.value, dir, boundary, toRepoPath);
  const volumesEntry = topLevel.find((entry) => entry.key === "volumes");
  const volumeNames =
    volumesEntry && !reader.isNull(volumesEntry.value) ? reader.entries(volumesEntry.value, "`volumes`").map((e) => e.key) : [];

  const services = new Map<string, ComposeService>();
  const context: ServiceContext = { reader, dir, toRepoPath, secretFiles, policy, boundary };
  for (const entry of reader.entries(servicesNode, "`services`")) {
    services.set(entry.key, await readService(entry.key, entry.keyOrigin, entry.value, context));
  }

  registerSecrets(variables, services);
  // Only the compose runtime writes the project back out: the plain tree is built when first read.
  let document: Record<string, unknown> | undefined;
  return {
    path,
    file,
    files: paths.map(toRepoPath),
    extendsFiles: [...extendsFiles],
    activeProfiles: [...(selection.profiles ?? [])],
    repoRoot: resolve(repoRoot),
    get document() {
      return (document ??= toPlain(project) as Record<string, unknown>);
    },
    services,
    volumeNames,
    variables,
    generatedVariables,
    boundary,
  };
}

/** The main compose file of a folder and the override file compose merges over it by default. */
async function defaultComposeFiles(productDir: string): Promise<string[]> {
  let main: string | undefined;
  for (const name of COMPOSE_FILE_NAMES) {
    if (await pathExists(join(productDir, name))) {
      main = join(productDir, name);
      break;
    }
  }
  if (!main) throw new UsageError(`no compose file found: looked for ${COMPOSE_FILE_NAMES.join(", ")}`, { file: productDir });
  for (const name of COMPOSE_OVERRIDE_FILE_NAMES) {
    if (await pathExists(join(productDir, name))) return [main, join(productDir, name)];
  }
  return [main];
}

async function parseComposeFile(path: string, file: string, boundary: RepositoryBoundary, from?: NodeOrigin): Promise<LocatedMap> {
  const reference = { shown: file, ...(from && { location: { file: from.file, line: from.line } }) };
  let text: string;
  try {
    text = await readInputText(path, "compose file", reference, boundary);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot read the compose file ${file}`, reference.location ?? { file });
  }
  const lineCounter = new LineCounter();
  // Duplicate keys are refused by the reader (yaml-aliases.ts): the library's check is quadratic per mapping.
  const document = parseDocument(text, { lineCounter, merge: true, prettyErrors: true, uniqueKeys: false });
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
  const root = locatedDocument(document, lineCounter, file);
  if (root?.kind !== "map") {
    throw new UsageError("the compose file must be a mapping with a `services:` key", { file, line: root?.origin.line ?? 1 });
  }
  return root;
}

/**
 * What the compose file makes secret, so even a run without a server masks it: the values of
 * password variables, and every password written into a connection URL (literal, or interpolated
 * from a variable of any name), cut at the URL's last `@`. Service names and images are public.
 */
function registerSecrets(variables: ReadonlyMap<string, string>, services: ReadonlyMap<string, ComposeService>): void {
  for (const [name, value] of variables) if (PASSWORD_VARIABLE.test(name)) registerSecret(value);
  for (const service of services.values()) {
    registerPublicValue(service.name);
    registerPublicValue(service.image?.value);
    for (const [name, { value }] of service.environment) {
      if (PASSWORD_VARIABLE.test(name)) registerSecret(value);
      registerSecret(urlPassword(value));
    }
  }
}

async function readDotenv(path: string, file: string, env: Readonly<Record<string, string | undefined>>, boundary: RepositoryBoundary) {
  if (!(await pathExists(path))) return new Map<string, { value: string; line: number }>();
  return parseDotenv(await readInputText(path, "env file", { shown: file }, boundary), file, (name) => env[name]);
}

async function readTopLevelSecrets(
  reader: YamlReader,
  node: unknown,
  dir: string,
  boundary: RepositoryBoundary,
  toRepoPath: (absolute: string) => string,
): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  if (node === undefined || reader.isNull(node)) return files;
  for (const { key, value } of reader.entries(node, "`secrets`")) {
    const fileEntry = reader.isMap(value) ? reader.field(value, "file", `secret "${key}"`) : undefined;
    if (!fileEntry) continue;
    const scalar = reader.scalar(fileEntry.value, "`file`", fileEntry.keyOrigin);
    const path = hostPath(scalar.value, dir);
    await assertInsideRepository(path, boundary, { shown: toRepoPath(path), location: { file: scalar.file, line: scalar.line } });
    files.set(key, path);
  }
  return files;
}

/** Absolute paths of `--compose-file` values (relative to the working directory, as compose's `-f`). */
export function composeFilePaths(files: readonly string[], cwd: string): string[] {
  return files.map((name) => resolve(cwd, name));
}
