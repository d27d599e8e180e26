import type { RecipientId, RecipientOutcome } from "broadcastkit";
import { createPostgresStore, type PostgresStore } from "broadcastkit/postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClaimedRecipient } from "../../../src/ports/store.js";
import { DATABASE_URL, dropSchema, uniqueSchema } from "../../support/postgres.js";

const T0 = new Date("2030-01-01T00:00:00.000Z");
const WORKERS = 8;
const RECIPIENTS = 20_000;

const schema = uniqueSchema();
let store: PostgresStore;
beforeAll(async () => {
  // A pool of its own, large enough that every worker loop runs on a separate connection.
  store = createPostgresStore({ connectionString: DATABASE_URL, schema, poolSize: WORKERS + 2 });
  await store.migrate();
});
afterAll(async () => {
  await store.close();
  await dropSchema(schema);
});

async function sendingBroadcast(count: number): Promise<number> {
  const created = await store.createBroadcast(
    {
      message: { text: "Hi" },
      status: "draft",
      scheduledAt: null,
      createdBy: null,
      errorThreshold: null,
      createdAt: T0,
    },
    (function* () {
      for (let i = 1; i <= count; i += 1)
        yield { recipientId: i % 3 === 0 ? `user-${i}` : i, chatId: 10_000 + i };
    })(),
  );
  const started = await store.updateBroadcast(created.id, "draft", { status: "sending", sentAt: T0 });
  if (started.type !== "updated") throw new Error("could not start");
  return created.id;
}

async function countInState(broadcastId: number, state: "pending" | "sent" | "failed"): Promise<number> {
  let count = 0;
  let cursor: string | undefined;
  for (;;) {
    const page = await store.listRecipients(broadcastId, { status: state, limit: 1000, cursor });
    count += page?.items.length ?? 0;
    if (page?.nextCursor == null) return count;
    cursor = page.nextCursor;
  }
}

/** Every tenth recipient fails with one of two errors; the rest are delivered. */
function outcomeFor(recipient: ClaimedRecipient): RecipientOutcome {
  const n =
    typeof recipient.recipientId === "number"
      ? recipient.recipientId
      : Number(recipient.recipientId.slice(5));
  if (n % 10 === 0) {
    const error = n % 20 === 0 ? "Forbidden: bot was blocked by the user" : "Bad Request: chat not found";
    return { type: "failed", recipientId: recipient.recipientId, attempts: 1, error, kind: "permanent" };
  }
  return { type: "delivered", recipientId: recipient.recipientId, attempts: 1, messageId: n };
}

