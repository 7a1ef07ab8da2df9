// pg ships no types for its crypto helpers; pg-scram-patch.ts substitutes the SCRAM ones.
declare module "pg/lib/crypto/utils.js" {
  const utils: {
    deriveKey(password: string, salt: Uint8Array, iterations: number): Promise<ArrayBuffer>;
    hmacSha256(key: ArrayBuffer | Uint8Array, message: string): Promise<ArrayBuffer>;
    sha256(data: ArrayBuffer | Uint8Array): Promise<ArrayBuffer>;
  };
  export default utils;
}
