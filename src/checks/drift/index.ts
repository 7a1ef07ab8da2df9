import type { Check } from "../check.js";

// Placeholder until the check is implemented: it says so instead of passing.
export const driftCheck: Check = {
  id: "drift",
  title: "drift",
  needs: [],
  async run() {
    return { findings: [], skipped: "not implemented yet" };
  },
};
