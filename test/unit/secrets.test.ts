import { describe, expect, it } from "vitest";
import { maskReport } from "../../src/core/mask-report.js";
import { type Report, summarize } from "../../src/core/report-model.js";
import { maskSecrets, registerPublicValue, registeredSecrets, registerSecret, urlPassword } from "../../src/core/secrets.js";

describe("maskSecrets", () => {
  it("masks the password of a connection URL in any scheme, wherever it stands in the text", () => {
    expect(maskSecrets("connect postgresql://svc:s3cr%40t@postgres:5432/db failed")).toBe("connect postgresql://svc:***@postgres:5432/db failed");
    expect(maskSecrets("amqp://civic:hunter22@rabbitmq:5672/x and redis://:pw1234@redis:6379")).toBe("amqp://civic:***@rabbitmq:5672/x and redis://:***@redis:6379");
  });

  it("keeps a URL without a password, and a bare ${VAR} reference, which names a secret without holding one", () => {
    expect(maskSecrets("postgresql://svc@postgres/db")).toBe("postgresql://svc@postgres/db");
    expect(maskSecrets("postgresql://svc:@postgres/db")).toBe("postgresql://svc:@postgres/db");
    expect(maskSecrets("postgresql://svc:${SVC_DB_PASSWORD}@postgres:5432/svc")).toBe("postgresql://svc:${SVC_DB_PASSWORD}@postgres:5432/svc");
    expect(maskSecrets("postgresql://svc:$SVC_PW@postgres/svc")).toBe("postgresql://svc:$SVC_PW@postgres/svc");
  });

  it("masks a reference whose default is a literal password", () => {
    expect(maskSecrets("postgresql://civic:${POSTGRES_PASSWORD:-civic123}@postgres/db")).toBe("postgresql://civic:***@postgres/db");
  });

  it("masks libpq password= keywords and SQL PASSWORD literals", () => {
    expect(maskSecrets("host=db user=svc password=topsecret dbname=x")).toBe("host=db user=svc password=*** dbname=x");
    expect(maskSecrets("CREATE ROLE svc LOGIN PASSWORD 'it''s secret';")).toBe("CREATE ROLE svc LOGIN PASSWORD '***';");
  });

  it("masks every registered secret as a bare string, longest first, and ignores values too short to mask", () => {
    registerSecret("generated-Secret-1");
    registerSecret("generated-Secret-1-longer");
    registerSecret("ab");
    expect(maskSecrets("a generated-Secret-1-longer and generated-Secret-1 in ab")).toBe("a *** and *** in ab");
  });

  it("hides a known password holding @ whole before the URL pattern could cut it at the first @", () => {
    registerSecret("p@ss@LeakTail-7");
    expect(maskSecrets("postgresql://svc:p@ss@LeakTail-7@postgres:5432/svc")).toBe("postgresql://svc:***@postgres:5432/svc");
    // Never registered: the URL's userinfo still ends at its last @.
    expect(maskSecrets("postgresql://svc:q@rr@Other-8@postgres:5432/svc")).toBe("postgresql://svc:***@postgres:5432/svc");
  });

  it("masks a quoted password= value inside its quotes (escapes honoured) and leaves empty values alone", () => {
    expect(maskSecrets('export POSTGRES_PASSWORD="Drift\\"Pw" && next')).toBe('export POSTGRES_PASSWORD="***" && next');
    expect(maskSecrets("POSTGRES_PASSWORD: literal-pw")).toBe("POSTGRES_PASSWORD: ***");
    expect(maskSecrets("POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}")).toBe("POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}");
    expect(maskSecrets("\\set x_password ''")).toBe("\\set x_password ''");
    expect(maskSecrets("role x has no password: it cannot log in")).toBe("role x has no password: it cannot log in");
  });

  it("never masks booleans, short numbers, postgres or public names, and a short password only as a whole word", () => {
    for (const value of ["false", "true", "5432", "postgres"]) registerSecret(value);
    registerSecret("assessment-roll-pw");
    registerPublicValue("assessment-roll-pw");
    registerSecret("app");
    expect(registeredSecrets()).not.toContain("false");
    expect(maskSecrets("false true 5432 postgres://x assessment-roll-pw")).toBe("false true 5432 postgres://x assessment-roll-pw");
    expect(maskSecrets("the app is happy")).toBe("the *** is happy");
    // A value that is a secret only by its variable's name is no secret: configured/generated ones need 6 characters.
    registerSecret("short", "configured");
    expect(maskSecrets("short")).toBe("short");
  });

  it("reads a URL's password as written, up to its last @", () => {
    expect(urlPassword("postgresql://u:pass word@postgres:5432/db")).toBe("pass word");
    expect(urlPassword('postgresql://u:pa"ss@x@postgres/db')).toBe('pa"ss@x');
    expect(urlPassword("postgresql://u:${PW}@postgres/db")).toBeUndefined();
    expect(urlPassword("postgresql://u@postgres/db")).toBeUndefined();
    expect(urlPassword("http://host:8080/path")).toBeUndefined();
  });
});

describe("maskReport", () => {
  it("masks free text value by value, so a password holding a quote never breaks the JSON, and leaves ids and statuses alone", () => {
    registerSecret('pass"');
    const checks = [
      {
        id: "own-database",
        title: "t",
        status: "fail" as const,
        durationMs: 1,
        findings: [{ rule: "own-database/login-failed", severity: "error" as const, message: 'login with pass" failed', fix: "use pass\"", details: "- pass\"" }],
        reason: 'r pass"',
        notes: ['n pass"'],
        coverage: { complete: false, summary: 's pass"', covered: [], uncovered: [{ kind: "credential" as const, name: "svc", reason: 'because pass"' }] },
        data: { matrix: [{ credentialOf: "svc", database: "db", outcome: "error" as const, reason: 'x pass"' }], other: ['y pass"'] },
      },
      { id: "registry", title: "t", status: "pass" as const, durationMs: 1, findings: [] },
    ];
    const report: Report = { version: 1, product: "p", productDir: "p", runtime: "none", checks, summary: summarize(checks) };
    const masked = maskReport(report);
    const json = JSON.stringify(masked);
    expect(json).not.toContain('pass\\"');
    expect(JSON.parse(json)).toEqual(masked);
    expect(masked.checks.map((c) => c.status)).toEqual(["fail", "pass"]);
    expect(masked.checks[0]!.findings[0]!.message).toBe("login with *** failed");
    expect(masked.checks[0]!.coverage!.uncovered[0]!.reason).toBe("because ***");
    expect(masked.checks[0]!.data!.matrix![0]!.reason).toBe("x ***");
    expect(masked.checks[0]!.data!.other).toEqual(["y ***"]);
  });
});
