/**
 * Reading a file of the repository under test: the whole content, exactly, whatever its size (the
 * read stops at the first short read, which for a regular file is its end), and a refusal past the cap.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { UsageError } from "../../src/core/errors.js";
import { INPUT_FILE_LIMITS, readInputFile } from "../../src/core/input-files.js";

const dir = await mkdtemp(join(tmpdir(), "civic-input-files-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("readInputFile", () => {
  it.each([0, 1, 3, 65_536, 65_537, 1_048_576])("reads a file of %i bytes whole and exactly", async (size) => {
    const content = Buffer.alloc(size, 0);
    for (let i = 0; i < size; i++) content[i] = (i * 31 + 7) % 256;
    const path = join(dir, `file-${size}`);
    await writeFile(path, content);
    const read = await readInputFile(path, "init script", { shown: `file-${size}` });
    expect(read.length).toBe(size);
    expect(read.equals(content)).toBe(true);
  });

  it("reads a file exactly at its cap, and refuses one a byte over it", async () => {
    const cap = INPUT_FILE_LIMITS["secret file"];
    await writeFile(join(dir, "at-cap"), Buffer.alloc(cap, 0x61));
    expect((await readInputFile(join(dir, "at-cap"), "secret file", { shown: "at-cap" })).length).toBe(cap);
    await writeFile(join(dir, "over-cap"), Buffer.alloc(cap + 1, 0x61));
    const error = await readInputFile(join(dir, "over-cap"), "secret file", { shown: "over-cap" }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toBe("over-cap is 1 MB, over the 1 MB size limit for a secret file");
  });
});
