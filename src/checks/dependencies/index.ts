import type { Check } from "../check.js";

// Placeholder until the check is implemented: it says so instead of passing.
export const dependenciesCheck: Check = {
  id: "dependencies",
  title: "dependencies",
  needs: ["compose"],
  async run() {
    return { findings: [], skipped: "not implemented yet" };
  },
};
