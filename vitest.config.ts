import { defineConfig } from "vitest/config";

/**
 * Four tiers, one vitest project each (`npm test` runs them all):
 * - `unit`: no server, seconds; the inner loop (`npm run test:unit`);
 * - `postgres`: a real embedded PostgreSQL 16 (and the built CLI / action bundle);
 * - `docker`: a real Docker engine with the local stand-in images;
 * - `hostile`: hostile input (exit code, message, file:line, nothing left behind, tree unchanged).
 * No `retry`: a retry hides a flake; find its cause instead.
 */
const tier = (name: string) => ({
  extends: true as const,
  test: { name, include: [`test/${name}/**/*.test.ts`] },
});

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ["default"],
    // A tier may hold no file yet (`hostile` until its suite lands); an empty tier is not a failure.
    passWithNoTests: true,
    projects: [tier("unit"), tier("postgres"), tier("docker"), tier("hostile")],
  },
});
