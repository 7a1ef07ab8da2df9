import type { Check } from "../check.js";

// Placeholder until the check is implemented: it says so instead of passing.
export const ownDatabaseCheck: Check = {
  id: "own-database",
  title: "own-database",
  needs: ["postgres"],
  async run() {
    return { findings: [], skipped: "not implemented yet" };
  },
};
