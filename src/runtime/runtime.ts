/**
 * Where PostgreSQL (and, for `compose`, the whole stack) comes from. One implementation per runtime;
 * the live checks see only `LiveEnvironment`.
 */

import type { RuntimeName } from "../core/settings.js";
import type { DeclaredCredential } from "../product/credentials/declared-credential.js";

/** One running PostgreSQL instance of the product (a compose PostgreSQL service, or an external server). */
export interface LiveInstance {
  /** The compose name of its PostgreSQL service (external runtime: the name its config gives). */
  readonly name: string;
  /** Superuser (or monitoring-role) URL of this server, reachable from here. */
  readonly adminUrl: string;
  /** Where this process reaches it. */
  readonly host: string;
  readonly port: number;
  /**
   * A server the migrations check may create scratch databases on for this instance; `undefined`
   * when there is none. The same server for `embedded` (it is throwaway); for `external`, never a
   * server under test unless its config says `readOnly: false` (the runtime decides, and says why
   * when it refuses).
   */
  scratchAdminUrl(): Promise<string | undefined>;
  /**
   * True when the scratch server is this instance's alone, for this run only, and removed with it
   * (`compose`: a container of its own, removed at teardown): what a check makes there is never
   * seen again, so the databases of its last passes need not be dropped one by one. Absent where
   * the scratch server is the server under test (`embedded`) or one the user keeps (`external`).
   */
  readonly scratchDisposable?: boolean;
  /**
   * The check that asked for the scratch server is done with it: a runtime whose scratch server is
   * a server of its own (`compose`: a container) removes it now, in the background, rather than
   * at teardown, where its removal would slow the stack's (on vfs both copy and delete whole file
   * trees). The teardown still waits for that removal. Asking for the scratch server again starts
   * another. Absent where there is nothing to release.
   */
  releaseScratch?(): void;
}

export interface LiveEnvironment {
  readonly runtime: RuntimeName;
  /** Every PostgreSQL instance of the product, by name, in the compose file's order. */
  readonly instances: ReadonlyMap<string, LiveInstance>;
  /**
   * The credential as a URL reaching its instance from here (host and port rewritten, everything
   * else as the credential says); `undefined` when its instance does not run here (unbound host,
   * a port the instance does not listen on, an instance this runtime has no server for).
   * The URL holds the password: never print it.
   */
  reach(credential: DeclaredCredential): string | undefined;
  /**
   * Credentials the runtime itself was given for services (external: the config's per-service
   * URLs), replacing what the compose file declares for those services. Absent: the compose file's.
   */
  readonly credentials?: ReadonlyMap<string, readonly DeclaredCredential[]>;
  /** True where the product's services themselves run (compose), so live dependency probes can run. */
  readonly servicesRunning: boolean;
  /** The booted compose stack, for checks that look from inside its network; only the `compose` runtime sets it. */
  readonly stack?: RunningStack;
  /**
   * Why the server under test is no longer what the checks started with (it exited, was killed),
   * or undefined while it runs. A check that ran while it went away is `error` with this cause,
   * never `pass`, whatever it concluded.
   */
  fault?(): string | undefined;
  /**
   * Instances that could not start while the others did (`embedded`: one server per instance;
   * `compose`: an instance whose init script failed): the others are still checked, and what lives
   * on these is reported as not covered. `error` names
   * each failed instance and its cause (an init script's file:line), as a whole failed start would.
   */
  readonly unstarted?: { readonly causes: ReadonlyMap<string, string>; readonly error: Error };
}

/** A compose stack booted for this run (containers as they were once every service was ready). */
export interface RunningStack {
  /** The run's compose project name. */
  readonly project: string;
  /** Environment for `docker` commands that reach the stack's engine (DOCKER_HOST and the like). */
  readonly dockerEnv: Readonly<Record<string, string | undefined>>;
  /** An image a PostgreSQL service of the stack runs: present on the engine, so a probe can use it without a pull. */
  readonly postgresImage: string;
  /** Container id of a compose service; `undefined` when the stack has none for it. */
  containerOf(composeService: string): string | undefined;
  /** Image the compose service's container runs (built for this run, or the one named). */
  imageOf(composeService: string): string | undefined;
  /** Names of the networks the compose service's container is attached to. */
  networksOf(composeService: string): readonly string[];
}

/** What a runtime may tell before `start` has finished. */
export interface StartHooks {
  /**
   * Every PostgreSQL instance is ready while the rest of the product still starts (`compose`: its
   * services boot on): called at most once, with an environment of the instances only (no stack,
   * `servicesRunning` false). `start` may still fail, or end with other instances (one whose init
   * failed after all): what was found here then stands only where `start`'s environment has the
   * same instances at the same places (`sameInstances`).
   */
  onPostgresReady?(live: LiveEnvironment): void;
}

/** True when `a` and `b` have the same running instances, each at the same address, and neither lacks one. */
export function sameInstances(a: LiveEnvironment, b: LiveEnvironment): boolean {
  if (a.unstarted || b.unstarted || a.instances.size !== b.instances.size) return false;
  for (const [name, instance] of a.instances) {
    const other = b.instances.get(name);
    if (!other || other.adminUrl !== instance.adminUrl || other.scratchDisposable !== instance.scratchDisposable) return false;
  }
  return true;
}

export interface Runtime {
  readonly name: RuntimeName;
  start(signal: AbortSignal, hooks?: StartHooks): Promise<LiveEnvironment>;
  /** Idempotent; safe to call when `start` failed half way. */
  stop(): Promise<void>;
}
