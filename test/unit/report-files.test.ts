/**
 * `--output` files are opened before any check runs (issue 9): an unwritable path is a UsageError
 * naming it at once — under a regular file, an existing folder, under /proc (where a recursive mkdir
 * never returns on Node 20) — missing folders are created, an existing file keeps its content until
 * the report replaces it, and a run without a report removes only the files it created.
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openReportFiles } from "../../src/cli/report-files.js";
import { UsageError } from "../../src/core/errors.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "civic-report-files-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function refusal(file: string): Promise<UsageError> {
  const error = await openReportFiles([{ format: "json", file }], dir).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(UsageError);
  return error as UsageError;
}

describe("openReportFiles", () => {
  it("refuses, naming the path, a file under a regular file, an existing folder and a path under /proc", async () => {
    await writeFile(join(dir, "a-file"), "x");
    await mkdir(join(dir, "folder"));
    expect((await refusal("a-file/report.json")).message).toBe(`cannot write --output a-file/report.json: ${join(dir, "a-file")} is a file, not a folder`);
    expect((await refusal("folder")).message).toBe("cannot write --output folder: it is a folder; name a file inside it");
    expect((await refusal("/proc/x/r.json")).message).toMatch(/^cannot write --output \/proc\/x\/r\.json: cannot create the folder \/proc\/x/);
  });

  it("creates missing folders, keeps an existing file as it was until the report is written, and replaces it whole", async () => {
    await writeFile(join(dir, "old.json"), "a longer previous report\n");
    await using files = await openReportFiles([{ format: "json", file: "old.json" }, { format: "sarif", file: "deep/er/new.sarif" }, { format: "text" }], dir);
    expect(files.files.map((f) => f.target.file)).toEqual(["old.json", "deep/er/new.sarif"]);
    expect(await readFile(join(dir, "old.json"), "utf8")).toBe("a longer previous report\n");
    await files.files[0]!.write("{}\n");
    await files.files[1]!.write("{ }\n");
    expect(await readFile(join(dir, "old.json"), "utf8")).toBe("{}\n");
    expect(await readFile(join(dir, "deep/er/new.sarif"), "utf8")).toBe("{ }\n");
  });

  it("discards only what it created when the run makes no report", async () => {
    await writeFile(join(dir, "kept.json"), "previous\n");
    const files = await openReportFiles([{ format: "json", file: "kept.json" }, { format: "junit", file: "made.xml" }], dir);
    await files.discard();
    expect(await readFile(join(dir, "kept.json"), "utf8")).toBe("previous\n");
    await expect(stat(join(dir, "made.xml"))).rejects.toThrow(/ENOENT/);
  });
});
