/**
 * Issue 9: no secret in any output, every report format still valid. Each run gets unique random
 * passwords — POSTGRES_PASSWORD and the per-service passwords, several with `@`, space, quotes, `#`
 * and `%` (which break the DATABASE_URLs compose builds from them, as they would in production) —
 * and writes every format (text on stdout, JSON, Markdown, SARIF, JUnit to files) with `--verbose`.
 * Every byte of stdout, stderr and every written file is searched for each password and for the
 * random token inside it (a password split at its `@` must not leak its tail either); every file
 * must parse.
 */
import { randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { XMLValidator } from "fast-xml-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HostileRepo, PRODUCT } from "./support/hostile-repo.js";
import { cleanEndAmong, outcomeOf, withExitAmong, type Outcome } from "./support/outcome.js";
import { RunFolder } from "./support/run-folder.js";
import { runCli, type CliResult } from "./support/run-cli.js";

interface Secret {
  readonly value: string;
  /** The random part: found alone, it is a leak of part of the password. */
  readonly token: string;
}

function secret(shape: (token: string) => string): Secret {
  const token = randomBytes(9).toString("hex");
  return { value: shape(token), token };
}

/** `.env` line compose reads back as exactly `value` (single quotes are literal; double quotes escape). */
function dotenvLine(name: string, value: string): string {
  if (!value.includes("'")) return `${name}='${value}'`;
  return `${name}="${value.replace(/[\\"$]/g, (char) => (char === "$" ? "$$" : `\\${char}`))}"`;
}

const SERVICE_PASSWORDS = [
  "AUTH_GATEWAY_DB_PASSWORD",
  "NOTIFICATION_ENGINE_DB_PASSWORD",
  "AUDIT_LOGGING_DB_PASSWORD",
  "BILLING_INVOICING_DB_PASSWORD",
  "ASSESSMENT_ROLL_DB_PASSWORD",
  "TAX_BILLING_INSTALMENT_DB_PASSWORD",
  "TAX_LEVY_RATE_DB_PASSWORD",
  "PAYMENT_PROCESSING_DB_PASSWORD",
  "TAX_CERTIFICATES_DB_PASSWORD",
  "TAX_SALE_PROCEEDINGS_DB_PASSWORD",
] as const;

/** One password per variable; the special characters go where they hurt (inside URLs). */
function passwords(): Record<string, Secret> {
  const shapes: Array<(token: string) => string> = [
    (t) => `ag@${t}`,
    (t) => `ne ${t} x`,
    (t) => `al"${t}`,
    (t) => `bi#${t}`,
    (t) => `ar%41${t}`,
    (t) => `tb'${t}`,
    (t) => `Lr-${t}-Q`,
    (t) => `pp:${t}/x?y`,
    (t) => `Tc-${t}-Z`,
    (t) => `ts&${t}=1`,
  ];
  return {
    POSTGRES_PASSWORD: secret((t) => `pg@ "x#%41'${t}`),
    ...Object.fromEntries(SERVICE_PASSWORDS.map((name, index) => [name, secret(shapes[index]!)])),
  };
}

interface CanaryRun {
  readonly outcome: Outcome;
  readonly result: CliResult;
  /** Every output, by name: stdout, stderr and each file written. */
  readonly outputs: Map<string, string>;
  readonly secrets: Record<string, Secret>;
}

const FILES = { json: "report.json", markdown: "report.md", sarif: "report.sarif", junit: "report.xml" } as const;

/**
 * Runs the CLI on `repo` with fresh passwords: POSTGRES_PASSWORD and TAX_LEVY_RATE_DB_PASSWORD from
 * the caller's environment (which wins over `.env`), the others from `.env` beside the compose file.
 */
async function canaryRun(repo: HostileRepo, folder: RunFolder, extraArgs: readonly string[] = []): Promise<CanaryRun> {
  const secrets = passwords();
  const fromEnvironment = new Set(["POSTGRES_PASSWORD", "TAX_LEVY_RATE_DB_PASSWORD"]);
  await repo.write(
    `${PRODUCT}/.env`,
    `${Object.entries(secrets).map(([name, { value }]) => dotenvLine(name, fromEnvironment.has(name) ? `not-this-${value}` : value)).join("\n")}\n`,
  );
  const before = await repo.hash();
  const files = Object.entries(FILES).flatMap(([format, name]) => ["--format", format, "--output", join(folder.out, name)]);
  const result = await runCli(["check", repo.product, "--runtime", "embedded", "--verbose", "--format", "text", ...files, ...extraArgs], {
    env: folder.env(Object.fromEntries([...fromEnvironment].map((name) => [name, secrets[name]!.value]))),
    boundMs: 150_000,
  });
  const outputs = new Map([
    ["stdout", result.stdout],
    ["stderr", result.stderr],
  ]);
  for (const name of await readdir(folder.out)) outputs.set(name, await readFile(join(folder.out, name), "utf8"));
  return { outcome: await outcomeOf(result, folder, repo, before), result, outputs, secrets };
}

/** `output: NAME (form)` for every password, or part of one, found in an output. */
function leaks(run: CanaryRun): string[] {
  const found: string[] = [];
  for (const [output, text] of run.outputs) {
    for (const [name, { value, token }] of Object.entries(run.secrets)) {
      const forms = new Map([
        ["as is", value],
        ["URL-encoded", encodeURIComponent(value)],
        ["its random part", token],
      ]);
      for (const [form, needle] of forms) if (text.includes(needle)) found.push(`${output}: ${name} (${form})`);
    }
  }
  return found;
}

function parses(run: CanaryRun): Record<string, string> {
  const verdicts: Record<string, string> = {};
  for (const name of Object.values(FILES)) {
    const text = run.outputs.get(name);
    if (text === undefined) {
      verdicts[name] = "not written";
      continue;
    }
    try {
      if (name.endsWith(".json")) verdicts[name] = Array.isArray((JSON.parse(text) as { checks?: unknown }).checks) ? "ok" : "no checks";
      else if (name.endsWith(".sarif")) verdicts[name] = (JSON.parse(text) as { version?: string }).version === "2.1.0" ? "ok" : "not SARIF 2.1.0";
      else if (name.endsWith(".xml")) verdicts[name] = XMLValidator.validate(text) === true && text.includes("<testsuite") ? "ok" : "invalid JUnit XML";
      else verdicts[name] = text.includes("civic-conformance") ? "ok" : "empty";
    } catch (error) {
      verdicts[name] = `does not parse: ${String(error)}`;
    }
  }
  return verdicts;
}

const ALL_PARSE = Object.fromEntries(Object.values(FILES).map((name) => [name, "ok"]));

describe.each([
  { label: "the conformant fixture", fixture: "property-tax" as const, plant: async (_repo: HostileRepo) => {} },
  { label: "the seed's shared-superuser design (findings quote URLs and roles)", fixture: "seed-reference" as const, plant: async (_repo: HostileRepo) => {} },
  {
    label: "an init script that fails after printing the passwords",
    fixture: "property-tax" as const,
    plant: async (repo: HostileRepo) => {
      await repo.append(
        `${PRODUCT}/infra/init-databases.sql`,
        "\\echo connecting with :'auth_gateway_password'\n\\getenv postgres_password POSTGRES_PASSWORD\n\\echo as :'postgres_password'\nSELECT no_such_function(:'postgres_password');\n",
      );
    },
  },
  {
    // \\getenv and :'name' go over the protocol: the server's own message quotes the value.
    label: "an init script sent over the protocol whose failing statement quotes a password",
    fixture: "property-tax" as const,
    plant: async (repo: HostileRepo) => {
      await repo.append(`${PRODUCT}/infra/init-databases.sql`, "\\getenv postgres_password POSTGRES_PASSWORD\nSELECT CAST(:'postgres_password' AS int);\n");
    },
  },
])("secret canaries: $label", ({ fixture, plant }) => {
  let repo: HostileRepo;
  let folder: RunFolder;
  let run: CanaryRun;

  beforeAll(async () => {
    repo = await HostileRepo.copy(fixture, "canary");
    folder = await RunFolder.create("canary");
    await plant(repo);
    run = await canaryRun(repo, folder);
  }, 200_000);
  afterAll(async () => {
    await folder?.sweep([repo.root]);
    await repo?.[Symbol.asyncDispose]();
  });

  it("ends cleanly with a verdict (exit 0, 1 or 2), nothing left behind", () => {
    expect(withExitAmong(run.outcome, [0, 1, 2])).toEqual(cleanEndAmong([0, 1, 2]));
  });

  it("writes every format, and each parses", () => {
    expect(parses(run)).toEqual(ALL_PARSE);
  });

  it("no password, nor its URL-encoded form, nor its random part, in any byte of stdout, stderr or a file", () => {
    expect(leaks(run)).toEqual([]);
  });
});
