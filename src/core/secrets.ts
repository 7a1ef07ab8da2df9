/**
 * No secret in any output. Two nets: every password inside a URL (`scheme://user:password@host`)
 * is masked wherever it appears, and every value registered here (generated passwords, passwords
 * read from `.env` or the compose file) is masked as a plain string too.
 */

const MASK = "***";
const registered = new Set<string>();

/** Values shorter than this are not masked as bare strings: masking "1" would shred every number. */
const MIN_BARE_SECRET_LENGTH = 4;

export function registerSecret(value: string | undefined): void {
  if (value && value.length >= MIN_BARE_SECRET_LENGTH) registered.add(value);
}

export function registeredSecrets(): readonly string[] {
  return [...registered];
}

// user:password@ in any scheme://, e.g. postgresql://svc:pw@host/db; the password may be empty.
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^\s:/@'"`]*:)([^\s@'"`]*)(@)/gi;
// `password=...` in libpq keyword/value connection strings and in `PASSWORD 'x'` SQL literals.
const KEYWORD_PASSWORD = /(password\s*=\s*)('[^']*'|[^\s'"]+)/gi;
const SQL_PASSWORD = /(PASSWORD\s+)('(?:[^']|'')*')/gi;

// A bare `${VAR}` / `$VAR` reference names a secret without holding one: shown, so diffs stay
// readable. A reference with a default (`${VAR:-pw}`) may carry a literal password: masked.
const VARIABLE_REFERENCE = /^\$(\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)$/;

export function maskSecrets(text: string): string {
  let masked = text
    .replace(URL_PASSWORD, (_m, head: string, password: string, at: string) =>
      password.length === 0 || VARIABLE_REFERENCE.test(password) ? `${head}${password}${at}` : `${head}${MASK}${at}`,
    )
    .replace(KEYWORD_PASSWORD, (_m, head: string) => `${head}${MASK}`)
    .replace(SQL_PASSWORD, (_m, head: string) => `${head}'${MASK}'`);
  // Longest first, so a secret that contains another is masked whole.
  for (const secret of [...registered].sort((a, b) => b.length - a.length)) {
    if (masked.includes(secret)) masked = masked.split(secret).join(MASK);
  }
  return masked;
}

/** Masks the password of one connection URL, for display. */
export function redactUrl(url: string): string {
  return maskSecrets(url);
}
