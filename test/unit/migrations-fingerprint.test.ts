import { describe, expect, it } from "vitest";
import type { Fingerprint, FingerprintEntry } from "../../src/postgres/catalog-fingerprint.js";
import { describeChanges } from "../../src/postgres/fingerprint-changes.js";

function fingerprint(...entries: FingerprintEntry[]): Fingerprint {
  return new Map(entries.map((entry) => [`${entry.category}\u0000${entry.key}`, entry]));
}

const role = (key: string, value: string): FingerprintEntry => ({ category: "role", key, value });

describe("describing catalog fingerprint changes", () => {
  it("names created, altered and dropped roles, and which attributes changed", () => {
    const before = fingerprint(role("billing", "superuser false, createdb false, password 1a2b3c4d"), role("old", "superuser false"));
    const after = fingerprint(role("billing", "superuser false, createdb true, password 9f8e7d6c"), role("reporting", "superuser false"));
    expect(describeChanges(before, after)).toEqual([
      "altered role billing (createdb false → true, password changed)",
      "created role reporting",
      "dropped role old",
    ]);
  });

  it("words privileges as grants and revocations", () => {
    const connect = { category: "privilege on database", key: "CONNECT on database billing to PUBLIC", value: "" };
    const membership = { category: "membership", key: "reporting to billing", value: "admin false, inherit true, set true" };
    expect(describeChanges(fingerprint(), fingerprint(connect, membership))).toEqual([
      "granted CONNECT on database billing to PUBLIC",
      "granted membership in role reporting to billing (admin false, inherit true, set true)",
    ]);
    expect(describeChanges(fingerprint(connect), fingerprint())).toEqual(["revoked CONNECT on database billing to PUBLIC"]);
  });

  it("finds no change between equal fingerprints", () => {
    const table = { category: "table", key: 'public."Invoice"', value: "owner billing acl default persistence p rls false/false" };
    expect(describeChanges(fingerprint(table), fingerprint({ ...table }))).toEqual([]);
  });
});
