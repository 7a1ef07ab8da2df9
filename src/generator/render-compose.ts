import { isStateful, type Layer } from "../registry/model.js";
import { type CivicRegistry, type CivicService, commentText, passwordVariable } from "./infra-names.js";

/**
 * `docker-compose.yml`: one PostgreSQL 16 server, Redis when a service needs it, then every
 * registry service in registry order. Each stateful service's DATABASE_URL logs in as its own
 * role into its own database; services publish no host ports. Names must have passed
 * `assertRenderable`.
 */

const LAYER_TITLES: Readonly<Record<Layer, string>> = {
  platform: "Platform layer",
  shared: "Shared layer",
  domain: "Domain layer",
};

/** Registry strings go out double-quoted (JSON's escapes are valid YAML): `yes`, `1` or `#x` stay strings. */
function yamlString(value: string): string {
  return JSON.stringify(value);
}

/** A YAML flow sequence of double-quoted strings, spaced as people write it. */
function flowSequence(items: readonly string[]): string {
  return `[${items.map((item) => JSON.stringify(item)).join(", ")}]`;
}

/** The images are node:20-alpine: no curl or wget, but node's fetch. */
function serviceHealthcheck(port: number): string[] {
  const probe = `fetch('http://127.0.0.1:${port}/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`;
  return [
    "    healthcheck:",
    `      test: ${flowSequence(["CMD", "node", "-e", probe])}`,
    "      interval: 5s",
    "      timeout: 10s",
    "      retries: 20",
  ];
}

function renderService(service: CivicService, byKey: ReadonlyMap<string, CivicService>): string[] {
  const lines = [
    `  ${service.hostname}:`,
    `    # ${commentText(service.label)}`,
    "    build:",
    "      context: ../..",
    `      dockerfile: ${yamlString(service.dockerfile)}`,
    "    restart: unless-stopped",
    "    environment:",
    `      PORT: ${service.port}`,
    "      NODE_ENV: development",
  ];
  if (isStateful(service)) {
    const db = service.database;
    lines.push(`      DATABASE_URL: postgresql://${db}:\${${passwordVariable(db)}}@postgres:5432/${db}`);
  }
  if (service.needsRedis) lines.push("      REDIS_URL: redis://redis:6379");
  for (const [name, value] of Object.entries(service.extraEnv ?? {})) lines.push(`      ${name}: ${yamlString(value)}`);
  lines.push(...serviceHealthcheck(service.port));

  const dependencies = [
    ...(isStateful(service) ? ["postgres"] : []),
    ...(service.needsRedis ? ["redis"] : []),
    ...(service.dependsOn ?? []).map((key) => byKey.get(key)?.hostname ?? key),
  ];
  if (dependencies.length > 0) {
    lines.push("    depends_on:");
    for (const dependency of dependencies) lines.push(`      ${dependency}:`, "        condition: service_healthy");
  }
  return lines;
}

export function renderCompose(registry: CivicRegistry, product: string): string {
  const stateful = registry.services.filter(isStateful);
  const needsRedis = registry.services.some((service) => service.needsRedis);
  const lines = [
    `# ─── ${commentText(product)} — local stack ───────────────────────────────────`,
    `# GENERATED from ${commentText(registry.file)} — do not edit by hand;`,
    "# change the registry and regenerate.",
    "#",
    "# One PostgreSQL 16 server, one database and one login role per stateful service",
    "# (infra/init-databases.sql). Each service receives only its own DATABASE_URL; set the",
    "# passwords in .env beside this file (see .env.example).",
    "",
    "services:",
    "  # ─── Infrastructure ───",
    "  postgres:",
    "    image: postgres:16-alpine",
    "    restart: unless-stopped",
    "    environment:",
    "      POSTGRES_USER: ${POSTGRES_USER:-civic}",
    "      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}",
    "      POSTGRES_DB: ${POSTGRES_DB:-civic_platform}",
  ];
  if (stateful.length > 0) lines.push("      # Read by infra/init-databases.sql (\\getenv) to create each service's role.");
  for (const service of stateful) {
    const variable = passwordVariable(service.database);
    lines.push(`      ${variable}: \${${variable}}`);
  }
  lines.push(
    "    ports:",
    '      - "5433:5432"',
    "    volumes:",
    "      - postgres_data:/var/lib/postgresql/data",
    "      - ./infra/init-databases.sql:/docker-entrypoint-initdb.d/01-init-databases.sql:ro",
    "    healthcheck:",
    "      # Over TCP: during initialisation the image's temporary server listens on the socket only.",
    '      test: ["CMD-SHELL", "pg_isready -h 127.0.0.1 -U ${POSTGRES_USER:-civic} -d ${POSTGRES_DB:-civic_platform}"]',
    "      interval: 5s",
    "      timeout: 10s",
    "      retries: 20",
  );
  if (needsRedis) {
    lines.push(
      "",
      "  redis:",
      "    image: redis:7-alpine",
      "    restart: unless-stopped",
      "    healthcheck:",
      '      test: ["CMD", "redis-cli", "ping"]',
      "      interval: 5s",
      "      timeout: 10s",
      "      retries: 20",
    );
  }

  const byKey = new Map(registry.services.map((service) => [service.key, service]));
  let layer: Layer | undefined;
  for (const service of registry.services) {
    lines.push("");
    if (service.layer !== layer) {
      layer = service.layer;
      lines.push(`  # ─── ${LAYER_TITLES[layer]} ───`);
    }
    lines.push(...renderService(service, byKey));
  }

  lines.push("", "volumes:", "  postgres_data:", "");
  return lines.join("\n");
}
