/**
 * Which images are PostgreSQL, and which entrypoint contract they follow. Decided on the
 * repository's last path segment, after the registry host, tag and digest are stripped, so a
 * mirror (`registry.example.com/library/postgres:16`) counts like the original.
 */

/**
 * `official`: docker-library/postgres's `docker-entrypoint.sh` (POSTGRES_USER/PASSWORD/DB, init
 * scripts as the superuser); the PostGIS, TimescaleDB, pgvector and Supabase images build on it.
 * `bitnami`: bitnami's own scripts (POSTGRESQL_USERNAME/PASSWORD/DATABASE, POSTGRESQL_POSTGRES_PASSWORD).
 */
export type PostgresFlavor = "official" | "bitnami";

const OFFICIAL_REPOSITORIES = new Set(["postgres", "postgis", "timescaledb", "timescaledb-ha", "pgvector"]);
const BITNAMI_REPOSITORIES = new Set(["postgresql", "postgresql-repmgr"]);
/** Databases that share the init directory's name (`/docker-entrypoint-initdb.d`) but are not PostgreSQL. */
const OTHER_ENGINES = new Set(["mysql", "mariadb", "mongo", "mongodb", "percona", "percona-server", "mysql-server", "clickhouse-server"]);

/** The repository's last path segment, lower-cased: `docker.io/postgis/postgis:16-3.4@sha256:…` → `postgis`. */
export function imageRepositoryName(image: string): string {
  const withoutDigest = image.trim().split("@")[0]!;
  const segments = withoutDigest.split("/");
  const last = segments.at(-1)!;
  // A `:` in the last segment is the tag; one in an earlier segment is a registry port.
  const colon = last.indexOf(":");
  return (colon < 0 ? last : last.slice(0, colon)).toLowerCase();
}

export function postgresFlavorOf(image: string): PostgresFlavor | undefined {
  const name = imageRepositoryName(image);
  if (OFFICIAL_REPOSITORIES.has(name)) return "official";
  if (BITNAMI_REPOSITORIES.has(name)) return "bitnami";
  return undefined;
}

/** An image known to be another database engine that also reads `/docker-entrypoint-initdb.d`. */
export function isOtherDatabaseImage(image: string): boolean {
  return OTHER_ENGINES.has(imageRepositoryName(image));
}
