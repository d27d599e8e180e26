import { describe, expect, it } from "vitest";
import type { Broadcast } from "../../core/types.js";
import { WEBHOOK_EVENT_TYPES, type WebhookDelivery } from "../../core/webhooks.js";
import type {
  ClaimWebhookDeliveriesRequest,
  RecordWebhookDeliveryRequest,
} from "../../ports/webhook-outbox.js";
import {
  at,
  delivered,
  draftInput,
  failed,
  LEASE_MS,
  numbered,
  processAll,
  type StoreContext,
  T0,
} from "./fixtures.js";

const ENDPOINT = "https://receiver.example/hooks";

/** Registers before T0, so every event of a test (timed T0 or later) is the endpoint's. */
const claimHooks = (
  overrides: Partial<ClaimWebhookDeliveriesRequest> = {},
): ClaimWebhookDeliveriesRequest => ({
  endpointId: ENDPOINT,
  events: WEBHOOK_EVENT_TYPES,
  since: at(-60_000),
  owner: "dispatcher-1",
  limit: 100,
  now: at(1_000),
  leaseMs: LEASE_MS,
  ...overrides,
});

const deliveredAttempt = (
  delivery: WebhookDelivery,
  epoch: number,
  now = at(2_000),
): RecordWebhookDeliveryRequest => ({
  endpointId: delivery.endpointId,
  deliveryId: delivery.id,
  epoch,
  now,
  outcome: { type: "delivered", statusCode: 204 },
});

