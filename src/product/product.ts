import type { ComposeProject } from "../compose-file/model.js";
import type { Registry } from "../registry/model.js";

/** A product folder (`products/<product>`) inside its monorepo, loaded from files. */
export interface Product {
  /** The product's name: its folder name. */
  readonly name: string;
  /** Absolute path of the product folder. */
  readonly dir: string;
  /** Absolute path of the monorepo root (Dockerfile and module paths are relative to it). */
  readonly repoRoot: string;
  readonly registry: Registry;
  /** Loaded only when a selected check needs it. */
  readonly compose?: ComposeProject;
}
