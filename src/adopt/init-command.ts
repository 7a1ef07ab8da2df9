import { mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve } from "node:path";
import { loadCompose } from "../compose-file/load-compose-file.js";
import { repoRelative } from "../core/repo-path.js";
import type { InitSettings } from "../core/settings.js";
import { inferRegistry, type InferredRegistry } from "../product/infer-registry.js";
import { locateProduct } from "../product/locate-product.js";
import { CONFIG_FILE_NAMES, findConfigFile } from "../registry/load-config-file.js";
import { REGISTRY_PATH } from "../registry/load-registry.js";
import { isStateful } from "../registry/model.js";
import { renderTsRegistry } from "./render-ts-registry.js";
import { renderWorkflow } from "./render-workflow.js";
import { renderYamlRegistry } from "./render-yaml-registry.js";

/** What `init` did with one file. `kept`: it exists with other content and `--force` was not given. */
export interface InitFile {
  /** As the user should see it: relative to the working directory. */
  readonly path: string;
  readonly status: "written" | "unchanged" | "kept" | "replaced";
}

export interface InitResult {
  readonly product: string;
  /** Relative to the working directory. */
  readonly productPath: string;
  readonly layout: "civic" | "portable";
  readonly inferred: InferredRegistry;
  readonly composeFiles: readonly string[];
  readonly files: readonly InitFile[];
  /** The command to run next. */
  readonly next: string;
}

/**
 * `civic-conformance init [dir]`: infers the registry from the compose project (as a zero-config
 * `check` does) and writes it as a file the team owns — the seed's `infra/service-registry.ts` for
 * a product laid out like the civic layout, else `civic-conformance.yaml` — plus a workflow that
 * runs the action on pull requests. A file that exists is never overwritten without `--force`;
 * one with the same content is left alone, so `init` twice changes nothing.
 *
 * @throws UsageError when the folder or its compose files cannot be read
 */
export async function runInit(settings: InitSettings): Promise<InitResult> {
  const { productDir, repoRoot } = await locateProduct(settings.productPath, settings.cwd, settings.repoRoot);
  const compose = await loadCompose(productDir, repoRoot, settings.env, {
    ...(settings.composeFiles && { files: settings.composeFiles.map((file) => resolve(settings.cwd, file)) }),
    ...(settings.composeProfiles && { profiles: settings.composeProfiles }),
  });
  const inferred = await inferRegistry(compose, repoRoot);
  const layout = isCivicLayout(productDir, inferred) ? "civic" : "portable";
  const composeFiles = [...compose.files, ...compose.extendsFiles];
  const inputs = {
    product: basename(productDir),
    productDir,
    repoRoot,
    registry: inferred.registry,
    facts: inferred.inference.facts,
    todo: inferred.inference.todo,
    composeFiles: compose.files,
  };
  const shown = (path: string) => relative(settings.cwd, path) || ".";
  const existingConfig = await findConfigFile(productDir);
  // An existing `.yml` is the team's chosen name; a `.json` one is never rewritten as YAML (it is kept).
  const registryPath = layout === "civic" ? join(productDir, REGISTRY_PATH) : (existingConfig ?? join(productDir, CONFIG_FILE_NAMES[0]));
  const registryText = layout === "civic" ? renderTsRegistry(inputs) : renderYamlRegistry(inputs);
  const productPath = repoRelative(repoRoot, productDir) || ".";
  const workflowPath = join(repoRoot, ".github", "workflows", "civic-conformance.yml");

  const files: InitFile[] = [];
  for (const [path, text] of [
    [registryPath, registryText],
    [workflowPath, renderWorkflow(productPath)],
  ] as const) {
    const keepJson = path.endsWith(".json");
    files.push({ path: shown(path), status: keepJson ? "kept" : await writeOwned(path, text, settings.force) });
  }
  const productShown = shown(productDir);
  return {
    product: basename(productDir),
    productPath: productShown,
    layout,
    inferred,
    composeFiles,
    files,
    next: `npx civic-conformance check${productShown === "." ? "" : ` ${productShown}`}`,
  };
}

/** The civic layout: `products/<product>/`, every built service's Dockerfile under `modules/`. */
function isCivicLayout(productDir: string, inferred: InferredRegistry): boolean {
  if (basename(dirname(productDir)) !== "products") return false;
  const dockerfiles = inferred.registry.services.map((service) => service.dockerfile).filter((path): path is string => path !== undefined);
  return dockerfiles.length > 0 && dockerfiles.every((path) => path.startsWith("modules/"));
}

async function writeOwned(path: string, text: string, force: boolean): Promise<InitFile["status"]> {
  const existing = await readFile(path, "utf8").catch(() => undefined);
  if (existing === text) return "unchanged";
  if (existing !== undefined && !force) return "kept";
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  return existing === undefined ? "written" : "replaced";
}

/** The lines `init` prints: what was inferred, what happened to each file, the TODOs, the next command. */
export function describeInit(result: InitResult): string {
  const services = result.inferred.registry.services;
  const stateful = services.filter(isStateful).length;
  const instances = result.inferred.inference.instances.length;
  const lines = [
    `civic-conformance init · ${result.productPath}`,
    `inferred ${services.length} service${services.length === 1 ? "" : "s"} (${stateful} stateful, ${services.length - stateful} stateless) and ${instances} PostgreSQL instance${instances === 1 ? "" : "s"} from ${result.composeFiles.join(", ")}`,
  ];
  for (const file of result.files) {
    lines.push(
      file.status === "kept"
        ? `kept ${file.path}: it exists and differs from what init infers (--force replaces it)`
        : `${file.status} ${file.path}`,
    );
  }
  const todo = result.inferred.inference.todo;
  if (todo.length > 0) {
    lines.push(`${todo.length} TODO in the registry:`);
    for (const item of todo) lines.push(`  ${item.service ? `${item.service}: ` : ""}${item.message}`);
  }
  lines.push(`next: ${result.next}`);
  return `${lines.join("\n")}\n`;
}
