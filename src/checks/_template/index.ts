/**
 * Template for a new check. To add one (one folder plus one line):
 *   1. copy this folder to `src/checks/<id>/`, set the id here and in `rules.ts`, declare every
 *      rule there, and add the check to `ALL_CHECKS` (`src/checks/registered.ts`);
 *   2. run `npx tsx scripts/rule-docs.ts` (README's rule list); `test/unit/rules.test.ts` fails on
 *      a rule the check emits without declaring it;
 *   3. copy `test/unit/_template.test.ts` to `test/<tier>/<id>.test.ts`: one scripted mutation of
 *      `fixtures/property-tax` per rule, asserting rule id, service, file and line, and the
 *      conformant fixture passing; run it against the empty check first and watch it fail.
 * This template is a real (tiny) check so that its test runs; it is not registered.
 */
import { lineOf } from "../../registry/model.js";
import type { Finding } from "../../core/report-model.js";
import type { Check } from "../check.js";
import { templateRules } from "./rules.js";

export const templateCheck: Check<"template"> = {
  id: "template",
  title: "Every service has a human-readable label",
  needs: [],
  rules: Object.values(templateRules),
  async run({ product }) {
    const findings: Finding[] = product.registry.services
      .filter((service) => (service.label ?? "").trim().length === 0)
      .map((service) => ({
        rule: "template/empty-label",
        severity: "warning",
        message: `Service '${service.key}' has an empty label.`,
        service: service.key,
        file: product.registry.file,
        line: lineOf(service, "label"),
        fix: `Give '${service.key}' a label in ${product.registry.file}.`,
      }));
    return { findings };
  },
};
