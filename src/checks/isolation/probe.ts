/** One isolation attempt: connect with a credential to a database on an instance, and if it gets in, see how far. */
import { attemptConnect, type ConnectOptions } from "../../postgres/connect.js";
import type { ConnectFailure } from "../../postgres/sqlstate.js";
import { credentialUrl } from "../../runtime/credential-url.js";
import { gatherForeignEvidence, type ForeignEvidence } from "./foreign-evidence.js";
import type { ProbeAttempt } from "./probe-plan.js";

export type ProbeResult =
  | { readonly attempt: ProbeAttempt; readonly connected: false; readonly failure: ConnectFailure }
  | { readonly attempt: ProbeAttempt; readonly connected: true; readonly evidence?: ForeignEvidence };

export async function probe(attempt: ProbeAttempt, options: ConnectOptions): Promise<ProbeResult> {
  const { target } = attempt;
  const url = credentialUrl(attempt.group.holders[0]!.declared, target.instance.host, target.instance.port, target.database);
  const result = await attemptConnect(url, options);
  if (!result.connected) return { attempt, connected: false, failure: result.failure };
  try {
    if (attempt.kind === "maintenance") return { attempt, connected: true };
    return { attempt, connected: true, evidence: await gatherForeignEvidence(result.client) };
  } finally {
    await result.client.end().catch(() => {});
  }
}
