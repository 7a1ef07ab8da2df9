/**
 * Issue 9, measured defect 1: host command execution through a migration. The migrations check
 * applies each service's migrations as the service's own role; when that role is a superuser (what
 * the tool exists to catch), `COPY … TO PROGRAM` in a migration ran a shell command on the host as
 * the embedded server's OS user, and the check said pass. Migrations must never run with superuser
 * rights on the host, and the new static rule `migrations/server-side-io` names every statement
 * that reads or writes the server's files or runs its programs.
 */
import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AUTH_GATEWAY_LAST_MIGRATION, AUTH_GATEWAY_MIGRATIONS, COMPOSE, HostileRepo } from "./support/hostile-repo.js";
import { cleanEnd, outcomeOf } from "./support/outcome.js";
import { RunFolder } from "./support/run-folder.js";
import { runCli } from "./support/run-cli.js";

interface Finding {
  rule: string;
  severity: string;
  service?: string;
  file?: string;
  line?: number;
}
interface Report {
  checks: Array<{ id: string; status: string; findings: Finding[] }>;
}

const exists = (path: string) => access(path).then(() => true, () => false);

describe("COPY … TO PROGRAM in a migration, with a superuser service credential", { timeout: 180_000 }, () => {
  it("runs no host command, and reports migrations/server-side-io at the statement's line (and isolation/superuser)", async () => {
    await using repo = await HostileRepo.copy("property-tax", "to-program");
    await using folder = await RunFolder.create("to-program");
    const marker = join(folder.dumps, "copy-to-program-ran");
    // auth-gateway logs in as the bootstrap superuser, as the seed's design does for every service.
    await repo.edit(COMPOSE, (text) =>
      text.replace("postgresql://auth_gateway:${AUTH_GATEWAY_DB_PASSWORD}@postgres:5432/auth_gateway", "postgresql://civic:${POSTGRES_PASSWORD}@postgres:5432/auth_gateway"),
    );
    const copyLine = await repo.append(AUTH_GATEWAY_LAST_MIGRATION, `COPY (SELECT 1) TO PROGRAM 'id > ${marker}';\n`);
    const before = await repo.hash();
    const report = join(folder.out, "report.json");

    const result = await runCli(
      ["check", repo.product, "--runtime", "embedded", "--only", "isolation,migrations", "--verbose", "--format", "json", "--output", report],
      { env: folder.env({ POSTGRES_PASSWORD: "to-program-Pw-5521" }), boundMs: 150_000 },
    );

    expect(await exists(marker), `the migration ran a host command: ${marker} exists`).toBe(false);
    expect(await outcomeOf(result, folder, repo, before)).toEqual(cleanEnd(1));
    const checks = (JSON.parse(await readFile(report, "utf8")) as Report).checks;
    const migrations = checks.find((check) => check.id === "migrations")!;
    expect(migrations.status).toBe("fail");
    expect(migrations.findings).toContainEqual(
      expect.objectContaining({ rule: "migrations/server-side-io", severity: "error", service: "auth-gateway", file: AUTH_GATEWAY_LAST_MIGRATION, line: copyLine }),
    );
    expect(checks.find((check) => check.id === "isolation")!.findings).toContainEqual(
      expect.objectContaining({ rule: "isolation/superuser", service: "auth-gateway" }),
    );
  });
});

describe("migrations/server-side-io names every server-side I/O construct", { timeout: 180_000 }, () => {
  it("reports one error per statement, at its line, with an ordinary service role", async () => {
    await using repo = await HostileRepo.copy("property-tax", "server-io-rules");
    await using folder = await RunFolder.create("server-io-rules");
    const marker = join(folder.dumps, "copy-to-program-ran");
    const file = `${AUTH_GATEWAY_MIGRATIONS}/20250101000000_server_side_io/migration.sql`;
    const statements = [
      `COPY (SELECT 1) TO PROGRAM 'id > ${marker}';`,
      "COPY \"User\" FROM PROGRAM 'cat /etc/passwd';",
      "SELECT lo_import('/etc/passwd');",
      "SELECT lo_export(1, '/tmp/civic-hostile-lo-export');",
      "SELECT pg_read_file('/etc/passwd');",
      "SELECT pg_read_binary_file('/etc/passwd');",
      "GRANT pg_read_server_files TO CURRENT_USER;",
      "GRANT pg_execute_server_program TO CURRENT_USER;",
      "ALTER SYSTEM SET log_statement = 'all';",
      "CREATE EXTENSION IF NOT EXISTS plpython3u;",
      "CREATE FUNCTION hostile_perl() RETURNS integer LANGUAGE plperlu AS 'return 1;';",
      "CREATE LANGUAGE pltclu;",
    ];
    await repo.write(file, `-- Hostile: server-side I/O, one construct a line.\n${statements.join("\n")}\n`);
    const before = await repo.hash();
    const report = join(folder.out, "report.json");

    const result = await runCli(["check", repo.product, "--runtime", "embedded", "--only", "migrations", "--verbose", "--format", "json", "--output", report], {
      env: folder.env(),
      boundMs: 150_000,
    });

    expect(await exists(marker)).toBe(false);
    expect(await outcomeOf(result, folder, repo, before)).toEqual(cleanEnd(1));
    const migrations = (JSON.parse(await readFile(report, "utf8")) as Report).checks.find((check) => check.id === "migrations")!;
    const flagged = migrations.findings
      .filter((finding) => finding.rule === "migrations/server-side-io" && finding.severity === "error" && finding.service === "auth-gateway" && finding.file === file)
      .map((finding) => finding.line);
    expect([...new Set(flagged)].sort((a, b) => a! - b!)).toEqual(statements.map((_, index) => index + 2));
  });
});
