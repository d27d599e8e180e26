import { describe, expect, it } from "vitest";
import type { RecipientId } from "../../core/types.js";
import {
  at,
  claimRequest,
  delivered,
  draftInput,
  failed,
  ids,
  LEASE_MS,
  numbered,
  processAll,
  record,
  retryAt,
  type StoreContext,
  sendingBroadcast,
  T0,
} from "./fixtures.js";

export function describeClaims(ctx: StoreContext): void {
  describe("claimRecipients", () => {
    it("claims at most limit pending recipients, each of this broadcast, none twice", async () => {
      const other = await sendingBroadcast(ctx.store, numbered(3));
      const b = await sendingBroadcast(ctx.store, numbered(5));
      const first = await ctx.store.claimRecipients(claimRequest(b.id, { limit: 3 }));
      const second = await ctx.store.claimRecipients(claimRequest(b.id, { limit: 3 }));
      expect(first.recipients).toHaveLength(3);
      expect(second.recipients).toHaveLength(2);
      const all = [...ids(first.recipients), ...ids(second.recipients)];
      expect([...all].sort()).toEqual([1, 2, 3, 4, 5]);
      expect([...first.recipients, ...second.recipients].every((r) => r.broadcastId === b.id)).toBe(true);
      expect(first.recipients.every((r) => !r.takenOver && r.state === "pending")).toBe(true);
      expect((await ctx.store.claimRecipients(claimRequest(other.id))).recipients).toHaveLength(3);
    });

    it("issues strictly increasing epochs", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(4));
      const epochs: number[] = [];
      for (let i = 0; i < 4; i += 1) {
        epochs.push((await ctx.store.claimRecipients(claimRequest(b.id, { limit: 1 }))).epoch);
      }
      for (let i = 1; i < epochs.length; i += 1) expect(epochs[i]).toBeGreaterThan(epochs[i - 1]!);
    });

    it("never hands one recipient to two owners claiming at once", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(100));
      const claims = await Promise.all(
        ["a", "b", "c", "d", "e"].map((owner) =>
          ctx.store.claimRecipients(claimRequest(b.id, { owner, limit: 30 })),
        ),
      );
      const claimed = claims.flatMap((c) => ids(c.recipients));
      expect(new Set(claimed).size).toBe(claimed.length);
      expect(claimed).toHaveLength(100);
      expect(new Set(claims.map((c) => c.epoch)).size).toBe(claims.length);
    });

    it("keeps a live lease: nobody else claims its recipients before it expires", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(2));
      const held = await ctx.store.claimRecipients(claimRequest(b.id));
      const justBefore = await ctx.store.claimRecipients(
        claimRequest(b.id, { owner: "worker-b", now: at(LEASE_MS - 1) }),
      );
      expect(held.recipients).toHaveLength(2);
      expect(justBefore.recipients).toEqual([]);
      expect(justBefore.retryAt).toEqual(at(LEASE_MS));
    });

    it("takes over an expired lease with a newer epoch, marking the recipients as taken over", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(3));
      const crashed = await ctx.store.claimRecipients(claimRequest(b.id, { limit: 2 }));
      expect(crashed.recipients.map((r) => r.takenOver)).toEqual([false, false]);
      const takeover = await ctx.store.claimRecipients(
        claimRequest(b.id, { owner: "worker-b", now: at(LEASE_MS), limit: 10 }),
      );
      expect(takeover.epoch).toBeGreaterThan(crashed.epoch);
      const byId = new Map(takeover.recipients.map((r) => [r.recipientId, r.takenOver]));
      expect(byId).toEqual(
        new Map<RecipientId, boolean>([
          [1, true],
          [2, true],
          [3, false],
        ]),
      );
    });

    it("leaves alone a recipient between two it claims when another worker holds its lease", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(3));
      const first = await ctx.store.claimRecipients(claimRequest(b.id));
      const released = (recipientId: RecipientId) => ({ type: "released", recipientId }) as const;
      expect(await record(ctx.store, b.id, first, [released(1), released(3)])).toMatchObject({
        type: "recorded",
      });
      const second = await ctx.store.claimRecipients(claimRequest(b.id, { owner: "worker-b" }));
      expect(ids(second.recipients)).toEqual([1, 3]);
      expect(await record(ctx.store, b.id, first, [delivered(2)])).toMatchObject({ type: "recorded" });
      expect(await record(ctx.store, b.id, second, [delivered(1), delivered(3)])).toMatchObject({
        type: "recorded",
      });
    });

    it("leaves alone a recipient between two it claims when its retry is not due yet", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(3));
      const first = await ctx.store.claimRecipients(claimRequest(b.id));
      await record(ctx.store, b.id, first, [
        { type: "released", recipientId: 1 },
        retryAt(2, at(10 * LEASE_MS)),
        { type: "released", recipientId: 3 },
      ]);
      const second = await ctx.store.claimRecipients(claimRequest(b.id, { owner: "worker-b" }));
      expect(ids(second.recipients)).toEqual([1, 3]);
      await record(ctx.store, b.id, second, [delivered(1), delivered(3)]);
      const afterLease = await ctx.store.claimRecipients(claimRequest(b.id, { now: at(LEASE_MS) }));
      expect(afterLease).toMatchObject({ recipients: [], retryAt: at(10 * LEASE_MS) });
      const due = await ctx.store.claimRecipients(claimRequest(b.id, { now: at(10 * LEASE_MS) }));
      expect(due.recipients).toEqual([expect.objectContaining({ recipientId: 2, takenOver: false })]);
    });

    it("says when to look again: the earliest retry or lease expiry, or null when nobody is pending", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(3));
      const claim = await ctx.store.claimRecipients(claimRequest(b.id, { limit: 2 }));
      await record(ctx.store, b.id, claim, [retryAt(1, at(120_000)), retryAt(2, at(60_000))]);
      const third = await ctx.store.claimRecipients(claimRequest(b.id));
      expect(ids(third.recipients)).toEqual([3]);
      const nothingYet = await ctx.store.claimRecipients(claimRequest(b.id, { now: at(1) }));
      expect(nothingYet.recipients).toEqual([]);
      expect(nothingYet.retryAt).toEqual(at(LEASE_MS));
      await record(ctx.store, b.id, third, [delivered(3)]);
      const waiting = await ctx.store.claimRecipients(claimRequest(b.id, { now: at(2) }));
      expect(waiting).toMatchObject({ recipients: [], retryAt: at(60_000) });

      await processAll(ctx.store, b.id, (r) => delivered(r.recipientId), at(120_000));
      const done = await ctx.store.claimRecipients(claimRequest(b.id, { now: at(120_001) }));
      expect(done).toMatchObject({ recipients: [], retryAt: null });
    });

    it("answers an empty claim with retryAt null for a broadcast without recipients", async () => {
      const b = await sendingBroadcast(ctx.store, []);
      expect(await ctx.store.claimRecipients(claimRequest(b.id))).toMatchObject({
        recipients: [],
        retryAt: null,
      });
    });

    it("claims a recipient waiting for a retry only once its time has come", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(1));
      const claim = await ctx.store.claimRecipients(claimRequest(b.id));
      await record(ctx.store, b.id, claim, [retryAt(1, at(60_000))]);
      expect((await ctx.store.claimRecipients(claimRequest(b.id, { now: at(59_999) }))).recipients).toEqual(
        [],
      );
      const due = await ctx.store.claimRecipients(claimRequest(b.id, { now: at(60_000) }));
      expect(due.recipients).toEqual([
        expect.objectContaining({
          recipientId: 1,
          state: "pending",
          attempts: 1,
          lastError: "Network timeout",
          lastErrorKind: "transient",
          nextAttemptAt: at(60_000),
          takenOver: false,
        }),
      ]);
    });

    it("with onlyFailed, claims only pending recipients that carry an error", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(4));
      const claim = await ctx.store.claimRecipients(claimRequest(b.id, { limit: 2 }));
      await record(ctx.store, b.id, claim, [retryAt(1, at(0)), { type: "released", recipientId: 2 }]);
      const onlyFailed = await ctx.store.claimRecipients(claimRequest(b.id, { onlyFailed: true }));
      expect(ids(onlyFailed.recipients)).toEqual([1]);
      const everyone = await ctx.store.claimRecipients(claimRequest(b.id));
      expect([...ids(everyone.recipients)].sort()).toEqual([2, 3, 4]);
      const expired = await ctx.store.claimRecipients(
        claimRequest(b.id, { onlyFailed: true, now: at(LEASE_MS) }),
      );
      expect(ids(expired.recipients)).toEqual([1]);
    });

    it("answers, when it answers a status at all, the broadcast's status as the claim found it", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(3));
      const sending = await ctx.store.claimRecipients(claimRequest(b.id, { limit: 1 }));
      await ctx.store.updateBroadcast(b.id, "sending", { status: "cancelled", completedAt: T0 });
      const cancelled = await ctx.store.claimRecipients(claimRequest(b.id, { limit: 1 }));
      const missing = await ctx.store.claimRecipients(claimRequest(b.id + 1000));
      if (sending.status !== undefined) {
        expect([sending.status, cancelled.status, missing.status]).toEqual(["sending", "cancelled", null]);
      }
      expect(missing).toMatchObject({ recipients: [], retryAt: null });
    });

    it("claims nothing from a broadcast whose recipients are all done", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(2));
      await processAll(ctx.store, b.id, (r) => (r.recipientId === 1 ? delivered(1) : failed(2)));
      const claim = await ctx.store.claimRecipients(claimRequest(b.id, { now: at(LEASE_MS * 10) }));
      expect(claim).toMatchObject({ recipients: [], retryAt: null });
      const drafts = await ctx.store.createBroadcast(draftInput(), []);
      expect((await ctx.store.claimRecipients(claimRequest(drafts.id, { now: T0 }))).recipients).toEqual([]);
    });
  });
}
