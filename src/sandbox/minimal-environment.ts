/**
 * The environment product code runs with (the registry module, the generator, init `*.sh` scripts,
 * the migrate command): an allow-list, never the caller's environment minus a few names. In the
 * action the caller's environment holds the token input (`INPUT_GITHUB-TOKEN`), `ACTIONS_*` runtime
 * tokens and every secret the job exported; on a laptop, cloud keys and `SSH_AUTH_SOCK`. None of it
 * is the product's business. `NODE_EXTRA_CA_CERTS` and proxy settings are left out too: nothing a
 * check runs needs the network.
 */

type Environment = Readonly<Record<string, string | undefined>>;

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface MinimalEnvironmentOptions {
  /** A throwaway, empty HOME (a folder of the run): nothing of the caller's dotfiles or credentials. */
  readonly home: string;
  /** TMPDIR for the program, a folder of the run; unset leaves the system default. */
  readonly tmpdir?: string;
  /** What this program needs besides (e.g. DATABASE_URL for the migrate command); wins over the rest. */
  readonly extra?: Readonly<Record<string, string>>;
}

/** PATH, HOME, LANG / LC_ALL, TZ, TMPDIR, plus `extra`: the whole environment of a product program. */
export function minimalEnvironment(caller: Environment, { home, tmpdir, extra = {} }: MinimalEnvironmentOptions): Record<string, string> {
  const passed: Record<string, string> = { PATH: caller.PATH || DEFAULT_PATH, HOME: home, LANG: caller.LANG || "C.UTF-8" };
  for (const name of ["LC_ALL", "TZ"] as const) {
    const value = caller[name];
    if (value) passed[name] = value;
  }
  if (tmpdir !== undefined) passed.TMPDIR = tmpdir;
  return { ...passed, ...extra };
}
