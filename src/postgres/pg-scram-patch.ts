/**
 * The isolation matrix logs in N×(N−1) times with SCRAM-SHA-256, and pg's client side of SCRAM is
 * the expensive part of each attempt on our side:
 *
 * - PBKDF2 (4096 rounds by default) for SaltedPassword: about a millisecond of CPU per login. The
 *   result depends only on the password, the role's salt and the iteration count, so one credential
 *   trying ninety-nine databases computes the same value ninety-nine times;
 * - four HMAC / SHA-256 steps through WebCrypto, each an async job with more overhead than work.
 *
 * `withFastScram` memoises the derivation for the duration of one call, keyed by exactly its inputs,
 * and computes the HMAC / SHA-256 steps with `node:crypto`, which yields the same bytes without the
 * job overhead. Both are pure-function substitutions, not shared sessions: every attempt still runs
 * the full handshake and the server still checks every proof; a different credential (another
 * password, or another role and so another salt) can never hit another's entry. The memo is cleared
 * when the call ends, so no password-equivalent value outlives it.
 *
 * This is a PATCH OF pg's INTERNALS: pg exposes these helpers on `pg/lib/crypto/utils` (an exported
 * path), and its SASL code looks them up at call time; the substitutes are installed there and the
 * originals restored afterwards. Should a pg release inline them, the patch would silently do
 * nothing: `scramPatchUsage` counts what went through it, and a canary test
 * (test/postgres/pg-scram-patch.test.ts) logs in with SCRAM on a real server and fails at zero.
 */
import { createHash, createHmac } from "node:crypto";
import pgCrypto from "pg/lib/crypto/utils.js";

type ScramHelpers = Pick<typeof pgCrypto, "deriveKey" | "hmacSha256" | "sha256">;

/** How many calls went through the substitutes since the process started. */
export interface ScramPatchUsage {
  /** SaltedPassword derivations actually computed (each PBKDF2 run). */
  readonly derivations: number;
  /** Derivations answered from the memo instead. */
  readonly reused: number;
  /** HMAC-SHA-256 and SHA-256 steps computed with node:crypto. */
  readonly digests: number;
}

const usage = { derivations: 0, reused: 0, digests: 0 };

export function scramPatchUsage(): ScramPatchUsage {
  return { ...usage };
}

let users = 0;
let originals: ScramHelpers | undefined;
const derived = new Map<string, Promise<ArrayBuffer>>();

function toArrayBuffer(bytes: Buffer): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
}

function install(): void {
  originals = { deriveKey: pgCrypto.deriveKey, hmacSha256: pgCrypto.hmacSha256, sha256: pgCrypto.sha256 };
  const derive = originals.deriveKey;
  pgCrypto.deriveKey = (password, salt, iterations) => {
    const key = createHash("sha256").update(password).update("\0").update(salt).update(`\0${iterations}`).digest("base64");
    let result = derived.get(key);
    if (result) usage.reused += 1;
    else {
      usage.derivations += 1;
      result = derive(password, salt, iterations);
      // A failed derivation is not remembered: the next attempt tries again.
      result.catch(() => derived.delete(key));
      derived.set(key, result);
    }
    return result;
  };
  pgCrypto.hmacSha256 = async (key, message) => {
    usage.digests += 1;
    return toArrayBuffer(createHmac("sha256", new Uint8Array(key)).update(message).digest());
  };
  pgCrypto.sha256 = async (data) => {
    usage.digests += 1;
    return toArrayBuffer(createHash("sha256").update(new Uint8Array(data)).digest());
  };
}

function uninstall(): void {
  Object.assign(pgCrypto, originals);
  originals = undefined;
  derived.clear();
}

export async function withFastScram<T>(use: () => Promise<T>): Promise<T> {
  if (users++ === 0) install();
  try {
    return await use();
  } finally {
    if (--users === 0) uninstall();
  }
}
