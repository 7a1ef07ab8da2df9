/**
 * CANARY for src/postgres/pg-scram-patch.ts, a patch of pg's internals: the substitutes must be the
 * functions pg actually calls during a real SCRAM-SHA-256 login. If a pg upgrade inlined its crypto
 * helpers (or stopped looking them up on `pg/lib/crypto/utils` at call time), the patch would do
 * nothing and every login would still succeed: only these counters would notice.
 */
import pgCrypto from "pg/lib/crypto/utils.js";
import { describe, expect, it } from "vitest";
import { connect, type PostgresClient } from "../../src/postgres/connect.js";
import { scramPatchUsage, withFastScram } from "../../src/postgres/pg-scram-patch.js";
import { copyFixture } from "../helpers/fixtures.js";
import { adminUrlOf, reachService, startLiveProduct } from "../helpers/live-product.js";

async function login(url: string): Promise<void> {
  const client: PostgresClient = await connect(url, { applicationName: "civic-conformance scram canary" });
  await client.end();
}

/** Whether the role's password is stored as a SCRAM-SHA-256 verifier (then the server asks for SCRAM). */
async function storedAsScram(adminUrl: string, role: string): Promise<boolean> {
  const admin = await connect(adminUrl);
  try {
    const { rows } = await admin.query<{ scram: boolean }>("select rolpassword like 'SCRAM-SHA-256$%' as scram from pg_authid where rolname = $1", [role]);
    return rows[0]?.scram === true;
  } finally {
    await admin.end();
  }
}

describe("the pg SCRAM patch (canary)", { timeout: 120_000 }, () => {
  it("is the path a real SCRAM-SHA-256 login takes: the derivation is computed once, then reused, and every digest goes through node:crypto", async () => {
    await using copy = await copyFixture("property-tax");
    await using started = await startLiveProduct(copy.product, copy.root);
    const url = (await reachService(started, "tax-levy-rate"))!;
    expect(await storedAsScram(adminUrlOf(started.live), "tax_levy_rate")).toBe(true);
    const originalDerive = pgCrypto.deriveKey;

    const before = scramPatchUsage();
    await withFastScram(async () => {
      expect(pgCrypto.deriveKey).not.toBe(originalDerive);
      await login(url);
      await login(url);
    });
    const after = scramPatchUsage();

    expect(after.derivations - before.derivations).toBe(1);
    expect(after.reused - before.reused).toBe(1);
    // Each login computes ClientKey, StoredKey, ServerKey and the two signatures: at least four digests.
    expect(after.digests - before.digests).toBeGreaterThanOrEqual(8);
    expect(pgCrypto.deriveKey).toBe(originalDerive);

    // Outside the patch nothing is counted: the counters measure the patch, not every login.
    const outside = scramPatchUsage();
    await login(url);
    expect(scramPatchUsage()).toEqual(outside);
  });
});