export function describeWebhookOutbox(ctx: StoreContext): void {
  async function started(recipients = 2): Promise<Broadcast> {
    const created = await ctx.store.createBroadcast(draftInput(), numbered(recipients));
    const result = await ctx.store.updateBroadcast(
      created.id,
      "draft",
      { status: "sending", sentAt: T0 },
      T0,
    );
    if (result.type !== "updated") throw new Error("could not start the broadcast");
    return result.broadcast;
  }

  async function completed(): Promise<Broadcast> {
    const b = await started(2);
    await processAll(ctx.store, b.id, (r) =>
      r.recipientId === 1 ? delivered(1) : failed(r.recipientId, "Bad Request: chat not found", "permanent"),
    );
    const done = await ctx.store.updateBroadcast(
      b.id,
      "sending",
      { status: "completed", completedAt: at(500) },
      at(500),
    );
    if (done.type !== "updated") throw new Error("could not complete the broadcast");
    return done.broadcast;
  }

  describe("webhook outbox", () => {
    it("journals every status change with its event, both statuses, its time and the counters after it", async () => {
      const b = await completed();
      const claim = await ctx.store.claimWebhookDeliveries(claimHooks());
      expect(claim.deliveries.map((d) => d.event.type)).toEqual(["broadcast.started", "broadcast.completed"]);
      const [start, done] = claim.deliveries;
      expect(start).toMatchObject({
        endpointId: ENDPOINT,
        state: "pending",
        attempts: 0,
        nextAttemptAt: null,
        lastError: null,
        lastStatusCode: null,
        deliveredAt: null,
        event: {
          broadcastId: b.id,
          previousStatus: "draft",
          status: "sending",
          occurredAt: T0,
          totalRecipients: 2,
          sentCount: 0,
          failedCount: 0,
        },
      });
      expect(done?.event).toMatchObject({
        previousStatus: "sending",
        status: "completed",
        occurredAt: at(500),
        sentCount: 1,
        failedCount: 1,
      });
      expect(done!.event.id).toBeGreaterThan(start!.event.id);
      expect(done!.id).toBeGreaterThan(start!.id);
    });

    it("journals nothing for a refused compare-and-set, scheduling or a change that keeps the status", async () => {
      const b = await ctx.store.createBroadcast(draftInput(), numbered(1));
      await ctx.store.updateBroadcast(b.id, "draft", { status: "scheduled", scheduledAt: at(9_000) }, T0);
      await ctx.store.updateBroadcast(b.id, "scheduled", { status: "draft", scheduledAt: null }, T0);
      expect(await ctx.store.updateBroadcast(b.id, "sending", { status: "paused" }, T0)).toMatchObject({
        type: "status_changed",
      });
      await ctx.store.updateBroadcast(b.id, "draft", { status: "sending", sentAt: T0 }, T0);
      await ctx.store.updateBroadcast(b.id, "sending", { sentCount: 0, failedCount: 0 }, T0);
      const claim = await ctx.store.claimWebhookDeliveries(claimHooks());
      expect(claim.deliveries.map((d) => d.event.type)).toEqual(["broadcast.started"]);
    });

    it("journals a manual retry's return to sending as a new start, and pause, resume, cancel by name", async () => {
      const b = await completed();
      const reset = await ctx.store.resetFailedRecipients({
        broadcastId: b.id,
        includePermanent: true,
        allowedFrom: ["completed", "failed"],
        patch: { status: "sending", completedAt: null },
        at: at(600),
      });
      expect(reset).toMatchObject({ type: "reset", retriedCount: 1 });
      await ctx.store.updateBroadcast(
        b.id,
        "sending",
        { status: "paused", pauseReason: { type: "manual" } },
        at(700),
      );
      await ctx.store.updateBroadcast(b.id, "paused", { status: "sending", pauseReason: null }, at(800));
      await ctx.store.updateBroadcast(
        b.id,
        "sending",
        { status: "cancelled", completedAt: at(900) },
        at(900),
      );
      const claim = await ctx.store.claimWebhookDeliveries(claimHooks());
      expect(claim.deliveries.map((d) => [d.event.type, d.event.previousStatus])).toEqual([
        ["broadcast.started", "draft"],
        ["broadcast.completed", "sending"],
        ["broadcast.started", "completed"],
        ["broadcast.paused", "sending"],
        ["broadcast.resumed", "paused"],
        ["broadcast.cancelled", "sending"],
      ]);
      expect(claim.deliveries[2]?.event).toMatchObject({ occurredAt: at(600), sentCount: 1, failedCount: 0 });
    });

    it("gives an endpoint only the event types it asks for, and passes the others over for good", async () => {
      await completed();
      const only = await ctx.store.claimWebhookDeliveries(claimHooks({ events: ["broadcast.completed"] }));
      expect(only.deliveries.map((d) => d.event.type)).toEqual(["broadcast.completed"]);
      const widened = await ctx.store.claimWebhookDeliveries(claimHooks({ now: at(600_000) }));
      expect(widened.deliveries.map((d) => d.event.type)).toEqual(["broadcast.completed"]);
    });

    it("starts a new endpoint at the events of its `since`, and keeps endpoints apart", async () => {
      const b = await completed();
      const late = await ctx.store.claimWebhookDeliveries(claimHooks({ endpointId: "late", since: at(100) }));
      expect(late.deliveries.map((d) => d.event.type)).toEqual(["broadcast.completed"]);
      const early = await ctx.store.claimWebhookDeliveries(claimHooks({ endpointId: "early" }));
      expect(early.deliveries.map((d) => d.event.type)).toEqual(["broadcast.started", "broadcast.completed"]);
      await ctx.store.updateBroadcast(b.id, "completed", { status: "cancelled" }, at(20_000_000));
      // Registered: a later `since` no longer moves where the endpoint stands.
      const next = await ctx.store.claimWebhookDeliveries(
        claimHooks({ endpointId: "late", since: at(30_000_000), now: at(2_000) }),
      );
      expect(next.deliveries.map((d) => d.event.type)).toEqual(["broadcast.cancelled"]);
    });

    it("never hands out a delivery under two live leases; epochs increase; an expired lease is taken over", async () => {
      await completed();
      const first = await ctx.store.claimWebhookDeliveries(claimHooks({ limit: 1 }));
      const second = await ctx.store.claimWebhookDeliveries(claimHooks());
      expect(first.deliveries).toHaveLength(1);
      expect(second.deliveries).toHaveLength(1);
      expect(second.deliveries[0]!.id).not.toBe(first.deliveries[0]!.id);
      expect(second.epoch).toBeGreaterThan(first.epoch);
      const none = await ctx.store.claimWebhookDeliveries(claimHooks());
      expect(none.deliveries).toEqual([]);
      expect(none.retryAt).toEqual(at(1_000 + LEASE_MS));
      const later = await ctx.store.claimWebhookDeliveries(claimHooks({ now: at(1_000 + LEASE_MS) }));
      expect(later.deliveries).toHaveLength(2);
      expect(
        await ctx.store.recordWebhookDelivery(deliveredAttempt(first.deliveries[0]!, first.epoch)),
      ).toEqual({
        type: "lease_lost",
      });
    });

    it("records attempts: a retry waits until its time, a delivery settles and leaves the pending set", async () => {
      await completed();
      const claim = await ctx.store.claimWebhookDeliveries(claimHooks({ limit: 1 }));
      const delivery = claim.deliveries[0]!;
      const retried = await ctx.store.recordWebhookDelivery({
        endpointId: ENDPOINT,
        deliveryId: delivery.id,
        epoch: claim.epoch,
        now: at(2_000),
        outcome: { type: "retry", nextAttemptAt: at(60_000), error: "HTTP 503", statusCode: 503 },
      });
      expect(retried).toMatchObject({
        type: "recorded",
        delivery: { state: "pending", attempts: 1, lastError: "HTTP 503", lastStatusCode: 503 },
      });
      if (retried.type !== "recorded") return;
      expect(retried.delivery.nextAttemptAt).toEqual(at(60_000));
      expect(retried.delivery.lastAttemptAt).toEqual(at(2_000));
      // Recorded once: the same epoch cannot record again.
      expect(await ctx.store.recordWebhookDelivery(deliveredAttempt(delivery, claim.epoch))).toEqual({
        type: "lease_lost",
      });

      const before = await ctx.store.claimWebhookDeliveries(claimHooks({ now: at(59_999) }));
      expect(before.deliveries.map((d) => d.id)).not.toContain(delivery.id);
      const due = await ctx.store.claimWebhookDeliveries(claimHooks({ now: at(60_000) }));
      expect(due.deliveries.map((d) => d.id)).toEqual([delivery.id]);
      const done = await ctx.store.recordWebhookDelivery(deliveredAttempt(delivery, due.epoch, at(61_000)));
      expect(done).toMatchObject({
        type: "recorded",
        delivery: {
          state: "delivered",
          attempts: 2,
          lastError: null,
          lastStatusCode: 204,
          nextAttemptAt: null,
        },
      });
      if (done.type === "recorded") expect(done.delivery.deliveredAt).toEqual(at(61_000));
      expect(await ctx.store.recordWebhookDelivery(deliveredAttempt(delivery, due.epoch))).toEqual({
        type: "lease_lost",
      });
      const after = await ctx.store.claimWebhookDeliveries(claimHooks({ now: at(10_000_000) }));
      expect(after.deliveries.map((d) => d.id)).not.toContain(delivery.id);
    });

    it("settles a delivery given up as failed; with nothing pending, retryAt is null", async () => {
      await started(1);
      const claim = await ctx.store.claimWebhookDeliveries(claimHooks());
      const gaveUp = await ctx.store.recordWebhookDelivery({
        endpointId: ENDPOINT,
        deliveryId: claim.deliveries[0]!.id,
        epoch: claim.epoch,
        now: at(2_000),
        outcome: { type: "failed", error: "timed out after 10000 ms", statusCode: null },
      });
      expect(gaveUp).toMatchObject({
        type: "recorded",
        delivery: {
          state: "failed",
          attempts: 1,
          lastError: "timed out after 10000 ms",
          lastStatusCode: null,
        },
      });
      expect(await ctx.store.claimWebhookDeliveries(claimHooks())).toMatchObject({
        deliveries: [],
        retryAt: null,
      });
    });

    it("hands out the most overdue first: a waiting retry that came due goes before fresh events after it", async () => {
      const b = await started(1);
      const claim = await ctx.store.claimWebhookDeliveries(claimHooks());
      await ctx.store.recordWebhookDelivery({
        endpointId: ENDPOINT,
        deliveryId: claim.deliveries[0]!.id,
        epoch: claim.epoch,
        now: at(2_000),
        outcome: { type: "retry", nextAttemptAt: at(5_000), error: "HTTP 500", statusCode: 500 },
      });
      await ctx.store.updateBroadcast(b.id, "sending", { status: "paused" }, at(6_000));
      const next = await ctx.store.claimWebhookDeliveries(claimHooks({ now: at(7_000) }));
      expect(next.deliveries.map((d) => d.event.type)).toEqual(["broadcast.started", "broadcast.paused"]);
      const waiting = await ctx.store.claimWebhookDeliveries(claimHooks({ now: at(7_000) }));
      expect(waiting).toMatchObject({ deliveries: [] });
      expect(waiting.retryAt).toEqual(at(7_000 + LEASE_MS));
    });

    it("refuses a record for an unknown delivery or another endpoint's", async () => {
      await started(1);
      const claim = await ctx.store.claimWebhookDeliveries(claimHooks());
      const delivery = claim.deliveries[0]!;
      expect(
        await ctx.store.recordWebhookDelivery({
          ...deliveredAttempt(delivery, claim.epoch),
          deliveryId: 987_654,
        }),
      ).toEqual({ type: "not_found" });
      expect(
        await ctx.store.recordWebhookDelivery({
          ...deliveredAttempt(delivery, claim.epoch),
          endpointId: "other",
        }),
      ).toEqual({ type: "not_found" });
    });

    it("lists the delivery log newest first, filtered by broadcast, endpoint and state, in pages", async () => {
      const a = await completed();
      const b = await started(1);
      const first = await ctx.store.claimWebhookDeliveries(claimHooks());
      await ctx.store.claimWebhookDeliveries(claimHooks({ endpointId: "second" }));
      const toDeliver = first.deliveries.find((d) => d.event.broadcastId === b.id)!;
      await ctx.store.recordWebhookDelivery(deliveredAttempt(toDeliver, first.epoch));

      const all = await ctx.store.listWebhookDeliveries({ limit: 100 });
      expect(all.items).toHaveLength(6);
      expect(all.nextCursor).toBeNull();
      const idsInOrder = all.items.map((d) => d.id);
      expect(idsInOrder).toEqual([...idsInOrder].sort((x, y) => y - x));

      const ofA = await ctx.store.listWebhookDeliveries({
        broadcastId: a.id,
        endpointId: ENDPOINT,
        limit: 100,
      });
      expect(ofA.items.map((d) => d.event.type)).toEqual(["broadcast.completed", "broadcast.started"]);
      const deliveredOnes = await ctx.store.listWebhookDeliveries({ state: "delivered", limit: 100 });
      expect(deliveredOnes.items.map((d) => d.id)).toEqual([toDeliver.id]);

      const seen: number[] = [];
      let cursor: string | undefined;
      do {
        const page = await ctx.store.listWebhookDeliveries({ limit: 4, cursor });
        seen.push(...page.items.map((d) => d.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      expect(seen).toEqual(idsInOrder);
      const exact = await ctx.store.listWebhookDeliveries({ endpointId: "second", limit: 3 });
      expect(exact.nextCursor).toBeNull();
      expect(await ctx.store.listWebhookDeliveries({ endpointId: "nobody", limit: 10 })).toEqual({
        items: [],
        nextCursor: null,
      });
    });

    it("refuses a cursor it did not issue", async () => {
      await expect(ctx.store.listWebhookDeliveries({ limit: 10, cursor: "not-a-cursor" })).rejects.toThrow();
    });

    it("two racing claims hand each delivery to one of them", async () => {
      await completed();
      const [x, y] = await Promise.all([
        ctx.store.claimWebhookDeliveries(claimHooks({ owner: "x" })),
        ctx.store.claimWebhookDeliveries(claimHooks({ owner: "y" })),
      ]);
      const handed = [...x.deliveries, ...y.deliveries].map((d) => d.id);
      expect(handed).toHaveLength(2);
      expect(new Set(handed).size).toBe(2);
    });
  });
}
