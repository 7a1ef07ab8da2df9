/**
 * A copy of a committed fixture monorepo that a hostile case plants things in (a `while(true)` in
 * the registry, a `COPY … TO PROGRAM` migration, a symlink out of the repository…), readable by the
 * embedded server's OS user. `hash()` fingerprints the whole tree (paths, modes, contents, link
 * targets) so a case can prove the CLI changed nothing in the user's repository.
 */
import { createHash } from "node:crypto";
import { appendFile, chmod, cp, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fixture } from "../../helpers/fixtures.js";
import { killProcessesUnder } from "./run-folder.js";

export const PRODUCT = "products/property-tax";
export const REGISTRY = `${PRODUCT}/infra/service-registry.ts`;
export const GENERATOR = `${PRODUCT}/infra/generate.ts`;
export const COMPOSE = `${PRODUCT}/docker-compose.yml`;
export const INIT_SQL = `${PRODUCT}/infra/init-databases.sql`;
export const AUTH_GATEWAY_MIGRATIONS = "modules/platform/auth-gateway/prisma/migrations";
export const AUTH_GATEWAY_LAST_MIGRATION = `${AUTH_GATEWAY_MIGRATIONS}/20240328120922_add_login_attempts/migration.sql`;

export class HostileRepo implements AsyncDisposable {
  private constructor(
    /** Monorepo root of the copy. */
    readonly root: string,
  ) {}

  static async copy(name: "property-tax" | "seed-reference" | "split-vars-conformant", label: string): Promise<HostileRepo> {
    const root = await mkdtemp(join(tmpdir(), `civic-hostile-repo-${label}-`));
    await chmod(root, 0o755);
    await cp(fixture(name), root, { recursive: true });
    return new HostileRepo(root);
  }

  /** The product folder (`products/property-tax`) of the copy. */
  get product(): string {
    return join(this.root, PRODUCT);
  }

  path(relative: string): string {
    return join(this.root, relative);
  }

  read(relative: string): Promise<string> {
    return readFile(this.path(relative), "utf8");
  }

  /** Rewrites a file; a change that changes nothing means the fixture moved under the test. */
  async edit(relative: string, change: (text: string) => string): Promise<void> {
    const before = await this.read(relative);
    const after = change(before);
    if (after === before) throw new Error(`planting into ${relative} changed nothing: the fixture moved under the test`);
    await writeFile(this.path(relative), after);
  }

  async write(relative: string, text: string | Buffer, mode?: number): Promise<void> {
    await mkdir(dirname(this.path(relative)), { recursive: true });
    await writeFile(this.path(relative), text);
    if (mode !== undefined) await chmod(this.path(relative), mode);
  }

  /** Appends lines to a file; returns the 1-based line number of the first appended line. */
  async append(relative: string, text: string): Promise<number> {
    const before = await this.read(relative);
    const separator = before.endsWith("\n") ? "" : "\n";
    await appendFile(this.path(relative), `${separator}${text}`);
    return before.split("\n").length - (before.endsWith("\n") ? 1 : 0) + 1;
  }

  /** 1-based line of the first line of `relative` containing `needle`. */
  async lineOf(relative: string, needle: string): Promise<number> {
    const index = (await this.read(relative)).split("\n").findIndex((line) => line.includes(needle));
    if (index < 0) throw new Error(`${needle} not found in ${relative}`);
    return index + 1;
  }

  /** Replaces `relative` with a symbolic link to `target`. */
  async linkTo(relative: string, target: string): Promise<void> {
    await rm(this.path(relative), { force: true });
    await symlink(target, this.path(relative));
  }

  /** A fingerprint of every path, type, mode, link target and content under the copy. */
  async hash(): Promise<string> {
    const digest = createHash("sha256");
    const entries = (await readdir(this.root, { recursive: true })).sort();
    for (const entry of entries) {
      const full = join(this.root, entry);
      const info = await lstat(full);
      digest.update(`${entry}\0${info.mode}\0`);
      if (info.isSymbolicLink()) digest.update(`-> ${await readlink(full)}`);
      else if (info.isFile()) digest.update(await readFile(full));
      digest.update("\n");
    }
    return digest.digest("hex");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await killProcessesUnder([this.root]);
    await rm(this.root, { recursive: true, force: true, maxRetries: 3 });
  }
}
