import { createServer } from "node:net";
import pgCrypto from "pg/lib/crypto/utils.js";
import { describe, expect, it } from "vitest";
import { mapBounded } from "../../src/core/concurrency.js";
import { attemptConnect, PostgresUnreachableError } from "../../src/postgres/connect.js";
import { quoteIdentifier, quoteLiteral } from "../../src/postgres/quoting.js";
import { withFastScram } from "../../src/postgres/pg-scram-patch.js";
import { classifyConnectError, isUnreachable } from "../../src/postgres/sqlstate.js";

/** A port nothing listens on: bound, noted, closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("mapBounded", () => {
  it("keeps input order and never runs more than the limit at once", async () => {
    let running = 0;
    let peak = 0;
    const results = await mapBounded([5, 1, 4, 2, 3], 2, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, n * 3));
      running--;
      return n * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30]);
    expect(peak).toBe(2);
  });

  it("starts nothing after the first failure and rethrows it once in-flight work has settled", async () => {
    const started: number[] = [];
    let settled = 0;
    const run = mapBounded([0, 1, 2, 3, 4, 5], 2, async (n) => {
      started.push(n);
      await new Promise((resolve) => setTimeout(resolve, n === 1 ? 1 : 20));
      settled++;
      if (n === 1) throw new Error("server went away");
      return n;
    });
    await expect(run).rejects.toThrow("server went away");
    expect(started).toEqual([0, 1]);
    expect(settled).toBe(2);
  });
});

describe("connection failures", () => {
  it("throws PostgresUnreachableError, never a refusal, when nothing listens", async () => {
    const port = await closedPort();
    const attempt = attemptConnect(`postgresql://svc:secret-password@127.0.0.1:${port}/svc_db`, { connectTimeoutMs: 2_000 });
    await expect(attempt).rejects.toBeInstanceOf(PostgresUnreachableError);
    const error = (await attempt.then(
      () => undefined,
      (e: unknown) => e,
    )) as PostgresUnreachableError;
    expect(error.failure.kind).toBe("unreachable");
    expect(error.failure.code).toBe("ECONNREFUSED");
    expect(error.message).toBe(`PostgreSQL at 127.0.0.1:${port} did not answer: connect ECONNREFUSED 127.0.0.1:${port} (ECONNREFUSED)`);
    expect(isUnreachable(error)).toBe(true);
  });

  it("classifies SQLSTATEs: refusals, busy, and shutdown as unreachable", () => {
    const server = (code: string, message = "m") => Object.assign(new Error(message), { code });
    expect(classifyConnectError(server("42501"))).toEqual({ kind: "refused", code: "42501", reason: "no CONNECT privilege (42501)" });
    expect(classifyConnectError(server("28000"))).toEqual({ kind: "refused", code: "28000", reason: "rejected by pg_hba.conf (28000)" });
    expect(classifyConnectError(server("28P01")).reason).toBe("password authentication failed (28P01)");
    expect(classifyConnectError(server("3D000")).reason).toBe("database does not exist (3D000)");
    expect(classifyConnectError(server("53300")).kind).toBe("busy");
    expect(classifyConnectError(server("57P03")).kind).toBe("busy");
    expect(classifyConnectError(server("57P01")).kind).toBe("unreachable");
    expect(classifyConnectError(new Error("Connection terminated unexpectedly")).kind).toBe("unreachable");
    expect(classifyConnectError(new Error("Connection terminated due to connection timeout")).kind).toBe("unreachable");
  });
});

describe("identifier quoting", () => {
  it("doubles embedded quotes and refuses NUL", () => {
    expect(quoteIdentifier('tax"levy')).toBe('"tax""levy"');
    expect(quoteLiteral("o'brien")).toBe("'o''brien'");
    expect(() => quoteIdentifier("a\0b")).toThrow("NUL");
  });
});

describe("withFastScram", () => {
  it("derives once per exact (password, salt, iterations), computes the same HMAC and hash bytes, and restores pg's helpers", async () => {
    const original = pgCrypto.deriveKey;
    const { hmacSha256, sha256 } = pgCrypto;
    const salt = new Uint8Array([1, 2, 3, 4]);
    const key = await original("password-one", salt, 4096);
    const expectedHmac = Buffer.from(await hmacSha256(key, "Client Key"));
    const expectedHash = Buffer.from(await sha256(key));
    await withFastScram(async () => {
      expect(Buffer.from(await pgCrypto.hmacSha256(key, "Client Key"))).toEqual(expectedHmac);
      expect(Buffer.from(await pgCrypto.sha256(key))).toEqual(expectedHash);
      expect(pgCrypto.deriveKey).not.toBe(original);
      const first = await pgCrypto.deriveKey("password-one", salt, 4096);
      expect(await pgCrypto.deriveKey("password-one", salt, 4096)).toBe(first);
      const other = await pgCrypto.deriveKey("password-two", salt, 4096);
      expect(Buffer.from(other).equals(Buffer.from(first))).toBe(false);
      expect(Buffer.from(await pgCrypto.deriveKey("password-one", salt, 4096))).toEqual(Buffer.from(await original("password-one", salt, 4096)));
    });
    expect(pgCrypto.deriveKey).toBe(original);
    expect(pgCrypto.hmacSha256).toBe(hmacSha256);
    expect(pgCrypto.sha256).toBe(sha256);
  });
});
