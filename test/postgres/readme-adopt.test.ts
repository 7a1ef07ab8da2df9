/**
 * README's "Adopt on an existing repository" transcript, run as written (issue 10): each `$ npx
 * civic-conformance …` line runs the built CLI (`node bin/civic-conformance.js`, what npx runs) in a
 * copy of the fixture the first line names, standard output and error together as a terminal shows
 * them; the output must be the README's, durations aside.
 */
import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin", "civic-conformance.js");
const MARKER = "<!-- transcript: adopt (test/postgres/readme-adopt.test.ts) -->";

interface Step {
  readonly command: string;
  readonly output: string;
}

/** The README's transcript: its first line (`cp -r fixtures/<name> <dir> && cd <dir>`) and the steps after. */
async function readTranscript(): Promise<{ fixture: string; folder: string; steps: Step[] }> {
  const readme = await readFile(join(ROOT, "README.md"), "utf8");
  const start = readme.indexOf(MARKER);
  expect(start, "README.md has the adoption transcript").toBeGreaterThan(0);
  const block = `${readme.slice(start).split("```console\n")[1]!.split("\n```\n")[0]!}\n`;
  const [setup, ...rest] = block.split(/^(?=\$ )/m);
  const copy = /^\$ cp -r fixtures\/([\w-]+) ([\w-]+) && cd \2\n$/.exec(setup!);
  expect(copy, `the transcript starts by copying a fixture: ${setup}`).not.toBeNull();
  const steps = rest.map((chunk) => {
    const newline = chunk.indexOf("\n");
    return { command: chunk.slice(2, newline), output: chunk.slice(newline + 1) };
  });
  return { fixture: copy![1]!, folder: copy![2]!, steps };
}

/** Durations change from run to run; everything else must not. */
const normalise = (text: string) => text.replace(/ +\d+ ms\b/g, " N ms");

describe("README: the adoption transcript", { timeout: 240_000 }, () => {
  it("prints exactly what the README shows for init, then check, on a repository with no registry", async () => {
    const { fixture, folder, steps } = await readTranscript();
    expect(steps.map((step) => step.command.split(" ").slice(0, 3).join(" "))).toEqual(["npx civic-conformance init", "npx civic-conformance check"]);
    const parent = await mkdtemp(join(tmpdir(), "civic-readme-"));
    try {
      const dir = join(parent, folder);
      await cp(join(ROOT, "fixtures", fixture), dir, { recursive: true });
      const actual: string[] = [];
      for (const step of steps) {
        const args = step.command.replace(/^npx civic-conformance /, "");
        const result = await execa("sh", ["-c", `node "${BIN}" ${args} 2>&1`], {
          cwd: dir,
          reject: false,
          extendEnv: false,
          env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1" },
        });
        actual.push(`$ ${step.command}\n${result.stdout}\n`);
      }
      // On a mismatch, this is the transcript to paste.
      expect(normalise(actual.join(""))).toBe(normalise(steps.map((step) => `$ ${step.command}\n${step.output}`).join("")));
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });
});
