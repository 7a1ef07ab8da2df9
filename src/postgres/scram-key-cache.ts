/**
 * SCRAM-SHA-256 makes the client run PBKDF2 (4096 rounds by default) on every login: about a
 * millisecond of CPU, and the isolation matrix logs in N×(N−1) times. The result, SaltedPassword,
 * depends only on the password, the role's salt and the iteration count, so one credential trying
 * ninety-nine databases computes the same value ninety-nine times.
 *
 * `withScramKeyCache` memoises pg's key derivation for the duration of one call, keyed by exactly
 * those inputs. That is a pure-function memo, not a shared session: every attempt still performs
 * the full handshake and the server still checks every proof, and a different credential (another
 * password, or another role and so another salt) can never hit another's entry. The map is cleared
 * when the call ends, so no password-equivalent value outlives it.
 *
 * pg exposes the derivation as `deriveKey` on `pg/lib/crypto/utils` (an exported path), which its
 * SASL code looks up at call time; the wrapper is installed there and removed afterwards.
 */
import { createHash } from "node:crypto";
import pgCrypto from "pg/lib/crypto/utils.js";

type DeriveKey = (password: string, salt: Uint8Array, iterations: number) => Promise<ArrayBuffer>;

const crypto: { deriveKey: DeriveKey } = pgCrypto;
let users = 0;
let original: DeriveKey | undefined;
const derived = new Map<string, Promise<ArrayBuffer>>();

export async function withScramKeyCache<T>(use: () => Promise<T>): Promise<T> {
  if (users++ === 0) {
    original = crypto.deriveKey;
    const derive = original;
    crypto.deriveKey = (password, salt, iterations) => {
      const key = createHash("sha256").update(password).update("\0").update(salt).update(`\0${iterations}`).digest("base64");
      let result = derived.get(key);
      if (!result) {
        result = derive(password, salt, iterations);
        // A failed derivation is not remembered: the next attempt tries again.
        result.catch(() => derived.delete(key));
        derived.set(key, result);
      }
      return result;
    };
  }
  try {
    return await use();
  } finally {
    if (--users === 0) {
      crypto.deriveKey = original!;
      derived.clear();
    }
  }
}
