/** The init-script locator: the line a fix should change, in SQL and shell init scripts, literal and templated names. */
import { describe, expect, it } from "vitest";
import { initScriptStatements } from "../../src/checks/isolation/init-script-statements.js";

const SQL = [
  "-- roles and databases", // 1
  "CREATE ROLE billing LOGIN PASSWORD :'billing_password'", // 2
  "  NOSUPERUSER NOCREATEDB;", // 3
  "CREATE DATABASE billing;", // 4
  "GRANT CONNECT ON DATABASE billing TO billing;", // 5
  "CREATE ROLE reporting LOGIN", // 6
  "  SUPERUSER;", // 7
  "GRANT readers TO reporting;", // 8
  "-- CREATE DATABASE ledger;", // 9
  "SELECT 'CREATE DATABASE ledger' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'ledger')\\gexec", // 10
  "ALTER ROLE billing NOSUPERUSER;", // 11
].join("\n");

const SHELL = [
  "#!/bin/bash", // 1
  "set -e", // 2
  'psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" <<-EOSQL', // 3
  "  CREATE USER orders WITH PASSWORD '$ORDERS_PASSWORD';", // 4
  "  CREATE DATABASE orders;", // 5
  "  GRANT ALL PRIVILEGES ON DATABASE orders TO orders;", // 6
  "EOSQL", // 7
  "for db in $(echo $POSTGRES_MULTIPLE_DATABASES | tr ',' ' '); do", // 8
  '  psql -c "CREATE DATABASE \\"$db\\";"', // 9
  "done", // 10
].join("\n");

describe("init script statements", () => {
  const located = initScriptStatements([
    { file: "db/01.sql", text: SQL, shell: false },
    { file: "db/02.sh", text: SHELL, shell: true },
  ]);

  it("finds CREATE DATABASE / ROLE at the statement's first line, never in a comment, \\gexec strings included", () => {
    expect(located.files).toEqual(["db/01.sql", "db/02.sh"]);
    expect(located.createsDatabase("billing")).toEqual({ file: "db/01.sql", line: 4 });
    expect(located.createsDatabase("ledger")).toEqual({ file: "db/01.sql", line: 10 });
    expect(located.createsRole("billing")).toEqual({ file: "db/01.sql", line: 2 });
    expect(located.createsDatabase("orders")).toEqual({ file: "db/02.sh", line: 5 });
    expect(located.createsRole("orders")).toEqual({ file: "db/02.sh", line: 4 });
  });

  it("finds grants of CONNECT (or ALL) and of roles, and SUPERUSER but not NOSUPERUSER", () => {
    expect(located.grantsConnect("billing", "billing")).toEqual({ file: "db/01.sql", line: 5 });
    expect(located.grantsConnect("orders", "orders")).toEqual({ file: "db/02.sh", line: 6 });
    expect(located.grantsRole("readers", "reporting")).toEqual({ file: "db/01.sql", line: 8 });
    expect(located.makesSuperuser("reporting")).toEqual({ file: "db/01.sql", line: 6 });
    expect(located.makesSuperuser("billing")).toBeUndefined();
  });

  it("a database no statement names literally is created by the templated one (a loop over a variable)", () => {
    expect(located.createsDatabase("inventory")).toEqual({ file: "db/02.sh", line: 9 });
    expect(initScriptStatements([{ file: "a.sql", text: SQL, shell: false }]).createsDatabase("inventory")).toBeUndefined();
  });
});
