import { describe, expect, it } from "vitest";
import { progressOf } from "../../src/core/progress.js";
import type { Broadcast } from "../../src/core/types.js";
import { MESSAGES } from "../../src/http/messages.js";
import { broadcastJson, cancelJson, progressJson, retryJson } from "../../src/http/serialize.js";

const seedBroadcast: Broadcast = {
  id: 1,
  status: "sending",
  message: { text: "Hello" },
  createdBy: null,
  errorThreshold: null,
  totalRecipients: 500,
  sentCount: 450,
  failedCount: 40,
  errorCounts: { "Network timeout": 40 },
  errorLog: [{ recipientId: 123, error: "Network timeout", timestamp: new Date("2024-01-01T10:00:00Z") }],
  pauseReason: null,
  createdAt: new Date("2024-12-27T10:00:00Z"),
  scheduledAt: null,
  sentAt: new Date("2024-12-27T10:05:00Z"),
  completedAt: null,
  version: 3,
};

describe("wire shapes", () => {
  it("progress has the seed's fields, in snake_case, with UTC timestamps", () => {
    expect(progressJson(progressOf(seedBroadcast))).toEqual({
      id: 1,
      status: "sending",
      total_recipients: 500,
      sent_count: 450,
      failed_count: 40,
      pending_count: 10,
      cancelled_count: 0,
      progress_pct: 90,
      processed_pct: 98,
      error_summary: "40 failed: Network timeout",
      created_at: "2024-12-27T10:00:00.000Z",
      scheduled_at: null,
      sent_at: "2024-12-27T10:05:00.000Z",
      completed_at: null,
    });
  });

  it("a broadcast's full view adds its error counters and log", () => {
    const full = broadcastJson(seedBroadcast, "full");
    expect(full).toMatchObject({
      id: 1,
      message: { text: "Hello", parse_mode: null },
      pending_count: 10,
      error_counts: { "Network timeout": 40 },
      error_log: [{ recipient_id: 123, error: "Network timeout", timestamp: "2024-01-01T10:00:00.000Z" }],
    });
    const summary = broadcastJson(seedBroadcast, "summary");
    expect(summary).not.toHaveProperty("error_log");
    expect(summary).not.toHaveProperty("error_counts");
  });

  it("cancel repeats success and message inside data, as the seed does", () => {
    expect(
      cancelJson({ broadcastId: 1, cancelledAt: new Date("2024-12-27T10:30:00Z") }, MESSAGES.ru),
    ).toEqual({
      success: true,
      message: "Рассылка успешно отменена",
      broadcast_id: 1,
      cancelled_at: "2024-12-27T10:30:00.000Z",
    });
  });

  it("retry reports counts and the task id, or that nobody needed a retry", () => {
    expect(
      retryJson({ broadcastId: 1, retriedCount: 40, skippedCount: 2, taskId: "job-1" }, MESSAGES.ru),
    ).toEqual({
      success: true,
      message: "Повторная отправка запущена для 40 получателей",
      retried_count: 40,
      skipped_count: 2,
      broadcast_id: 1,
      task_id: "job-1",
    });
    expect(
      retryJson({ broadcastId: 1, retriedCount: 0, skippedCount: 0, taskId: null }, MESSAGES.en),
    ).toEqual({
      success: true,
      message: "No failed recipients to retry",
      retried_count: 0,
      skipped_count: 0,
      broadcast_id: 1,
      task_id: null,
    });
  });

  it("lists error texts named after Object.prototype's members like any other", () => {
    const errorCounts = JSON.parse('{"__proto__": 1, "constructor": 2, "toString": 3}');
    const json = JSON.parse(
      JSON.stringify(broadcastJson({ ...seedBroadcast, failedCount: 6, errorCounts }, "full")),
    );
    expect(Object.entries(json.error_counts)).toEqual([
      ["__proto__", 1],
      ["constructor", 2],
      ["toString", 3],
    ]);
    expect(json.error_summary).toBe("6 failed: toString (3), constructor (2), __proto__ (1)");
  });
});
