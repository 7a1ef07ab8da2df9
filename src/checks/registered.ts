import { composeCheck } from "./compose/index.js";
import { dependenciesCheck } from "./dependencies/index.js";
import { driftCheck } from "./drift/index.js";
import { isolationCheck } from "./isolation/index.js";
import { migrationsCheck } from "./migrations/index.js";
import { ownDatabaseCheck } from "./own-database/index.js";
import { registryCheck } from "./registry/index.js";

/** Every check, in the order they run and are reported. Adding a check = its folder and one entry here. */
export const ALL_CHECKS = [
  registryCheck,
  driftCheck,
  composeCheck,
  ownDatabaseCheck,
  isolationCheck,
  migrationsCheck,
  dependenciesCheck,
] as const;

export type CheckId = (typeof ALL_CHECKS)[number]["id"];

/** The ids `--only` / `--skip` and the action's `checks` input accept. */
export const CHECK_IDS: readonly CheckId[] = ALL_CHECKS.map((check) => check.id);
