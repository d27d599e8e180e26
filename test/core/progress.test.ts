import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import {
  errorSummary,
  pendingCount,
  processedPct,
  progressOf,
  progressPct,
} from "../../src/core/progress.js";
import { aBroadcast, LATER, T0 } from "./fixtures.js";

/** Counters as a store keeps them: sent + failed never exceed the total. */
const countersArb = fc
  .nat(1_000_000)
  .chain((total) =>
    fc
      .integer({ min: 0, max: total })
      .chain((sentCount) =>
        fc
          .integer({ min: 0, max: total - sentCount })
          .map((failedCount) => ({ totalRecipients: total, sentCount, failedCount })),
      ),
  );

/** Counters with at most two recipients left, where flooring matters most. */
const nearlyDoneArb = fc
  .record({ total: fc.integer({ min: 1, max: 1_000_000 }), pending: fc.nat(2), failedShare: fc.nat(100) })
  .map(({ total, pending, failedShare }) => {
    const processed = Math.max(0, total - pending);
    const failedCount = Math.floor((processed * failedShare) / 100);
    return { totalRecipients: total, sentCount: processed - failedCount, failedCount };
  });
const anyCountersArb = fc.oneof(countersArb, nearlyDoneArb);

describe("progress (§4)", () => {
  it("counts the recipients a cancel left unsent as cancelled, and none otherwise", () => {
    const counters = { totalRecipients: 10, sentCount: 4, failedCount: 1 };
    expect(progressOf(aBroadcast({ ...counters, status: "cancelled" }))).toMatchObject({
      pendingCount: 5,
      cancelledCount: 5,
    });
    for (const status of ["sending", "paused", "draft"] as const) {
      expect(progressOf(aBroadcast({ ...counters, status })).cancelledCount).toBe(0);
    }
  });

  it("reproduces the seed's example: 500 total, 450 sent, 40 failed → 90 %, 10 pending", () => {
    const progress = progressOf(
      aBroadcast({
        status: "sending",
        totalRecipients: 500,
        sentCount: 450,
        failedCount: 40,
        errorCounts: { "Network timeout": 40 },
        sentAt: T0,
        scheduledAt: null,
      }),
    );
    expect(progress).toEqual({
      id: 7,
      status: "sending",
      totalRecipients: 500,
      sentCount: 450,
      failedCount: 40,
      pendingCount: 10,
      cancelledCount: 0,
      progressPct: 90,
      processedPct: 98,
      errorSummary: "40 failed: Network timeout",
      createdAt: T0,
      scheduledAt: null,
      sentAt: T0,
      completedAt: null,
    });
  });

  it("carries the broadcast's timestamps through", () => {
    const progress = progressOf(aBroadcast({ scheduledAt: LATER, sentAt: LATER, completedAt: LATER }));
    expect(progress).toMatchObject({ createdAt: T0, scheduledAt: LATER, sentAt: LATER, completedAt: LATER });
  });

  it("shows 0 % of nothing for a broadcast with zero recipients", () => {
    const progress = progressOf(aBroadcast({ totalRecipients: 0 }));
    expect(progress).toMatchObject({ pendingCount: 0, progressPct: 0, processedPct: 0, errorSummary: null });
  });

  it("floors: 999 of 1,000 is 99 %, never rounded up to 100", () => {
    const counters = { totalRecipients: 1000, sentCount: 999, failedCount: 0 };
    expect(progressPct(counters)).toBe(99);
    expect(processedPct(counters)).toBe(99);
    expect(processedPct({ ...counters, failedCount: 1 })).toBe(100);
  });

  it("counts a third as 33 % and two thirds as 66 %", () => {
    expect(progressPct({ totalRecipients: 3, sentCount: 1, failedCount: 0 })).toBe(33);
    expect(progressPct({ totalRecipients: 3, sentCount: 2, failedCount: 0 })).toBe(66);
  });

  test.prop([anyCountersArb])("counters always add up: sent + failed + pending = total", (c) => {
    expect(c.sentCount + c.failedCount + pendingCount(c)).toBe(c.totalRecipients);
    expect(pendingCount(c)).toBeGreaterThanOrEqual(0);
  });

  test.prop([anyCountersArb])("percentages stay within 0..100 and progress never exceeds processed", (c) => {
    expect(progressPct(c)).toBeGreaterThanOrEqual(0);
    expect(progressPct(c)).toBeLessThanOrEqual(processedPct(c));
    expect(processedPct(c)).toBeLessThanOrEqual(100);
  });

  test.prop([anyCountersArb])("processed is 100 % exactly when nothing is pending", (c) => {
    fc.pre(c.totalRecipients > 0);
    expect(processedPct(c) === 100).toBe(pendingCount(c) === 0);
  });

  test.prop([anyCountersArb])("progress is 100 % exactly when everyone was delivered", (c) => {
    fc.pre(c.totalRecipients > 0);
    expect(progressPct(c) === 100).toBe(c.sentCount === c.totalRecipients);
  });
});

describe("errorSummary (§4)", () => {
  it("is null when nothing failed", () => {
    expect(errorSummary(0, {})).toBeNull();
    expect(errorSummary(0, { "Network timeout": 0 })).toBeNull();
  });

  it("names the one text that explains every failure, without a count", () => {
    expect(errorSummary(40, { "Network timeout": 40 })).toBe("40 failed: Network timeout");
  });

  it("lists several texts most frequent first, each with its count", () => {
    const counts = {
      "Bad Request: chat not found": 1,
      "Network timeout": 30,
      "Forbidden: bot was blocked by the user": 9,
    };
    expect(errorSummary(40, counts)).toBe(
      "40 failed: Network timeout (30), Forbidden: bot was blocked by the user (9), Bad Request: chat not found (1)",
    );
  });

  it('shows at most three texts, then ", +N more"', () => {
    const counts = { a: 5, b: 4, c: 3, d: 2, e: 1 };
    expect(errorSummary(15, counts)).toBe("15 failed: a (5), b (4), c (3), +2 more");
  });

  it("orders texts of equal frequency by text, so the summary does not flicker", () => {
    expect(errorSummary(4, { zeta: 2, alpha: 2 })).toBe("4 failed: alpha (2), zeta (2)");
  });

  it("ignores texts whose count went back to zero (a retry took them out)", () => {
    expect(errorSummary(3, { gone: 0, "Network timeout": 3 })).toBe("3 failed: Network timeout");
  });

  it("gives the count when one text explains only some failures (counters set by hand)", () => {
    expect(errorSummary(10, { "Network timeout": 4 })).toBe("10 failed: Network timeout (4)");
  });

  it("says only how many failed when no text is known", () => {
    expect(errorSummary(3, {})).toBe("3 failed");
  });

  test.prop([fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 50 }))])(
    "always starts with the failed count, shows at most three texts and says how many more exist",
    (counts) => {
      const failed = Object.values(counts).reduce((sum, n) => sum + n, 0);
      fc.pre(failed > 0);
      const summary = errorSummary(failed, counts) ?? "";
      expect(summary.startsWith(`${failed} failed`)).toBe(true);
      const kinds = Object.keys(counts).length;
      if (kinds > 3) expect(summary.endsWith(`, +${kinds - 3} more`)).toBe(true);
      else expect(summary).not.toMatch(/, \+\d+ more$/);
    },
  );
});
