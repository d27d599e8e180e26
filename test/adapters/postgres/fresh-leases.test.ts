import { afterAll, describe, expect, it } from "vitest";
import { makePostgresStore, type TestPostgresStore, testPool } from "../../support/postgres.js";

const T0 = new Date("2030-01-01T00:00:00.000Z");
const at = (ms: number) => new Date(T0.getTime() + ms);
const opened: TestPostgresStore[] = [];
afterAll(async () => {
  for (const store of opened) await store.close();
});

async function sendingBroadcast(count: number) {
  const made = await makePostgresStore();
  opened.push(made);
  const { store, schema } = made;
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
  const leases = async () =>
    (
      await testPool().query(
        `SELECT epoch::int, first_seq, last_seq FROM "${schema}".broadcast_fresh_leases ORDER BY epoch`,
      )
    ).rows;
  const waiting = async () =>
    (
      await testPool().query<{ seq: number }>(
        `SELECT seq FROM "${schema}".broadcast_recipients WHERE NOT fresh AND state = 'pending' ORDER BY seq`,
      )
    ).rows.map((r) => r.seq);
  return { store, id: created.id, claim, leases, waiting };
}

describe("PostgreSQL fresh recipients (never handed out) are claimed by cursor, outside the claim index", () => {
  it("hands them out in insertion order, one noted range per claim, forgotten once recorded", async () => {
    const b = await sendingBroadcast(5);
    const first = await b.claim(T0, 2);
    const second = await b.claim(T0, 2);
    expect(first.recipients.map((r) => r.recipientId)).toEqual([1, 2]);
    expect(second.recipients.map((r) => r.recipientId)).toEqual([3, 4]);
    expect(await b.leases()).toEqual([
      { epoch: first.epoch, first_seq: 0, last_seq: 1 },
      { epoch: second.epoch, first_seq: 2, last_seq: 3 },
    ]);
    expect(await b.waiting()).toEqual([]);
    await b.store.recordOutcomes({
      broadcastId: b.id,
      epoch: first.epoch,
      outcomes: [
        { type: "delivered", recipientId: 1, attempts: 1, messageId: 7 },
        { type: "delivered", recipientId: 2, attempts: 1, messageId: 8 },
      ],
      now: T0,
      errorLogLimit: 10,
    });
    expect(await b.leases()).toEqual([{ epoch: second.epoch, first_seq: 2, last_seq: 3 }]);
  });

  it("moves a recipient to the claim index only when it must wait: a retry, a release, an expired lease", async () => {
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
    expect(await b.waiting()).toEqual([0, 1]);
    const afterExpiry = await b.claim(at(1000), 10, "worker-b");
    expect(afterExpiry.recipients.map((r) => [r.recipientId, r.takenOver])).toEqual([
      [2, false],
      [3, true],
      [4, false],
    ]);
    expect(await b.leases()).toEqual([{ epoch: afterExpiry.epoch, first_seq: 3, last_seq: 3 }]);
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
