import { readdir } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";
import { parseDocument } from "yaml";
import { COMPOSE_FILE_NAMES } from "../compose-file/load-compose-file.js";
import { INITDB_DIR } from "../compose-file/init-scripts.js";
import { readInputText } from "../core/input-files.js";
import { pathExists } from "../core/path-probe.js";
import { CONFIG_FILE_NAMES } from "../registry/load-config-file.js";
import { REGISTRY_PATH } from "../registry/load-registry.js";

/** What made a folder a product. */
export type ProductMarker = "registry" | "config" | "compose";

export interface DiscoveredProduct {
  /** Relative to the folder searched, forward slashes; `.` for that folder itself. */
  readonly path: string;
  /** The product's name: its folder's name (the report's `product`). */
  readonly name: string;
  readonly marker: ProductMarker;
}

/** Where products live in a monorepo (`products/<product>`), beside the root itself. */
const PRODUCTS_FOLDER = "products";

/**
 * Finds the products of a monorepo: every `products/<product>` folder holding the service registry
 * (`infra/service-registry.ts`), a `civic-conformance.yaml`, or a compose file with a PostgreSQL
 * service; and the root itself when it holds the registry, or when no `products/*` folder is a
 * product and the root holds the configuration file or such a compose file (that is what
 * `check <root>` would check). Sorted by path, so a matrix is the same on every run.
 * A compose file that cannot be parsed still marks its folder: `check` then says what is wrong with it.
 */
export async function discoverProducts(root: string): Promise<DiscoveredProduct[]> {
  const base = resolve(root);
  const productsDir = join(base, PRODUCTS_FOLDER);
  let names: string[] = [];
  try {
    names = (await readdir(productsDir, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.startsWith(".")).map((e) => e.name);
  } catch {
    names = [];
  }
  const underProducts = await Promise.all(names.sort().map(async (name) => ({ name, marker: await productMarkerOf(join(productsDir, name), base) })));
  const found: DiscoveredProduct[] = underProducts
    .filter((p): p is { name: string; marker: ProductMarker } => p.marker !== undefined)
    .map(({ name, marker }) => ({ path: toPosix(relative(base, join(productsDir, name))), name, marker }));

  const rootMarker = await productMarkerOf(base, base);
  if (rootMarker === "registry" || (rootMarker !== undefined && found.length === 0)) {
    found.unshift({ path: ".", name: base.split(sep).pop() || ".", marker: rootMarker });
  }
  return found;
}

/** Why `dir` is a product, strongest reason first; `undefined` when it is not one. */
async function productMarkerOf(dir: string, root: string): Promise<ProductMarker | undefined> {
  if (await pathExists(join(dir, REGISTRY_PATH))) return "registry";
  for (const name of CONFIG_FILE_NAMES) if (await pathExists(join(dir, name))) return "config";
  for (const name of COMPOSE_FILE_NAMES) {
    const file = join(dir, name);
    if (!(await pathExists(file))) continue;
    return (await composeRunsPostgres(file, dir, root)) ? "compose" : undefined;
  }
  return undefined;
}

/** The official image's family and its common relatives, by repository name (tag and registry aside). */
const POSTGRES_IMAGE = /(?:^|\/)(?:postgres|postgresql|postgis|timescaledb(?:-ha)?|pgvector)(?:[:@]|$)/;
const FROM_POSTGRES = /^\s*FROM\s+(?:--\S+\s+)*(\S+)/im;

/**
 * Whether a compose file has a PostgreSQL service: an image of the postgres family, a mount into
 * the image's init folder, or a `build:` whose Dockerfile starts `FROM` one. Read as plain YAML, not
 * interpolated: `${PG_IMAGE:-postgres:16}` still names the family. An unparsable file counts.
 */
async function composeRunsPostgres(file: string, dir: string, root: string): Promise<boolean> {
  let text: string;
  try {
    text = await readInputText(file, "compose file", { shown: file });
  } catch {
    return true;
  }
  const document = parseDocument(text);
  if (document.errors.length > 0) return true;
  let services: unknown;
  try {
    // Throws past the YAML library's alias budget (an alias bomb): such a file counts, and `check` refuses it with the reason.
    services = (document.toJS() as { services?: Record<string, unknown> } | null)?.services;
  } catch {
    return true;
  }
  if (!services || typeof services !== "object") return false;
  for (const service of Object.values(services)) {
    if (!service || typeof service !== "object") continue;
    const { image, volumes, build } = service as { image?: unknown; volumes?: unknown; build?: unknown };
    if (typeof image === "string" && POSTGRES_IMAGE.test(image.replace(/\$\{[^:}]*:?-?([^}]*)\}/g, "$1"))) return true;
    if (Array.isArray(volumes) && volumes.some((v) => mountTarget(v)?.startsWith(INITDB_DIR))) return true;
    if (build !== undefined && build !== null && (await dockerfileFromPostgres(build, dir, root))) return true;
  }
  return false;
}

function mountTarget(volume: unknown): string | undefined {
  if (typeof volume === "string") return volume.split(":")[1];
  if (volume && typeof volume === "object" && typeof (volume as { target?: unknown }).target === "string") return (volume as { target: string }).target;
  return undefined;
}

async function dockerfileFromPostgres(build: unknown, dir: string, root: string): Promise<boolean> {
  const context = typeof build === "string" ? build : typeof (build as { context?: unknown }).context === "string" ? (build as { context: string }).context : ".";
  const dockerfile = typeof build === "object" && build !== null && typeof (build as { dockerfile?: unknown }).dockerfile === "string" ? (build as { dockerfile: string }).dockerfile : "Dockerfile";
  const path = resolve(dir, context, dockerfile);
  // The compose file is untrusted: read nothing outside the folder searched.
  if (!path.startsWith(root + sep)) return false;
  try {
    const text = await readInputText(path, "Dockerfile", { shown: path });
    const from = FROM_POSTGRES.exec(text)?.[1];
    return from !== undefined && POSTGRES_IMAGE.test(from);
  } catch {
    return false;
  }
}

function toPosix(path: string): string {
  return path.split(sep).join("/");
}
