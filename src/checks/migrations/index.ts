import type { Check } from "../check.js";

// Placeholder until the check is implemented: it says so instead of passing.
export const migrationsCheck: Check = {
  id: "migrations",
  title: "migrations",
  needs: ["postgres"],
  async run() {
    return { findings: [], skipped: "not implemented yet" };
  },
};
