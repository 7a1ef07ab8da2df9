/**
 * Credentials split over a family of variables sharing a prefix: `DB_HOST` `DB_PORT` `DB_NAME`
 * `DB_USER` `DB_PASSWORD` (and `DB_USERNAME`, `DB_DATABASE`, …), `DATABASE_*` (NestJS, Strapi),
 * `POSTGRES_*` on a client (Django), libpq's `PGHOST` `PGPORT` `PGDATABASE` `PGUSER` `PGPASSWORD`,
 * `TYPEORM_*`, and any `<X>_DB_*` / `<X>_DATABASE_*` (Metabase's `MB_DB_*`, HedgeDoc 2's
 * `HD_DATABASE_*`). `<P>PASSWORD_FILE` (Docker secrets) is read from the host file behind it.
 * A family whose type variable names another engine (`DB_TYPE=mysql`) is not PostgreSQL.
 */
import { readContainerFile } from "../../compose-file/container-file.js";
import { registerSecret } from "../../core/secrets.js";
import type { CredentialDraft } from "./credential-draft.js";
import type { CredentialField, CredentialPart, CredentialProblem } from "./declared-credential.js";
import type { EnvEntry, ServiceEnvironment } from "./service-environment.js";

type Role = Exclude<CredentialPart, "url"> | "passwordFile" | "passfile" | "service";

const LIBPQ = /^PG(HOST|HOSTADDR|PORT|DATABASE|USER|PASSWORD|PASSFILE|SERVICE)$/;
const LIBPQ_ROLES: Readonly<Record<string, Role>> = {
  HOST: "host",
  HOSTADDR: "host",
  PORT: "port",
  DATABASE: "database",
  USER: "user",
  PASSWORD: "password",
  PASSFILE: "passfile",
  SERVICE: "service",
};

const FAMILY =
  /^(DB_|DATABASE_|POSTGRES_|POSTGRESQL_|TYPEORM_|(?:[A-Z][A-Z0-9]*_)+DB_|(?:[A-Z][A-Z0-9]*_)+DATABASE_)(HOST|HOSTNAME|ADDR|ADDRESS|PORT|NAME|DATABASE|DB|DBNAME|USER|USERNAME|LOGIN|PASSWORD|PASS|PWD|PASSWORD_FILE)$/;
/** Earlier tokens win when a family sets the same part twice (`DB_USER` and `DB_USERNAME`). */
const TOKEN_ROLES: ReadonlyArray<readonly [string, Role]> = [
  ["HOST", "host"],
  ["HOSTNAME", "host"],
  ["ADDR", "host"],
  ["ADDRESS", "host"],
  ["PORT", "port"],
  ["NAME", "database"],
  ["DATABASE", "database"],
  ["DB", "database"],
  ["DBNAME", "database"],
  ["USER", "user"],
  ["USERNAME", "user"],
  ["LOGIN", "user"],
  ["PASSWORD", "password"],
  ["PASS", "password"],
  ["PWD", "password"],
  ["PASSWORD_FILE", "passwordFile"],
];
const TYPE_TOKENS = ["TYPE", "CLIENT", "VENDOR", "CONNECTION", "DIALECT", "DRIVER", "ENGINE"];
const OTHER_ENGINE = /mysql|maria|mssql|sqlserver|sqlite|oracle|mongo|redis|cassandra|db2|h2|clickhouse|cockroach/i;

interface Member {
  readonly role: Role;
  readonly rank: number;
  readonly entry: EnvEntry;
}

export async function splitDrafts(service: string, env: ServiceEnvironment): Promise<{ drafts: CredentialDraft[]; problems: CredentialProblem[] }> {
  const families = new Map<string, Member[]>();
  for (const entry of env.available()) {
    const libpq = LIBPQ.exec(entry.name);
    if (libpq) {
      add(families, "PG", { role: LIBPQ_ROLES[libpq[1]!]!, rank: Object.keys(LIBPQ_ROLES).indexOf(libpq[1]!), entry });
      continue;
    }
    const match = FAMILY.exec(entry.name);
    if (!match) continue;
    const rank = TOKEN_ROLES.findIndex(([token]) => token === match[2]);
    add(families, match[1]!, { role: TOKEN_ROLES[rank]![1], rank, entry });
  }

  const drafts: CredentialDraft[] = [];
  const problems: CredentialProblem[] = [];
  for (const [prefix, members] of families) {
    if (namesOtherEngine(prefix, env)) continue;
    env.consume(...members.map((member) => member.entry.name));
    const pick = (role: Role) => members.filter((member) => member.role === role).sort((a, b) => a.rank - b.rank)[0]?.entry;
    const variables = members.map((member) => member.entry.name);
    const unread = pick("passfile") ?? pick("service");
    if (unread) {
      problems.push({
        service,
        kind: "incomplete",
        reason: `${unread.name} (${unread.field.file}:${unread.field.line}) points libpq at a file this check cannot read; name the credential's variables in the registry's \`credentials\``,
        file: unread.field.file,
        line: unread.field.line,
        variables,
      });
      continue;
    }
    const parts: Partial<Record<Exclude<Role, "passwordFile" | "passfile" | "service">, EnvEntry>> = {};
    for (const role of ["host", "port", "database", "user", "password"] as const) {
      const entry = pick(role);
      if (entry) parts[role] = entry;
    }
    let password = parts.password?.value;
    let passwordField = parts.password?.field;
    const passwordFile = pick("passwordFile");
    if (password === undefined && passwordFile) {
      const read = await readContainerFile(passwordFile.value, env.composeService);
      if ("problem" in read) {
        problems.push({
          service,
          kind: "incomplete",
          reason:
            `${passwordFile.name} (${passwordFile.field.file}:${passwordFile.field.line}) names ${passwordFile.value}, ` +
            (read.problem === "not-provided" ? "which no secret or bind mount of the service provides" : `whose host file ${read.hostPath} cannot be read`),
          file: passwordFile.field.file,
          line: passwordFile.field.line,
          variables,
        });
        continue;
      }
      registerSecret(read.content);
      password = read.content;
      passwordField = passwordFile.field;
    }
    const fields: Partial<Record<CredentialPart, CredentialField>> = {};
    for (const role of ["host", "port", "database", "user"] as const) if (parts[role]) fields[role] = parts[role]!.field;
    if (passwordField) fields.password = passwordField;
    drafts.push({
      form: "split",
      host: parts.host?.value,
      port: parts.port?.value,
      database: parts.database?.value,
      user: parts.user?.value,
      password,
      fields,
      source: fields.user ?? fields.database ?? fields.host ?? members[0]!.entry.field,
    });
  }
  return { drafts, problems };
}

function add(families: Map<string, Member[]>, prefix: string, member: Member): void {
  families.set(prefix, [...(families.get(prefix) ?? []), member]);
}

function namesOtherEngine(prefix: string, env: ServiceEnvironment): boolean {
  const stem = prefix === "PG" ? undefined : prefix;
  if (!stem) return false;
  return TYPE_TOKENS.some((token) => {
    const value = env.get(`${stem}${token}`)?.value;
    return value !== undefined && OTHER_ENGINE.test(value) && !/postgres|^pg$/i.test(value);
  });
}
