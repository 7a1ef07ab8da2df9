import { mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { registerCleanup } from "../core/cleanup-registry.js";
import { loadRegistry } from "../registry/load-registry.js";
import type { Registry } from "../registry/model.js";
import { resolveUnprivilegedUser } from "../sandbox/os-user.js";
import { RunFolder } from "../sandbox/run-folder.js";
import { renderInfra } from "./render-infra.js";

export interface GeneratedFile {
  /** Relative to the product folder, forward slashes. */
  readonly path: string;
  readonly content: string;
  /** Whether the file on disk differs from (or lacks) this content, as it was before any write. */
  readonly changed: boolean;
}

export interface GenerateOptions {
  /** Write the files that changed into the product folder (else only report them). */
  readonly write: boolean;
  /** The caller's environment: the temp root, and the PATH and locale the registry module gets (nothing else of it). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Ctrl-C / SIGTERM: the registry's evaluation is stopped. */
  readonly signal?: AbortSignal;
}

/**
 * `civic-conformance generate`: renders the product's infra files with the built-in generator and,
 * with `write`, writes the ones that changed into the product folder. The CLI prints them otherwise.
 * The registry module is evaluated as `check` evaluates it: sandboxed, in a run folder of its own,
 * as root by the unprivileged user.
 */
export async function generateProduct(productDir: string, repoRoot: string, options: GenerateOptions): Promise<{ files: GeneratedFile[] }> {
  const dir = resolve(productDir);
  const env = options.env ?? {};
  const runFolder = await RunFolder.create(env, await resolveUnprivilegedUser(process.getuid?.()));
  const unregister = registerCleanup(() => runFolder.remove());
  let registry: Registry;
  try {
    registry = await loadRegistry(dir, repoRoot, {
      env,
      workDir: runFolder.home,
      user: runFolder.user,
      copyFolder: () => runFolder.subfolder("registry"),
      ...(options.signal && { signal: options.signal }),
    });
  } finally {
    await runFolder.remove().catch(() => undefined);
    unregister();
  }
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
