/** ANSI styling for the terminal renderer; a no-op palette where colour is off. */
export interface Palette {
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
  cyan(text: string): string;
}

const wrap = (open: number, close: number) => (text: string) => `\u001b[${open}m${text}\u001b[${close}m`;

export const colourPalette: Palette = {
  red: wrap(31, 39),
  green: wrap(32, 39),
  yellow: wrap(33, 39),
  dim: wrap(2, 22),
  bold: wrap(1, 22),
  cyan: wrap(36, 39),
};

const identity = (text: string) => text;
export const plainPalette: Palette = { red: identity, green: identity, yellow: identity, dim: identity, bold: identity, cyan: identity };

/** Colour only on a TTY, and never when NO_COLOR is set to anything non-empty (no-color.org). */
export function paletteFor(isTTY: boolean, env: Readonly<Record<string, string | undefined>>): Palette {
  if (env.NO_COLOR) return plainPalette;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== "0") return colourPalette;
  return isTTY ? colourPalette : plainPalette;
}
