import type { Registry } from "../registry/model.js";
import { assertRenderable } from "./infra-names.js";
import { renderCompose } from "./render-compose.js";
import { renderInitSql } from "./render-init-sql.js";
import { renderStartDev } from "./render-start-dev.js";

/** The files the reference generator owns, relative to the product folder, in the order it writes them. */
export const GENERATED_FILES = ["infra/init-databases.sql", "docker-compose.yml", "start-dev.sh"] as const;

/**
 * The built-in reference generator: the product's infra files rendered from its registry, secure
 * by default (a least-privilege role per service). Pure and deterministic; keys are paths relative
 * to the product folder. Throws a UsageError naming the registry line when a registry value is not
 * safe to render.
 */
export function renderInfra(registry: Registry, product: string): Map<string, string> {
  const civic = assertRenderable(registry);
  return new Map<string, string>([
    ["infra/init-databases.sql", renderInitSql(civic, product)],
    ["docker-compose.yml", renderCompose(civic, product)],
    ["start-dev.sh", renderStartDev(civic, product)],
  ]);
}
