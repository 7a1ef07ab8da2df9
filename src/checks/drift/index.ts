import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { repoRelative } from "../../core/repo-path.js";
import { UsageError } from "../../core/errors.js";
import type { Finding } from "../../core/report-model.js";
import { renderInfra } from "../../generator/render-infra.js";
import { profileOf } from "../../product/product.js";
import type { Check, CheckContext, CheckOptions, CheckOutput } from "../check.js";
import type { RunFolder } from "../../sandbox/run-folder.js";
import type { LoaderPreference } from "../../sandbox/typescript-loader.js";
import { withRunFolder } from "../shared/run-folder-of.js";
import { compareSnapshots, driftFinding, type FileDrift, type Regeneration } from "./drift-findings.js";
import { copyRepo, removeRepoCopy, type RepoCopy, snapshotTree } from "../../sandbox/repo-copy.js";
import { findGenerator, generatorCommandLine, runGenerator, type Generator } from "./run-generator.js";
import { driftRules } from "./rules.js";

/**
 * `drift`: the committed infra files are exactly what the product's own generator writes from the
 * registry. The generator runs in a throwaway copy of the monorepo; every file it creates, changes
 * or deletes anywhere is a finding with a unified diff. Without a generator, the committed files
 * are compared with the built-in reference generator.
 */

async function readText(path: string): Promise<string | undefined> {
  return readFile(path, "utf8").catch(() => undefined);
}

function failureFinding(rule: "drift/generator-failed" | "drift/generator-timeout", message: string, regeneration: Regeneration, extra: Partial<Finding>): Finding {
  return {
    rule,
    severity: "error",
    message,
    fix: `Make \`${regeneration.command}\` succeed locally, then commit what it writes.`,
    ...extra,
  };
}

/** What the regeneration needs: the repository and the product folder, not the loaded product. */
export interface RegenerationContext {
  /** Absolute monorepo root. */
  readonly repoRoot: string;
  /** Absolute product folder. */
  readonly productDir: string;
  readonly options: CheckOptions;
  readonly logger: CheckContext["logger"];
  readonly signal: AbortSignal;
  readonly runFolder?: RunFolder;
  /** How a generator script runs: the fastest way that gives what `npx tsx` gives (default), or the full `--import tsx`. */
  readonly loader?: LoaderPreference;
  /** The copy and the generator start once this settles (the pipeline reads the compose project first); at once without it. */
  readonly startAfter?: Promise<void>;
}

/**
 * The product's own generator (infra/generate.ts or `--generator-command`) run in a throwaway copy of
 * the repository and the copy compared with what is committed; undefined when the product has no
 * generator (the check then compares with the built-in one, which needs the loaded registry).
 */
export async function regenerate(context: RegenerationContext): Promise<CheckOutput | undefined> {
  const productPath = repoRelative(context.repoRoot, context.productDir) || ".";
  const generator = await findGenerator(context.productDir, context.options.generatorCommand);
  return generator ? runRepoGenerator(context, generator, productPath) : undefined;
}

async function runRepoGenerator(context: RegenerationContext, generator: Generator, productPath: string): Promise<CheckOutput> {
  const regeneration: Regeneration = {
    command: `cd ${productPath} && ${generatorCommandLine(generator)}`,
    source: generator.kind === "script" ? generator.file : `\`${generator.command}\``,
  };
  await context.startAfter;
  const started = performance.now();
  const output = await withRunFolder(context, (runFolder) => regenerateInCopy(context, generator, productPath, regeneration, runFolder));
  // The pipeline starts this before the check itself, whose duration then leaves it out: the data keeps it.
  const regenerationMs = Math.round(performance.now() - started);
  context.logger.debug(`drift: copy, generator and comparison took ${regenerationMs} ms`);
  return { ...output, data: { ...output.data, regenerationMs } };
}

