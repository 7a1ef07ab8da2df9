import { defineRules } from "../check.js";

const REGENERATE = "then regenerate the infra files (`civic-conformance generate --write` or the product's infra/generate.ts)";

export const registryRules = defineRules("registry", {
  "database-name": {
    severity: "error",
    summary: "A service's database is not the snake_case of its registry key.",
    help: `Set database to the snake_case of the key (or "" for a stateless service), ${REGENERATE}.`,
    profiles: { portable: "off" },
  },
  hostname: {
    severity: "error",
    summary: "A service's hostname is not its registry key, so it does not resolve on the compose network.",
    help: "Set hostname to the registry key and update every extraEnv URL that calls the service.",
    profiles: { portable: "off" },
  },
  "duplicate-database": {
    severity: "error",
    summary: "Two services claim the same database.",
    help: "Give each service its own database; a database belongs to exactly one service.",
  },
  "duplicate-hostname": {
    severity: "error",
    summary: "Two services claim the same hostname.",
    help: "Give each service its own hostname (its registry key).",
  },
  "duplicate-port": {
    severity: "error",
    summary: "Two services claim the same port.",
    help: "Give each service its own port.",
    profiles: { portable: "off" },
  },
  "duplicate-route": {
    severity: "error",
    summary: "Two services claim the same route prefix.",
    help: "Give each service its own route prefixes; a prefix routes to exactly one service.",
    profiles: { portable: "off" },
  },
  "route-format": {
    severity: "error",
    summary: "A route prefix is not an absolute path without a trailing slash.",
    help: "Write route prefixes as absolute paths without whitespace or a trailing slash, e.g. /api/v1/tax-levy.",
    profiles: { portable: "off" },
  },
  "port-range": {
    severity: "error",
    summary: "A port is not a TCP port (an integer from 1 to 65535).",
    help: "Set port to an unused integer between 1 and 65535.",
    profiles: { portable: "warning" },
  },
  "unknown-dependency": {
    severity: "error",
    summary: "dependsOn names a key that is not in the registry.",
    help: "Use the registry key of an existing service in dependsOn, or remove the entry.",
  },
  "self-dependency": {
    severity: "error",
    summary: "A service lists itself in dependsOn.",
    help: "Remove the service from its own dependsOn.",
  },
  "dependency-cycle": {
    severity: "error",
    summary: "Services depend on each other in a cycle.",
    help: "Break the cycle: remove one dependsOn edge and have that call go the other way (or through events).",
    profiles: { portable: "warning" },
  },
  "stateless-with-schema": {
    severity: "error",
    summary: 'A stateless service (database: "") has a Prisma schema in its module.',
    help: "Give the service its own database in the registry, or remove the Prisma schema and migrations from its module.",
    profiles: { portable: "warning" },
  },
  "stateful-without-schema": {
    severity: "error",
    summary: "A service owns a database but its module has no Prisma schema.",
    help: 'Add prisma/schema.prisma to the module with url = env("DATABASE_URL"), or set database: "" if the service is stateless.',
    profiles: { portable: "off" },
  },
  "schema-url": {
    severity: "error",
    summary: 'The Prisma datasource does not read its URL from env("DATABASE_URL"), the one variable compose gives the service.',
    help: 'Read the datasource URL from env("DATABASE_URL"): in the schema\'s datasource block (Prisma ≤ 6) or in prisma.config.ts (Prisma 7).',
    profiles: { portable: "off" },
  },
  "unsafe-identifier": {
    severity: "error",
    summary: "A database name or hostname cannot be used unquoted in SQL or as a DNS label.",
    help: "Use a lower-case snake_case database name that is not a PostgreSQL keyword, and a kebab-case key that is a valid DNS label.",
    profiles: { portable: "warning" },
  },
  "missing-field": {
    severity: "error",
    summary: "A service lacks a field of the seed's registry shape (port, dockerfile, routes, layer, label).",
    help: "Give every entry the seed's fields (the built-in generator renders them and the compose check compares them), or use the portable profile.",
    profiles: { portable: "off" },
  },
  "expired-suppression": {
    severity: "error",
    summary: "A suppression in the configuration file is past its expiry date, so it no longer sets its findings aside.",
    help: "Fix what the suppression set aside (its findings are reported again), or renew it with a new reason and expiry date in civic-conformance.yaml.",
  },
  "dockerfile-missing": {
    severity: "error",
    summary: "A service's Dockerfile does not exist, or points outside the repository.",
    help: "Point dockerfile at the module's Dockerfile, relative to the monorepo root (modules/<layer>/<service>/Dockerfile).",
    profiles: { portable: "warning" },
  },
});
