import type { PostgresInstance } from "../../compose-file/postgres-instances.js";
import type { ProcessEnv } from "../../docker/docker-cli.js";
import type { ServiceContainer } from "../../docker/stack-state.js";
import { formatDatabaseUrl } from "../../postgres/database-url.js";
import type { ProductPostgres } from "../../product/product-postgres.js";
import { reachThrough } from "../credential-url.js";
import type { LiveEnvironment, LiveInstance, RunningStack } from "../runtime.js";
import { LOOPBACK } from "./published-ports.js";

/** A booted, ready compose stack, as the live environment is built from it. */
export interface ReadyStack {
  /** The run's compose project name. */
  readonly project: string;
  readonly env: ProcessEnv;
  /** Every container of the project, as it was once every service was ready. */
  readonly containers: readonly ServiceContainer[];
  /** The instances that run (every one but those whose init script failed), in the compose file's order. */
  readonly running: readonly PostgresInstance[];
  /** The published port of each instance of `running`, in its order. */
  readonly ports: readonly number[];
  /** The instance's scratch server, started from `image` on the first ask (`InstanceScratchServers.adminUrlOf`). */
  readonly scratchAdminUrl: (instance: string, image: string) => Promise<string>;
  /** Removes the instance's scratch server in the background (`InstanceScratchServers.release`). */
  readonly releaseScratch: (instance: string) => void;
  /** Instances whose init script failed: not checked, what lives on them reported as not covered. */
  readonly unstarted?: LiveEnvironment["unstarted"];
}

/** The instance's superuser URL at its published `port` on 127.0.0.1, with its own credential. */
export function instanceAdminUrl(instance: PostgresInstance, port: number): string {
  return formatDatabaseUrl({ user: instance.user, password: instance.password, host: LOOPBACK, port, database: instance.database });
}

/**
 * What the checks that look only at the PostgreSQL instances see while the rest of the stack still
 * boots (`PostgresReadyWatch`): the instances as `composeLiveEnvironment` gives them, no stack, no
 * running services.
 */
export function composePostgresEnvironment(postgres: ProductPostgres, ready: Omit<ReadyStack, "unstarted">): LiveEnvironment {
  const { stack: _stack, ...instancesOnly } = composeLiveEnvironment(postgres, ready);
  return { ...instancesOnly, servicesRunning: false };
}

/**
 * What the live checks see of a compose run: each running instance at its published port on 127.0.0.1,
 * reached with the product's own credentials, and the stack's containers for checks that look
 * from inside its network.
 */
export function composeLiveEnvironment(postgres: ProductPostgres, ready: ReadyStack): LiveEnvironment {
  const byService = new Map(ready.containers.map((container) => [container.service, container]));
  const instances = new Map<string, LiveInstance>();
  for (const [index, instance] of ready.running.entries()) {
    const port = ready.ports[index]!;
    const adminUrl = instanceAdminUrl(instance, port);
    const image = byService.get(instance.name)?.image ?? instance.image ?? "postgres";
    instances.set(instance.name, {
      name: instance.name,
      adminUrl,
      host: LOOPBACK,
      port,
      // A container of the instance's own image, so the same server version and extensions.
      scratchAdminUrl: () => ready.scratchAdminUrl(instance.name, image),
      // One container per instance, asked for by the migrations check alone, removed at teardown.
      scratchDisposable: true,
      releaseScratch: () => ready.releaseScratch(instance.name),
    });
  }
  const first = postgres.instances[0]!;
  const stack: RunningStack = {
    project: ready.project,
    dockerEnv: ready.env,
    postgresImage: byService.get(first.name)?.image ?? first.image ?? "postgres",
    containerOf: (service) => byService.get(service)?.id,
    imageOf: (service) => byService.get(service)?.image,
    networksOf: (service) => byService.get(service)?.networks ?? [],
  };
  return {
    runtime: "compose",
    instances,
    reach: reachThrough(postgres.instances, instances),
    // Not every service runs when an instance failed: the live dependency probe would test a
    // stack that is not the product's.
    servicesRunning: ready.unstarted === undefined,
    stack,
    ...(ready.unstarted && { unstarted: ready.unstarted }),
  };
}
