import type { Check } from "../check.js";

// Placeholder until the check is implemented: it says so instead of passing.
export const registryCheck: Check = {
  id: "registry",
  title: "registry",
  needs: [],
  async run() {
    return { findings: [], skipped: "not implemented yet" };
  },
};
