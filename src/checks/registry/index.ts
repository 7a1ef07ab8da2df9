import { type Check, isoDate } from "../check.js";
import { dependencyFindings } from "./dependency-rules.js";
import { missingFieldFindings } from "./field-rules.js";
import { moduleFindings } from "./module-rules.js";
import { namingFindings } from "./naming-rules.js";
import { expiredSuppressionFindings } from "./suppression-rules.js";
import { uniquenessFindings } from "./uniqueness-rules.js";
import { registryRules } from "./rules.js";

/**
 * `registry`: the entries are well formed on their own and against their modules on disk.
 * Findings point at the registry line of the offending field (or at the Prisma schema / config line
 * for `registry/schema-url`).
 */
export const registryCheck: Check<"registry"> = {
  id: "registry",
  title: "Service registry is well formed",
  needs: [],
  rules: Object.values(registryRules),
  async run({ product, options }) {
    const { registry, repoRoot } = product;
    return {
      findings: [
        ...namingFindings(registry),
        ...missingFieldFindings(registry),
        ...uniquenessFindings(registry),
        ...dependencyFindings(registry),
        ...(await moduleFindings(registry, repoRoot)),
        ...expiredSuppressionFindings(product.config, options.today ?? isoDate(new Date())),
      ],
    };
  },
};
