/**
 * What runs inside the stack to probe dependency URLs. Two forms, because a consumer's image may
 * carry nothing but its own runtime: a `node -e` program (no curl or wget needed) for images with
 * node, and a bash one (`getent`, `/dev/tcp`) for a throwaway container of the postgres image, whose
 * entrypoint is a bash script on every official variant.
 *
 * A lookup the resolver never answers is a `dns-failure` too: inside a compose network, Docker's
 * resolver answers every service name at once and forwards only names it does not know.
 *
 * Both take JSON targets and print one JSON line per target: `{ "id", "outcome", "detail"?, "status"? }`
 * with outcome `reached` | `dns-failure` | `connection-refused` | `timeout` | `http-status`.
 */

export interface ProbeTarget {
  /** Index of the target in the caller's list. */
  readonly id: number;
  readonly host: string;
  readonly port: number;
  /** Path of the HTTP GET; `undefined` for a non-HTTP URL, which is probed up to the TCP connect. */
  readonly path: string | undefined;
  readonly tls: boolean;
}

export type ProbeOutcomeKind = "reached" | "dns-failure" | "connection-refused" | "timeout" | "http-status";

export interface ProbeOutcome {
  readonly id: number;
  readonly outcome: ProbeOutcomeKind;
  /** A system error code (ENOTFOUND, ECONNREFUSED…) or the stage that timed out. */
  readonly detail?: string;
  readonly status?: number;
}

/** `node -e NODE_PROBE <targets json> <timeout ms>`. */
export const NODE_PROBE = String.raw`
const dns = require("node:dns/promises"), net = require("node:net"), http = require("node:http"), https = require("node:https");
const targets = JSON.parse(process.argv[1]), timeoutMs = Number(process.argv[2]);
const timeout = (stage) => new Promise((_, reject) => setTimeout(() => reject(Object.assign(new Error(stage), { code: "ETIMEDOUT", stage })), timeoutMs).unref());
async function probe(target) {
  let address;
  try { address = (await Promise.race([dns.lookup(target.host), timeout("dns")])).address; }
  catch (error) { return { outcome: "dns-failure", detail: error.stage ? "no answer from the resolver within " + timeoutMs / 1000 + " s" : error.code || error.message }; }
  try {
    await Promise.race([new Promise((resolve, reject) => { const socket = net.connect({ host: address, port: target.port }, () => { socket.destroy(); resolve(); }); socket.once("error", reject); }), timeout("connect")]);
  } catch (error) { return error.stage ? { outcome: "timeout", detail: "tcp connect" } : { outcome: "connection-refused", detail: error.code || error.message }; }
  if (target.path === null || target.path === undefined) return { outcome: "reached" };
  try {
    const status = await Promise.race([new Promise((resolve, reject) => {
      const client = target.tls ? https : http;
      const request = client.get({ host: address, servername: target.host, port: target.port, path: target.path, headers: { host: target.host + ":" + target.port }, rejectUnauthorized: false }, (response) => { response.resume(); resolve(response.statusCode); });
      request.once("error", reject);
      setTimeout(() => request.destroy(), timeoutMs).unref();
    }), timeout("http")]);
    return status >= 200 && status < 400 ? { outcome: "reached", status } : { outcome: "http-status", status };
  } catch (error) { return error.stage ? { outcome: "timeout", detail: "http response" } : { outcome: "http-status", detail: "no HTTP answer (" + (error.code || error.message) + ")" }; }
}
Promise.all(targets.map(async (target) => ({ id: target.id, ...(await probe(target)) }))).then((results) => {
  for (const result of results) process.stdout.write(JSON.stringify(result) + "\n");
});
`;

/**
 * `bash -c BASH_PROBE probe <timeout s> <id> <host> <port> <path or ""> …` (TLS targets: TCP only).
 * Every stage runs under `timeout`, so exit code 124 is a timeout.
 */
export const BASH_PROBE = String.raw`
t="$1"; shift
while [ "$#" -ge 4 ]; do
  id="$1"; host="$2"; port="$3"; path="$4"; shift 4
  timeout "$t" getent hosts "$host" >/dev/null 2>&1; code=$?
  if [ "$code" = 124 ]; then printf '{"id":%s,"outcome":"dns-failure","detail":"no answer from the resolver within %s s"}\n' "$id" "$t"; continue; fi
  if [ "$code" != 0 ]; then printf '{"id":%s,"outcome":"dns-failure","detail":"ENOTFOUND"}\n' "$id"; continue; fi
  timeout "$t" bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null; code=$?
  if [ "$code" = 124 ]; then printf '{"id":%s,"outcome":"timeout","detail":"tcp connect"}\n' "$id"; continue; fi
  if [ "$code" != 0 ]; then printf '{"id":%s,"outcome":"connection-refused","detail":"ECONNREFUSED"}\n' "$id"; continue; fi
  if [ -z "$path" ]; then printf '{"id":%s,"outcome":"reached"}\n' "$id"; continue; fi
  line=$(timeout "$t" bash -c 'exec 3<>"/dev/tcp/$0/$1"; printf "GET %s HTTP/1.0\r\nHost: %s:%s\r\nConnection: close\r\n\r\n" "$2" "$0" "$1" >&3; head -n 1 <&3' "$host" "$port" "$path" 2>/dev/null); code=$?
  if [ "$code" = 124 ]; then printf '{"id":%s,"outcome":"timeout","detail":"http response"}\n' "$id"; continue; fi
  status=$(printf '%s' "$line" | sed -n 's#^HTTP/[0-9.]* \([0-9][0-9][0-9]\).*#\1#p')
  if [ -z "$status" ]; then printf '{"id":%s,"outcome":"http-status","detail":"no HTTP answer"}\n' "$id"
  elif [ "$status" -ge 200 ] && [ "$status" -lt 400 ]; then printf '{"id":%s,"outcome":"reached","status":%s}\n' "$id" "$status"
  else printf '{"id":%s,"outcome":"http-status","status":%s}\n' "$id" "$status"; fi
done
`;
