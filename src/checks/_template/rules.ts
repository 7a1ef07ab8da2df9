import { defineRules } from "../check.js";

/** Every rule the check may report: id (`<check id>/<rule>`), default severity, one-line summary, help. */
export const templateRules = defineRules("template", {
  "empty-label": {
    severity: "warning",
    summary: "A service has an empty label.",
    help: "Give the service a human-readable label in the registry.",
  },
});
