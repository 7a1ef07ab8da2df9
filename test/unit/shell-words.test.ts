/** Command-line words without a shell (src/compose-file/shell-words.ts): Compose's `command:` and a Dockerfile's shell form. */
import { describe, expect, it } from "vitest";
import { shellWords } from "../../src/compose-file/shell-words.js";

describe("shellWords", () => {
  it("splits on blanks, keeps quoted blanks, and drops the quotes", () => {
    expect(shellWords(`postgres  -c 'log_line_prefix=%m [%p] ' -c "search_path=app, public"`, "refuse")).toEqual([
      "postgres", "-c", "log_line_prefix=%m [%p] ", "-c", "search_path=app, public",
    ]);
  });

  it("escapes as POSIX does: anything outside quotes, only \" \\ $ ` inside double quotes, nothing inside single quotes", () => {
    expect(shellWords(String.raw`a\ b "c\"d\e" 'f\g' "\$x"`, "refuse")).toEqual(["a b", 'c"d\\e', "f\\g", "$x"]);
  });

  it("an empty quoted word is a word", () => {
    expect(shellWords(`-c "" x`, "refuse")).toEqual(["-c", "", "x"]);
  });

  it("an unclosed quote is refused, or runs to the end", () => {
    expect(shellWords(`postgres -c 'max_connections=50`, "refuse")).toBeUndefined();
    expect(shellWords(`postgres -c "max_connections=50`, "refuse")).toBeUndefined();
    expect(shellWords(`COPY "a b`, "close")).toEqual(["COPY", "a b"]);
  });
});
