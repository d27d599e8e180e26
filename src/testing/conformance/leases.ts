import { describe, expect, it } from "vitest";
import type { RenewLeaseRequest } from "../../ports/store.js";
import {
  at,
  claimRequest,
  delivered,
  draftInput,
  ids,
  LEASE_MS,
  mustGet,
  numbered,
  record,
  retryAt,
  type StoreContext,
  sendingBroadcast,
  T0,
} from "./fixtures.js";

const renewal = (
  broadcastId: number,
  epoch: number,
  recipientIds: RenewLeaseRequest["recipientIds"],
  overrides: Partial<RenewLeaseRequest> = {},
): RenewLeaseRequest => ({
  broadcastId,
  epoch,
  recipientIds,
  now: T0,
  leaseMs: LEASE_MS,
  ...overrides,
});

export function describeLeases(ctx: StoreContext): void {
  describe("renewLease", () => {
    it("keeps a renewed claim from being taken over when its first lease would have expired", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(3));
      const held = await ctx.store.claimRecipients(claimRequest(b.id));
      const renewed = await ctx.store.renewLease(
        renewal(b.id, held.epoch, ids(held.recipients), { now: at(LEASE_MS - 1000) }),
      );
      expect(renewed.lost).toEqual([]);
      const attempt = await ctx.store.claimRecipients(
        claimRequest(b.id, { owner: "worker-b", now: at(LEASE_MS + 1) }),
      );
      expect(attempt.recipients).toEqual([]);
      expect(attempt.retryAt).toEqual(at(2 * LEASE_MS - 1000));
      const afterRenewal = await ctx.store.claimRecipients(
        claimRequest(b.id, { owner: "worker-b", now: at(2 * LEASE_MS - 1000) }),
      );
      expect(afterRenewal.recipients.map((r) => r.takenOver)).toEqual([true, true, true]);
    });

    it("lets the holder record its outcomes after renewing", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(2));
      const held = await ctx.store.claimRecipients(claimRequest(b.id));
      await ctx.store.renewLease(renewal(b.id, held.epoch, ids(held.recipients), { now: at(1000) }));
      const result = await record(ctx.store, b.id, held, [delivered(1), delivered(2)], { now: at(2000) });
      expect(result.type).toBe("recorded");
      expect((await mustGet(ctx.store, b.id)).sentCount).toBe(2);
    });

    it("answers the recipients no longer held: recorded meanwhile, or taken over after expiry", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(4));
      const first = await ctx.store.claimRecipients(claimRequest(b.id, { limit: 2 }));
      const second = await ctx.store.claimRecipients(claimRequest(b.id, { limit: 2 }));
      await record(ctx.store, b.id, first, [delivered(1)]);
      const takeover = await ctx.store.claimRecipients(
        claimRequest(b.id, { owner: "worker-b", now: at(LEASE_MS), limit: 10 }),
      );
      expect(ids(takeover.recipients).sort()).toEqual([2, 3, 4]);
      const late = await ctx.store.renewLease(renewal(b.id, first.epoch, [1, 2], { now: at(LEASE_MS) }));
      expect([...late.lost].sort()).toEqual([1, 2]);
      const lateToo = await ctx.store.renewLease(renewal(b.id, second.epoch, [3, 4], { now: at(LEASE_MS) }));
      expect([...lateToo.lost].sort()).toEqual([3, 4]);
    });

    it("may renew an expired lease nobody has taken over yet", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(2));
      const held = await ctx.store.claimRecipients(claimRequest(b.id));
      const late = await ctx.store.renewLease(
        renewal(b.id, held.epoch, ids(held.recipients), { now: at(LEASE_MS + 5000) }),
      );
      expect(late.lost).toEqual([]);
      const attempt = await ctx.store.claimRecipients(
        claimRequest(b.id, { owner: "worker-b", now: at(LEASE_MS + 6000) }),
      );
      expect(attempt.recipients).toEqual([]);
      const result = await record(ctx.store, b.id, held, [delivered(1), delivered(2)], {
        now: at(LEASE_MS + 7000),
      });
      expect(result.type).toBe("recorded");
    });

    it("changes neither counters nor version, and treats an unknown broadcast as holding nothing", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(2));
      const held = await ctx.store.claimRecipients(claimRequest(b.id));
      const before = await mustGet(ctx.store, b.id);
      await ctx.store.renewLease(renewal(b.id, held.epoch, ids(held.recipients), { now: at(1000) }));
      const after = await mustGet(ctx.store, b.id);
      expect(after.version).toBe(before.version);
      expect(after.sentCount + after.failedCount).toBe(0);
      const unknown = await ctx.store.renewLease(renewal(b.id + 1000, 1, [1]));
      expect(unknown.lost).toEqual([1]);
    });
  });

  describe("getActivity", () => {
    it("is null for a broadcast that does not exist", async () => {
      expect(await ctx.store.getActivity(424242, T0)).toBeNull();
    });

    it("reports fresh work as claimable and nobody holding it", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(3));
      expect(await ctx.store.getActivity(b.id, T0)).toEqual({ leased: false, claimable: true });
    });

    it("reports a live claim as leased, and an expired one as claimable again", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(2));
      await ctx.store.claimRecipients(claimRequest(b.id));
      expect(await ctx.store.getActivity(b.id, at(LEASE_MS - 1))).toEqual({ leased: true, claimable: false });
      expect(await ctx.store.getActivity(b.id, at(LEASE_MS))).toEqual({ leased: false, claimable: true });
    });

    it("sees a renewed lease as still live", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(2));
      const held = await ctx.store.claimRecipients(claimRequest(b.id));
      await ctx.store.renewLease(renewal(b.id, held.epoch, ids(held.recipients), { now: at(LEASE_MS - 1) }));
      expect(await ctx.store.getActivity(b.id, at(LEASE_MS + 1))).toEqual({ leased: true, claimable: false });
    });

    it("reports nothing once everyone is recorded, and a retry only once it is due", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(2));
      const held = await ctx.store.claimRecipients(claimRequest(b.id));
      await record(ctx.store, b.id, held, [delivered(1), retryAt(2, at(60_000))]);
      expect(await ctx.store.getActivity(b.id, at(1000))).toEqual({ leased: false, claimable: false });
      expect(await ctx.store.getActivity(b.id, at(60_000))).toEqual({ leased: false, claimable: true });
      const retried = await ctx.store.claimRecipients(claimRequest(b.id, { now: at(60_000) }));
      await record(ctx.store, b.id, retried, [delivered(2)], { now: at(60_000) });
      expect(await ctx.store.getActivity(b.id, at(61_000))).toEqual({ leased: false, claimable: false });
    });

    it("sees work left beside a live claim: both leased and claimable", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(4));
      await ctx.store.claimRecipients(claimRequest(b.id, { limit: 2 }));
      expect(await ctx.store.getActivity(b.id, at(1))).toEqual({ leased: true, claimable: true });
    });

    it("is not fooled by a draft's recipients: they are claimable once it sends, and nobody holds them", async () => {
      const created = await ctx.store.createBroadcast(draftInput(), numbered(2));
      expect(await ctx.store.getActivity(created.id, T0)).toEqual({ leased: false, claimable: true });
    });
  });
}
