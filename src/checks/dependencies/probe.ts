import type { ComposeProject } from "../../compose-file/model.js";
import type { Coverage, CoverageItem, Finding } from "../../core/report-model.js";
import { maskSecrets } from "../../core/secrets.js";
import { docker, lastLines } from "../../docker/docker-cli.js";
import { mapBounded } from "../../core/concurrency.js";
import { locationOf, type Registry, type Service } from "../../registry/model.js";
import type { RunningStack } from "../../runtime/runtime.js";
import { type CheckContext, CheckUnableError, coverageOf } from "../check.js";
import { BASH_PROBE, NODE_PROBE, type ProbeOutcome, type ProbeTarget } from "./probe-script.js";

/** Per stage (DNS, connect, HTTP answer): long enough for a busy stack, short enough for a dead one. */
const STAGE_TIMEOUT_MS = 5_000;
const CONTAINER_START_ALLOWANCE_MS = 120_000;
const DEFAULT_PORTS: Readonly<Record<string, number>> = { "http:": 80, "https:": 443, "ws:": 80, "wss:": 443 };
/** A bare base URL (`http://assessment-roll:4104`) is probed at the health route the generated healthchecks use. */
const HEALTH_PATH = "/health";

/** One extraEnv URL of one consumer, as its container receives it. */
interface DependencyUrl {
  readonly consumer: Service;
  readonly composeService: string;
  readonly variable: string;
  readonly url: string;
  readonly target: Omit<ProbeTarget, "id">;
  readonly file: string;
  readonly line: number;
}

export interface LiveProbeResult {
  readonly findings: Finding[];
  readonly notes: string[];
  /** Every dependency URL probed (covered), every consumer that could not be probed (uncovered). */
  readonly coverage: Coverage;
}

/**
 * The live part of `dependencies`: every extraEnv URL of every service, as the service's container
 * receives it (the compose file's value, else the registry's), resolved, connected to and — for
 * HTTP — requested from inside the consumer's own container (`docker exec … node -e`), or, when that
 * container has no node or no longer runs, from a throwaway container of the stack's postgres image
 * on the consumer's network (bash, `/dev/tcp`). Nothing is pulled and nothing needs curl or wget.
 * Consumers are probed concurrently, bounded by `options.concurrency`.
 */
export async function probeDependencies(context: CheckContext, stack: RunningStack): Promise<LiveProbeResult> {
  const compose = context.product.compose!;
  const notes: string[] = [];
  const urls: DependencyUrl[] = [];
  const uncovered: CoverageItem[] = [];
  for (const service of context.product.registry.services) {
    const composeService = compose.services.get(service.hostname) ?? compose.services.get(service.key);
    const found = dependencyUrls(service, composeService?.name, context.product.registry, compose);
    if (found.length === 0) continue;
    if (!composeService) {
      notes.push(`${service.key} has no compose service, so its dependency URLs were not probed`);
      for (const url of found) uncovered.push({ ...coverageItem(url), reason: `${service.key} has no compose service to probe from` });
      continue;
    }
    urls.push(...found);
  }
  const consumers = [...new Set(urls.map((url) => url.composeService))];
  const outcomes = await mapBounded(
    consumers,
    context.options.concurrency,
    async (consumer) => {
      const own = urls.filter((url) => url.composeService === consumer);
      return { own, results: await probeFrom(consumer, own.map((url) => url.target), stack, context.signal) };
    },
    context.signal,
  );
  const findings: Finding[] = [];
  let reached = 0;
  for (const { own, results } of outcomes) {
    own.forEach((url, index) => {
      const result = results.get(index);
      if (result?.outcome === "reached") reached += 1;
      else findings.push(findingFor(url, result));
    });
  }
  notes.push(`live probe: ${urls.length} dependency URLs of ${consumers.length} services probed from inside the compose network; ${reached} answered`);
  const summary = `${urls.length}/${urls.length + uncovered.length} dependency URLs probed from inside the compose network, ${reached} answered`;
  return { findings, notes, coverage: coverageOf(summary, urls.map(coverageItem), uncovered) };
}

function coverageItem(url: DependencyUrl): CoverageItem {
  return { kind: "dependency", name: `${url.consumer.key}: ${url.variable}`, service: url.consumer.key, file: url.file, line: url.line };
}

function dependencyUrls(service: Service, composeService: string | undefined, registry: Registry, compose: ComposeProject): DependencyUrl[] {
  const found: DependencyUrl[] = [];
  const environment = composeService ? compose.services.get(composeService)?.environment : undefined;
  for (const [variable, registryValue] of Object.entries(service.extraEnv ?? {})) {
    const fromCompose = environment?.get(variable);
    const value = fromCompose?.value ?? registryValue;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      continue;
    }
    if (url.hostname === "") continue;
    const port = url.port === "" ? DEFAULT_PORTS[url.protocol] : Number(url.port);
    if (port === undefined) continue;
    const http = url.protocol === "http:" || url.protocol === "https:";
    const path = url.pathname === "/" || url.pathname === "" ? `${HEALTH_PATH}${url.search}` : `${url.pathname}${url.search}`;
    found.push({
      consumer: service,
      composeService: composeService ?? service.hostname,
      variable,
      url: value,
      target: { host: url.hostname.replace(/^\[|\]$/g, ""), port, path: http ? path : undefined, tls: url.protocol === "https:" },
      ...(fromCompose ? { file: fromCompose.source.file, line: fromCompose.source.line } : locationOf(registry, service, "extraEnv")),
    });
  }
  return found;
}

