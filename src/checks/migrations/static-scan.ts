import type { MigratingService } from "./migrating-services.js";
import type { SqlStatement } from "./sql-statements.js";

/** What a migration statement does that reaches beyond the service's own database. */
export type StaticHitKind = "cross-database-link" | "foreign-reference" | "outside-effect" | "server-side-io";

export interface StaticHit {
  readonly kind: StaticHitKind;
  /** 1-based line in the migration file. */
  readonly line: number;
  /** What the statement does, as a phrase: "creates the dblink extension". */
  readonly what: string;
  /** For a foreign reference: the service whose database, role or table is named. */
  readonly otherService?: string;
}

/** The names other services own, which a service's migrations must never mention. */
export interface ForeignNames {
  readonly service: string;
  readonly database: string;
  /** The role of the other service's `DATABASE_URL`, when it differs from this service's role. */
  readonly role?: string;
  /** Tables that only the other service's migrations create (unquoted names folded to lower case). */
  readonly tables: ReadonlySet<string>;
}

const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;

const LINK_PATTERNS: ReadonlyArray<[RegExp, (m: RegExpExecArray) => string]> = [
  [/\bCREATE\s+EXTENSION\s+(?:IF\s+NOT\s+EXISTS\s+)?"?(dblink|postgres_fdw)"?/gi, (m) => `creates the ${m[1]!.toLowerCase()} extension`],
  [/\bCREATE\s+SERVER\b/gi, () => "creates a foreign server"],
  [/\bCREATE\s+USER\s+MAPPING\b/gi, () => "creates a user mapping"],
  [/\bCREATE\s+FOREIGN\s+(?:TABLE|DATA\s+WRAPPER)\b/gi, (m) => `runs ${squash(m[0])}`],
  [/\bIMPORT\s+FOREIGN\s+SCHEMA\b/gi, () => "imports a foreign schema"],
  [/\bdblink(?:_exec|_connect|_connect_u|_open|_send_query)?\s*\(/gi, (m) => `calls ${squash(m[0]).replace(/\s*\($/, "")}()`],
  // A member of pg_create_subscription needs no extension for this one.
  [/\bCREATE\s+SUBSCRIPTION\b/gi, () => "creates a subscription (logical replication, which connects to another database)"],
  [/\bALTER\s+SUBSCRIPTION\s+\S+\s+CONNECTION\b/gi, () => "points a subscription at another connection"],
];

const CLUSTER_PATTERNS: ReadonlyArray<[RegExp, (m: RegExpExecArray) => string]> = [
  [/\b(CREATE|ALTER|DROP)\s+(ROLE|USER|GROUP)\s+(?!MAPPING\b)(?:IF\s+(?:NOT\s+)?EXISTS\s+)?("(?:[^"]|"")+"|\w+)/gi,
    (m) => `${verb(m[1]!)} role ${m[3]}`],
  [/\b(CREATE|ALTER|DROP)\s+(DATABASE|TABLESPACE)\b/gi, (m) => `${verb(m[1]!)} a ${m[2]!.toLowerCase()}`],
  [/\b(GRANT|REVOKE)\b[^;]*?\bON\s+DATABASE\s+("(?:[^"]|"")+"|\w+)/gi,
    (m) => `${m[1]!.toUpperCase() === "GRANT" ? "grants" : "revokes"} privileges on database ${m[2]}`],
];

/** The predefined roles that reach the server host's files and programs. */
const HOST_ROLES = String.raw`pg_execute_server_program|pg_read_server_files|pg_write_server_files`;

/**
 * Statements that reach the server host: its programs, its files, its configuration, and languages
 * whose functions run unrestricted code in the server process. Names the line; the defence is that
 * migrations are never applied with superuser rights (index.ts), since dynamic SQL evades any scan.
 */
