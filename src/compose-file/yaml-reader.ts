import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node, type YAMLMap } from "yaml";
import { UsageError } from "../core/errors.js";
import { interpolate, InterpolationError, type InterpolationPolicy } from "./interpolate.js";

/** A scalar of the compose file: as written, after interpolation, and where. */
export interface ReadScalar {
  readonly raw: string;
  readonly value: string;
  readonly line: number;
}

/**
 * Reads nodes of one parsed compose file: resolves aliases and `<<` merge keys, interpolates scalar
 * values (never keys, as compose does), and turns a node of the wrong shape into a `UsageError`
 * that names the file and line.
 */
export class YamlReader {
  constructor(
    private readonly document: Document,
    private readonly lineCounter: LineCounter,
    /** Repo-relative path of the file, for error messages. */
    readonly file: string,
    private readonly policy: InterpolationPolicy,
  ) {}

  lineOf(node: unknown, fallback = 1): number {
    const range = (node as Node | null)?.range;
    return range ? this.lineCounter.linePos(range[0]).line : fallback;
  }

  fail(message: string, node: unknown, fallbackLine?: number): never {
    throw new UsageError(message, { file: this.file, line: this.lineOf(node, fallbackLine) });
  }

  resolve(node: unknown): unknown {
    return isAlias(node) ? node.resolve(this.document) : node;
  }

  /** The key/value pairs of a mapping, `<<` merges expanded (explicit keys win, as YAML says). */
  entries(node: unknown, what: string): { key: string; keyLine: number; value: unknown }[] {
    const map = this.resolve(node);
    if (!isMap(map)) this.fail(`${what} must be a mapping`, node);
    const explicit: { key: string; keyLine: number; value: unknown }[] = [];
    const merged: { key: string; keyLine: number; value: unknown }[] = [];
    for (const pair of (map as YAMLMap).items) {
      if (!isPair(pair)) continue;
      if (!isScalar(pair.key)) this.fail(`${what} has a key that is not a plain value`, pair.key);
      // With `merge: true` the parser turns `<<` into a symbol key; its source is still `<<`.
      const key = typeof pair.key.value === "symbol" ? (pair.key.source ?? "<<") : String(pair.key.value);
      const keyLine = this.lineOf(pair.key);
      if (key === "<<" && (isAlias(pair.value) || isSeq(pair.value))) {
        const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
        for (const source of sources) merged.push(...this.entries(source, `the merge source of ${what}`));
        continue;
      }
      explicit.push({ key, keyLine, value: pair.value });
    }
    // Explicit keys win over merged ones; among merge sources the first one listed wins.
    const result = [...explicit];
    const seen = new Set(explicit.map((entry) => entry.key));
    for (const entry of merged) {
      if (seen.has(entry.key)) continue;
      seen.add(entry.key);
      result.push(entry);
    }
    return result;
  }

  items(node: unknown, what: string): unknown[] {
    const seq = this.resolve(node);
    if (!isSeq(seq)) this.fail(`${what} must be a list`, node);
    return seq.items;
  }

  isMap(node: unknown): boolean {
    return isMap(this.resolve(node));
  }

  isSeq(node: unknown): boolean {
    return isSeq(this.resolve(node));
  }

  isNull(node: unknown): boolean {
    const resolved = this.resolve(node);
    return resolved === null || resolved === undefined || (isScalar(resolved) && resolved.value === null);
  }

  /** A scalar as a string, interpolated. Numbers and booleans keep their source spelling. */
  scalar(node: unknown, what: string, fallbackLine?: number): ReadScalar {
    const resolved = this.resolve(node);
    if (!isScalar(resolved)) this.fail(`${what} must be a single value`, node, fallbackLine);
    const raw = resolved.source ?? (typeof resolved.value === "string" ? resolved.value : String(resolved.value));
    const line = this.lineOf(node, fallbackLine);
    return { raw, value: this.interpolate(raw, line), line };
  }

  interpolate(raw: string, line: number): string {
    try {
      return interpolate(raw, this.policy);
    } catch (error) {
      if (error instanceof InterpolationError) throw new UsageError(error.message, { file: this.file, line });
      throw error;
    }
  }

  /** A field of a mapping by key, or undefined. */
  field(node: unknown, key: string, what: string): { value: unknown; keyLine: number } | undefined {
    const entry = this.entries(node, what).find((candidate) => candidate.key === key);
    return entry && { value: entry.value, keyLine: entry.keyLine };
  }
}

/** What reading one service of the compose file needs besides its node. */
export interface ServiceContext {
  readonly reader: YamlReader;
  /** Directory of the compose file: relative paths in it resolve against this. */
  readonly dir: string;
  readonly toRepoPath: (absolute: string) => string;
  readonly secretFiles: ReadonlyMap<string, string>;
  readonly policy: InterpolationPolicy;
}
