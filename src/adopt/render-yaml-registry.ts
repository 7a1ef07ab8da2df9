import { relative, resolve, sep } from "node:path";
import { stringify } from "yaml";
import type { InferredFact, InferredTodo } from "../core/report-model.js";
import type { Registry, Service } from "../registry/model.js";

/** Where editors fetch the configuration's JSON Schema (`schema/config.schema.json`, published in the package). */
export const CONFIG_SCHEMA_URL = "https://raw.githubusercontent.com/civic/db-per-service-check/v1/schema/config.schema.json";

export interface RegistryFileInputs {
  readonly product: string;
  /** Absolute product folder: paths in the file are relative to it. */
  readonly productDir: string;
  readonly repoRoot: string;
  readonly registry: Registry;
  readonly facts: readonly InferredFact[];
  readonly todo: readonly InferredTodo[];
  /** Repo-relative compose files the registry was inferred from. */
  readonly composeFiles: readonly string[];
}

/**
 * `civic-conformance.yaml` for an inferred registry: the services (key = compose service name),
 * each with a comment per fact saying where it was read, `# TODO:` lines for what could not be
 * inferred, and the editor modeline of the published schema. Deterministic: the same inference
 * renders the same bytes, so `init` twice changes nothing.
 */
export function renderYamlRegistry(inputs: RegistryFileInputs): string {
  const { registry } = inputs;
  const fromProduct = (repoPath: string) => relative(inputs.productDir, resolve(inputs.repoRoot, repoPath)).split(sep).join("/") || ".";
  const lines = [
    `# yaml-language-server: $schema=${CONFIG_SCHEMA_URL}`,
    `# The services of ${inputs.product} as civic-conformance inferred them from ${inputs.composeFiles.join(", ")}`,
    "# (`civic-conformance init`). This file is yours now: edit it, and `civic-conformance check` reads it",
    "# instead of inferring. Each service says where its values were read; TODO marks what could not be.",
    "version: 1",
    "profile: portable",
  ];
  const unplaced = inputs.todo.filter((todo) => todo.service === undefined || !registry.services.some((service) => service.key === todo.service));
  for (const todo of unplaced) lines.push(`# TODO: ${oneLine(todo.message)}`);
  const outside = inputs.facts.filter((fact) => !registry.services.some((service) => service.key === fact.service));
  for (const fact of outside) lines.push(`# ${fact.service}: ${oneLine(fact.fact)}${fromText(fact)}`);
  lines.push("services:");
  for (const service of registry.services) lines.push(...renderService(service, inputs, fromProduct));
  return `${lines.join("\n")}\n`;
}

function renderService(service: Service, inputs: RegistryFileInputs, fromProduct: (repoPath: string) => string): string[] {
  const out = [`  ${scalar(service.key)}:`];
  for (const fact of inputs.facts.filter((candidate) => candidate.service === service.key)) out.push(`    # ${oneLine(fact.fact)}${fromText(fact)}`);
  for (const todo of inputs.todo.filter((candidate) => candidate.service === service.key)) out.push(`    # TODO: ${oneLine(todo.message)}`);
  const firstField = out.length;
  const field = (name: string, value: unknown) => out.push(`    ${name}: ${scalar(value)}`);
  if (service.hostname !== service.key) field("hostname", service.hostname);
  if (service.database !== "") field("database", service.database);
  if (service.instance !== undefined) field("instance", service.instance);
  if (service.credentials) {
    out.push("    credentials:");
    for (const [part, variable] of Object.entries(service.credentials)) out.push(`      ${part}: ${scalar(variable)}`);
  }
  if (service.dockerfile !== undefined) field("dockerfile", fromProduct(service.dockerfile));
  if (service.port !== undefined) field("port", service.port);
  if (service.dependsOn && service.dependsOn.length > 0) out.push(`    dependsOn: [${service.dependsOn.map(scalar).join(", ")}]`);
  if (service.extraEnv && Object.keys(service.extraEnv).length > 0) {
    out.push("    extraEnv:");
    for (const [name, value] of Object.entries(service.extraEnv)) out.push(`      ${name}: ${scalar(value)}`);
  }
  if (service.migrations) {
    out.push("    migrations:");
    if (service.migrations.tool !== undefined) out.push(`      tool: ${scalar(service.migrations.tool)}`);
    if (service.migrations.dir !== undefined) out.push(`      dir: ${scalar(fromProduct(service.migrations.dir))}`);
    if (service.migrations.command !== undefined) out.push(`      command: ${scalar(service.migrations.command)}`);
  }
  // A service with no field still needs a value: an empty mapping.
  if (out.length === firstField) out[0] = `${out[0]} {}`;
  return out;
}

function fromText(fact: InferredFact): string {
  const places = fact.from.map((location) => (location.line === undefined ? location.file : `${location.file}:${location.line}`));
  return places.length > 0 ? ` — ${places.join(", ")}` : "";
}

/** A value as YAML writes it on one line (quoted when it must be). */
function scalar(value: unknown): string {
  return stringify(value, { lineWidth: 0 }).trimEnd();
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ");
}
