import { mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { loadRegistry } from "../registry/load-registry.js";
import { renderInfra } from "./render-infra.js";

export interface GeneratedFile {
  /** Relative to the product folder, forward slashes. */
  readonly path: string;
  readonly content: string;
  /** Whether the file on disk differs from (or lacks) this content, as it was before any write. */
  readonly changed: boolean;
}

/**
 * `civic-conformance generate`: renders the product's infra files with the built-in generator and,
 * with `write`, writes the ones that changed into the product folder. The CLI prints them otherwise.
 */
export async function generateProduct(
  productDir: string,
  repoRoot: string,
  options: { write: boolean },
): Promise<{ files: GeneratedFile[] }> {
  const dir = resolve(productDir);
  const registry = await loadRegistry(dir, repoRoot);
  const rendered = renderInfra(registry, basename(dir));
  const files: GeneratedFile[] = [];
  for (const [path, content] of rendered) {
    const target = join(dir, path);
    const current = await readFile(target, "utf8").catch(() => undefined);
    const changed = current !== content;
    if (options.write && changed) {
      await mkdir(dirname(target), { recursive: true });
      // start-dev.sh is run directly; the mode only applies when the file is created.
      await writeFile(target, content, { mode: path.endsWith(".sh") ? 0o755 : 0o644 });
    }
    files.push({ path, content, changed });
  }
  return { files };
}
