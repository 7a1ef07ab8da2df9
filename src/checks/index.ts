import type { CheckId } from "../core/report-model.js";
import type { Check } from "./check.js";
import { composeCheck } from "./compose/index.js";
import { dependenciesCheck } from "./dependencies/index.js";
import { driftCheck } from "./drift/index.js";
import { isolationCheck } from "./isolation/index.js";
import { migrationsCheck } from "./migrations/index.js";
import { ownDatabaseCheck } from "./own-database/index.js";
import { registryCheck } from "./registry/index.js";

/** Every check, in the order they run and are reported. Adding a check = one line here. */
export const ALL_CHECKS: readonly Check[] = [
  registryCheck,
  driftCheck,
  composeCheck,
  ownDatabaseCheck,
  isolationCheck,
  migrationsCheck,
  dependenciesCheck,
];

export function checkById(id: CheckId): Check | undefined {
  return ALL_CHECKS.find((check) => check.id === id);
}
