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
 * A worker dies after its k-th send, for every k of a 50-recipient broadcast claimed in batches of
 * 10, at three moments: before the send reached the platform, after it did, and after the next
 * write of outcomes. A dead worker does nothing more: every later call it makes (sends, store
 * reads, writes, renewals) hangs forever. A second worker takes over once the leases expire and
 * finishes the broadcast. Runs with one send in flight at a time and with four.
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
  /** Every recipient the dead worker had claimed and not written an outcome for. */
  readonly held: readonly RecipientId[];
  /** Those of them it had handed to the sender (and the platform had taken). */
  readonly sentUnwritten: readonly RecipientId[];
  /** Sends in flight when it died. */
  readonly inFlight: number;
}

async function crashAndTakeOver(
  store: BroadcastStore,
  k: number,
  phase: Phase,
  guarantee: DeliveryGuarantee,
  concurrency: number,
) {
  const r = rig(store);
  const { id } = unwrap(
    await r.service.create({ message: { text: "Hi" }, recipients: recipientsFor(RECIPIENTS) }),
  );
  unwrap(await r.service.start(id));
  const platform = createFakeSender();
  const job = { broadcastId: id, onlyFailed: false };

  let sends = 0;
  let inFlight = 0;
  let dead = false;
  const claimed = new Set<RecipientId>();
  const written = new Set<RecipientId>();
  const reachedByDoomed = new Set<RecipientId>();
  let crashedInFlight: number | null = null;
  let died = () => {};
  const death = new Promise<void>((resolve) => {
    died = resolve;
  });
  const die = <T>(): Promise<T> => {
    if (!dead) {
      dead = true;
      crashedInFlight = inFlight;
      died();
    }
    return never<T>();
  };
  /** Every call of the dead worker hangs from the moment it died. */
  const alive =
    <A extends unknown[], T>(call: (...args: A) => Promise<T>) =>
    async (...args: A): Promise<T> => {
      if (dead) return die<T>();
      const result = await call(...args);
      return dead ? die<T>() : result;
    };

  const doomedSender: MessageSender = {
    async send(message) {
      if (dead) return die();
      const index = ++sends;
      inFlight++;
      try {
        if (phase === "before the send" && index === k) return await die();
        reachedByDoomed.add(message.recipientId);
        const result = await platform.send(message);
        if (phase === "after the send" && index === k) return await die();
        return dead ? await die() : result;
      } finally {
        inFlight--;
      }
    },
  };
  const live = boundStore(store);
  const doomedStore: BroadcastStore = {
    ...live,
    getBroadcast: alive(live.getBroadcast),
    getActivity: alive(live.getActivity),
    renewLease: alive(live.renewLease),
    updateBroadcast: alive(live.updateBroadcast),
    claimRecipients: alive(async (request) => {
      const result = await live.claimRecipients(request);
      for (const x of result.recipients) claimed.add(x.recipientId);
      return result;
    }),
    recordOutcomes: alive(async (request) => {
      const result = await live.recordOutcomes(request);
      if (result.type === "recorded") for (const o of request.outcomes) written.add(o.recipientId);
      if (phase === "after the store write" && sends >= k) return die();
      return result;
    }),
  };
  const options = {
    queue: r.queue,
    clock: r.clock,
    batchSize: BATCH_SIZE,
    leaseMs: LEASE_MS,
    guarantee,
    concurrency,
  };
  const doomed = createSendWorker({
    ...options,
    store: doomedStore,
    sender: doomedSender,
    workerId: "doomed",
  });
  void doomed.handle(job);
  await death;

  r.clock.advance(LEASE_MS + 1);
  const survivor = createSendWorker({ ...options, store, sender: platform, workerId: "survivor" });
  const ran = unwrap(await survivor.handle(job));
  // Claims and writes the dead worker started before it died may have landed after: count them too.
  const held = [...claimed].filter((x) => !written.has(x));
  const crash: Crash | null =
    crashedInFlight === null
      ? null
      : { held, sentUnwritten: held.filter((x) => reachedByDoomed.has(x)), inFlight: crashedInFlight };
  return {
    ran,
    crash,
    broadcast: await r.broadcast(id),
    recipients: await r.recipients(id),
    calls: callsPerRecipient(platform),
  };
}

const sortedIds = (ids: Iterable<RecipientId>) => [...ids].map(Number).sort((a, b) => a - b);

describe.each(storeFactories)("a worker that dies mid-broadcast, on the $name store", (factory) => {
  describe.each([1, 4])("with %i send(s) in flight at most", (concurrency) => {
    describe.each(PHASES)("dying %s", (phase) => {
      it("at-least-once: the next worker delivers to everyone; duplicates are exactly the dead worker's sends it had not written, at most in-flight + 2 batches", async () => {
        for (const k of crashPoints(factory)) {
          await withStore(factory, async (store) => {
            const { ran, crash, broadcast, recipients, calls } = await crashAndTakeOver(
              store,
              k,
              phase,
              "at-least-once",
              concurrency,
            );
            const context = `k = ${k}`;
            expect(crash, context).not.toBeNull();
            expect(ran.stoppedBecause, context).toBe("finished");
            expect(broadcast, context).toMatchObject({
              status: "sent",
              sentCount: RECIPIENTS,
              failedCount: 0,
            });
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
            // Sent but not written when the worker died: sent again. Written: never again.
            expect(sortedIds(twice), context).toEqual(sortedIds(crash?.sentUnwritten ?? []));
            expect(twice.length, context).toBeLessThanOrEqual(concurrency + 2 * BATCH_SIZE);
          });
        }
      });

      it('at-most-once: nobody is messaged twice; what the dead worker held ends failed with "delivery unknown: worker stopped"', async () => {
        for (const k of crashPoints(factory)) {
          await withStore(factory, async (store) => {
            const { ran, crash, broadcast, recipients, calls } = await crashAndTakeOver(
              store,
              k,
              phase,
              "at-most-once",
              concurrency,
            );
            const context = `k = ${k}`;
            expect(crash, context).not.toBeNull();
            expect(ran.stoppedBecause, context).toBe("finished");
            expect(
              [...calls.values()].every((n) => n === 1),
              context,
            ).toBe(true);
            // The store cannot tell which of a dead worker's unwritten recipients went out: all are unknown.
            const unknown = crash?.held ?? [];
            const failed = recipients.filter((x) => x.state === "failed");
            expect(sortedIds(failed.map((x) => x.recipientId)), context).toEqual(sortedIds(unknown));
            expect(
              failed.every((x) => x.lastError === DELIVERY_UNKNOWN),
              context,
            ).toBe(true);
            expect(unknown.length, context).toBeLessThanOrEqual(2 * BATCH_SIZE);
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
});
