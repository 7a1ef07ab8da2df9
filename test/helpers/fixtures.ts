import { chmod, cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const FIXTURES = join(REPO_ROOT, "fixtures");

/** Absolute path of a committed fixture monorepo. */
export function fixture(name: string): string {
  return join(FIXTURES, name);
}

/** The product folder of a fixture monorepo (`fixtures/<name>/products/<product>`). */
export function fixtureProduct(name: string, product = "property-tax"): string {
  return join(FIXTURES, name, "products", product);
}

export interface FixtureCopy extends AsyncDisposable {
  /** The monorepo root of the copy. */
  readonly root: string;
  /** The product folder of the copy. */
  readonly product: string;
  /** Rewrites a file of the copy (path relative to the copy's root). */
  edit(path: string, change: (text: string) => string): Promise<void>;
  write(path: string, text: string): Promise<void>;
  read(path: string): Promise<string>;
}

/**
 * Copies a committed fixture into a fresh temp dir so a test can mutate it (one scripted
 * mutation per violated rule). Removed on `await using` scope exit.
 */
export async function copyFixture(name: string, product = "property-tax"): Promise<FixtureCopy> {
  const root = await mkdtemp(join(tmpdir(), `civic-fixture-${name}-`));
  // Readable by everyone, as a checkout is: as root, product programs run as an unprivileged user.
  await chmod(root, 0o755);
  await cp(fixture(name), root, { recursive: true });
  return {
    root,
    product: join(root, "products", product),
    async edit(path, change) {
      const file = join(root, path);
      const before = await readFile(file, "utf8");
      const after = change(before);
      if (after === before) throw new Error(`mutation of ${path} changed nothing: the fixture moved under the test`);
      await writeFile(file, after);
    },
    async write(path, text) {
      await writeFile(join(root, path), text);
    },
    read(path) {
      return readFile(join(root, path), "utf8");
    },
    async [Symbol.asyncDispose]() {
      await rm(root, { recursive: true, force: true });
    },
  };
}