/** The generator run in a throwaway copy of the repository inside the run folder, and the copy compared with what is committed. */
async function regenerateInCopy(context: RegenerationContext, generator: Generator, productPath: string, regeneration: Regeneration, runFolder: RunFolder): Promise<CheckOutput> {
  const { repoRoot, options, logger, signal } = context;
  const generatorFile = generator.kind === "script" ? `${productPath}/${generator.file}` : undefined;
  const data = { generator: generator.kind === "script" ? generator.file : generator.command };

  // As root the generator runs as the unprivileged user: the copy is its to read and write.
  const { uid, gid } = runFolder.user;
  const newCopy = async (): Promise<RepoCopy> => copyRepo(repoRoot, await runFolder.subfolder("drift"), uid === undefined ? {} : { owner: { uid, gid: gid ?? uid } });
  let copy = await newCopy();
  logger.debug(`drift: running ${regeneration.source} in a throwaway copy at ${copy.root}${runFolder.user.uid === undefined ? "" : `, as ${runFolder.user.name}`}`);
  try {
    const run = (loader: LoaderPreference) =>
      runGenerator(generator, { cwd: join(copy.root, productPath), callerEnv: options.env, runFolder, timeoutMs: options.commandTimeoutMs, signal, loader });
    let outcome = await run(context.loader ?? "fastest");
    if (outcome.typescript) logger.debug(`drift: ran ${regeneration.source} with ${outcome.typescript.description}`);
    if (outcome.status === "failed" && outcome.typescript?.way === "tsx-commonjs" && !signal.aborted) {
      // A failure's stderr (Node's frames, the caret under the throw) is what `--import tsx` prints
      // only when run that way: rerun so, in a fresh copy, without what the first run wrote.
      await removeRepoCopy(copy);
      copy = await newCopy();
      logger.debug(`drift: ${regeneration.source} failed under tsx's CommonJS hooks: rerun with the full tsx in a fresh copy at ${copy.root}, for tsx's own output`);
      outcome = await run("tsx-import");
    }
    if (outcome.status === "timeout") {
      const seconds = Math.round(options.commandTimeoutMs / 100) / 10;
      const finding = failureFinding(
        "drift/generator-timeout",
        `${regeneration.source} did not finish within ${seconds} s and was stopped, so the committed files could not be compared.`,
        regeneration,
        generatorFile ? { file: generatorFile } : {},
      );
      return { findings: [finding], data };
    }
    if (outcome.status === "failed") {
      const exit = outcome.exitCode === undefined ? "was killed" : `exited with code ${outcome.exitCode}`;
      const finding = failureFinding(
        "drift/generator-failed",
        `${regeneration.source} ${exit}, so the committed files could not be compared.`,
        regeneration,
        { ...(generatorFile ? { file: generatorFile } : {}), details: outcome.stderrTail || "(no output)" },
      );
      return { findings: [finding], data };
    }

    const { changed, created, deleted } = compareSnapshots(copy.snapshot, await snapshotTree(copy.root));
    const drifts: FileDrift[] = await Promise.all([
      ...changed.map(async (file) => ({
        kind: "changed" as const,
        file,
        committed: await readText(join(repoRoot, file)),
        regenerated: await readText(join(copy.root, file)),
      })),
      ...created.map(async (file) => ({ kind: "created" as const, file, committed: undefined, regenerated: await readText(join(copy.root, file)) })),
      ...deleted.map(async (file) => ({ kind: "deleted" as const, file, committed: await readText(join(repoRoot, file)), regenerated: undefined })),
    ]);
    return { findings: drifts.map((drift) => driftFinding(drift, regeneration)), data };
  } finally {
    await removeRepoCopy(copy).catch((error: unknown) => {
      logger.warn(`drift: could not remove the throwaway copy ${copy.root}: ${error instanceof Error ? error.message : String(error)}`);
    });
  }
}

async function compareWithBuiltIn(context: CheckContext, productPath: string): Promise<CheckOutput> {
  const { product } = context;
  const regeneration: Regeneration = {
    command: `npx civic-conformance generate ${productPath} --write`,
    source: "the built-in generator",
  };
  const notes = [
    `${productPath} has no infra/generate.ts: the committed files were compared with the built-in reference generator (civic-conformance generate).`,
  ];
  const data = { generator: "built-in" };
  let rendered: Map<string, string>;
  try {
    rendered = renderInfra(product.registry, product.name);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const finding = failureFinding("drift/generator-failed", `The built-in generator cannot render this registry: ${error.message}`, regeneration, {
      ...(error.location ? { file: error.location.file } : {}),
      ...(error.location?.line !== undefined ? { line: error.location.line } : {}),
      fix: "Fix the registry entry it names (the registry check reports the rule), then regenerate.",
    });
    return { findings: [finding], notes, data };
  }
  const findings: Finding[] = [];
  for (const [path, regenerated] of rendered) {
    const file = productPath === "." ? path : `${productPath}/${path}`;
    const committed = await readText(join(product.dir, path));
    if (committed === regenerated) continue;
    findings.push(driftFinding({ kind: committed === undefined ? "created" : "changed", file, committed, regenerated }, regeneration));
  }
  return { findings, notes, data };
}

export const driftCheck: Check<"drift"> = {
  id: "drift",
  title: "Generated infra files match the registry",
  needs: [],
  rules: Object.values(driftRules),
  async run(context) {
    const { product, options, logger, signal, runFolder } = context;
    const productPath = repoRelative(product.repoRoot, product.dir) || ".";
    const regenerated = await (context.regenerated ??
      regenerate({ repoRoot: product.repoRoot, productDir: product.dir, options, logger, signal, ...(runFolder && { runFolder }) }));
    if (regenerated) return regenerated;
    // The built-in generator renders the civic layout; outside it, no generator means nothing generated to compare.
    if (profileOf(product) !== "civic") {
      return {
        findings: [],
        skipped:
          `no generator: ${productPath} has no infra/generate.ts and no --generator-command, and the ${profileOf(product)} profile does not compare with the built-in one. ` +
          (product.registry.source === "inferred"
            ? `\`npx civic-conformance init ${productPath}\` writes the registry; with the civic layout, \`civic-conformance generate --write\` renders the infra files from it.`
            : "Give --generator-command (or add infra/generate.ts) to have the generated files compared; with the civic layout, `civic-conformance generate --write` renders them from the registry."),
      };
    }
    return compareWithBuiltIn(context, productPath);
  },
};
