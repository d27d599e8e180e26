import {
  type BroadcastStore,
  createSendWorker,
  DELIVERY_UNKNOWN,
  type DeliveryGuarantee,
  type MessageSender,
  type RecipientId,
} from "broadcastkit";
import { createFakeSender } from "broadcastkit/memory";
import { describe, expect, it } from "vitest";
import { boundStore } from "../../support/bound-store.js";
import { type StoreFactory, storeFactories } from "../../support/stores.js";
import { callsPerRecipient, LEASE_MS, never, recipientsFor, rig, unwrap, withStore } from "./harness.js";

/**
 * A worker dies after its k-th send, for every k of a 50-recipient broadcast sent in batches of 10,
 * at three moments: before the send reached the platform, after it did, and after the batch's
 * outcomes were stored. A dead worker is simply abandoned (it waits forever). A second worker
 * takes over once the lease expires and finishes the broadcast.
 */

const RECIPIENTS = 50;
const BATCH_SIZE = 10;

type Phase = "before the send" | "after the send" | "after the store write";
const PHASES: readonly Phase[] = ["before the send", "after the send", "after the store write"];

/** Every k on the memory store; on stores that pay for I/O, the edges of the first, a middle and the last batch. */
const crashPoints = (factory: StoreFactory): number[] =>
  factory.name === "memory"
    ? Array.from({ length: RECIPIENTS }, (_, i) => i + 1)
    : [1, BATCH_SIZE, BATCH_SIZE + 1, 25, RECIPIENTS];

interface Crash {
  /** The batch the dead worker held when it died. */
  readonly batch: readonly RecipientId[];
  /** Those of that batch it had handed to the sender (and the platform had taken). */
  readonly sentInBatch: readonly RecipientId[];
}

async function crashAndTakeOver(
  store: BroadcastStore,
  k: number,
  phase: Phase,
  guarantee: DeliveryGuarantee,
) {
  const r = rig(store);
  const { id } = unwrap(
    await r.service.create({ message: { text: "Hi" }, recipients: recipientsFor(RECIPIENTS) }),
  );
  unwrap(await r.service.start(id));
  const platform = createFakeSender();
  const job = { broadcastId: id, onlyFailed: false };

  let sends = 0;
  let batch: RecipientId[] = [];
  let crash: Crash | null = null;
  let died = () => {};
  const dead = new Promise<void>((resolve) => {
    died = resolve;
  });
  const die = <T>(): Promise<T> => {
    const sentSoFar = new Set(platform.calls.map((c) => c.recipientId));
    crash = { batch, sentInBatch: batch.filter((x) => sentSoFar.has(x)) };
    died();
    return never<T>();
  };

  const doomedSender: MessageSender = {
    async send(message) {
      sends++;
      if (phase === "before the send" && sends === k) return die();
      const result = await platform.send(message);
      if (phase === "after the send" && sends === k) return die();
      return result;
    },
  };
  const doomedStore: BroadcastStore = {
    ...boundStore(store),
    async claimRecipients(request) {
      const claimed = await store.claimRecipients(request);
      if (claimed.recipients.length > 0) batch = claimed.recipients.map((x) => x.recipientId);
      return claimed;
    },
    async recordOutcomes(request) {
      const recorded = await store.recordOutcomes(request);
      if (phase === "after the store write" && sends >= k && crash === null) return die();
      return recorded;
    },
  };
  const options = { queue: r.queue, clock: r.clock, batchSize: BATCH_SIZE, leaseMs: LEASE_MS, guarantee };
  const doomed = createSendWorker({
    ...options,
    store: doomedStore,
    sender: doomedSender,
    workerId: "doomed",
  });
  void doomed.handle(job);
  await dead;

  r.clock.advance(LEASE_MS + 1);
  const survivor = createSendWorker({ ...options, store, sender: platform, workerId: "survivor" });
  const ran = unwrap(await survivor.handle(job));
  return {
    ran,
    crash: crash as Crash | null,
    broadcast: await r.broadcast(id),
    recipients: await r.recipients(id),
    calls: callsPerRecipient(platform),
  };
}

const sortedIds = (ids: Iterable<RecipientId>) => [...ids].map(Number).sort((a, b) => a - b);

describe.each(storeFactories)("a worker that dies mid-broadcast, on the $name store", (factory) => {
  describe.each(PHASES)("dying %s", (phase) => {
    it("at-least-once: the next worker delivers to everyone; duplicates only within the dead worker's batch", async () => {
      for (const k of crashPoints(factory)) {
        await withStore(factory, async (store) => {
          const { ran, crash, broadcast, recipients, calls } = await crashAndTakeOver(
            store,
            k,
            phase,
            "at-least-once",
          );
          const context = `k = ${k}`;
          expect(crash, context).not.toBeNull();
          expect(ran.stoppedBecause, context).toBe("finished");
          expect(broadcast, context).toMatchObject({ status: "sent", sentCount: RECIPIENTS, failedCount: 0 });
          expect(
            recipients.every((x) => x.state === "sent"),
            context,
          ).toBe(true);
          expect(calls.size, context).toBe(RECIPIENTS);
          const twice = [...calls].filter(([, n]) => n > 1).map(([x]) => x);
          expect(
            [...calls.values()].every((n) => n <= 2),
            context,
          ).toBe(true);
          // Sent but not stored when the worker died: sent again. Stored: never again.
          const unstored = phase === "after the store write" ? [] : (crash?.sentInBatch ?? []);
          expect(sortedIds(twice), context).toEqual(sortedIds(unstored));
        });
      }
    });

    it('at-most-once: nobody is messaged twice; the unknown ones end failed with "delivery unknown: worker stopped"', async () => {
      for (const k of crashPoints(factory)) {
        await withStore(factory, async (store) => {
          const { ran, crash, broadcast, recipients, calls } = await crashAndTakeOver(
            store,
            k,
            phase,
            "at-most-once",
          );
          const context = `k = ${k}`;
          expect(crash, context).not.toBeNull();
          expect(ran.stoppedBecause, context).toBe("finished");
          expect(
            [...calls.values()].every((n) => n === 1),
            context,
          ).toBe(true);
          // The store cannot tell which of a dead worker's unstored batch went out: all of it is unknown.
          const unknown = phase === "after the store write" ? [] : (crash?.batch ?? []);
          const failed = recipients.filter((x) => x.state === "failed");
          expect(sortedIds(failed.map((x) => x.recipientId)), context).toEqual(sortedIds(unknown));
          expect(
            failed.every((x) => x.lastError === DELIVERY_UNKNOWN),
            context,
          ).toBe(true);
          expect(
            recipients.filter((x) => x.state === "pending"),
            context,
          ).toEqual([]);
          expect(broadcast, context).toMatchObject({
            status: unknown.length === 0 ? "sent" : "completed",
            sentCount: RECIPIENTS - unknown.length,
            failedCount: unknown.length,
          });
          // Everyone delivered was messaged; nobody was messaged twice; the unknown ones were not retried.
          for (const x of recipients.filter((y) => y.state === "sent"))
            expect(calls.get(x.recipientId), context).toBe(1);
        });
      }
    });
  });
});
