import { defineRules } from "../check.js";

const REGENERATE = "Run the product's generator (infra/generate.ts, or `civic-conformance generate --write`) and commit what it writes; change the registry, never a generated file.";

export const driftRules = defineRules("drift", {
  changed: {
    severity: "error",
    summary: "A committed infra file is not what the generator produces from the registry.",
    help: REGENERATE,
  },
  created: {
    severity: "error",
    summary: "The generator produces a file that is not committed.",
    help: REGENERATE,
  },
  deleted: {
    severity: "error",
    summary: "The generator deletes a file that is committed.",
    help: REGENERATE,
  },
  "generator-failed": {
    severity: "error",
    summary: "The generator failed, so the committed files could not be compared.",
    help: "Make the generator succeed locally (or fix the registry entry the built-in generator names), then commit what it writes.",
  },
  "generator-timeout": {
    severity: "error",
    summary: "The generator did not finish in time, so the committed files could not be compared.",
    help: "Make the generator finish quickly (it should only render files), or raise --timeout.",
  },
});