describe("PostgreSQL store under concurrent workers", () => {
  it(`${WORKERS} claim/record loops over ${RECIPIENTS} recipients claim each exactly once and count exactly`, async () => {
    const broadcastId = await sendingBroadcast(RECIPIENTS);
    const claimed: RecipientId[] = [];
    const epochs: number[] = [];
    const loop = async (owner: string) => {
      for (;;) {
        const claim = await store.claimRecipients({
          broadcastId,
          owner,
          limit: 250,
          now: T0,
          leaseMs: 600_000,
          onlyFailed: false,
        });
        if (claim.recipients.length === 0) {
          if (claim.retryAt === null) return;
          await new Promise((resolve) => setTimeout(resolve, 5));
          continue;
        }
        epochs.push(claim.epoch);
        claimed.push(...claim.recipients.map((r) => r.recipientId));
        expect(claim.recipients.every((r) => !r.takenOver)).toBe(true);
        const recorded = await store.recordOutcomes({
          broadcastId,
          epoch: claim.epoch,
          outcomes: claim.recipients.map(outcomeFor),
          now: T0,
          errorLogLimit: 100,
        });
        expect(recorded.type).toBe("recorded");
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, (_, i) => loop(`worker-${i}`)));

    expect(claimed).toHaveLength(RECIPIENTS);
    expect(new Set(claimed).size).toBe(RECIPIENTS);
    expect(new Set(epochs).size).toBe(epochs.length);
    const stored = await store.getBroadcast(broadcastId);
    expect(stored).toMatchObject({
      totalRecipients: RECIPIENTS,
      sentCount: RECIPIENTS * 0.9,
      failedCount: RECIPIENTS * 0.1,
      errorCounts: {
        "Forbidden: bot was blocked by the user": RECIPIENTS / 20,
        "Bad Request: chat not found": RECIPIENTS / 20,
      },
    });
    expect(stored?.errorLog).toHaveLength(100);
    expect(await countInState(broadcastId, "failed")).toBe(RECIPIENTS / 10);
    expect(await countInState(broadcastId, "sent")).toBe(RECIPIENTS * 0.9);
    expect(await countInState(broadcastId, "pending")).toBe(0);
  });

  it("refuses a worker whose lease was taken over: lease_lost, and nothing changes", async () => {
    const broadcastId = await sendingBroadcast(10);
    const slow = await store.claimRecipients({
      broadcastId,
      owner: "slow",
      limit: 5,
      now: T0,
      leaseMs: 1_000,
      onlyFailed: false,
    });
    const takeover = await store.claimRecipients({
      broadcastId,
      owner: "fast",
      limit: 10,
      now: new Date(T0.getTime() + 1_000),
      leaseMs: 1_000,
      onlyFailed: false,
    });
    expect(takeover.epoch).toBeGreaterThan(slow.epoch);
    expect(takeover.recipients.filter((r) => r.takenOver).map((r) => r.recipientId)).toEqual(
      slow.recipients.map((r) => r.recipientId),
    );
    const before = await store.getBroadcast(broadcastId);
    const beforeRecipients = await store.listRecipients(broadcastId, { limit: 10 });
    const late = await store.recordOutcomes({
      broadcastId,
      epoch: slow.epoch,
      outcomes: slow.recipients.map(outcomeFor),
      now: T0,
      errorLogLimit: 100,
    });
    expect(late).toEqual({ type: "lease_lost", recipientIds: slow.recipients.map((r) => r.recipientId) });
    expect(await store.getBroadcast(broadcastId)).toEqual(before);
    expect(await store.listRecipients(broadcastId, { limit: 10 })).toEqual(beforeRecipients);
    const current = await store.recordOutcomes({
      broadcastId,
      epoch: takeover.epoch,
      outcomes: takeover.recipients.map(outcomeFor),
      now: T0,
      errorLogLimit: 100,
    });
    expect(current.type).toBe("recorded");
  });

  it("never lets a late record and a takeover claim both have a recipient", async () => {
    const later = (ms: number) => new Date(T0.getTime() + ms);
    for (let round = 0; round < 15; round += 1) {
      const broadcastId = await sendingBroadcast(20);
      const slow = await store.claimRecipients({
        broadcastId,
        owner: "slow",
        limit: 20,
        now: T0,
        leaseMs: 1_000,
        onlyFailed: false,
      });
      const [late, takeover] = await Promise.all([
        store.recordOutcomes({
          broadcastId,
          epoch: slow.epoch,
          outcomes: slow.recipients.map(outcomeFor),
          now: T0,
          errorLogLimit: 100,
        }),
        store.claimRecipients({
          broadcastId,
          owner: "fast",
          limit: 20,
          now: later(1_000),
          leaseMs: 1_000,
          onlyFailed: false,
        }),
      ]);
      const stored = await store.getBroadcast(broadcastId);
      if (late.type === "recorded") {
        expect(takeover.recipients).toEqual([]);
        expect(stored).toMatchObject({ sentCount: 18, failedCount: 2 });
        continue;
      }
      // The takeover held some rows first, so the late batch was refused whole; whatever the
      // takeover skipped (locked by the refused batch) is still there to be taken over.
      expect(late.type).toBe("lease_lost");
      expect(stored).toMatchObject({ sentCount: 0, failedCount: 0 });
      const rest = await store.claimRecipients({
        broadcastId,
        owner: "fast",
        limit: 20,
        now: later(1_000),
        leaseMs: 1_000,
        onlyFailed: false,
      });
      const all = [...takeover.recipients, ...rest.recipients];
      expect(all.every((r) => r.takenOver)).toBe(true);
      expect(new Set(all.map((r) => r.recipientId)).size).toBe(20);
    }
  });
});
