import type { ComposeService } from "../../compose-file/model.js";
import type { CredentialField } from "./declared-credential.js";

/** One variable of a service's resolved environment, with where it is written. */
export interface EnvEntry {
  readonly name: string;
  readonly value: string;
  readonly field: CredentialField;
}

/**
 * A compose service's resolved environment (map and list forms, `env_file:`, `.env` interpolation —
 * resolved by the loader) as the credential reader walks it: each variable is consumed by at most
 * one credential form, in precedence order.
 */
export class ServiceEnvironment {
  private readonly consumed = new Set<string>();

  constructor(readonly composeService: ComposeService) {}

  get(name: string): EnvEntry | undefined {
    const value = this.composeService.environment.get(name);
    return value && { name, value: value.value, field: { variable: name, file: value.source.file, line: value.source.line } };
  }

  /** Every variable not consumed yet, in the order the file declares them. */
  available(): EnvEntry[] {
    return [...this.composeService.environment.keys()].filter((name) => !this.consumed.has(name)).map((name) => this.get(name)!);
  }

  isAvailable(name: string): boolean {
    return this.composeService.environment.has(name) && !this.consumed.has(name);
  }

  consume(...names: readonly string[]): void {
    for (const name of names) this.consumed.add(name);
  }
}
