/**
 * Where PostgreSQL (and, for `compose`, the whole stack) comes from. One implementation per runtime;
 * the live checks see only `LiveEnvironment`.
 */

export type RuntimeName = "compose" | "embedded" | "external";
export type RuntimeChoice = RuntimeName | "auto";
export const RUNTIME_CHOICES: readonly RuntimeChoice[] = ["auto", "compose", "embedded", "external"];

export interface LiveEnvironment {
  readonly runtime: RuntimeName;
  /** Superuser URL of the server under test (the compose file's POSTGRES_USER), reachable from here. */
  readonly adminUrl: string;
  /**
   * The service's `DATABASE_URL` as the service would use it, with host and port rewritten to reach
   * the server from here. `undefined` for a service that has none.
   */
  serviceUrl(serviceKey: string): string | undefined;
  /** True where the product's services themselves run (compose), so live dependency probes can run. */
  readonly servicesRunning: boolean;
  /**
   * A server the migrations check may create scratch databases on without touching the one under
   * test. May be the same server for `embedded` (it is throwaway) but never for `external`.
   */
  scratchAdminUrl(): Promise<string | undefined>;
  /** Read-only: never create or alter anything on the server under test. */
  readonly readOnly: boolean;
}

export interface Runtime {
  readonly name: RuntimeName;
  start(signal: AbortSignal): Promise<LiveEnvironment>;
  /** Idempotent; safe to call when `start` failed half way. */
  stop(): Promise<void>;
}
