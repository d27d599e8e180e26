import { InvalidCursorError } from "broadcastkit";
import { createMemoryStore } from "broadcastkit/memory";
import { describe, expect, it } from "vitest";
import type { NewRecipient } from "../../../src/core/types.js";
import type { NewBroadcast } from "../../../src/ports/store.js";

const T0 = new Date("2030-01-01T00:00:00Z");
const draft: NewBroadcast = {
  message: { text: "hi" },
  status: "draft",
  scheduledAt: null,
  createdBy: null,
  errorThreshold: null,
  createdAt: T0,
};
const recipients = (n: number): NewRecipient[] =>
  Array.from({ length: n }, (_, i) => ({ recipientId: i + 1, chatId: 1000 + i }));
const claimRequest = (broadcastId: number, limit: number, now = T0) => ({
  broadcastId,
  owner: "w1",
  limit,
  now,
  leaseMs: 30_000,
  onlyFailed: false,
});

describe("createMemoryStore", () => {
  it("stores a broadcast with its recipients and issues increasing ids", async () => {
    const store = createMemoryStore();
    const a = await store.createBroadcast(draft, recipients(3));
    const b = await store.createBroadcast(draft, []);
    expect(a).toMatchObject({ id: 1, status: "draft", totalRecipients: 3, sentCount: 0, failedCount: 0 });
    expect(b.id).toBeGreaterThan(a.id);
    const page = await store.listRecipients(a.id, { limit: 10 });
    expect(page?.items.map((r) => r.recipientId)).toEqual([1, 2, 3]);
  });

  it("returns copies: mutating what it returns changes nothing stored", async () => {
    const store = createMemoryStore();
    const created = await store.createBroadcast(draft, [
      { recipientId: 1, chatId: 5, variables: { a: "x" } },
    ]);
    (created.message as { text: string }).text = "changed";
    created.createdAt.setTime(0);
    const page = await store.listRecipients(created.id, { limit: 1 });
    (page!.items[0]!.variables as Record<string, string>).a = "changed";
    const again = await store.getBroadcast(created.id);
    expect(again?.message.text).toBe("hi");
    expect(again?.createdAt).toEqual(T0);
    const recipientAgain = await store.listRecipients(created.id, { limit: 1 });
    expect(recipientAgain?.items[0]?.variables).toEqual({ a: "x" });
  });

  it("claims fresh recipients in insertion order without handing one out twice", async () => {
    const store = createMemoryStore();
    const { id } = await store.createBroadcast(draft, recipients(5));
    const first = await store.claimRecipients(claimRequest(id, 3));
    const second = await store.claimRecipients(claimRequest(id, 3));
    expect(first.recipients.map((r) => r.recipientId)).toEqual([1, 2, 3]);
    expect(second.recipients.map((r) => r.recipientId)).toEqual([4, 5]);
    expect(second.epoch).toBeGreaterThan(first.epoch);
  });

  it("records outcomes and keeps the counters in step with recipient states", async () => {
    const store = createMemoryStore();
    const { id } = await store.createBroadcast(draft, recipients(3));
    const claim = await store.claimRecipients(claimRequest(id, 3));
    const result = await store.recordOutcomes({
      broadcastId: id,
      epoch: claim.epoch,
      now: T0,
      errorLogLimit: 10,
      outcomes: [
        { type: "delivered", recipientId: 1, attempts: 1, messageId: 77 },
        { type: "failed", recipientId: 2, attempts: 1, error: "Forbidden", kind: "permanent" },
        { type: "released", recipientId: 3 },
      ],
    });
    expect(result.type).toBe("recorded");
    const b = await store.getBroadcast(id);
    expect(b).toMatchObject({ sentCount: 1, failedCount: 1, errorCounts: { Forbidden: 1 } });
    expect(b?.errorLog).toEqual([{ recipientId: 2, error: "Forbidden", timestamp: T0 }]);
    const again = await store.claimRecipients(claimRequest(id, 10));
    expect(again.recipients.map((r) => [r.recipientId, r.takenOver])).toEqual([[3, false]]);
  });

  it("refuses a stale epoch whole and changes nothing", async () => {
    const store = createMemoryStore();
    const { id } = await store.createBroadcast(draft, recipients(2));
    const stale = await store.claimRecipients(claimRequest(id, 2));
    const later = new Date(T0.getTime() + 60_000);
    const fresh = await store.claimRecipients(claimRequest(id, 2, later));
    expect(fresh.recipients.every((r) => r.takenOver)).toBe(true);
    const refused = await store.recordOutcomes({
      broadcastId: id,
      epoch: stale.epoch,
      now: later,
      errorLogLimit: 10,
      outcomes: [{ type: "delivered", recipientId: 1, attempts: 1, messageId: 1 }],
    });
    expect(refused).toEqual({ type: "lease_lost", recipientIds: [1] });
    expect((await store.getBroadcast(id))?.sentCount).toBe(0);
  });

  it("holds a large broadcast and claims through it in batches", async () => {
    const store = createMemoryStore();
    const n = 50_000;
    const { id } = await store.createBroadcast(draft, recipients(n));
    let claimed = 0;
    for (;;) {
      const claim = await store.claimRecipients(claimRequest(id, 1000));
      if (claim.recipients.length === 0) {
        expect(claim.retryAt).toBeNull();
        break;
      }
      claimed += claim.recipients.length;
      await store.recordOutcomes({
        broadcastId: id,
        epoch: claim.epoch,
        now: T0,
        errorLogLimit: 10,
        outcomes: claim.recipients.map((r) => ({
          type: "delivered" as const,
          recipientId: r.recipientId,
          attempts: 1,
          messageId: null,
        })),
      });
    }
    expect(claimed).toBe(n);
    expect((await store.getBroadcast(id))?.sentCount).toBe(n);
  });

  it("rejects an operation when beforeOperation throws, having changed nothing", async () => {
    let failing = false;
    const store = createMemoryStore({
      beforeOperation: () => {
        if (failing) throw new Error("disk full");
      },
    });
    const { id } = await store.createBroadcast(draft, recipients(1));
    failing = true;
    await expect(store.updateBroadcast(id, "draft", { status: "sending" })).rejects.toThrow("disk full");
    failing = false;
    expect((await store.getBroadcast(id))?.status).toBe("draft");
  });

  it("rejects a cursor it did not issue", async () => {
    const store = createMemoryStore();
    await expect(store.listBroadcasts({ limit: 1, cursor: "nonsense" })).rejects.toThrow(InvalidCursorError);
  });
});
