import { fileURLToPath } from "node:url";

/**
 * The TypeScript loader product code runs under (the registry module, `infra/generate.ts`),
 * resolved from this package rather than the user's repository: tsx, which is what
 * `npx tsx infra/generate.ts` runs (TypeScript, ESM or CommonJS, `import.meta.url` and `__dirname`,
 * nothing installed in the repository). Where tsx cannot be resolved (the action's self-contained
 * bundle carries no native esbuild) jiti's hooks stand in: the same semantics, slower to start.
 * Handed to `node --import <loader>`.
 */
export function typescriptLoader(): string {
  for (const specifier of ["tsx", "jiti/register"]) {
    try {
      return fileURLToPath(import.meta.resolve(specifier));
    } catch {
      // Not resolvable from here: try the next loader.
    }
  }
  throw new Error("neither tsx nor jiti can be resolved from civic-conformance's own installation");
}

/** Variables that keep the loaders from writing a disk cache (the run leaves nothing behind; each copy is new anyway). */
export const LOADER_CACHES_OFF: Readonly<Record<string, string>> = { JITI_FS_CACHE: "false", TSX_DISABLE_CACHE: "1" };
