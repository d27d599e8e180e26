import Database from "better-sqlite3";
import { createSqliteStore } from "broadcastkit/sqlite";
import { describe, expect, it } from "vitest";

const T0 = new Date("2030-01-01T00:00:00.000Z");
const at = (ms: number) => new Date(T0.getTime() + ms);

async function sendingBroadcast(count: number) {
  const db = new Database(":memory:");
  const store = createSqliteStore({ db });
  const recipients = Array.from({ length: count }, (_, i) => ({ recipientId: i + 1, chatId: 1000 + i }));
  const created = await store.createBroadcast(
    {
      message: { text: "Hello" },
      status: "draft",
      scheduledAt: null,
      createdBy: null,
      errorThreshold: null,
      createdAt: T0,
    },
    recipients,
  );
  await store.updateBroadcast(created.id, "draft", { status: "sending", sentAt: T0 });
  const claim = (now: Date, limit = 10, owner = "worker-a") =>
    store.claimRecipients({ broadcastId: created.id, owner, limit, now, leaseMs: 1000, onlyFailed: false });
  const leases = () => db.prepare("SELECT epoch, first_seq, last_seq FROM broadcast_fresh_leases").all();
  const inClaimIndex = () =>
    (
      db
        .prepare(
          "SELECT seq FROM broadcast_recipients WHERE broadcast_id = ? AND state = 'pending' AND fresh = 0 ORDER BY seq",
        )
        .all(created.id) as { seq: number }[]
    ).map((r) => r.seq);
  return { store, id: created.id, claim, leases, inClaimIndex };
}

describe("SQLite fresh recipients (never handed out) are claimed by cursor, outside the claim index", () => {
  it("hands them out in insertion order, one leased range per claim, and forgets the range once recorded", async () => {
    const b = await sendingBroadcast(5);
    const first = await b.claim(T0, 2);
    const second = await b.claim(T0, 2);
    expect(first.recipients.map((r) => r.recipientId)).toEqual([1, 2]);
    expect(second.recipients.map((r) => r.recipientId)).toEqual([3, 4]);
    expect(b.leases()).toEqual([
      { epoch: first.epoch, first_seq: 0, last_seq: 1 },
      { epoch: second.epoch, first_seq: 2, last_seq: 3 },
    ]);
    expect(b.inClaimIndex()).toEqual([]);
    const delivered = (recipientId: number) =>
      ({ type: "delivered", recipientId, attempts: 1, messageId: 7 }) as const;
    await b.store.recordOutcomes({
      broadcastId: b.id,
      epoch: first.epoch,
      outcomes: [delivered(1)],
      now: T0,
      errorLogLimit: 10,
    });
    expect(b.leases()).toHaveLength(2);
    await b.store.recordOutcomes({
      broadcastId: b.id,
      epoch: first.epoch,
      outcomes: [delivered(2)],
      now: T0,
      errorLogLimit: 10,
    });
    expect(b.leases()).toEqual([{ epoch: second.epoch, first_seq: 2, last_seq: 3 }]);
  });

  it("moves a recipient into the claim index only when it must wait: a retry, a release, an expired lease", async () => {
    const b = await sendingBroadcast(4);
    const claim = await b.claim(T0, 3);
    await b.store.recordOutcomes({
      broadcastId: b.id,
      epoch: claim.epoch,
      outcomes: [
        {
          type: "retry",
          recipientId: 1,
          attempts: 1,
          error: "Network timeout",
          kind: "transient",
          nextAttemptAt: at(60_000),
        },
        { type: "released", recipientId: 2 },
      ],
      now: T0,
      errorLogLimit: 10,
    });
    expect(b.inClaimIndex()).toEqual([0, 1]);
    const afterExpiry = await b.claim(at(1000), 10, "worker-b");
    expect(afterExpiry.recipients.map((r) => [r.recipientId, r.takenOver])).toEqual([
      [2, false],
      [3, true],
      [4, false],
    ]);
    expect(b.leases()).toEqual([{ epoch: afterExpiry.epoch, first_seq: 3, last_seq: 3 }]);
    const stale = await b.store.recordOutcomes({
      broadcastId: b.id,
      epoch: claim.epoch,
      outcomes: [{ type: "delivered", recipientId: 3, attempts: 1, messageId: 1 }],
      now: at(1000),
      errorLogLimit: 10,
    });
    expect(stale).toEqual({ type: "lease_lost", recipientIds: [3] });
  });
});
