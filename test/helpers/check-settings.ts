import type { CheckSettings } from "../../src/core/settings.js";
import type { FixtureCopy } from "./fixtures.js";

/** What `civic-conformance check <copy's product>` is given by default, `extra` on top: the pipeline tests' settings. */
export function checkSettings(copy: FixtureCopy, extra: Partial<CheckSettings> = {}): CheckSettings {
  return {
    productPath: copy.product,
    runtime: "embedded",
    only: [],
    skip: [],
    outputs: [],
    commandTimeoutMs: 60_000,
    concurrency: 4,
    verbose: false,
    cwd: copy.root,
    env: {},
    ...extra,
  };
}
