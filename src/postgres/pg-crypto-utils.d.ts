// pg ships no types for its crypto helpers; scram-key-cache.ts wraps the one it needs.
declare module "pg/lib/crypto/utils.js" {
  const utils: { deriveKey(password: string, salt: Uint8Array, iterations: number): Promise<ArrayBuffer> };
  export default utils;
}
