import { describe, expect, it } from "vitest";
import { pendingCleanups, registerCleanup, runCleanups } from "../../src/core/cleanup-registry.js";

describe("cleanup registry", () => {
  it("runs registered cleanups newest first, once, and forgets them", async () => {
    const calls: string[] = [];
    registerCleanup(async () => void calls.push("server started first"));
    registerCleanup(async () => void calls.push("server started second"));
    expect(pendingCleanups()).toBe(2);
    expect(await runCleanups()).toEqual([]);
    expect(calls).toEqual(["server started second", "server started first"]);
    expect(pendingCleanups()).toBe(0);
    await runCleanups();
    expect(calls).toHaveLength(2);
  });

  it("does not run a cleanup that was unregistered", async () => {
    const calls: string[] = [];
    const unregister = registerCleanup(async () => void calls.push("stopped already"));
    unregister();
    unregister();
    expect(pendingCleanups()).toBe(0);
    await runCleanups();
    expect(calls).toEqual([]);
  });

  it("keeps running the other cleanups when one fails, and returns the failures", async () => {
    const calls: string[] = [];
    const failure = new Error("port still bound");
    registerCleanup(async () => void calls.push("temp dir removed"));
    registerCleanup(async () => {
      throw failure;
    });
    expect(await runCleanups()).toEqual([failure]);
    expect(calls).toEqual(["temp dir removed"]);
  });
});
