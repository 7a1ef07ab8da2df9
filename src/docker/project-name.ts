import { randomBytes } from "node:crypto";
import { basename, dirname } from "node:path";

/**
 * A project name of its own for every run (`civic-<product>-<random>`), so parallel runs and the
 * developer's own `docker compose up` never share a container, network or volume. It is already in
 * the form both Compose versions keep as given: v2 refuses any other `-p`, v1 would silently
 * rewrite it and the run's labels would no longer carry the name the run looks for.
 */
export function runProjectName(product: string): string {
  const slug = normalizeProjectName(product).slice(0, 40) || "product";
  return `civic-${slug}-${randomBytes(4).toString("hex")}`;
}

/**
 * The project names the developer's own compose gives this file: COMPOSE_PROJECT_NAME, else the
 * top-level `name:` (which only v2 reads; v1 refuses the file), else the compose file's folder,
 * normalised as each version does: lower case, letters, digits, `-` and `_` only; v2 then drops
 * leading `-` and `_`, v1 keeps them. One name, or two where the versions disagree.
 */
export function defaultProjectNames(composePath: string, topLevelName: string | undefined, env: Readonly<Record<string, string | undefined>>): string[] {
  const chosen = env.COMPOSE_PROJECT_NAME || topLevelName || basename(dirname(composePath));
  const asV1 = chosen.toLowerCase().replace(/[^a-z0-9_-]/g, "");
  return [...new Set([normalizeProjectName(chosen), asV1])].filter(Boolean);
}

/** Compose v2's normalisation, whose result v1 keeps as it is. */
function normalizeProjectName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_-]/g, "").replace(/^[-_]+/, "");
}
