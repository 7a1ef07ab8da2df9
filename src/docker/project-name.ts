import { randomBytes } from "node:crypto";
import { basename, dirname } from "node:path";

/**
 * A project name of its own for every run (`civic-<product>-<random>`), so parallel runs and the
 * developer's own `docker compose up` never share a container, network or volume.
 */
export function runProjectName(product: string): string {
  const slug = normalizeProjectName(product).slice(0, 40) || "product";
  return `civic-${slug}-${randomBytes(4).toString("hex")}`;
}

/**
 * The project name the developer's own `docker compose up` uses for this file: COMPOSE_PROJECT_NAME,
 * else the top-level `name:`, else the compose file's folder, normalised as compose does (lower
 * case; letters, digits, `-` and `_` only).
 */
export function defaultProjectName(composePath: string, topLevelName: string | undefined, env: Readonly<Record<string, string | undefined>>): string {
  const chosen = env.COMPOSE_PROJECT_NAME || topLevelName || basename(dirname(composePath));
  return normalizeProjectName(chosen);
}

function normalizeProjectName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_-]/g, "").replace(/^[-_]+/, "");
}
