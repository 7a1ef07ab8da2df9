import * as core from "@actions/core";
import type { Logger } from "../core/logger.js";
import { maskSecrets, registeredSecrets } from "../core/secrets.js";

const announced = new Set<string>();

/**
 * Tells the runner about every secret the core registered since the last call (generated
 * passwords, passwords read from `.env`), so it masks them in the log even where a line escapes
 * `maskSecrets`. Called before every line and after every run.
 */
export function announceSecrets(): void {
  for (const secret of registeredSecrets()) {
    if (announced.has(secret)) continue;
    announced.add(secret);
    core.setSecret(secret);
  }
}

/** The core's logger on a runner: `::warning::` and `::error::` become annotations on the run. */
export class ActionsLogger implements Logger {
  debug(message: string): void {
    announceSecrets();
    core.debug(maskSecrets(message));
  }
  info(message: string): void {
    announceSecrets();
    core.info(maskSecrets(message));
  }
  warn(message: string): void {
    announceSecrets();
    core.warning(maskSecrets(message));
  }
  error(message: string): void {
    announceSecrets();
    core.error(maskSecrets(message));
  }
}
