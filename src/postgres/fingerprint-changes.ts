import type { Fingerprint, FingerprintEntry } from "./catalog-fingerprint.js";

/** Categories whose entries are privileges: added means granted, removed means revoked. */
const PRIVILEGE_CATEGORIES = new Set(["privilege on database", "privilege on this database", "membership"]);

/**
 * Says in plain words what differs between two fingerprints, one phrase per change, in a stable
 * order: "created role y", "granted CONNECT on database x to PUBLIC", "altered role z (createdb false → true)".
 */
export function describeChanges(before: Fingerprint, after: Fingerprint): string[] {
  const changes: string[] = [];
  for (const [id, entry] of after) {
    const previous = before.get(id);
    if (!previous) changes.push(added(entry));
    else if (previous.value !== entry.value) changes.push(altered(previous, entry));
  }
  for (const [id, entry] of before) if (!after.has(id)) changes.push(removed(entry));
  return changes;
}

/** Categories whose value is short and is the point: "created setting for role x (work_mem=8MB)". */
const VALUE_CATEGORIES = new Set(["setting", "server setting"]);

function added(entry: FingerprintEntry): string {
  if (PRIVILEGE_CATEGORIES.has(entry.category)) return `granted ${privilegeWords(entry)}`;
  if (VALUE_CATEGORIES.has(entry.category)) return `created ${entry.category} ${entry.key} (${entry.value})`;
  return `created ${entry.category} ${entry.key}`;
}

function removed(entry: FingerprintEntry): string {
  if (PRIVILEGE_CATEGORIES.has(entry.category)) return `revoked ${privilegeWords(entry)}`;
  return `dropped ${entry.category} ${entry.key}`;
}

function privilegeWords(entry: FingerprintEntry): string {
  // Keys already read as a phrase: "CONNECT on database x to PUBLIC", "role a to b".
  const subject = entry.category === "membership" ? `membership in role ${entry.key}` : entry.key;
  return entry.value ? `${subject} (${entry.value})` : subject;
}

function altered(previous: FingerprintEntry, current: FingerprintEntry): string {
  if (VALUE_CATEGORIES.has(current.category)) {
    return `altered ${current.category} ${current.key} (${previous.value} → ${current.value})`;
  }
  return `altered ${current.category} ${current.key} (${attributeChanges(previous.value, current.value)})`;
}

/** Values are `name value, name value` lists; names the attributes that differ. */
function attributeChanges(before: string, after: string): string {
  const split = (value: string) => new Map(value.split(", ").map((part) => splitOnce(part)));
  const was = split(before);
  const now = split(after);
  const differences: string[] = [];
  for (const [name, value] of now) {
    const old = was.get(name);
    if (old === value) continue;
    // Password hashes are salted: say that it changed, never what to.
    if (name === "password") differences.push("password changed");
    else differences.push(old === undefined ? `${name} ${value}` : `${name} ${old} → ${value}`);
  }
  return differences.length > 0 ? differences.join(", ") : "definition changed";
}

function splitOnce(part: string): [string, string] {
  // The attribute name is everything before the last space-separated token.
  const cut = part.lastIndexOf(" ");
  return cut === -1 ? [part, ""] : [part.slice(0, cut), part.slice(cut + 1)];
}
