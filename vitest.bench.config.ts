import { defineConfig } from "vitest/config";

/** Benchmarks that check their own answer (`npm run bench:isolation`); never part of `npm test`. */
export default defineConfig({
  test: {
    include: ["bench/**/*.test.ts"],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    reporters: ["default"],
  },
});
