/**
 * Where PostgreSQL (and, for `compose`, the whole stack) comes from. One implementation per runtime;
 * the live checks see only `LiveEnvironment`.
 */

import type { RuntimeName } from "../core/settings.js";

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
   * A server the migrations check may create scratch databases on; `undefined` when there is none.
   * The same server for `embedded` (it is throwaway); for `external`, never the server under test
   * unless its config says `readOnly: false` (the runtime decides, and says why when it refuses).
   */
  scratchAdminUrl(): Promise<string | undefined>;
  /** The booted compose stack, for checks that look from inside its network; only the `compose` runtime sets it. */
  readonly stack?: RunningStack;
}

/** A compose stack booted for this run (containers as they were once every service was ready). */
export interface RunningStack {
  /** The run's compose project name. */
  readonly project: string;
  /** Environment for `docker` commands that reach the stack's engine (DOCKER_HOST and the like). */
  readonly dockerEnv: Readonly<Record<string, string | undefined>>;
  /** The image the stack's postgres service runs: present on the engine, so a probe can use it without a pull. */
  readonly postgresImage: string;
  /** Container id of a compose service; `undefined` when the stack has none for it. */
  containerOf(composeService: string): string | undefined;
  /** Image the compose service's container runs (built for this run, or the one named). */
  imageOf(composeService: string): string | undefined;
  /** Names of the networks the compose service's container is attached to. */
  networksOf(composeService: string): readonly string[];
}

export interface Runtime {
  readonly name: RuntimeName;
  start(signal: AbortSignal): Promise<LiveEnvironment>;
  /** Idempotent; safe to call when `start` failed half way. */
  stop(): Promise<void>;
}
