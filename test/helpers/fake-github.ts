/**
 * A real local HTTP server speaking the few GitHub REST endpoints the action uses, recording every
 * request it receives. The action reaches it through GITHUB_API_URL, as Octokit on a runner reaches
 * api.github.com. Enough behaviour to test what matters: paginated comment listing (Link headers),
 * comments owned by different users, read-only tokens (403 on every write), `GET /user` refused
 * to installation tokens.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  readonly method: string;
  /** Path and query, e.g. `/repos/civic/app/issues/7/comments?per_page=100&page=2`. */
  readonly url: string;
  readonly authorization: string | undefined;
  /** Raw body text ("" for none). */
  readonly body: string;
  /** Parsed JSON body, when there is one. */
  readonly json: Record<string, unknown> | undefined;
}

export interface FakeComment {
  id: number;
  body: string;
  user: { login: string; type: string };
}

export interface FakeGitHubOptions {
  /** Login `GET /user` answers with; `undefined` answers 403 as GitHub does for GITHUB_TOKEN. */
  readonly userLogin?: string;
  /** Every write answers 403, as for a fork's read-only token. */
  readonly readOnly?: boolean;
  /** Committer date of every commit (`GET /repos/.../commits/:sha`). */
  readonly commitDates?: Readonly<Record<string, string>>;
  /** Head SHA of every pull request (`GET /repos/.../pulls/:n`). */
  readonly pullHeads?: Readonly<Record<number, string>>;
}

export interface FakeGitHub extends AsyncDisposable {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Comments per issue number; tests may seed them. */
  readonly comments: Map<number, FakeComment[]>;
  readonly checkRuns: Map<number, { name: string; head_sha: string; annotations: Record<string, unknown>[]; updates: number; conclusion?: string }>;
  readonly statuses: { sha: string; state: string; context: string; description: string }[];
  /** Requests whose method and path (without query) match. */
  requestsTo(method: string, pathPattern: RegExp): RecordedRequest[];
}

const BOT = { login: "github-actions[bot]", type: "Bot" };

export async function startFakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const requests: RecordedRequest[] = [];
  const comments = new Map<number, FakeComment[]>();
  const checkRuns: FakeGitHub["checkRuns"] = new Map();
  const statuses: FakeGitHub["statuses"] = [];
  let nextId = 1000;
  const author = () => (options.userLogin ? { login: options.userLogin, type: "User" } : BOT);

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  };
  const forbidden = (res: ServerResponse) => send(res, 403, { message: "Resource not accessible by integration", status: "403" });

  async function handle(req: IncomingMessage, res: ServerResponse, base: string): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    let json: Record<string, unknown> | undefined;
    try {
      json = body ? (JSON.parse(body) as Record<string, unknown>) : undefined;
    } catch {
      json = undefined;
    }
    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    requests.push({ method, url, authorization: req.headers.authorization, body, json });
    const parsed = new URL(url, base);
    const path = parsed.pathname;
    const write = method !== "GET";
    if (write && options.readOnly) return forbidden(res);

    let match: RegExpExecArray | null;
    if (method === "GET" && path === "/user") {
      return options.userLogin ? send(res, 200, { login: options.userLogin, type: "User" }) : forbidden(res);
    }
    if ((match = /^\/repos\/[^/]+\/[^/]+\/issues\/(\d+)\/comments$/.exec(path))) {
      const issue = Number(match[1]);
      const list = comments.get(issue) ?? [];
      if (method === "GET") {
        const perPage = Number(parsed.searchParams.get("per_page") ?? 30);
        const page = Number(parsed.searchParams.get("page") ?? 1);
        const pages = Math.max(1, Math.ceil(list.length / perPage));
        const link: Record<string, string> = page < pages ? { link: `<${base}${path}?per_page=${perPage}&page=${page + 1}>; rel="next", <${base}${path}?per_page=${perPage}&page=${pages}>; rel="last"` } : {};
        return send(res, 200, list.slice((page - 1) * perPage, page * perPage), link);
      }
      if (method === "POST") {
        const comment: FakeComment = { id: nextId++, body: String(json?.body ?? ""), user: author() };
        comments.set(issue, [...list, comment]);
        return send(res, 201, comment);
      }
    }
    if ((match = /^\/repos\/[^/]+\/[^/]+\/issues\/comments\/(\d+)$/.exec(path)) && method === "PATCH") {
      const id = Number(match[1]);
      for (const list of comments.values()) {
        const comment = list.find((c) => c.id === id);
        if (comment) {
          comment.body = String(json?.body ?? "");
          return send(res, 200, comment);
        }
      }
      return send(res, 404, { message: "Not Found" });
    }
    if ((match = /^\/repos\/[^/]+\/[^/]+\/commits\/([^/]+)$/.exec(path)) && method === "GET") {
      const date = options.commitDates?.[match[1]!];
      return date ? send(res, 200, { sha: match[1], commit: { committer: { date } } }) : send(res, 404, { message: "No commit found" });
    }
    if ((match = /^\/repos\/[^/]+\/[^/]+\/pulls\/(\d+)$/.exec(path)) && method === "GET") {
      const head = options.pullHeads?.[Number(match[1])];
      return head ? send(res, 200, { number: Number(match[1]), head: { sha: head } }) : send(res, 404, { message: "Not Found" });
    }
    if (/^\/repos\/[^/]+\/[^/]+\/check-runs$/.test(path) && method === "POST") {
      const id = nextId++;
      checkRuns.set(id, { name: String(json?.name), head_sha: String(json?.head_sha), annotations: [], updates: 0 });
      return send(res, 201, { id, name: json?.name, head_sha: json?.head_sha });
    }
    if ((match = /^\/repos\/[^/]+\/[^/]+\/check-runs\/(\d+)$/.exec(path)) && method === "PATCH") {
      const run = checkRuns.get(Number(match[1]));
      if (!run) return send(res, 404, { message: "Not Found" });
      const output = json?.output as { annotations?: Record<string, unknown>[] } | undefined;
      if ((output?.annotations?.length ?? 0) > 50) return send(res, 422, { message: "Only 50 annotations are allowed per request" });
      run.annotations.push(...(output?.annotations ?? []));
      run.updates += 1;
      if (typeof json?.conclusion === "string") run.conclusion = json.conclusion;
      return send(res, 200, { id: Number(match[1]) });
    }
    if ((match = /^\/repos\/[^/]+\/[^/]+\/statuses\/([^/]+)$/.exec(path)) && method === "POST") {
      statuses.push({ sha: match[1]!, state: String(json?.state), context: String(json?.context), description: String(json?.description) });
      return send(res, 201, { id: nextId++ });
    }
    return send(res, 404, { message: `fake GitHub does not implement ${method} ${path}` });
  }

  const server: Server = createServer((req, res) => {
    handle(req, res, base).catch((error: unknown) => send(res, 500, { message: String(error) }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    requests,
    comments,
    checkRuns,
    statuses,
    requestsTo(method, pathPattern) {
      return requests.filter((r) => r.method === method && pathPattern.test(r.url.split("?")[0]!));
    },
    async [Symbol.asyncDispose]() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
