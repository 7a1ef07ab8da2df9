import { LAYERS, type Layer, type Service } from "../registry/model.js";
import type { RegistryFileInputs } from "./render-yaml-registry.js";

/**
 * `infra/service-registry.ts` in the seed's shape, for a product laid out like the civic layout
 * (`products/<product>/`, modules under `modules/<layer>/`): every field of `ServiceDefinition`,
 * the layer from the module path, a label from the key, `routes: []` with a TODO (nothing in the
 * compose file says them), and a comment per fact saying where it was read.
 */
export function renderTsRegistry(inputs: RegistryFileInputs): string {
  const lines = [
    "/**",
    ` * Service registry of ${inputs.product}, inferred by \`civic-conformance init\` from ${inputs.composeFiles.join(", ")}.`,
    " * It is yours now: the single source of truth; `civic-conformance generate --write` renders the infra",
    " * files from it. Each service says where its values were read; TODO marks what could not be inferred.",
    " */",
    "",
    "export interface ServiceDefinition {",
    "    /** Docker Compose service name (used as hostname in the Docker network) */",
    "    readonly hostname: string;",
    "    /** Internal port the app listens on */",
    "    readonly port: number;",
    "    /** PostgreSQL database name (snake_case) — empty string for stateless services */",
    "    readonly database: string;",
    "    /** Path to Dockerfile relative to monorepo root */",
    "    readonly dockerfile: string;",
    "    /** API route prefixes this service handles (without trailing slash) */",
    "    readonly routes: readonly string[];",
    `    /** Layer for documentation / ordering */`,
    `    readonly layer: ${LAYERS.map((layer) => `"${layer}"`).join(" | ")};`,
    "    /** Human-readable label */",
    "    readonly label: string;",
    "    /** Extra env vars beyond the shared ones */",
    "    readonly extraEnv?: Readonly<Record<string, string>>;",
    "    /** Services this service depends on (by registry key) */",
    "    readonly dependsOn?: readonly string[];",
    "    /** Whether the service needs Redis */",
    "    readonly needsRedis?: boolean;",
    "}",
    "",
    "export const serviceRegistry = {",
  ];
  for (const todo of inputs.todo.filter((candidate) => !inputs.registry.services.some((service) => service.key === candidate.service))) {
    lines.push(`    // TODO: ${todo.message.replace(/\s*\n\s*/g, " ")}`);
  }
  for (const service of inputs.registry.services) lines.push(...renderEntry(service, inputs));
  lines.push("} satisfies Record<string, ServiceDefinition>;", "");
  return lines.join("\n");
}

function renderEntry(service: Service, inputs: RegistryFileInputs): string[] {
  const out = [`    ${JSON.stringify(service.key)}: {`];
  for (const fact of inputs.facts.filter((candidate) => candidate.service === service.key)) {
    const places = fact.from.map((location) => (location.line === undefined ? location.file : `${location.file}:${location.line}`)).join(", ");
    out.push(`        // ${fact.fact}${places ? ` — ${places}` : ""}`);
  }
  for (const todo of inputs.todo.filter((candidate) => candidate.service === service.key)) out.push(`        // TODO: ${todo.message}`);
  const layer = layerOf(service.dockerfile);
  out.push(`        hostname: ${JSON.stringify(service.hostname)},`);
  out.push(service.port === undefined ? "        port: 0, // TODO: the port it listens on (no PORT and no single published port)" : `        port: ${service.port},`);
  out.push(`        database: ${JSON.stringify(service.database)},`);
  out.push(service.dockerfile === undefined ? '        dockerfile: "", // TODO: its Dockerfile (the compose service has no build:)' : `        dockerfile: ${JSON.stringify(service.dockerfile)},`);
  out.push("        routes: [], // TODO: the route prefixes it serves");
  out.push(layer ? `        layer: "${layer}",` : '        layer: "domain", // TODO: platform, shared or domain (its module is not under modules/<layer>/)');
  out.push(`        label: ${JSON.stringify(labelOf(service.key))},`);
  if (service.extraEnv && Object.keys(service.extraEnv).length > 0) {
    out.push("        extraEnv: {");
    for (const [name, value] of Object.entries(service.extraEnv)) out.push(`            ${name}: ${JSON.stringify(value)},`);
    out.push("        },");
  }
  if (service.dependsOn && service.dependsOn.length > 0) out.push(`        dependsOn: [${service.dependsOn.map((key) => JSON.stringify(key)).join(", ")}],`);
  out.push("    },");
  return out;
}

function layerOf(dockerfile: string | undefined): Layer | undefined {
  const match = /^modules\/([^/]+)\//.exec(dockerfile ?? "");
  return match && (LAYERS as readonly string[]).includes(match[1]!) ? (match[1] as Layer) : undefined;
}

/** `tax-levy-rate` → `Tax Levy Rate`. */
function labelOf(key: string): string {
  return key
    .split(/[-_]+/)
    .filter(Boolean)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join(" ");
}
