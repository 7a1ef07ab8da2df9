import { UsageError } from "../core/errors.js";
import { gunzipInitScript, readInputFile } from "../core/input-files.js";
import { createdDatabases } from "./created-databases.js";
import { INITDB_DIR, type InitScript } from "./init-scripts.js";
import type { PostgresInstance } from "./postgres-instances.js";

/** The databases an instance has after its first start, as far as its files tell. */
export interface InstanceDatabases {
  /** POSTGRES_DB (the image creates it) and every database a SQL init script creates. */
  readonly created: ReadonlySet<string>;
  /** Scripts whose effect cannot be read statically (shell, compressed other than gzip, dynamic names): the list may be incomplete. */
  readonly opaque: readonly InitScript[];
}

const read = new WeakMap<PostgresInstance, Promise<InstanceDatabases>>();

/**
 * Reads the instance's runnable init scripts statically, once per instance: the product model and
 * the compose rules all ask (a 2,000-service product's init script is 0.9 MB of SQL to lex).
 */
export function instanceDatabases(instance: PostgresInstance): Promise<InstanceDatabases> {
  let databases = read.get(instance);
  if (!databases) read.set(instance, (databases = readInstanceDatabases(instance)));
  return databases;
}

async function readInstanceDatabases(instance: PostgresInstance): Promise<InstanceDatabases> {
  const created = new Set<string>([instance.database, ...(instance.bitnamiUser ? [instance.bitnamiUser.database] : [])]);
  const opaque: InitScript[] = [];
  for (const script of instance.initScripts) {
    if (script.kind === "ignored") continue;
    if (script.kind !== "sql" && script.kind !== "sql.gz") {
      opaque.push(script);
      continue;
    }
    let sql: string;
    try {
      // Bounded like every file of the repository under test: one over its cap (or a gzip bomb) is a usage error.
      const reference = { shown: `${INITDB_DIR}/${script.containerName}`, location: script.origin };
      const bytes = await readInputFile(script.hostPath, "init script", reference);
      sql = (script.kind === "sql.gz" ? gunzipInitScript(bytes, reference) : bytes).toString("utf8");
    } catch (error) {
      if (error instanceof UsageError) throw error;
      opaque.push(script);
      continue;
    }
    const result = createdDatabases(sql);
    for (const database of result.names) created.add(database);
    if (result.dynamic) opaque.push(script);
  }
  return { created, opaque };
}
