/**
 * No secret in any output, and nothing else masked. Secrets are VALUES known to be secret — a
 * password a credential uses (a URL's password, POSTGRES_PASSWORD and its `_FILE`, a variable used
 * as a password), a value generated for this run, a configured secret — registered here by whoever
 * reads them. A variable's name alone (KEY, TOKEN, SECRET) never makes its value a secret, and
 * booleans, numbers, `postgres`, service names and image names are never masked as bare strings.
 *
 * `maskSecrets` works on one plain string (a finding's message, a log line), never on serialised
 * JSON/XML/Markdown: the report model is masked value by value before any renderer escapes it
 * (`core/mask-report.ts`), so every format stays valid. Inside one string, known secrets go first
 * (longest first: `p@ss@tail` is hidden whole before any pattern could split it at an `@`), then the
 * patterns catch passwords never registered: URL userinfo, `password=` keywords, SQL `PASSWORD '…'`.
 */

const MASK = "***";

/** Why a value is a secret; decides how short it may be and still be masked as a bare string. */
export type SecretKind = "password" | "generated" | "configured";

const registered = new Map<string, SecretKind>();
const publicValues = new Set<string>();

/**
 * A password is masked from 3 characters up (1–2 would shred every word; the patterns still hide
 * it inside a URL or a `password=`); any other secret from 6.
 */
const MIN_LENGTH: Readonly<Record<SecretKind, number>> = { password: 3, generated: 6, configured: 6 };
/** Shorter secrets are masked only as a whole word, so `app` does not turn `happy` into `h***y`. */
const ANYWHERE_LENGTH = 8;
/** Words that are never secrets, whatever variable holds them. */
const NEVER_SECRET = /^(?:true|false|yes|no|on|off|null|none|postgres|postgresql)$/i;
/** Short numbers are ports, counts and ids; a password of six digits or more is still masked. */
const SHORT_NUMBER = /^[+-]?\d{1,5}(?:\.\d+)?$/;

/** Registers a secret value; values that must never be masked (see above) are ignored. */
export function registerSecret(value: string | undefined, kind: SecretKind = "password"): void {
  if (value === undefined || !maskable(value, kind)) return;
  // A value registered as a password stays one (the shorter minimum).
  if (registered.get(value) !== "password") registered.set(value, kind);
}

/**
 * Registers a value the product shows openly (a compose service name, a hostname, an image):
 * never masked as a bare string, even when some variable happens to hold it as a password.
 */
export function registerPublicValue(value: string | undefined): void {
  if (value) publicValues.add(value);
}

/** Every secret that is masked as a bare string (the action announces them with `core.setSecret`). */
export function registeredSecrets(): readonly string[] {
  return [...registered.keys()].filter((value) => !publicValues.has(value));
}

function maskable(value: string, kind: SecretKind): boolean {
  const trimmed = value.trim();
  return trimmed.length >= MIN_LENGTH[kind] && !NEVER_SECRET.test(trimmed) && !SHORT_NUMBER.test(trimmed);
}

/**
 * The password of a connection URL as written, for registration: everything between `user:` and
 * the LAST `@` (a password may hold `@`, spaces or quotes that a URL parser would stop at).
 * `undefined` when the value is no URL with a password, or the password is a bare `${VAR}`.
 */
export function urlPassword(value: string): string | undefined {
  const match = /^[a-z][a-z0-9+.-]*:\/\/[^:@/\s]*:(.*)@[^@]*$/is.exec(value.trim());
  const password = match?.[1];
  if (!password || VARIABLE_REFERENCE.test(password)) return undefined;
  return password;
}

// scheme://user: then the password up to the LAST `@` of the authority (which ends at `/`, `?`, `#`
// or whitespace), so a password holding `@` is hidden whole even when nobody registered it.
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^\s:/?#@'"`]*:)([^\s/?#]*)(@)/gi;
// `password=…` (libpq keyword strings, shell, .env) and `…PASSWORD: …` (a YAML key, upper case only,
// so prose such as "no password: …" stays): a quoted value (backslash escapes honoured) or a bare
// token. The quotes stay, so the text keeps its shape.
const QUOTED_OR_BARE = /("(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[^\s'"]+)/.source;
const KEYWORD_PASSWORD = new RegExp(`((?:password|passwd)\\s*=\\s*)${QUOTED_OR_BARE}`, "gi");
const YAML_PASSWORD = new RegExp(`(\\b[A-Z0-9_]*PASSWORD:[ \\t]*)${QUOTED_OR_BARE}`, "g");
// SQL `PASSWORD 'x'` literals; an empty literal (`''`) holds nothing and stays.
const SQL_PASSWORD = /(PASSWORD\s+)('(?:[^']|'')+')/gi;

// A bare `${VAR}` / `$VAR` reference names a secret without holding one: shown, so diffs stay
// readable. A reference with a default (`${VAR:-pw}`) may carry a literal password: masked.
const VARIABLE_REFERENCE = /^\$(\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)$/;

function maskValue(value: string): string {
  const inner = value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0] ? value.slice(1, -1) : value;
  if (inner === "" || inner === MASK || VARIABLE_REFERENCE.test(inner)) return value;
  return inner === value ? MASK : `${value[0]}${MASK}${value[0]}`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function replaceSecret(text: string, secret: string): string {
  if (!text.includes(secret)) return text;
  if (secret.length >= ANYWHERE_LENGTH) return text.split(secret).join(MASK);
  return text.replace(new RegExp(`(?<![A-Za-z0-9_])${escapeRegExp(secret)}(?![A-Za-z0-9_])`, "g"), MASK);
}

/** Masks every secret in one plain string (never in serialised JSON, XML or Markdown). */
export function maskSecrets(text: string): string {
  let masked = text;
  for (const secret of [...registeredSecrets()].sort((a, b) => b.length - a.length)) masked = replaceSecret(masked, secret);
  return masked
    .replace(URL_PASSWORD, (_m, head: string, password: string, at: string) =>
      password.length === 0 || VARIABLE_REFERENCE.test(password) ? `${head}${password}${at}` : `${head}${MASK}${at}`,
    )
    .replace(KEYWORD_PASSWORD, (_m, head: string, value: string) => `${head}${maskValue(value)}`)
    .replace(YAML_PASSWORD, (_m, head: string, value: string) => `${head}${maskValue(value)}`)
    .replace(SQL_PASSWORD, (_m, head: string) => `${head}'${MASK}'`);
}

/** An error's message (or the thrown value as text), masked: for warnings and teardown reports. */
export function maskedMessage(error: unknown): string {
  return maskSecrets(error instanceof Error ? error.message : String(error));
}

/** Masks the password of one connection URL, for display. */
export function redactUrl(url: string): string {
  return maskSecrets(url);
}
