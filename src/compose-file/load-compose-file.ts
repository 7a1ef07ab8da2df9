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
import type { ComposeProject, ComposeService } from "./model.js";
import { readService } from "./read-service.js";
import { hostPath } from "./service-mounts.js";
import { type ServiceContext, YamlReader } from "./yaml-reader.js";

/** The names `docker compose` looks for, in its own order of precedence. */
export const COMPOSE_FILE_NAMES = ["compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"] as const;

/** Files `docker compose` merges over the main file when they exist beside it. */
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

/**
 * Loads the product's compose file as compose would see it: `.env` beside it read, every value
 * interpolated (process environment over `.env`), and every line kept so findings can point at it.
 * A variable the file needs that nobody sets gets a random URL-safe value for this run, registered
 * as a secret, so a stack whose `POSTGRES_PASSWORD` comes from a developer's shell still boots here.
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
  { allowOutsideLinks = false }: { allowOutsideLinks?: boolean } = {},
): Promise<ComposeProject> {
  const path = await findComposeFile(productDir);
  const boundary: RepositoryBoundary = { repoRoot, allowOutsideLinks };
  const toRepoPath = (absolute: string) => repoRelative(repoRoot, absolute);
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

  const text = await readInputText(path, "compose file", { shown: file }, boundary);
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
  const reader: YamlReader = new YamlReader(document, lineCounter, file, policy);
  if (!reader.isMap(document.contents)) reader.fail("the compose file must be a mapping with a `services:` key", document.contents);

  const topLevel = reader.entries(document.contents, "the compose file");
  const servicesEntry = topLevel.find((entry) => entry.key === "services");
  if (!servicesEntry || reader.isNull(servicesEntry.value)) {
    reader.fail("the compose file has no `services:`", servicesEntry ? servicesEntry.value : document.contents, servicesEntry?.keyLine);
  }
  const secretFiles = await readTopLevelSecrets(reader, topLevel.find((entry) => entry.key === "secrets")?.value, dir, boundary, toRepoPath);
  const volumesEntry = topLevel.find((entry) => entry.key === "volumes");
  const volumeNames =
    volumesEntry && !reader.isNull(volumesEntry.value) ? reader.entries(volumesEntry.value, "`volumes`").map((e) => e.key) : [];

  const services = new Map<string, ComposeService>();
  for (const entry of reader.entries(servicesEntry.value, "`services`")) {
    const context: ServiceContext = { reader, dir, toRepoPath, secretFiles, policy, boundary };
    services.set(entry.key, await readService(entry.key, entry.keyLine, entry.value, context));
  }

  registerSecrets(variables, services);
  const overrideFiles: string[] = [];
  for (const name of COMPOSE_OVERRIDE_FILE_NAMES) {
    const overridePath = join(dir, name);
    if (!(await pathExists(overridePath))) continue;
    await assertInsideRepository(overridePath, boundary, { shown: toRepoPath(overridePath) });
    overrideFiles.push(toRepoPath(overridePath));
  }
  return { path, file, repoRoot: resolve(repoRoot), services, volumeNames, variables, generatedVariables, boundary, ...(overrideFiles.length > 0 && { overrideFiles }) };
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

async function findComposeFile(productDir: string): Promise<string> {
  for (const name of COMPOSE_FILE_NAMES) {
    const candidate = join(productDir, name);
    if (await pathExists(candidate)) return candidate;
  }
  throw new UsageError(`no compose file found: looked for ${COMPOSE_FILE_NAMES.join(", ")}`, { file: productDir });
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
    const scalar = reader.scalar(fileEntry.value, "`file`", fileEntry.keyLine);
    const path = hostPath(scalar.value, dir);
    await assertInsideRepository(path, boundary, { shown: toRepoPath(path), location: { file: reader.file, line: scalar.line } });
    files.set(key, path);
  }
  return files;
}