const SERVER_IO_PATTERNS: ReadonlyArray<[RegExp, (m: RegExpExecArray) => string]> = [
  [/\bCOPY\b[^;]*?\b(TO|FROM)\s+PROGRAM\b/gi, (m) => `runs a program on the server host (COPY … ${m[1]!.toUpperCase()} PROGRAM)`],
  [/\bCOPY\b[^;]*?\b(TO|FROM)\s+(?:E)?'/gi, (m) => `${m[1]!.toUpperCase() === "TO" ? "writes" : "reads"} a file on the server host (COPY … ${m[1]!.toUpperCase()} 'file')`],
  [/\b(lo_import|lo_export|pg_read_file|pg_read_binary_file|pg_ls_dir|pg_stat_file)\s*\(/gi, (m) => `calls ${m[1]!.toLowerCase()}(), which reaches files on the server host`],
  [new RegExp(String.raw`\bGRANT\b[^;]*?\b(${HOST_ROLES})\b`, "gi"), (m) => `grants ${m[1]!.toLowerCase()}, which reaches the server host`],
  [/\bALTER\s+SYSTEM\b/gi, () => "changes the server's configuration file (ALTER SYSTEM)"],
  [/\bCREATE\s+(?:OR\s+REPLACE\s+)?EXTENSION\s+(?:IF\s+NOT\s+EXISTS\s+)?"?(pl\w*u)"?(?![\w"])/gi, (m) => `creates the untrusted language ${m[1]!.toLowerCase()}, whose code runs unrestricted on the server host`],
  [/\bLANGUAGE\s+['"]?(pl\w*u)\b/gi, (m) => `uses the untrusted language ${m[1]!.toLowerCase()}, whose code runs unrestricted on the server host`],
];

/**
 * Finds, statement by statement, what a migration does beyond its own database: links to other
 * databases, names of other services' databases, roles or tables, cluster-wide changes, and
 * server-side I/O (the host's programs and files).
 * Live application proves the effects; this names the line.
 */
export function scanStatements(statements: readonly SqlStatement[], foreign: readonly ForeignNames[]): StaticHit[] {
  const hits: StaticHit[] = [];
  for (const statement of statements) {
    const { code } = statement;
    const lineOf = (index: number) => statement.line + countNewlines(code.slice(0, index));
    for (const [pattern, what] of LINK_PATTERNS) {
      for (const m of code.matchAll(pattern)) hits.push({ kind: "cross-database-link", line: lineOf(m.index), what: what(m) });
    }
    for (const [pattern, what] of SERVER_IO_PATTERNS) {
      for (const m of code.matchAll(pattern)) hits.push({ kind: "server-side-io", line: lineOf(m.index), what: what(m) });
    }
    const foreignDatabases = new Set(foreign.map((other) => other.database));
    for (const [pattern, what] of CLUSTER_PATTERNS) {
      for (const m of code.matchAll(pattern)) {
        // A grant on another service's database is reported once, as the foreign reference it is.
        if (/ON\s+DATABASE/i.test(m[0]) && foreignDatabases.has(foldIdentifier(m[2]!))) continue;
        hits.push({ kind: "outside-effect", line: lineOf(m.index), what: what(m) });
      }
    }
    // `GRANT a TO b` without ON grants a role membership: cluster-wide.
    const membership = /^\s*GRANT\s+(?![^;]*\bON\b)([^;]*?)\s+TO\s+/i.exec(code);
    if (membership) hits.push({ kind: "outside-effect", line: statement.line, what: `grants membership in role ${squash(membership[1]!)}` });
    for (const other of foreign) hits.push(...foreignReferences(code, other, lineOf));
  }
  return hits;
}

function foreignReferences(code: string, other: ForeignNames, lineOf: (index: number) => number): StaticHit[] {
  const hits: StaticHit[] = [];
  const name = (identifier: string) => String.raw`(?:"${escape(identifier)}"|\b${escape(identifier)}\b)`;
  const database = name(other.database);
  const patterns: Array<[RegExp, string]> = [
    [new RegExp(String.raw`\bDATABASE\s+${database}`, "gi"), `names ${other.service}'s database ${other.database}`],
    [new RegExp(String.raw`(?<![\w."])${database}\s*\.\s*${IDENT}`, "gi"), `names an object in ${other.service}'s database ${other.database}`],
  ];
  if (other.role) {
    patterns.push([
      new RegExp(String.raw`\b(?:TO|FROM|ROLE|USER|OWNER\s+TO|AUTHORIZATION|GRANTED\s+BY)\s+${name(other.role)}(?!\s*\.)`, "gi"),
      `names ${other.service}'s role ${other.role}`,
    ]);
  }
  for (const [pattern, what] of patterns) {
    for (const m of code.matchAll(pattern)) hits.push({ kind: "foreign-reference", line: lineOf(m.index), what, otherService: other.service });
  }
  for (const m of code.matchAll(new RegExp(String.raw`\bREFERENCES\s+(?:(${IDENT})\s*\.\s*)?(${IDENT})`, "gi"))) {
    const table = foldIdentifier(m[2]!);
    if (other.tables.has(table)) {
      hits.push({
        kind: "foreign-reference",
        line: lineOf(m.index),
        what: `references table ${m[2]}, which only ${other.service}'s migrations create: another service's table`,
        otherService: other.service,
      });
    }
  }
  return hits;
}

/** Tables a migration script creates, for telling a foreign-key target that belongs to someone else. */
export function createdTables(statements: readonly SqlStatement[]): Set<string> {
  const tables = new Set<string>();
  const pattern = new RegExp(
    String.raw`\bCREATE\s+(?:(?:GLOBAL\s+|LOCAL\s+)?(?:TEMP|TEMPORARY|UNLOGGED)\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:${IDENT}\s*\.\s*)?(${IDENT})`,
    "gi",
  );
  for (const statement of statements) for (const m of statement.code.matchAll(pattern)) tables.add(foldIdentifier(m[1]!));
  return tables;
}

/** PostgreSQL folds unquoted identifiers to lower case; quoted ones keep their case. */
export function foldIdentifier(identifier: string): string {
  return identifier.startsWith('"') ? identifier.slice(1, -1).replaceAll('""', '"') : identifier.toLowerCase();
}

function verb(keyword: string): string {
  return { CREATE: "creates", ALTER: "alters", DROP: "drops" }[keyword.toUpperCase()] ?? keyword.toLowerCase();
}

function squash(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function countNewlines(text: string): number {
  let count = 0;
  for (const char of text) if (char === "\n") count++;
  return count;
}

/** Static hits per migration file (repo-relative path). */
export function staticHits(services: readonly MigratingService[]): Map<string, StaticHit[]> {
  const tablesOf = new Map(services.map((s) => [s.service.key, unionOf(s.scripts.map((script) => createdTables(script.statements)))]));
  const hits = new Map<string, StaticHit[]>();
  for (const current of services) {
    const own = tablesOf.get(current.service.key)!;
    const foreign: ForeignNames[] = services
      .filter((other) => other.service.key !== current.service.key)
      .map((other) => ({
        service: other.service.key,
        database: other.service.database,
        ...(other.user !== current.user && { role: other.user }),
        tables: new Set([...tablesOf.get(other.service.key)!].filter((table) => !own.has(table))),
      }));
    for (const script of current.scripts) hits.set(script.migration.file, scanStatements(script.statements, foreign));
  }
  return hits;
}

function unionOf(sets: readonly Set<string>[]): Set<string> {
  return new Set(sets.flatMap((set) => [...set]));
}
