/**
 * How fix texts name the files a developer edits: the init scripts the product's PostgreSQL service
 * really runs (mounted or copied in, wherever the repository keeps them), never a fixed path, and the
 * `generate --write` hint only for products the civic generator renders.
 */
import { repoRelative } from "../../core/repo-path.js";
import { profileOf, type Product } from "../../product/product.js";
import { productPostgres } from "../../product/product-postgres.js";

export interface FixWording {
  /** E.g. `products/x/db/init/01-databases.sql`, or `the PostgreSQL init scripts` when none is read. */
  where(instance?: string): string;
  /** `; civic-conformance generate --write renders …` for a civic product, else empty. */
  readonly hint: string;
}

export const GENERATE_HINT = "`civic-conformance generate --write` renders init-databases.sql and docker-compose.yml this way from the registry";
const NO_SCRIPT = "the PostgreSQL init scripts";

export async function fixWording(product: Product): Promise<FixWording> {
  const postgres = await productPostgres(product);
  const byInstance = new Map(
    postgres.instances.map((instance) => [
      instance.name,
      instance.initScripts.filter((script) => script.kind !== "ignored").map((script) => repoRelative(product.repoRoot, script.hostPath)),
    ]),
  );
  const all = [...new Set([...byInstance.values()].flat())];
  return {
    where(instance) {
      const files = instance === undefined ? all : (byInstance.get(instance) ?? all);
      return files.length > 0 ? files.join(", ") : NO_SCRIPT;
    },
    hint: profileOf(product) === "civic" ? `; ${GENERATE_HINT}` : "",
  };
}

/** Wording without a product (rule help, tests): generic names. */
export const GENERIC_WORDING: FixWording = { where: () => "the init script", hint: `; ${GENERATE_HINT}` };
