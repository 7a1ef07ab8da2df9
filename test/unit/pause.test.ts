import { describe, expect, it } from "vitest";
import { pause } from "../../src/core/concurrency.js";

describe("pause", () => {
  it("resolves after the time", async () => {
    const started = performance.now();
    await pause(30);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
  });

  it("rejects with the run's reason when cancelled during the pause, not Node's generic AbortError", async () => {
    const controller = new AbortController();
    const pausing = pause(60_000, controller.signal);
    setTimeout(() => controller.abort(new Error("cancelled by the test")), 10);
    await expect(pausing).rejects.toThrow(/^cancelled by the test$/);
  });

  it("rejects at once with the reason when already cancelled", async () => {
    const controller = new AbortController();
    controller.abort(new Error("cancelled before"));
    await expect(pause(60_000, controller.signal)).rejects.toThrow(/^cancelled before$/);
  });
});
