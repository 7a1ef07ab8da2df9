import { readFile } from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import { createdDatabases } from "./created-databases.js";
import type { InitScript } from "./init-scripts.js";
import type { PostgresInstance } from "./postgres-instances.js";

/** The databases an instance has after its first start, as far as its files tell. */
export interface InstanceDatabases {
  /** POSTGRES_DB (the image creates it) and every database a SQL init script creates. */
  readonly created: ReadonlySet<string>;
  /** Scripts whose effect cannot be read statically (shell, compressed other than gzip, dynamic names): the list may be incomplete. */
  readonly opaque: readonly InitScript[];
}

/** Reads the instance's runnable init scripts statically. */
export async function instanceDatabases(instance: PostgresInstance): Promise<InstanceDatabases> {
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
      const bytes = await readFile(script.hostPath);
      sql = script.kind === "sql.gz" ? gunzipSync(bytes).toString("utf8") : bytes.toString("utf8");
    } catch {
      opaque.push(script);
      continue;
    }
    const result = createdDatabases(sql);
    for (const database of result.names) created.add(database);
    if (result.dynamic) opaque.push(script);
  }
  return { created, opaque };
}
