import { randomBytes } from "node:crypto";
import { connect, type ConnectOptions } from "./connect.js";

/**
 * Whether two URLs reach the same PostgreSQL server, whatever names, addresses, ports or poolers
 * they go through: a session opened through `other` under a unique application name is looked
 * for in `pg_stat_activity` through `server` (the name column is readable by every role).
 * Only reads: nothing is created on either server.
 */
export async function sameServer(server: string, other: string, options: Pick<ConnectOptions, "connectTimeoutMs"> = {}): Promise<boolean> {
  const marker = `civic-conformance identity ${randomBytes(8).toString("hex")}`;
  const visitor = await connect(other, { ...options, applicationName: marker });
  try {
    const observer = await connect(server, { ...options, applicationName: "civic-conformance identity" });
    try {
      const { rowCount } = await observer.query("SELECT 1 FROM pg_stat_activity WHERE application_name = $1", [marker]);
      return (rowCount ?? 0) > 0;
    } finally {
      await observer.end().catch(() => undefined);
    }
  } finally {
    await visitor.end().catch(() => undefined);
  }
}
