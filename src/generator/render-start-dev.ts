import { posix } from "node:path";
import { isStateful } from "../registry/model.js";
import { type CivicRegistry, commentText, passwordVariable } from "./infra-names.js";

/**
 * `start-dev.sh`: applies each stateful service's Prisma migrations, then its seed when it has one,
 * as the service's own role, against the compose postgres published on localhost:5433.
 * Names must have passed `assertRenderable`.
 */

/** A word for the shell: as it is when plainly safe, else single-quoted. */
function shellWord(text: string): string {
  return /^[A-Za-z0-9_./@%+=:,-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

export function renderStartDev(registry: CivicRegistry, product: string): string {
  const lines = [
    "#!/usr/bin/env bash",
    `# ─── ${commentText(product)} — development databases ──────────────────────────────`,
    `# GENERATED from ${commentText(registry.file)} — do not edit by hand;`,
    "# change the registry and regenerate.",
    "#",
    "# Applies each stateful service's migrations (then its prisma/seed.ts, if any) as the service's",
    "# own role, against the compose postgres on localhost:5433. Start it first:",
    "#   docker compose up -d postgres",
    "set -euo pipefail",
    "",
    'cd "$(dirname "$0")"',
    "# The passwords, as compose reads them.",
    "if [ -f .env ]; then set -a; . ./.env; set +a; fi",
    "# Schema and module paths are relative to the monorepo root.",
    "cd ../..",
    "",
    "# migrate_and_seed <service> <module dir> <database url>",
    "migrate_and_seed() {",
    '  echo "==> $1: migrations"',
    '  DATABASE_URL="$3" npx prisma migrate deploy --schema "$2/prisma/schema.prisma"',
    '  if [ -f "$2/prisma/seed.ts" ]; then',
    '    echo "==> $1: seed"',
    '    (cd "$2" && DATABASE_URL="$3" npx tsx prisma/seed.ts)',
    "  fi",
    "}",
  ];
  for (const service of registry.services.filter(isStateful)) {
    const db = service.database;
    const variable = passwordVariable(db);
    const moduleDir = posix.dirname(service.dockerfile.replace(/\\/g, "/"));
    lines.push(
      "",
      `# ${commentText(service.label)}`,
      `migrate_and_seed ${shellWord(service.key)} ${shellWord(moduleDir)} \\`,
      `  "postgresql://${db}:\${${variable}:?${variable} is not set (see .env.example)}@localhost:5433/${db}"`,
    );
  }
  lines.push("", 'echo "==> all service databases are migrated"', "");
  return lines.join("\n");
}
