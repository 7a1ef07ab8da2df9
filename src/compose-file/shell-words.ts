/**
 * Words of a command line without a shell (no variables, no globbing), as Compose splits a string
 * `command:` (go-shellwords) and as a Dockerfile's shell-form arguments read: blanks separate
 * words; single quotes keep everything literally; double quotes keep blanks, and a backslash in
 * them escapes only `"`, `\`, `$` and `` ` `` (POSIX); outside quotes a backslash escapes the next
 * character.
 *
 * @returns undefined when a quote is not closed and `unclosed` is "refuse" (Compose refuses such a
 *   command); with "close" the quote ends at the end of the text
 */
export function shellWords(text: string, unclosed: "refuse" | "close"): string[] | undefined {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i]!;
    if (char === "'") {
      let end = text.indexOf("'", i + 1);
      if (end < 0) {
        if (unclosed === "refuse") return undefined;
        end = text.length;
      }
      word += text.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (char === '"') {
      let j = i + 1;
      for (; j < text.length && text[j] !== '"'; j += 1) {
        if (text[j] === "\\" && j + 1 < text.length && '"\\$`'.includes(text[j + 1]!)) j += 1;
        word += text[j];
      }
      if (j >= text.length && unclosed === "refuse") return undefined;
      inWord = true;
      i = j;
    } else if (char === "\\" && i + 1 < text.length) {
      word += text[(i += 1)];
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += char;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}
