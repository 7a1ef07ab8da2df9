/**
 * Issue 9, measured defect 5: crashes and hangs on bad input. Every failure is exit 2 with one line
 * naming the file (and line) or the flag, never a stack trace; output paths are checked before any
 * check runs; numeric flags are plain positive integers in a range.
 * (The registry-getter case of branch hostile-suite belongs with the registry sandbox, issue 9 §2a.)
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnd, outcomeOf } from "./support/outcome.js";
import { RunFolder } from "./support/run-folder.js";
import { runCli } from "./support/run-cli.js";

/** A progress line of a finished check (`✔ registry      pass    23 ms`): proof a check ran. */
const CHECK_RAN = /^\S+\s+(registry|drift|compose|own-database|isolation|migrations|dependencies)\s+(pass|fail|error|skip)\s+\d+ ms/m;

describe("an --output the CLI cannot write", { timeout: 180_000 }, () => {
  let folder: RunFolder;
  beforeAll(async () => {
    folder = await RunFolder.create("output");
    await writeFile(join(folder.out, "a-file"), "not a folder\n");
  });
  afterAll(() => folder.sweep());

  it.each([
    { what: "a path under a regular file (ENOTDIR)", path: () => join(folder.out, "a-file", "report.json") },
    { what: "an existing folder (EISDIR)", path: () => folder.out },
    { what: "a path under /proc (the run used to spin at 100 % CPU forever)", path: () => "/proc/x/r.json" },
  ])("$what: exit 2 naming the path, before any check or the runtime starts", async ({ path }) => {
    const output = path();
    const result = await runCli(["check", "fixtures/property-tax", "--runtime", "embedded", "--verbose", "--format", "json", "--output", output], {
      env: folder.env(),
      boundMs: 30_000,
    });

    expect(await outcomeOf(result, folder)).toEqual(cleanEnd(2));
    expect(result.stderr).toContain(output);
    expect(result.stderr).not.toMatch(CHECK_RAN);
    expect(result.stderr).not.toContain("Starting the embedded runtime");
  });
});

describe("numeric flags are plain positive integers within a range", { timeout: 180_000 }, () => {
  let folder: RunFolder;
  beforeAll(async () => {
    folder = await RunFolder.create("flags");
  });
  afterAll(() => folder.sweep());

  it.each([
    // 1e12 s overflowed setTimeout to 1 ms: a false drift/generator-timeout.
    { flag: "--timeout", value: "1e12" },
    // Plain digits, but past setTimeout's 2^31-1 ms: the same overflow.
    { flag: "--timeout", value: "2147484" },
    { flag: "--timeout", value: "0x10" },
    { flag: "--concurrency", value: "0x10" },
    { flag: "--concurrency", value: "1e1" },
    { flag: "--concurrency", value: "8.0" },
    { flag: "--concurrency", value: " 8" },
  ])("$flag '$value' is refused with exit 2", async ({ flag, value }) => {
    const result = await runCli(["check", "fixtures/property-tax", "--only", "drift", "--format", "json", flag, value], { env: folder.env(), boundMs: 60_000 });

    expect(await outcomeOf(result, folder)).toEqual(cleanEnd(2));
    expect(result.stderr.trim()).toMatch(new RegExp(`^civic-conformance: Invalid ${flag} '${value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}'\\.`));
  });

  it.each([
    { flag: "--timeout", value: "30" },
    { flag: "--concurrency", value: "4" },
  ])("$flag $value is accepted (control)", async ({ flag, value }) => {
    const result = await runCli(["check", "fixtures/property-tax", "--only", "drift", "--format", "json", flag, value], { env: folder.env(), boundMs: 60_000 });

    expect(await outcomeOf(result, folder)).toEqual(cleanEnd(0));
  });
});
