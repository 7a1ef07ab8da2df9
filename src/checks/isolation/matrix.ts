/** The isolation matrix for the PR table: every credential holder × every service database, own included. */
import type { MatrixCell } from "../../core/report-model.js";
import type { Service } from "../../registry/model.js";
import type { ServiceCredential } from "../shared/service-credentials.js";
import type { ProbeResult } from "./probe.js";

export function probeKey(identity: string, database: string): string {
  return `${identity}\0${database}`;
}

export function isolationMatrix(
  holders: readonly ServiceCredential[],
  stateful: readonly Service[],
  results: ReadonlyMap<string, ProbeResult>,
): MatrixCell[] {
  const cells: MatrixCell[] = [];
  for (const holder of holders) {
    for (const target of stateful) {
      const base = { credentialOf: holder.service.key, database: target.database };
      if (target.database === holder.service.database) {
        cells.push({ ...base, outcome: "own" });
        continue;
      }
      const result = results.get(probeKey(holder.identity, target.database));
      if (!result) cells.push({ ...base, outcome: "error", reason: "not attempted" });
      else if (result.connected) cells.push({ ...base, outcome: "connected" });
      else cells.push({ ...base, outcome: "refused", reason: result.failure.reason });
    }
  }
  return cells;
}
