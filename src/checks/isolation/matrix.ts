/** The isolation matrix for the PR table: every credential holder × every service database, own included. */
import type { MatrixCell } from "../../core/report-model.js";
import type { Service } from "../../registry/model.js";
import type { LiveInstance } from "../../runtime/runtime.js";
import type { ServiceCredential } from "../shared/service-credentials.js";
import { isOwn, type ProbeTarget } from "./probe-plan.js";
import type { ProbeResult } from "./probe.js";

export function probeKey(identity: string, target: ProbeTarget): string {
  return `${identity}\0${target.instance.name}\0${target.database}`;
}

/** `withInstance`: the product has several instances, so each cell names the one its database lives on. */
export function isolationMatrix(
  holders: readonly ServiceCredential[],
  targets: readonly (ProbeTarget & { readonly owner: Service })[],
  homes: ReadonlyMap<string, LiveInstance | undefined>,
  results: ReadonlyMap<string, ProbeResult>,
  withInstance: boolean,
): MatrixCell[] {
  const cells: MatrixCell[] = [];
  for (const holder of holders) {
    for (const target of targets) {
      const base = { credentialOf: holder.service.key, database: target.database, ...(withInstance && { instance: target.instance.name }) };
      if (isOwn(holder, target, homes)) {
        cells.push({ ...base, outcome: "own" });
        continue;
      }
      const result = results.get(probeKey(holder.identity, target));
      if (!result) cells.push({ ...base, outcome: "error", reason: "not attempted" });
      else if (result.connected) cells.push({ ...base, outcome: "connected" });
      else cells.push({ ...base, outcome: "refused", reason: result.failure.reason });
    }
  }
  return cells;
}
