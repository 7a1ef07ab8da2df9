import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    retry: process.env.CI ? 1 : 0,
    reporters: ["default"],
  },
});
