import { describe, expect, it } from "vitest";
import type { Broadcast, BroadcastStatus, RecipientId } from "../../core/types.js";
import type { ResetFailedRequest } from "../../ports/store.js";
import {
  allRecipients,
  claimRequest,
  delivered,
  failed,
  ids,
  mustGet,
  nonZero,
  numbered,
  processAll,
  type StoreContext,
  sendingBroadcast,
  T0,
} from "./fixtures.js";
import { expectCountersAddUp } from "./outcomes.js";

const PERMANENT = "Forbidden: bot was blocked by the user";
const TRANSIENT = "Network timeout";

const resetRequest = (
  broadcastId: number,
  overrides: Partial<ResetFailedRequest> = {},
): ResetFailedRequest => ({
  broadcastId,
  includePermanent: false,
  allowedFrom: ["completed", "failed"],
  patch: { status: "sending", completedAt: null },
  ...overrides,
});

export function describeReset(ctx: StoreContext): void {
  /**
   * Six recipients: 1–2 delivered, 3–4 failed transiently (after their retries), 5–6 failed
   * permanently; the broadcast ends `completed`.
   */
  async function completedWithFailures(): Promise<Broadcast> {
    const b = await sendingBroadcast(ctx.store, numbered(6));
    await processAll(ctx.store, b.id, (r) => {
      const id = r.recipientId as number;
      if (id <= 2) return delivered(id);
      if (id > 4) return failed(id, PERMANENT, "permanent");
      return { type: "failed", recipientId: id, attempts: 4, error: TRANSIENT, kind: "transient" };
    });
    const done = await ctx.store.updateBroadcast(b.id, "sending", { status: "completed", completedAt: T0 });
    if (done.type !== "updated") throw new Error("could not complete the broadcast");
    return done.broadcast;
  }

  const stateOf = async (broadcastId: number): Promise<Map<RecipientId, string>> =>
    new Map((await allRecipients(ctx.store, broadcastId)).map((r) => [r.recipientId, r.state]));

  describe("resetFailedRecipients", () => {
    it("turns transient failures back to pending from attempt 0, keeping their error, and applies the patch", async () => {
      const b = await completedWithFailures();
      const result = await ctx.store.resetFailedRecipients(resetRequest(b.id));
      expect(result).toMatchObject({ type: "reset", retriedCount: 2, skippedCount: 2 });
      const stored = await expectCountersAddUp(ctx.store, b.id);
      if (result.type === "reset") expect(result.broadcast).toEqual(stored);
      expect(stored).toMatchObject({ status: "sending", completedAt: null, sentCount: 2, failedCount: 2 });
      expect(stored.version).toBeGreaterThan(b.version);
      expect(nonZero(stored.errorCounts)).toEqual({ [PERMANENT]: 2 });
      const recipients = await allRecipients(ctx.store, b.id);
      expect(recipients.filter((r) => r.state === "pending")).toEqual([
        expect.objectContaining({ recipientId: 3, attempts: 0, lastError: TRANSIENT, nextAttemptAt: null }),
        expect.objectContaining({ recipientId: 4, attempts: 0, lastError: TRANSIENT, nextAttemptAt: null }),
      ]);
    });

    it("retries permanent failures too with includePermanent", async () => {
      const b = await completedWithFailures();
      const result = await ctx.store.resetFailedRecipients(resetRequest(b.id, { includePermanent: true }));
      expect(result).toMatchObject({ type: "reset", retriedCount: 4, skippedCount: 0 });
      const stored = await expectCountersAddUp(ctx.store, b.id);
      expect(stored).toMatchObject({ failedCount: 0, sentCount: 2 });
      expect(nonZero(stored.errorCounts)).toEqual({});
    });

    it("makes the reset recipients claimable by an onlyFailed pass", async () => {
      const b = await completedWithFailures();
      await ctx.store.resetFailedRecipients(resetRequest(b.id));
      const claim = await ctx.store.claimRecipients(claimRequest(b.id, { onlyFailed: true }));
      expect([...ids(claim.recipients)].sort()).toEqual([3, 4]);
      expect(claim.recipients.every((r) => !r.takenOver && r.attempts === 0)).toBe(true);
    });

    it("changes nothing and retries 0 when nothing is retryable, whatever the status", async () => {
      const clean = await sendingBroadcast(ctx.store, numbered(2));
      await processAll(ctx.store, clean.id, (r) => delivered(r.recipientId));
      const onlyPermanent = await sendingBroadcast(ctx.store, numbered(1));
      await processAll(ctx.store, onlyPermanent.id, (r) => failed(r.recipientId, PERMANENT, "permanent"));
      for (const [id, skipped] of [
        [clean.id, 0],
        [onlyPermanent.id, 1],
      ] as const) {
        const before = await mustGet(ctx.store, id);
        const result = await ctx.store.resetFailedRecipients(
          resetRequest(id, { allowedFrom: ["completed"] }),
        );
        expect(result).toMatchObject({ type: "reset", retriedCount: 0, skippedCount: skipped });
        expect(await mustGet(ctx.store, id)).toEqual(before);
      }
    });

    it("refuses with the actual status when something is retryable but the status is not allowed", async () => {
      const b = await completedWithFailures();
      const statesBefore = await stateOf(b.id);
      const result = await ctx.store.resetFailedRecipients(resetRequest(b.id, { allowedFrom: ["failed"] }));
      expect(result).toEqual({ type: "status_changed", actual: "completed" });
      expect(await mustGet(ctx.store, b.id)).toEqual(b);
      expect(await stateOf(b.id)).toEqual(statesBefore);
    });

    it("retries each recipient once when several resets race", async () => {
      const b = await completedWithFailures();
      const results = await Promise.all(
        Array.from({ length: 5 }, () => ctx.store.resetFailedRecipients(resetRequest(b.id))),
      );
      const retried = results.map((r) => (r.type === "reset" ? r.retriedCount : 0));
      expect(retried.reduce((a, n) => a + n, 0)).toBe(2);
      expect(retried.filter((n) => n > 0)).toEqual([2]);
      const actual: (BroadcastStatus | undefined)[] = results.map((r) =>
        r.type === "status_changed" ? r.actual : undefined,
      );
      expect(actual.every((s) => s === undefined || s === "sending")).toBe(true);
      const stored = await expectCountersAddUp(ctx.store, b.id);
      expect(stored).toMatchObject({ status: "sending", failedCount: 2 });
    });

    it("answers not_found for a broadcast that does not exist", async () => {
      expect(await ctx.store.resetFailedRecipients(resetRequest(987_654_321))).toEqual({ type: "not_found" });
    });
  });
}
