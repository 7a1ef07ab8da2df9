import { maskSecrets } from "./secrets.js";

/**
 * One logging interface for the core. The CLI prints to stderr, the action uses `@actions/core`,
 * tests read the recording one. Every implementation masks secrets before anything leaves.
 */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export type LogLevel = keyof Logger;

export interface LogEntry {
  level: LogLevel;
  message: string;
}

export class RecordingLogger implements Logger {
  readonly entries: LogEntry[] = [];
  debug(message: string): void {
    this.entries.push({ level: "debug", message: maskSecrets(message) });
  }
  info(message: string): void {
    this.entries.push({ level: "info", message: maskSecrets(message) });
  }
  warn(message: string): void {
    this.entries.push({ level: "warn", message: maskSecrets(message) });
  }
  error(message: string): void {
    this.entries.push({ level: "error", message: maskSecrets(message) });
  }
  text(): string {
    return this.entries.map((e) => `${e.level}: ${e.message}`).join("\n");
  }
}

/** Writes to a stream (stderr for the CLI, so stdout stays clean for `--format json`). */
export class StreamLogger implements Logger {
  constructor(
    private readonly write: (text: string) => void,
    private readonly verbose = false,
  ) {}
  debug(message: string): void {
    if (this.verbose) this.write(`debug: ${maskSecrets(message)}\n`);
  }
  info(message: string): void {
    this.write(`${maskSecrets(message)}\n`);
  }
  warn(message: string): void {
    this.write(`warning: ${maskSecrets(message)}\n`);
  }
  error(message: string): void {
    this.write(`error: ${maskSecrets(message)}\n`);
  }
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
