import { execa } from "execa";
import type { Finding } from "../../core/report-model.js";
import type { RunningStack } from "../../runtime/runtime.js";

/** One HTTP call a service makes to another, as its extraEnv declares it. */
export interface DependencyCall {
  /** Registry key and compose service (hostname) of the caller. */
  readonly caller: { readonly key: string; readonly hostname: string };
  readonly variable: string;
  readonly url: string;
  /** Where the finding points: the registry file and the caller's extraEnv line. */
  readonly file: string;
  readonly line: number;
}

export interface ProbeOptions {
  /** Environment for the `docker` CLI (DOCKER_HOST …), the stack's own. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly signal: AbortSignal;
}

export interface ProbeOutcome {
  readonly findings: Finding[];
  /** Calls that answered, e.g. `api-gateway → http://auth-gateway:4100 (HTTP 200)`. */
  readonly answered: string[];
  /** Calls that could not be probed (no tool in the caller's image): neither passed nor failed. */
  readonly unprobed: string[];
}

/**
 * Runs inside the caller's own container (`docker exec`), so the name is resolved and the route
 * taken exactly as the service itself would: node's fetch where node exists (the services' images),
 * else curl, else bash's /dev/tcp. Any HTTP status counts as an answer: the question is whether the
 * dependency is reachable at that hostname and port, not whether `/` is a valid route.
 * Exit 10: no answer (the reason on stderr); exit 12: no tool to probe with. The node and bash
 * programs travel as arguments, so no quoting nests.
 */
const PROBE_SHELL = [
  'url="$1"; seconds="$2"',
  'if command -v node >/dev/null 2>&1; then exec node -e "$3" "$url" "$seconds"; fi',
  "if command -v curl >/dev/null 2>&1; then",
  "  code=$(curl -s -o /dev/null -m \"$seconds\" -w '%{http_code}' \"$url\")",
  '  if [ -z "$code" ] || [ "$code" = "000" ]; then echo "no HTTP answer" >&2; exit 10; fi',
  '  echo "HTTP $code"; exit 0',
  "fi",
  'if command -v bash >/dev/null 2>&1; then exec bash -c "$4" probe "$url" "$seconds"; fi',
  "exit 12",
].join("\n");

const PROBE_NODE = [
  "fetch(process.argv[1], { signal: AbortSignal.timeout(Number(process.argv[2]) * 1000), redirect: 'manual' }).then(",
  "  (response) => console.log('HTTP ' + response.status),",
  "  (error) => {",
  "    console.error(error.name === 'TimeoutError' ? 'no answer within ' + process.argv[2] + ' s' : String(error.cause?.code ?? error.cause?.message ?? error.message));",
  "    process.exit(10);",
  "  },",
  ");",
].join("\n");

const PROBE_BASH = [
  'rest="${1#*://}"; hostport="${rest%%/*}"; host="${hostport%:*}"; port="${hostport##*:}"',
  '[ "$host" = "$hostport" ] && port=80',
  'exec 3<>"/dev/tcp/$host/$port" || { echo "connection failed" >&2; exit 10; }',
  'printf "GET / HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n" "$host" >&3',
  'IFS= read -r -t "$2" status <&3 || { echo "no HTTP answer" >&2; exit 10; }',
  'echo "${status%$(printf "\\r")}"',
].join("\n");

/** Probes every call from inside the compose network; a call that does not answer is an error. */
export async function probeDependencies(calls: readonly DependencyCall[], stack: RunningStack, options: ProbeOptions): Promise<ProbeOutcome> {
  const outcome: ProbeOutcome = { findings: [], answered: [], unprobed: [] };
  const seconds = Math.max(1, Math.floor(options.timeoutMs / 1000));
  const queue = [...calls];
  const worker = async () => {
    for (let call = queue.shift(); call !== undefined; call = queue.shift()) {
      await probeOne(call, stack, options, seconds, outcome);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, calls.length)) }, worker));
  return outcome;
}

async function probeOne(call: DependencyCall, stack: RunningStack, options: ProbeOptions, seconds: number, outcome: ProbeOutcome): Promise<void> {
  const label = `${call.caller.hostname} → ${call.url}`;
  const where = { service: call.caller.key, file: call.file, line: call.line };
  const container = stack.containerOf(call.caller.hostname);
  if (!container) {
    outcome.findings.push({
      rule: "dependencies/unreachable",
      severity: "error",
      message: `"${call.caller.key}" has no running container in the booted stack, so its call ${call.variable} (${call.url}) cannot happen.`,
      ...where,
      fix: `Make "${call.caller.hostname}" start and stay up in the compose stack (see its container logs).`,
    });
    return;
  }
  const result = await execa("docker", ["exec", container, "sh", "-c", PROBE_SHELL, "probe", call.url, String(seconds), PROBE_NODE, PROBE_BASH], {
    env: Object.fromEntries(Object.entries(options.env).filter((entry): entry is [string, string] => entry[1] !== undefined)),
    extendEnv: false,
    reject: false,
    stdin: "ignore",
    timeout: options.timeoutMs + 10_000,
    cancelSignal: options.signal,
  });
  const answer = result.stdout.trim().split("\n").pop() ?? "";
  if (result.exitCode === 0 && answer.startsWith("HTTP")) {
    outcome.answered.push(`${label} (${answer})`);
  } else if (result.exitCode === 12) {
    outcome.unprobed.push(`${label}: the container has no node, curl or bash to probe with`);
  } else if (result.exitCode === 10) {
    const reason = result.stderr.trim().split("\n").pop() ?? "no answer";
    outcome.findings.push({
      rule: "dependencies/unreachable",
      severity: "error",
      message: `From inside "${call.caller.hostname}", ${call.variable} (${call.url}) does not answer: ${reason}.`,
      ...where,
      fix: `Check that the service behind ${call.url} runs on the compose network under that hostname and listens on that port.`,
    });
  } else {
    // docker exec itself failed (container gone, engine error): the probe could not look.
    outcome.unprobed.push(`${label}: docker exec failed (exit ${result.exitCode ?? "none"}): ${result.stderr.trim().split("\n").pop() ?? ""}`);
  }
}
