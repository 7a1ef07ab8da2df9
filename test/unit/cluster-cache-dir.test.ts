/**
 * Where the pristine clusters are cached. On a GitHub runner the cache must not outlive the job: the
 * pull request's own code runs as the same OS user and could leave an altered cluster for a later job
 * (of this repository or another, on a self-hosted runner) to start from.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { clusterCacheDir } from "../../src/runtime/embedded/cluster-cache.js";

describe("the cluster cache's folder", () => {
  it("on a runner is the job's RUNNER_TEMP, never the tool cache that self-hosted runners keep between jobs", () => {
    expect(clusterCacheDir({ RUNNER_TEMP: "/runner/_temp", RUNNER_TOOL_CACHE: "/runner/_tool", HOME: "/home/runner" })).toBe(join("/runner/_temp", "civic-conformance-clusters"));
  });

  it("elsewhere is the user's cache dir, XDG_CACHE_HOME first", () => {
    expect(clusterCacheDir({ XDG_CACHE_HOME: "/x", HOME: "/home/u" })).toBe(join("/x", "civic-conformance", "clusters"));
    expect(clusterCacheDir({ HOME: "/home/u" })).toBe(join("/home/u", ".cache", "civic-conformance", "clusters"));
  });

  it("is the folder CIVIC_CLUSTER_CACHE_DIR names, and none with CIVIC_NO_CLUSTER_CACHE=1", () => {
    expect(clusterCacheDir({ CIVIC_CLUSTER_CACHE_DIR: "/cache", RUNNER_TEMP: "/runner/_temp" })).toBe("/cache");
    expect(clusterCacheDir({ CIVIC_NO_CLUSTER_CACHE: "1", CIVIC_CLUSTER_CACHE_DIR: "/cache", HOME: "/home/u" })).toBeUndefined();
    expect(clusterCacheDir({})).toBeUndefined();
  });
});
