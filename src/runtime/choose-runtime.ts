import { EnvironmentError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import type { RequestedCompose, RuntimeChoice, RuntimeName } from "../core/settings.js";
import { type ComposeCommand, composeCommandFromEnv, resolveComposeCommand } from "../docker/compose-cli.js";
import { dockerEngineAnswers } from "../docker/engine-probe.js";
import type { ComposeProject } from "../compose-file/model.js";
import type { Product, ProductPlace } from "../product/product.js";
import { ComposeRuntime } from "./compose-stack/compose-stack-runtime.js";
import { EmbeddedRuntime } from "./embedded/embedded-runtime.js";
import { readExternalConfig } from "./external/external-config.js";
import { type ExternalProductView, ExternalRuntime } from "./external/external-runtime.js";
import type { RunFolder } from "../sandbox/run-folder.js";
import { productPostgres } from "../product/product-postgres.js";
import { locationOf } from "../registry/model.js";
import type { Runtime } from "./runtime.js";

export interface RuntimeInputs {
  /**
   * The product, or its loading: the embedded runtime starts its servers, and the compose runtime
   * its `up`, from `compose` (and `location`) while the registry is still evaluated (the external
   * runtime waits for the product).
   */
  readonly product: Product | Promise<Product>;
  /** The product's compose project when `product` is still loading. */
  readonly compose?: ComposeProject;
  /** The product's name, folder and repository root when `product` is still loading. */
  readonly location?: ProductPlace;
  /** The process environment (the core never reads `process.env`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly logger: Logger;
  /** JSON/YAML file with the external servers' URLs (`--runtime external`). */
  readonly externalConfig?: string;
  /** Whether a Docker engine answers; injectable so tests can decide `auto` without an engine. */
  readonly dockerAvailable?: () => Promise<boolean>;
  /** A selected check will ask for a scratch server (the compose runtime then starts it early). */
  readonly needsScratchServer?: boolean;
  /** The run's folder: the embedded cluster goes inside it (reaped by the next run if this one is killed). */
  readonly runFolder?: RunFolder;
  /** `--timeout`: the limit of each init script the embedded runtime runs. */
  readonly commandTimeoutMs?: number;
  /** `--ready-timeout`: how long the compose runtime waits for the stack to be ready. */
  readonly readyTimeoutMs?: number;
  /** The Compose CLI `--compose-command` asked for; else `CIVIC_COMPOSE_COMMAND` names it, else the compose runtime uses the first that answers. */
  readonly composeCommand?: RequestedCompose;
}

/**
 * The one place `auto` is decided: `compose` where a Docker engine answers, else `embedded`. Any
 * other choice is returned as it is. A door that must prepare for the runtime (the action installs
 * the embedded binaries) resolves the choice here first and passes the answer on.
 */
export async function resolveRuntimeChoice(
  choice: RuntimeChoice,
  inputs: Pick<RuntimeInputs, "env" | "logger" | "dockerAvailable">,
): Promise<RuntimeName> {
  if (choice !== "auto") return choice;
  if (await dockerAnswers(inputs)) return "compose";
  inputs.logger.debug("auto: no Docker engine answers; using embedded");
  return "embedded";
}

/**
 * Picks and builds the runtime for `choice` (`auto` through `resolveRuntimeChoice`). Nothing is
 * started here: the caller calls `start` and always `stop`.
 *
 * @throws EnvironmentError for `compose` when it cannot run here
 * @throws UsageError for `external` without an admin URL or with a malformed config file, and for
 *   `compose` or `auto` with a CIVIC_COMPOSE_COMMAND that names no Compose CLI
 */
export async function createRuntime(choice: RuntimeChoice, inputs: RuntimeInputs): Promise<Runtime> {
  // Read before `auto` is decided, so a wrong value is reported even where no engine answers.
  const mayCompose = choice === "compose" || choice === "auto";
  const composeCommand = mayCompose ? requestedComposeCommand(inputs) : undefined;
  // The Compose CLI's version is asked beside the engine's `docker version` (each a few hundred
  // ms of a CLI's start): `up` needs both answers. Where no engine answers, it is left unread.
  const resolvingCompose = mayCompose ? resolveComposeCommand(composeCommand, inputs.env) : undefined;
  resolvingCompose?.catch(() => undefined);
  const name = await resolveRuntimeChoice(choice, inputs);
  // `auto` has just found an engine: asking again would only cost a second `docker version`.
  if (choice === "auto" && name === "compose") return composeRuntime(inputs, composeCommand, resolvingCompose);
  switch (name) {
    case "embedded":
      return new EmbeddedRuntime({
        product: inputs.product,
        ...(inputs.compose && { compose: inputs.compose }),
        env: inputs.env,
        logger: inputs.logger,
        ...(inputs.runFolder && { runFolder: inputs.runFolder }),
        ...(inputs.commandTimeoutMs !== undefined && { scriptTimeoutMs: inputs.commandTimeoutMs }),
      });
    case "external": {
      const product = await inputs.product;
      const keys = product.registry.services.map((service) => service.key);
      const config = await readExternalConfig(inputs.externalConfig, inputs.env, keys);
      return new ExternalRuntime(config, {
        logger: inputs.logger,
        product: await externalProductView(product),
      });
    }
    case "compose": {
      if (!(await dockerAnswers(inputs))) {
        throw new EnvironmentError("--runtime compose needs a Docker engine, and none answers here (`docker version` failed); start Docker or use --runtime embedded");
      }
      return composeRuntime(inputs, composeCommand, resolvingCompose);
    }
  }
}

/** What the external runtime needs of the product: its instance names, and where each service's credential is declared. */
async function externalProductView(product: Product): Promise<ExternalProductView> {
  const postgres = await productPostgres(product);
  return {
    instanceNames: postgres.instances.map((instance) => instance.name),
    declaredAt: (serviceKey) => {
      const declared = postgres.of(serviceKey);
      const source = declared?.credentials[0]?.source;
      if (source) return { file: source.file, line: source.line };
      return declared ? locationOf(product.registry, declared.service, "database") : { file: product.registry.file, line: 1 };
    },
  };
}

function dockerAnswers(inputs: Pick<RuntimeInputs, "env" | "dockerAvailable">): Promise<boolean> {
  return inputs.dockerAvailable ? inputs.dockerAvailable() : dockerEngineAnswers(inputs.env);
}

/**
 * `--compose-command`, else CIVIC_COMPOSE_COMMAND: read wherever a compose runtime may start, so a
 * wrong value is reported even where `auto` then finds no engine.
 *
 * @throws UsageError when CIVIC_COMPOSE_COMMAND names no Compose CLI
 */
function requestedComposeCommand(inputs: RuntimeInputs): RequestedCompose | undefined {
  return inputs.composeCommand ?? composeCommandFromEnv(inputs.env);
}

function composeRuntime(inputs: RuntimeInputs, composeCommand: RequestedCompose | undefined, resolvingCompose: Promise<ComposeCommand> | undefined): Runtime {
  return new ComposeRuntime({
    product: inputs.product,
    ...(inputs.compose && { compose: inputs.compose }),
    ...(inputs.location && { location: inputs.location }),
    env: inputs.env,
    logger: inputs.logger,
    startScratchServerEarly: inputs.needsScratchServer ?? false,
    ...(inputs.readyTimeoutMs !== undefined && { readyTimeoutMs: inputs.readyTimeoutMs }),
    ...(inputs.runFolder && { runFolder: inputs.runFolder }),
    ...(composeCommand !== undefined && { composeCommand }),
    ...(resolvingCompose && { resolvingComposeCommand: resolvingCompose }),
  });
}
