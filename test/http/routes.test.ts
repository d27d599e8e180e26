import { describe, expect, it } from "vitest";
import { matchRoute, normalizeBasePath } from "../../src/http/routes.js";

const base = "/api/admin/broadcasts";

describe("routing", () => {
  it.each([
    ["GET", "/api/admin/broadcasts", "list", undefined],
    ["GET", "/api/admin/broadcasts/", "list", undefined],
    ["POST", "/api/admin/broadcasts/", "create", undefined],
    ["GET", "/api/admin/broadcasts/7", "get", "7"],
    ["GET", "/api/admin/broadcasts/7/", "get", "7"],
    ["POST", "/api/admin/broadcasts/7/send/", "start", "7"],
    ["POST", "/api/admin/broadcasts/7/schedule", "schedule", "7"],
    ["POST", "/api/admin/broadcasts/7/unschedule/", "unschedule", "7"],
    ["POST", "/api/admin/broadcasts/7/pause/", "pause", "7"],
    ["POST", "/api/admin/broadcasts/7/resume/", "resume", "7"],
    ["POST", "/api/admin/broadcasts/7/cancel/", "cancel", "7"],
    ["POST", "/api/admin/broadcasts/7/retry/", "retry", "7"],
    ["GET", "/api/admin/broadcasts/7/recipients/", "recipients", "7"],
    ["GET", "/api/admin/broadcasts/7/progress/", "progress", "7"],
    ["GET", "/api/admin/broadcasts/7/progress/stream/", "progress_stream", "7"],
    ["GET", "/api/admin/broadcasts/abc/progress", "progress", "abc"],
  ])("%s %s -> %s", (method, path, operation, idSegment) => {
    expect(matchRoute(base, path, method)).toEqual({ type: "matched", operation, idSegment });
  });

  it.each([
    ["DELETE", "/api/admin/broadcasts/7/", ["GET"]],
    ["GET", "/api/admin/broadcasts/7/cancel/", ["POST"]],
    ["PUT", "/api/admin/broadcasts/", ["GET", "POST"]],
    ["constructor", "/api/admin/broadcasts/", ["GET", "POST"]],
  ])("%s %s is not allowed; Allow: %j", (method, path, allowed) => {
    expect(matchRoute(base, path, method)).toEqual({ type: "method_not_allowed", allowed });
  });

  it.each([
    "/",
    "/api/admin/broadcastsX",
    "/api/admin",
    "/api/admin/broadcasts//",
    "/api/admin/broadcasts/7//progress",
    "/api/admin/broadcasts/7/unknown/",
    "/api/admin/broadcasts/7/progress/stream/more",
  ])("%s is no route", (path) => {
    expect(matchRoute(base, path, "GET")).toEqual({ type: "no_route" });
  });

  it("mounts at the root", () => {
    expect(matchRoute(normalizeBasePath("/"), "/7/progress", "GET")).toEqual({
      type: "matched",
      operation: "progress",
      idSegment: "7",
    });
  });
});
