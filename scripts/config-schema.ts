// Writes schema/config.schema.json (the JSON Schema of civic-conformance.yaml, for editor completion)
// from the zod schema the loader validates with, so the two never disagree.
// `npx tsx scripts/config-schema.ts` writes it; `--check` fails when it is stale (test/unit/config-file.test.ts runs it).
import { readFile, writeFile } from "node:fs/promises";
import { z } from "zod";
import { configFileSchema } from "../src/registry/config-schema.js";

const SCHEMA_FILE = new URL("../schema/config.schema.json", import.meta.url);
/** Where editors fetch it from (the file the package publishes under schema/). */
export const CONFIG_SCHEMA_URL = "https://raw.githubusercontent.com/civic/db-per-service-check/v1/schema/config.schema.json";

export function renderConfigSchema(): string {
  const generated = z.toJSONSchema(configFileSchema, { target: "draft-7" }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return `${JSON.stringify({ $schema, $id: CONFIG_SCHEMA_URL, ...rest }, null, 2)}\n`;
}

/** Whether the schema file was (or, with `check`, would be) changed. */
export async function updateConfigSchema({ check = false } = {}): Promise<boolean> {
  const before = await readFile(SCHEMA_FILE, "utf8").catch(() => "");
  const after = renderConfigSchema();
  if (after === before) return false;
  if (!check) await writeFile(SCHEMA_FILE, after);
  return true;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const check = process.argv.includes("--check");
  const stale = await updateConfigSchema({ check });
  if (check && stale) {
    console.error("schema/config.schema.json is stale: run npx tsx scripts/config-schema.ts");
    process.exit(1);
  }
  if (!check) console.log(stale ? "updated schema/config.schema.json" : "schema/config.schema.json already up to date");
}
