import { UsageError } from "../core/errors.js";
import type { RepositoryBoundary } from "../core/input-files.js";
import { interpolate, InterpolationError, type InterpolationPolicy } from "./interpolate.js";
import type { LocatedNode, NodeOrigin } from "./located-yaml.js";

/** A scalar of the compose project: as written, after interpolation, and where. */
export interface ReadScalar {
  readonly raw: string;
  readonly value: string;
  readonly line: number;
  /** Repo-relative file the scalar was written in (the main file, an override, or a file `extends:` names). */
  readonly file: string;
}

/**
 * Reads nodes of the merged compose project (`located-yaml.ts`): interpolates scalar values (never
 * keys, as compose does), and turns a node of the wrong shape into a `UsageError` that names the
 * file and line it was written at.
 */
export class YamlReader {
  constructor(private readonly policy: InterpolationPolicy) {}

  lineOf(node: unknown, fallback = 1): number {
    return (node as LocatedNode | undefined)?.origin.line ?? fallback;
  }

  originOf(node: unknown, fallback: NodeOrigin): NodeOrigin {
    return (node as LocatedNode | undefined)?.origin ?? fallback;
  }

  fail(message: string, node: unknown, fallback?: NodeOrigin): never {
    const origin = (node as LocatedNode | undefined)?.origin ?? fallback;
    throw new UsageError(message, origin ? { file: origin.file, line: origin.line } : undefined);
  }

  /** The key/value pairs of a mapping (`<<` merges were expanded when the file was read). */
  entries(node: unknown, what: string): { key: string; keyLine: number; keyOrigin: NodeOrigin; value: unknown }[] {
    const map = node as LocatedNode | undefined;
    if (map?.kind !== "map") this.fail(`${what} must be a mapping`, node);
    return map.pairs.map((pair) => ({ key: pair.key, keyLine: pair.keyOrigin.line, keyOrigin: pair.keyOrigin, value: pair.value }));
  }

  items(node: unknown, what: string): unknown[] {
    const seq = node as LocatedNode | undefined;
    if (seq?.kind !== "seq") this.fail(`${what} must be a list`, node);
    return [...seq.items];
  }

  isMap(node: unknown): boolean {
    return (node as LocatedNode | undefined)?.kind === "map";
  }

  isSeq(node: unknown): boolean {
    return (node as LocatedNode | undefined)?.kind === "seq";
  }

  isNull(node: unknown): boolean {
    const located = node as LocatedNode | undefined;
    return located === undefined || (located.kind === "scalar" && located.value === null);
  }

  /** A scalar as a string, interpolated. Numbers and booleans keep their source spelling. */
  scalar(node: unknown, what: string, fallback?: NodeOrigin): ReadScalar {
    const located = node as LocatedNode | undefined;
    if (located?.kind !== "scalar") this.fail(`${what} must be a single value`, node, fallback);
    const { file, line } = located.origin;
    return { raw: located.raw, value: this.interpolate(located.raw, located.origin), line, file };
  }

  interpolate(raw: string, origin: NodeOrigin): string {
    try {
      return interpolate(raw, this.policy);
    } catch (error) {
      if (error instanceof InterpolationError) throw new UsageError(error.message, { file: origin.file, line: origin.line });
      throw error;
    }
  }

  /** A field of a mapping by key, or undefined. */
  field(node: unknown, key: string, what: string): { value: unknown; keyLine: number; keyOrigin: NodeOrigin } | undefined {
    const entry = this.entries(node, what).find((candidate) => candidate.key === key);
    return entry && { value: entry.value, keyLine: entry.keyLine, keyOrigin: entry.keyOrigin };
  }
}

/** What reading one service of the compose project needs besides its node. */
export interface ServiceContext {
  readonly reader: YamlReader;
  /** The project directory (the first compose file's folder): relative paths resolve against it. */
  readonly dir: string;
  readonly toRepoPath: (absolute: string) => string;
  readonly secretFiles: ReadonlyMap<string, string>;
  readonly policy: InterpolationPolicy;
  /** Files the service points at must stay inside this (core/input-files.ts). */
  readonly boundary: RepositoryBoundary;
}
