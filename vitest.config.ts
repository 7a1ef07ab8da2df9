import { defineConfig } from "vitest/config";

/**
 * Four tiers, one vitest project each (`npm test` runs them all):
 * - `unit`: no server, seconds; the inner loop (`npm run test:unit`);
 * - `postgres`: a real embedded PostgreSQL 16 (and the built CLI / action bundle);
 * - `docker`: a real Docker engine with the local stand-in images;
 * - `hostile`: hostile input (exit code, message, file:line, nothing left behind, tree unchanged).
 * No `retry`: a retry hides a flake; find its cause instead.
 *
 * Parallelism (vitest's default is one worker per core but one, a single worker on a 2-core machine):
 * `unit` and `postgres` files run two at a time, as one group; then the `docker` tier, two at a
 * time, as a group of its own, so that a stack booting on the vfs storage driver (tens of seconds of
 * disk and CPU) shares the machine with no embedded-server test and none of its readiness waits
 * starves; then the `hostile` tier alone, one file at a time, so that its timing-sensitive cases (a
 * signal landing inside a phase, a bound of a few seconds) share the machine with nothing of this
 * suite. Every test
 * observes only what it owns — its temp folders, its processes (by path or pid), its compose
 * project's containers by label — never a machine-wide listing, so files may share the machine.
 * Tests marked concurrent (test/hostile/signals.test.ts: cases that mostly wait on a planted sleep)
 * run `maxConcurrency` at a time; the tiers default to vitest's 5, the hostile tier 4.
 */
const tier = (name: string, groupOrder: number, maxWorkers: number, maxConcurrency = 5) => ({
  extends: true as const,
  test: { name, include: [`test/${name}/**/*.test.ts`], sequence: { groupOrder }, maxWorkers, maxConcurrency },
});

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ["default"],
    // A tier may hold no file yet (`hostile` until its suite lands); an empty tier is not a failure.
    passWithNoTests: true,
    projects: [tier("unit", 0, 2), tier("postgres", 0, 2), tier("docker", 1, 2), tier("hostile", 2, 1, 4)],
  },
});
