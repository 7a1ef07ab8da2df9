/**
 * Logs in with one service's URL and asks the server where it landed. The session answers, not the
 * URL: a URL can name one database while a pg_hba or role setting lands it elsewhere, and only the
 * server knows which role it really is.
 */
import { attemptConnect, type ConnectOptions } from "../../postgres/connect.js";
import type { ConnectFailure } from "../../postgres/sqlstate.js";
import type { ServiceCredential } from "../shared/service-credentials.js";

export type LoginProbe =
  | { readonly credential: ServiceCredential; readonly loggedIn: false; readonly failure: ConnectFailure }
  | { readonly credential: ServiceCredential; readonly loggedIn: true; readonly database: string; readonly role: string };

export async function probeLogin(credential: ServiceCredential, options: ConnectOptions): Promise<LoginProbe> {
  const attempt = await attemptConnect(credential.url, options);
  if (!attempt.connected) return { credential, loggedIn: false, failure: attempt.failure };
  try {
    const result = await attempt.client.query<{ database: string; role: string }>(
      "select current_database() as database, session_user as role",
    );
    const row = result.rows[0]!;
    return { credential, loggedIn: true, database: row.database, role: row.role };
  } finally {
    await attempt.client.end().catch(() => {});
  }
}
