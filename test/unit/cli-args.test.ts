import { describe, expect, it } from "vitest";
import { parseCliArgs } from "../../src/cli/parse-args.js";
import { UsageError } from "../../src/core/errors.js";

const parse = (...argv: string[]) => parseCliArgs(argv, "/work", {});

function settingsOf(argv: string[]) {
  const command = parse(...argv);
  if (command.kind !== "check") throw new Error(`expected check, got ${command.kind}`);
  return command.settings;
}

function usageMessage(argv: string[]): string {
  try {
    parse(...argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as UsageError).message;
  }
  throw new Error("expected a UsageError");
}

describe("parseCliArgs", () => {
  it("defaults to text on stdout, auto runtime, all checks, the current folder", () => {
    const settings = settingsOf(["check"]);
    expect(settings).toMatchObject({ productPath: ".", runtime: "auto", only: [], skip: [], outputs: [{ format: "text" }], concurrency: 16, commandTimeoutMs: 120_000 });
  });

  it("pairs each --output with the latest --format that has no file", () => {
    const settings = settingsOf(["check", "p", "--format", "json", "--output", "r.json", "--format", "markdown", "--output", "r.md", "--format", "text"]);
    expect(settings.outputs).toEqual([{ format: "json", file: "r.json" }, { format: "markdown", file: "r.md" }, { format: "text" }]);
  });

  it("infers the format of an --output from its extension and keeps text on stdout", () => {
    const settings = settingsOf(["check", "-o", "out/report.sarif", "-o", "junit.xml"]);
    expect(settings.outputs).toEqual([{ format: "sarif", file: "out/report.sarif" }, { format: "junit", file: "junit.xml" }, { format: "text" }]);
  });

  it("rejects two formats on standard output", () => {
    expect(usageMessage(["check", "--format", "json", "--format", "text"])).toMatch(/Only one format can go to standard output/);
  });

  it("names the expected forms for a bad runtime, format and check id", () => {
    expect(usageMessage(["check", "--runtime", "dockr"])).toBe("Invalid runtime 'dockr'. Expected one of auto, compose, embedded, external.");
    expect(usageMessage(["check", "--format", "html"])).toMatch(/^Invalid format 'html'\. Expected one of text, json, markdown, sarif, junit\.$/);
    expect(usageMessage(["check", "--only", "registry,isolaton"])).toMatch(/Invalid check id in --only 'isolaton'/);
  });

  it("splits and repeats --only and --skip", () => {
    const settings = settingsOf(["check", "--only", "registry,drift", "--only", "compose", "--skip", "drift"]);
    expect(settings.only).toEqual(["registry", "drift", "compose"]);
    expect(settings.skip).toEqual(["drift"]);
  });

  it("rejects unknown flags, unknown commands and flags of the other command", () => {
    expect(usageMessage(["check", "--frobnicate"])).toMatch(/Unknown option '--frobnicate'.*civic-conformance --help/);
    expect(usageMessage(["chek"])).toMatch(/Unknown command 'chek'/);
    expect(usageMessage(["generate", "--runtime", "embedded"])).toMatch(/--runtime does not apply to 'generate'/);
    expect(usageMessage(["check", "--write"])).toMatch(/--write applies to 'generate' only/);
    expect(usageMessage(["check", "--timeout=0"])).toMatch(/Invalid --timeout '0'/);
    expect(usageMessage(["check", "--external-config", "x.json"])).toMatch(/needs --runtime external/);
  });

  it("takes numeric flags as plain decimal digits within their range, naming the expected form otherwise", () => {
    expect(settingsOf(["check", "--timeout", "86400", "--concurrency", "256"])).toMatchObject({ commandTimeoutMs: 86_400_000, concurrency: 256 });
    for (const value of ["1e12", "2147484", "86401", "0x10", "8.0", " 8", "-1", "010", ""]) {
      expect(usageMessage(["check", `--timeout=${value}`])).toBe(`Invalid --timeout '${value}'. Expected a whole number of seconds from 1 to 86400.`);
    }
    for (const value of ["0", "257", "0x10", "1e1", "+4"]) {
      expect(usageMessage(["check", `--concurrency=${value}`])).toBe(`Invalid --concurrency '${value}'. Expected a whole number from 1 to 256.`);
    }
  });

  it("takes --ready-timeout in seconds for the compose runtime only, and leaves it unset by default", () => {
    expect(settingsOf(["check", "--ready-timeout", "600"])).toMatchObject({ readyTimeoutMs: 600_000 });
    expect(settingsOf(["check", "--runtime", "compose", "--ready-timeout=1"])).toMatchObject({ readyTimeoutMs: 1_000 });
    expect(settingsOf(["check"]).readyTimeoutMs).toBeUndefined();
    for (const value of ["0", "86401", "1e3", "-5", "90s", ""]) {
      expect(usageMessage(["check", `--ready-timeout=${value}`])).toBe(`Invalid --ready-timeout '${value}'. Expected a whole number of seconds from 1 to 86400.`);
    }
    expect(usageMessage(["check", "--runtime", "embedded", "--ready-timeout", "60"])).toBe("--ready-timeout needs --runtime compose or auto.");
    expect(usageMessage(["check", "--runtime", "external", "--ready-timeout", "60"])).toBe("--ready-timeout needs --runtime compose or auto.");
    expect(usageMessage(["generate", "--ready-timeout", "60"])).toBe("--ready-timeout does not apply to 'generate'.");
    expect(usageMessage(["init", "--ready-timeout", "60"])).toBe("--ready-timeout does not apply to 'init'.");
  });

  it("answers --help, --version and generate", () => {
    expect(parse("--help").kind).toBe("help");
    expect(parse().kind).toBe("help");
    expect(parse("--version").kind).toBe("version");
    expect(parse("generate", "products/x", "--write")).toMatchObject({ kind: "generate", settings: { productPath: "products/x", write: true } });
  });
});
