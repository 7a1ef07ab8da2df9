export const HELP = `civic-conformance — prove a monorepo keeps a strict database-per-service architecture

Usage:
  civic-conformance check [product-dir] [options]
  civic-conformance init [product-dir] [--force] [--compose-file file] [--profile name]
  civic-conformance generate [product-dir] [--write] [--repo-root dir]
  civic-conformance --help | --version

product-dir is a product folder (holding infra/service-registry.ts, civic-conformance.yaml, or
only a compose file) or a monorepo root: its one products/<product>, or, when it holds several,
every one of them (one report); default: the current folder. With no registry, check infers one
from the compose files, env files, init scripts and module folders, and says so in the report;
init writes it down.

check options:
  --runtime <auto|compose|embedded|external>
                            where PostgreSQL comes from (default auto: compose where a Docker
                            engine answers, else embedded)
  --only <ids>              run only these checks (comma-separated, repeatable)
  --skip <ids>              do not run these checks (comma-separated, repeatable)
                            ids: registry, drift, compose, own-database, isolation, migrations,
                            dependencies
  -f, --format <format>     text | json | markdown | sarif | junit (repeatable; default text)
  -o, --output <file>       write the latest --format to this file (repeatable); without a
                            --format before it, the extension picks it (.json .md .sarif .xml .txt)
  --repo-root <dir>         the monorepo root (default: two levels above products/<product>)
  --generator-command <cmd> regenerate the infra files with this command (run from the product
                            folder) instead of infra/generate.ts
  --migrate-command <cmd>   apply one service's migrations with this command instead of the
                            built-in Prisma applier (env: DATABASE_URL, SERVICE, MIGRATIONS_DIR)
  --external-config <file>  JSON/YAML with the admin and per-service URLs (--runtime external)
  --compose-file <file>     the compose files to merge, in order (repeatable; default: the
                            compose file and its override file beside it, as compose does)
  --profile <name>          compose profiles to activate (comma-separated, repeatable)
  --baseline <report.json>  fail only on findings that are not in this earlier JSON report
  --compose-command <cmd>   the Compose CLI of the compose runtime: "docker compose" (the v2
                            plugin) or docker-compose (standalone, v1); default: the variable
                            CIVIC_COMPOSE_COMMAND, else the first that answers, v2 first
  --timeout <seconds>       limit for each child process a check runs, 1 to 86400 (default 120)
  --ready-timeout <seconds> how long the compose runtime waits for every service to be running
                            and healthy, 1 to 86400 (default 240)
  --concurrency <n>         concurrent connections/processes, 1 to 256 (default 16)
  --allow-outside-links     read files reached through a symbolic link (or an absolute path)
                            outside the repository: compose, .env, env_file, init scripts,
                            secrets, build contexts (default: refused, exit 2)
  --verbose                 debug logs on stderr

init options (writes civic-conformance.yaml, or infra/service-registry.ts for the civic layout,
and .github/workflows/civic-conformance.yml; prints the next command):
  --force                   replace a file that exists and differs (default: keep it)
  --compose-file, --profile, --repo-root as for check

generate options:
  --write                   write the files into the product folder (default: print them)

Exit codes: 0 every check passed (skips allowed), 1 a check failed, 2 the input could not be read,
3 the environment could not run what was asked.
`;
