/**
 * A compose project as the checks see it: its files merged as `docker compose` merges them (the
 * main file, its override files, the services `extends:` names), interpolated values, each with the
 * file and line it came from.
 */
import type { RepositoryBoundary } from "../core/input-files.js";

export interface Located<T> {
  readonly value: T;
  /** 1-based line in `file`. */
  readonly line: number;
  /** Repo-relative compose file the value was written in. */
  readonly file: string;
}

/** A place in a file of the repository: what findings and coverage items point at. */
export interface SourceLine {
  /** Repo-relative, forward slashes. */
  readonly file: string;
  /** 1-based. */
  readonly line: number;
}

export interface ComposeEnvValue {
  /** After `${VAR}` interpolation, as compose would pass it to the container. */
  readonly value: string;
  /** As written in the file, before interpolation. */
  readonly raw: string;
  /** Line in `file` of the key, or of the `env_file:` entry that brings the value in. */
  readonly line: number;
  /** Repo-relative compose file of `line` (the main file, an override, or a file `extends:` names). */
  readonly file: string;
  /** Repo-relative path of the `env_file` the value came from; absent when set in the compose file. */
  readonly envFile?: string;
  /** Where the value is written: the compose file's line, or the env file's own line for a value from an `env_file`. */
  readonly source: SourceLine;
}

/** A bind mount or named volume of a service, parsed from short or long syntax. */
export interface ComposeVolume {
  /** `bind` for a host path, `volume` for a named volume. */
  readonly type: "bind" | "volume" | "tmpfs";
  /** Absolute host path for binds, the volume name for named volumes. */
  readonly source: string;
  readonly target: string;
  readonly line: number;
  readonly file: string;
}

export interface ComposePort {
  /** Host port, when published to a fixed one. */
  readonly published?: number;
  readonly target: number;
  readonly line: number;
  readonly file: string;
}

export interface ComposeService {
  readonly name: string;
  /** Line of the service's key, in `file`: the first compose file that defines the service. */
  readonly line: number;
  readonly file: string;
  readonly image?: Located<string>;
  /** `context` is absolute; `dockerfile` as written (relative to the context); `dockerfileLine` where it is written (in `dockerfileFile`). */
  readonly build?: ComposeBuild;
  /** `container_name:`, `hostname:` and the `aliases:` of its networks: names other containers reach it by, besides its service name. */
  readonly containerName?: string;
  readonly hostname?: string;
  readonly networkAliases?: readonly string[];
  readonly environment: ReadonlyMap<string, ComposeEnvValue>;
  readonly dependsOn: ReadonlyMap<string, Located<string>>; // name → condition (service_started when short form)
  readonly ports: readonly ComposePort[];
  readonly volumes: readonly ComposeVolume[];
  readonly healthcheck?: { readonly test: readonly string[] | string; readonly line: number; readonly file: string; readonly disabled: boolean };
  /** `command:`, as words (a string is split as Compose splits it), with the key's line. */
  readonly command?: { readonly args: readonly string[]; readonly line: number; readonly file: string };
  /** `entrypoint:`, as words, with the key's line. */
  readonly entrypoint?: { readonly args: readonly string[]; readonly line: number; readonly file: string };
  readonly environmentLine?: number;
  /** File of `environmentLine`. */
  readonly environmentFile?: string;
  /** Line of the `depends_on:` key, where a missing dependency belongs. */
  readonly dependsOnLine?: number;
  /** File of `dependsOnLine`. */
  readonly dependsOnFile?: string;
  /** `profiles:` — the service is started only when one of them is active (compose's `--profile`). */
  readonly profiles?: readonly Located<string>[];
  /** Keys set more than once in a list-form `environment` (the last wins in compose, silently): each later occurrence. */
  readonly duplicateEnvironment?: readonly Located<string>[];
  /** Secrets mounted into the container (`/run/secrets/<target>`), with their host file when known. */
  readonly secrets?: readonly ComposeSecretMount[];
}

export interface ComposeBuild {
  readonly context: string;
  readonly dockerfile?: string;
  readonly line: number;
  /** File of `line`. */
  readonly file: string;
  readonly dockerfileLine?: number;
  /** File of `dockerfileLine`. */
  readonly dockerfileFile?: string;
  /** `target:`: the stage of a multi-stage Dockerfile that is built (default: the last one). */
  readonly target?: string;
  /** `args:`: build arguments, interpolated; they override `ARG` defaults. */
  readonly args?: ReadonlyMap<string, string>;
}

export interface ComposeSecretMount {
  /** Top-level secret name. */
  readonly source: string;
  /** Absolute path inside the container. */
  readonly target: string;
  /** Absolute host path of the secret's `file:`, when it is a file secret. */
  readonly hostPath?: string;
  readonly line: number;
  readonly file: string;
}

export interface ComposeProject {
  /** Absolute path of the main compose file (the first one merged; its folder is the project directory). */
  readonly path: string;
  /** Path relative to the repository root, forward slashes. */
  readonly file: string;
  /** Every compose file merged, in order (the main file first, then its overrides), repo-relative. */
  readonly files: readonly string[];
  /** Files read through `extends: { file }`, repo-relative. */
  readonly extendsFiles: readonly string[];
  /** Profiles active for this run (`--profile`): services under other profiles are not started. */
  readonly activeProfiles: readonly string[];
  /**
   * The merged project as plain YAML data, uninterpolated (`${VAR}` as written), `extends:` resolved,
   * paths from other folders made absolute: what the compose stack runtime writes out and boots.
   */
  readonly document: Readonly<Record<string, unknown>>;
  /** Absolute monorepo root: `file` and every repo-relative path of the model are relative to it. */
  readonly repoRoot: string;
  readonly services: ReadonlyMap<string, ComposeService>;
  /** Top-level named volumes. */
  readonly volumeNames: readonly string[];
  /**
   * The variables interpolation used: process environment, then `.env`, then a random value for every
   * variable the file needs that neither sets. Generated values are registered as secrets.
   */
  readonly variables: ReadonlyMap<string, string>;
  /** Variables that got a generated value for this run. */
  readonly generatedVariables: readonly string[];
  /** Where the repository ends: files the project names (secrets, init scripts) are read only inside it. */
  readonly boundary: RepositoryBoundary;
}

/**
 * Whether compose starts the service in this run: it has no `profiles:`, or one of them is active.
 * The checks still read a service under an inactive profile (its credential exists whether or not
 * it runs); only the compose stack leaves it out.
 */
export function isStartedByDefault(service: ComposeService, project: Pick<ComposeProject, "activeProfiles">): boolean {
  return !service.profiles || service.profiles.length === 0 || service.profiles.some((profile) => project.activeProfiles.includes(profile.value));
}
