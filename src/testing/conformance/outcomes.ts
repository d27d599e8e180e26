import { describe, expect, it } from "vitest";
import type { Broadcast } from "../../core/types.js";
import type { BroadcastStore } from "../../ports/store.js";
import {
  allRecipients,
  at,
  claimRequest,
  delivered,
  failed,
  ids,
  LEASE_MS,
  mustGet,
  nonZero,
  numbered,
  record,
  retryAt,
  type StoreContext,
  sendingBroadcast,
  sum,
  T0,
} from "./fixtures.js";

/** The counters agree with the recipients they count, and with each other. */
export async function expectCountersAddUp(store: BroadcastStore, broadcastId: number): Promise<Broadcast> {
  const b = await mustGet(store, broadcastId);
  const recipients = await allRecipients(store, broadcastId);
  const inState = (state: string) => recipients.filter((r) => r.state === state).length;
  expect(b.totalRecipients).toBe(recipients.length);
  expect(b.sentCount).toBe(inState("sent"));
  expect(b.failedCount).toBe(inState("failed"));
  expect(b.sentCount + b.failedCount + inState("pending")).toBe(b.totalRecipients);
  expect(sum(Object.values(b.errorCounts))).toBe(b.failedCount);
  return b;
}

export function describeOutcomes(ctx: StoreContext): void {
  describe("recordOutcomes", () => {
    it("records a delivery: sent, attempts, message id, counted, no longer claimable", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(1));
      const claim = await ctx.store.claimRecipients(claimRequest(b.id));
      const result = await record(ctx.store, b.id, claim, [
        { type: "delivered", recipientId: 1, attempts: 2, messageId: 99 },
      ]);
      expect(result.type).toBe("recorded");
      const stored = await mustGet(ctx.store, b.id);
      if (result.type === "recorded") expect(result.broadcast).toEqual(stored);
      expect(stored).toMatchObject({ sentCount: 1, failedCount: 0 });
      expect(stored.version).toBeGreaterThan(b.version);
      const [recipient] = await allRecipients(ctx.store, b.id);
      expect(recipient).toMatchObject({ state: "sent", attempts: 2, messageId: 99 });
      const later = await ctx.store.claimRecipients(claimRequest(b.id, { now: at(LEASE_MS * 10) }));
      expect(later.recipients).toEqual([]);
    });

    it("records a failure: failed, its error and class, counted per error and logged", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(1));
      const claim = await ctx.store.claimRecipients(claimRequest(b.id));
      await record(ctx.store, b.id, claim, [failed(1, "Bad Request: chat not found")], { now: at(5) });
      const stored = await mustGet(ctx.store, b.id);
      expect(stored).toMatchObject({
        sentCount: 0,
        failedCount: 1,
        errorCounts: { "Bad Request: chat not found": 1 },
        errorLog: [{ recipientId: 1, error: "Bad Request: chat not found", timestamp: at(5) }],
      });
      const [recipient] = await allRecipients(ctx.store, b.id);
      expect(recipient).toMatchObject({
        state: "failed",
        attempts: 1,
        lastError: "Bad Request: chat not found",
        lastErrorKind: "permanent",
      });
    });

    it("records a retry: still pending and uncounted, with its error and next attempt", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(1));
      const claim = await ctx.store.claimRecipients(claimRequest(b.id));
      await record(ctx.store, b.id, claim, [retryAt(1, at(60_000))]);
      expect(await mustGet(ctx.store, b.id)).toMatchObject({ sentCount: 0, failedCount: 0, errorLog: [] });
      const [recipient] = await allRecipients(ctx.store, b.id);
      expect(recipient).toMatchObject({
        state: "pending",
        attempts: 1,
        lastError: "Network timeout",
        lastErrorKind: "transient",
        nextAttemptAt: at(60_000),
      });
    });

    it("clears the last error and its kind when a recipient is delivered after failing", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(4));
      const first = await ctx.store.claimRecipients(claimRequest(b.id));
      await record(ctx.store, b.id, first, [
        retryAt(1, at(1_000)),
        retryAt(2, at(1_000), "Too Many Requests: retry after 1"),
        failed(3, "Forbidden: bot was blocked by the user", "permanent"),
        failed(4, "Network timeout", "transient"),
      ]);
      const retried = await ctx.store.claimRecipients(claimRequest(b.id, { now: at(1_000) }));
      expect(retried.recipients.map((r) => [r.recipientId, r.lastError !== null])).toEqual([
        [1, true],
        [2, true],
      ]);
      await record(ctx.store, b.id, retried, [delivered(1), retryAt(2, at(2_000))], { now: at(1_000) });
      const reset = await ctx.store.resetFailedRecipients({
        broadcastId: b.id,
        includePermanent: true,
        allowedFrom: ["sending"],
        patch: { status: "sending" },
      });
      expect(reset).toMatchObject({ type: "reset", retriedCount: 2 });
      const again = await ctx.store.claimRecipients(claimRequest(b.id, { now: at(2_000) }));
      expect(ids(again.recipients).sort()).toEqual([2, 3, 4]);
      await record(ctx.store, b.id, again, [delivered(2), delivered(3), delivered(4)], { now: at(2_000) });
      const recipients = await allRecipients(ctx.store, b.id);
      expect(recipients.map((r) => [r.recipientId, r.state, r.lastError, r.lastErrorKind])).toEqual([
        [1, "sent", null, null],
        [2, "sent", null, null],
        [3, "sent", null, null],
        [4, "sent", null, null],
      ]);
      const stored = await expectCountersAddUp(ctx.store, b.id);
      expect(stored).toMatchObject({ sentCount: 4, failedCount: 0 });
    });

    it("records a release: pending exactly as claimed, and claimable again at once", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(1));
      const claim = await ctx.store.claimRecipients(claimRequest(b.id));
      await record(ctx.store, b.id, claim, [{ type: "released", recipientId: 1 }]);
      const [recipient] = await allRecipients(ctx.store, b.id);
      expect(recipient).toMatchObject({
        state: "pending",
        attempts: 0,
        lastError: null,
        nextAttemptAt: null,
      });
      const again = await ctx.store.claimRecipients(claimRequest(b.id));
      expect(again.recipients.map((r) => [r.recipientId, r.takenOver])).toEqual([[1, false]]);
    });

    it("refuses a stale epoch whole, naming the lost recipients, and changes nothing", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(3));
      const slow = await ctx.store.claimRecipients(claimRequest(b.id, { limit: 2 }));
      const current = await ctx.store.claimRecipients(claimRequest(b.id, { limit: 1 }));
      const takeover = await ctx.store.claimRecipients(
        claimRequest(b.id, { owner: "worker-b", now: at(LEASE_MS), limit: 1 }),
      );
      const lostId = takeover.recipients[0]!.recipientId;
      const keptId = slow.recipients.find((r) => r.recipientId !== lostId)!.recipientId;
      const before = await mustGet(ctx.store, b.id);
      const refused = await record(ctx.store, b.id, slow, [delivered(keptId), delivered(lostId)], {
        now: at(LEASE_MS),
      });
      expect(refused).toEqual({ type: "lease_lost", recipientIds: [lostId] });
      expect(await mustGet(ctx.store, b.id)).toEqual(before);
      expect((await allRecipients(ctx.store, b.id)).every((r) => r.state === "pending")).toBe(true);
      expect(current.recipients).toHaveLength(1);
      const newer = await record(ctx.store, b.id, takeover, [delivered(lostId)], { now: at(LEASE_MS) });
      expect(newer.type).toBe("recorded");
    });

    it("refuses outcomes for recipients the epoch never held, or already recorded", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(2));
      const claim = await ctx.store.claimRecipients(claimRequest(b.id, { limit: 1 }));
      const heldId = claim.recipients[0]!.recipientId;
      const otherId = heldId === 1 ? 2 : 1;
      expect(await record(ctx.store, b.id, claim, [delivered(otherId)])).toEqual({
        type: "lease_lost",
        recipientIds: [otherId],
      });
      expect((await record(ctx.store, b.id, claim, [delivered(heldId)])).type).toBe("recorded");
      expect(await record(ctx.store, b.id, claim, [delivered(heldId)])).toEqual({
        type: "lease_lost",
        recipientIds: [heldId],
      });
      expect(await mustGet(ctx.store, b.id)).toMatchObject({ sentCount: 1 });
    });

    it("answers not_found for a broadcast that does not exist", async () => {
      const result = await ctx.store.recordOutcomes({
        broadcastId: 987_654_321,
        epoch: 1,
        outcomes: [delivered(1)],
        now: T0,
        errorLogLimit: 10,
      });
      expect(result).toEqual({ type: "not_found" });
    });

    it("keeps the counters adding up after mixed outcomes", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(12));
      const claim = await ctx.store.claimRecipients(claimRequest(b.id, { limit: 10 }));
      await record(ctx.store, b.id, claim, [
        delivered(1),
        delivered(2),
        delivered(3),
        failed(4, "Forbidden: bot was blocked by the user"),
        failed(5, "Forbidden: bot was blocked by the user"),
        failed(6, "Bad Request: chat not found"),
        failed(7, "Network timeout", "transient"),
        retryAt(8, at(60_000)),
        { type: "released", recipientId: 9 },
        delivered(10),
      ]);
      const stored = await expectCountersAddUp(ctx.store, b.id);
      expect(stored).toMatchObject({ sentCount: 4, failedCount: 4 });
      expect(nonZero(stored.errorCounts)).toEqual({
        "Forbidden: bot was blocked by the user": 2,
        "Bad Request: chat not found": 1,
        "Network timeout": 1,
      });
    });

    it("keeps only the newest errorLogLimit entries in the error log, newest last", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(5));
      const first = await ctx.store.claimRecipients(claimRequest(b.id, { limit: 3 }));
      await record(ctx.store, b.id, first, [failed(1, "e1"), failed(2, "e2"), failed(3, "e3")], {
        now: at(1),
        errorLogLimit: 3,
      });
      const second = await ctx.store.claimRecipients(claimRequest(b.id, { limit: 2, now: at(2) }));
      await record(ctx.store, b.id, second, [failed(4, "e4"), failed(5, "e5")], {
        now: at(2),
        errorLogLimit: 3,
      });
      const stored = await mustGet(ctx.store, b.id);
      expect(stored.errorLog).toEqual([
        { recipientId: 3, error: "e3", timestamp: at(1) },
        { recipientId: 4, error: "e4", timestamp: at(2) },
        { recipientId: 5, error: "e5", timestamp: at(2) },
      ]);
      expect(stored.failedCount).toBe(5);
      expect(sum(Object.values(stored.errorCounts))).toBe(5);
    });
  });
}
