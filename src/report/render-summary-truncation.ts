/**
 * Cuts Markdown to fit a size limit without leaving the rest of the page inside an open code fence
 * or `<details>`: GitHub rejects a job summary over 1 MiB and a comment over 65,536 characters.
 */
export function truncateMarkdown(markdown: string, fits: (text: string) => boolean, note: string): string {
  if (fits(markdown)) return markdown;
  const lines = markdown.split("\n");
  // Halve the search space instead of re-measuring line by line: reports can be megabytes.
  let [low, high] = [0, lines.length];
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (fits(closeOpenBlocks(lines.slice(0, middle), note))) low = middle;
    else high = middle - 1;
  }
  return closeOpenBlocks(lines.slice(0, low), note);
}

function closeOpenBlocks(kept: readonly string[], note: string): string {
  let fence: string | undefined;
  let openDetails = 0;
  for (const line of kept) {
    const trimmed = line.trim();
    const fenceMatch = /^(`{3,})/.exec(trimmed);
    if (fenceMatch) {
      if (fence === undefined) fence = fenceMatch[1];
      else if (trimmed === fence) fence = undefined;
      continue;
    }
    if (fence !== undefined) continue;
    if (/^<details\b/.test(trimmed)) openDetails += 1;
    if (trimmed === "</details>" && openDetails > 0) openDetails -= 1;
  }
  const closing = [...(fence ? [fence] : []), ...Array.from({ length: openDetails }, () => "</details>")];
  return `${[...kept, ...closing, "", note].join("\n")}\n`;
}
