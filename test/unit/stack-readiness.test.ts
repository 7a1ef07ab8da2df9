/**
 * When the compose runtime counts a container as ready (pure; the real stacks are
 * test/docker/compose-versions.test.ts, where Compose v2's fast `up -d` let a service that exits at startup
 * be seen running at the first poll).
 */
import { describe, expect, it } from "vitest";
import { hasFailed, settledReadiness, SETTLE_MS, type ServiceContainer } from "../../src/docker/stack-state.js";

const container = (state: Partial<ServiceContainer>): ServiceContainer => ({
  id: "c0ffee",
  service: "billing",
  image: "node:20-alpine",
  status: "running",
  health: undefined,
  exitCode: 0,
  restartPolicy: "no",
  networks: ["civic-mini_default"],
  startedAt: "2026-01-01T00:00:00.000000001Z",
  ...state,
});

describe("settledReadiness", () => {
  it("counts a running container without a healthcheck only once polls have seen it running for SETTLE_MS", () => {
    const settled = settledReadiness();
    expect(settled(container({}), 1_000)).toBe(false);
    expect(settled(container({}), 1_000 + SETTLE_MS - 1)).toBe(false);
    expect(settled(container({}), 1_000 + SETTLE_MS)).toBe(true);
  });

  it("starts the wait again when the container restarted between polls", () => {
    const settled = settledReadiness(3_000);
    expect(settled(container({}), 0)).toBe(false);
    expect(settled(container({ startedAt: "2026-01-01T00:00:02Z" }), 3_000)).toBe(false);
    expect(settled(container({ startedAt: "2026-01-01T00:00:02Z" }), 6_000)).toBe(true);
  });

  it("takes a healthcheck's verdict at once, and a one-shot job that exited 0 as done", () => {
    const settled = settledReadiness();
    expect(settled(container({ health: "healthy" }), 0)).toBe(true);
    expect(settled(container({ health: "starting" }), 60_000)).toBe(false);
    expect(settled(container({ status: "exited", exitCode: 0 }), 0)).toBe(true);
  });

  it("never counts a service that exited with an error, which has failed for good without a restart policy", () => {
    const settled = settledReadiness();
    const exited = container({ status: "exited", exitCode: 3 });
    expect(settled(exited, 0)).toBe(false);
    expect(settled(exited, 60_000)).toBe(false);
    expect(hasFailed(exited)).toBe(true);
    expect(hasFailed(container({ status: "exited", exitCode: 3, restartPolicy: "unless-stopped" }))).toBe(false);
  });
});
