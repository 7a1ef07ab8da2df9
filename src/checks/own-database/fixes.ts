/** How to fix each own-database finding; the wording names the files a developer edits. */
import { GENERATE_HINT, GENERIC_WORDING, type FixWording } from "../shared/init-script-names.js";

export { GENERATE_HINT };

export function fixMissingDatabase(database: string, wording: FixWording = GENERIC_WORDING, instance?: string): string {
  return `Create it in ${wording.where(instance)} (CREATE ROLE ${database} LOGIN …; CREATE DATABASE ${database} OWNER ${database}), then recreate the postgres volume so the init scripts run again${wording.hint}.`;
}

export function fixLoginFailed(database: string, wording: FixWording = GENERIC_WORDING, instance?: string): string {
  return `Make the credential's user and password those of the LOGIN role that owns ${database} in ${wording.where(instance)}${wording.hint}.`;
}

export function fixWrongDatabase(database: string): string {
  return `Point the DATABASE_URL at the service's own database: …/${database}.`;
}

export function fixSharedDatabase(database: string): string {
  return `Only the service that owns ${database} may connect to it; give every other service its own database and fetch this data over HTTP.`;
}

export const FIX_SHARED_CREDENTIAL = `Give each service its own LOGIN role, named like its database and owning it, and use that role in its DATABASE_URL; ${GENERATE_HINT}.`;

export const FIX_STATELESS_CREDENTIAL =
  "Remove the database URL from this stateless service (its registry entry has database: \"\"); it gets data from other services over HTTP.";

export const FIX_MISSING_URL = `Give the service a DATABASE_URL naming its own role and database in docker-compose.yml; ${GENERATE_HINT}.`;