/** Results by target index; a target with no result line is missing from the map. */
async function probeFrom(composeService: string, targets: readonly Omit<ProbeTarget, "id">[], stack: RunningStack, signal: AbortSignal): Promise<Map<number, ProbeOutcome>> {
  const numbered = targets.map((target, id) => ({ id, ...target }));
  const execTimeout = STAGE_TIMEOUT_MS * 4 + 10_000;
  const container = stack.containerOf(composeService);
  if (container) {
    const inside = await docker(["exec", container, "node", "-e", NODE_PROBE, JSON.stringify(numbered), String(STAGE_TIMEOUT_MS)], {
      env: stack.dockerEnv,
      timeoutMs: execTimeout,
      signal,
    });
    if (inside.exitCode === 0) return parseOutcomes(inside.stdout);
  }
  // No node in the consumer's image, or its container is gone: probe from its network instead.
  const network = stack.networksOf(composeService)[0];
  if (!network) throw new CheckUnableError(`the compose service "${composeService}" has no container or network to probe its dependencies from`);
  const args = numbered.flatMap((target) => [String(target.id), target.host, String(target.port), target.path ?? ""]);
  const outside = await docker(
    ["run", "--rm", "--network", network, "--pull", "never", "--entrypoint", "bash", stack.postgresImage, "-c", BASH_PROBE, "probe", String(STAGE_TIMEOUT_MS / 1000), ...args],
    // Creating a container copies the image's root filesystem on some storage drivers (vfs): allow for it.
    { env: stack.dockerEnv, timeoutMs: CONTAINER_START_ALLOWANCE_MS + execTimeout * Math.max(1, targets.length), signal },
  );
  if (outside.exitCode !== 0) {
    const why = outside.timedOut ? "timed out" : maskSecrets(lastLines(outside.stderr, 5)) || `exit code ${outside.exitCode}`;
    throw new CheckUnableError(`could not probe the dependencies of "${composeService}" from inside its network: ${why}`);
  }
  return parseOutcomes(outside.stdout);
}

function parseOutcomes(stdout: string): Map<number, ProbeOutcome> {
  const outcomes = new Map<number, ProbeOutcome>();
  for (const line of stdout.split("\n")) {
    if (!line.trim().startsWith("{")) continue;
    const outcome = JSON.parse(line) as ProbeOutcome;
    outcomes.set(outcome.id, outcome);
  }
  return outcomes;
}

function findingFor(url: DependencyUrl, result: ProbeOutcome | undefined): Finding {
  const where = { service: url.consumer.key, file: url.file, line: url.line };
  const subject = `${url.variable} of "${url.consumer.key}" (${maskSecrets(url.url)})`;
  const endpoint = `${url.target.host}:${url.target.port}`;
  const from = `from inside the compose network of "${url.composeService}"`;
  switch (result?.outcome) {
    case "dns-failure":
      return {
        rule: "dependencies/dns-failure",
        severity: "error",
        message: `${subject} names host "${url.target.host}", which does not resolve ${from} (${result.detail ?? "no address"}).`,
        ...where,
        fix: `Point ${url.variable} at the compose service name of the service it calls, and make sure that service is in the stack and running.`,
      };
    case "connection-refused":
      return {
        rule: "dependencies/connection-refused",
        severity: "error",
        message: `${subject}: nothing accepts connections on ${endpoint} ${from} (${result.detail ?? "refused"}).`,
        ...where,
        fix: `Use the port the called service listens on (its registry port) in ${url.variable}, and check that the service is running.`,
      };
    case "timeout":
      return {
        rule: "dependencies/timeout",
        severity: "error",
        message: `${subject}: ${result.detail ?? "the probe"} on ${endpoint} did not finish within ${STAGE_TIMEOUT_MS / 1000} s ${from}.`,
        ...where,
        fix: `Check that the service behind ${url.variable} answers HTTP on that port, and that no network setting drops the traffic.`,
      };
    case "http-status":
      return {
        rule: "dependencies/http-status",
        severity: "error",
        message:
          result.status !== undefined
            ? `${subject}: GET ${url.target.path ?? "/"} on ${endpoint} answered HTTP ${result.status} ${from}.`
            : `${subject}: ${endpoint} accepted the connection but gave ${result.detail ?? "no HTTP answer"} ${from}.`,
        ...where,
        fix: `Make the service behind ${url.variable} answer GET ${url.target.path ?? "/"} with a 2xx status (or point ${url.variable} at the service that does).`,
      };
    default:
      return {
        rule: "dependencies/timeout",
        severity: "error",
        message: `${subject}: the probe of ${endpoint} gave no answer ${from}.`,
        ...where,
        fix: `Check that the service behind ${url.variable} is running and answers on that port.`,
      };
  }
}
