/**
 * Template for a new check. To add one:
 *   1. copy this folder to `src/checks/<id>/`, rename the export, add the id to `CHECK_IDS`
 *      (`src/core/report-model.ts`) and the check to `ALL_CHECKS` (`src/checks/index.ts`);
 *   2. copy `test/_template.test.ts` to `test/<id>.test.ts`: one scripted mutation of
 *      `fixtures/property-tax` per rule, asserting rule id, service, file and line, and the
 *      conformant fixture passing;
 *   3. run the violation test against the empty check first and watch it fail.
 * This template is a real (tiny) check so that its test runs; it is not registered.
 */
import { lineOf } from "../../registry/model.js";
import type { Finding } from "../../core/report-model.js";
import type { Check } from "../check.js";

export const templateCheck: Check<"template"> = {
  id: "template",
  title: "Every service has a human-readable label",
  needs: [],
  async run({ product }) {
    const findings: Finding[] = product.registry.services
      .filter((service) => service.label.trim().length === 0)
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
