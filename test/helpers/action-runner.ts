/**
 * Runs the bundled action as the runner runs it: `node dist/action/index.js` from a copy of the
 * action (dist/ and action.yml only, no node_modules above it), with the INPUT_* variables, a
 * pull_request payload, GITHUB_STEP_SUMMARY / GITHUB_OUTPUT / GITHUB_STATE files and GITHUB_API_URL
 * pointing at the fake GitHub (a real local HTTP server). Needs `npm run build` first.
 */
import { spawn } from "node:child_process";
import { chmod, cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FakeGitHub } from "./fake-github.js";
import { REPO_ROOT } from "./fixtures.js";

export const HEAD_SHA = "0123456789abcdef0123456789abcdef01234567";

export interface ActionRun {
  readonly exitCode: number;
  /** stdout and stderr together, as the runner's log shows them. */
  readonly log: string;
  readonly outputs: Record<string, string>;
  readonly summary: string;
}

export interface ActionRunOptions {
  readonly workspace: string;
  readonly inputs: Record<string, string>;
  readonly github?: FakeGitHub;
  readonly runId: number;
  readonly runAttempt?: number;
  /** Replaces the pull_request payload (e.g. a workflow_run event). */
  readonly event?: { readonly name: string; readonly payload: Record<string, unknown> };
}

/** `name<<delimiter\nvalue\ndelimiter` blocks, as @actions/core writes GITHUB_OUTPUT. */
export function parseCommandFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const match of text.matchAll(/^([^\n<]+)<<(\S+)\n([\s\S]*?)\n\2$/gm)) values[match[1]!] = match[3]!;
  return values;
}

export interface ActionRunner extends AsyncDisposable {
  run(options: ActionRunOptions): Promise<ActionRun>;
}

/** A copy of the built action and a folder of runner temp dirs, removed on dispose. */
export async function prepareActionRunner(): Promise<ActionRunner> {
  const root = await mkdtemp(join(tmpdir(), "civic-action-"));
  await chmod(root, 0o755);
  const actionDir = join(root, "action");
  await mkdir(actionDir);
  await cp(join(REPO_ROOT, "dist"), join(actionDir, "dist"), { recursive: true });
  await cp(join(REPO_ROOT, "action.yml"), join(actionDir, "action.yml"));
  return {
    async run(options) {
      const runner = await mkdtemp(join(root, "r-"));
      await chmod(runner, 0o755);
      const files = { output: join(runner, "output"), state: join(runner, "state"), summary: join(runner, "summary.md"), event: join(runner, "event.json") };
      const payload = options.event?.payload ?? {
        action: "synchronize",
        number: 7,
        pull_request: { number: 7, state: "open", head: { sha: HEAD_SHA, ref: "feature", repo: { full_name: "civic/app" } }, base: { sha: "f".repeat(40), ref: "main", repo: { full_name: "civic/app" } } },
        repository: { full_name: "civic/app", name: "app", owner: { login: "civic" } },
      };
      await writeFile(files.event, JSON.stringify(payload));
      for (const file of [files.output, files.state, files.summary]) await writeFile(file, "");
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/root",
        GITHUB_ACTIONS: "true",
        GITHUB_WORKSPACE: options.workspace,
        GITHUB_REPOSITORY: "civic/app",
        GITHUB_EVENT_NAME: options.event?.name ?? "pull_request",
        GITHUB_EVENT_PATH: files.event,
        GITHUB_SHA: "e".repeat(40),
        GITHUB_RUN_ID: String(options.runId),
        GITHUB_RUN_ATTEMPT: String(options.runAttempt ?? 1),
        GITHUB_SERVER_URL: "https://github.example",
        GITHUB_API_URL: options.github?.url ?? "http://127.0.0.1:9",
        GITHUB_OUTPUT: files.output,
        GITHUB_STATE: files.state,
        GITHUB_STEP_SUMMARY: files.summary,
        RUNNER_TEMP: runner,
      };
      for (const [name, value] of Object.entries(options.inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
      const child = spawn(process.execPath, [join(actionDir, "dist", "action", "index.js")], { env, cwd: options.workspace, stdio: ["ignore", "pipe", "pipe"] });
      let log = "";
      child.stdout.on("data", (chunk: Buffer) => (log += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (log += chunk.toString()));
      // A hung run shows its log instead of timing the test out.
      const killer = setTimeout(() => child.kill("SIGKILL"), 120_000);
      const exitCode = await new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? -1)));
      clearTimeout(killer);
      return { exitCode, log, outputs: parseCommandFile(await readFile(files.output, "utf8")), summary: await readFile(files.summary, "utf8") };
    },
    async [Symbol.asyncDispose]() {
      await rm(root, { recursive: true, force: true });
    },
  };
}
