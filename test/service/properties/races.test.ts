import { fc } from "@fast-check/vitest";
import {
  type BroadcastService,
  type BroadcastStore,
  createBroadcastService,
  createSendWorker,
  type JobQueue,
  pendingCount,
} from "broadcastkit";
import { createFakeSender } from "broadcastkit/memory";
import { describe, expect, it } from "vitest";
import { storeFactories } from "../../support/stores.js";
import {
  type Behaviour,
  behavingSender,
  callsPerRecipient,
  LEASE_MS,
  type RaceEvent,
  RaceLog,
  type Rig,
  racingSender,
  racingStore,
  recipientsFor,
  rig,
  runsFor,
  runToTheEnd,
  unwrap,
  withStore,
} from "./harness.js";

/**
 * Races explored by fast-check's scheduler: every store call and every send of every actor waits
 * for the scheduler, which lets them go on in an order of its choosing (and shrinks that order
 * when a property fails).
 */

const adminOn = (r: Rig, store: BroadcastStore, queue: JobQueue = r.queue): BroadcastService =>
  createBroadcastService({ store, queue, clock: r.clock });

const numerically = (ids: readonly (number | string)[]) => [...ids].map(Number).sort((a, b) => a - b);

const ofType = <T extends RaceEvent["type"]>(events: readonly RaceEvent[], type: T) =>
  events.filter((e): e is Extract<RaceEvent, { type: T }> => e.type === type);

describe.each(storeFactories)("races on the $name store", (factory) => {
  it("cancel against the worker's last batches: exactly one wins; after a stored cancel only claims taken before it still send", () =>
    fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 4 }),
        fc.nat(30),
        (s, n, batchSize, cancelAfter) =>
          withStore(factory, async (store) => {
            const r = rig(store);
            // The admin's cancel starts once the worker has logged `cancelAfter` steps (or has
            // ended), so the race lands anywhere in the run, its last batch and settling included.
            let startCancel = () => {};
            const cancelMayStart = new Promise<void>((resolve) => {
              startCancel = resolve;
            });
            const log = new RaceLog((e) => {
              if (e.actor === "worker" && e.seq >= cancelAfter) startCancel();
            });
            const { id } = unwrap(
              await r.service.create({ message: { text: "Hi" }, recipients: recipientsFor(n) }),
            );
            unwrap(await r.service.start(id));
            const fake = createFakeSender();
            const worker = createSendWorker({
              store: racingStore(store, s, "worker", log),
              queue: r.queue,
              sender: racingSender(fake, s, "worker", log),
              clock: r.clock,
              batchSize,
              leaseMs: LEASE_MS,
            });
            const admin = adminOn(r, racingStore(store, s, "admin", log));

            const handled = (async () => {
              const result = await worker.handle({ broadcastId: id, onlyFailed: false });
              startCancel();
              return result;
            })();
            const [ran, cancelled] = await s.waitFor(
              Promise.all([handled, cancelMayStart.then(() => admin.cancel(id))]),
            );
            const final = await r.broadcast(id);
            const events = log.events;
            const cancelStored = events.find((e) => e.type === "status" && e.status === "cancelled");
            const finishStored = events.find(
              (e) => e.type === "status" && e.actor === "worker" && e.status !== "cancelled",
            );

            expect(ran.isOk()).toBe(true);
            // Exactly one winner, and the loser is told so.
            expect((cancelStored === undefined) !== (finishStored === undefined)).toBe(true);
            if (cancelled.isOk()) {
              expect(cancelStored).toBeDefined();
              expect(final).toMatchObject({ status: "cancelled", completedAt: cancelled.value.cancelledAt });
            } else {
              expect(cancelled.error).toEqual({
                type: "invalid_transition",
                broadcastId: id,
                from: "sent",
                to: "cancelled",
              });
              expect(final).toMatchObject({ status: "sent", sentCount: n });
            }

            // Nobody twice; counters match what was delivered.
            const calls = callsPerRecipient(fake);
            expect([...calls.values()].every((c) => c === 1)).toBe(true);
            expect(final.sentCount).toBe(calls.size);
            expect(final.sentCount + final.failedCount + pendingCount(final)).toBe(n);

            if (cancelStored !== undefined) {
              const after = (e: RaceEvent) => e.seq > cancelStored.seq;
              const claims = ofType(events, "claim").filter((c) => c.actor === "worker" && c.ids.length > 0);
              const batchOf = (send: RaceEvent & { type: "send" }) =>
                claims.filter((c) => c.seq < send.seq && c.ids.includes(send.recipientId)).at(-1);
              const batchesSendingAfter = new Set(ofType(events, "send").filter(after).map(batchOf));
              // Until this worker (told by no signal here) reads the new status, only what it had
              // claimed before the cancel may go on: a claim taken after it is released unsent.
              for (const batch of batchesSendingAfter) expect(batch?.seq).toBeLessThan(cancelStored.seq);
            }
          }),
      ),
      { numRuns: runsFor(factory, 150, 10) },
    ));

  it("ten processScheduled at once queue each due broadcast exactly once", () =>
    fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.integer({ min: 1, max: 4 }), fc.nat(2), (s, dueCount, laterCount) =>
        withStore(factory, async (store) => {
          const r = rig(store);
          const at = (minutes: number) => new Date(r.clock.now().getTime() + minutes * 60_000);
          const create = async (scheduledAt: Date) =>
            unwrap(
              await r.service.create({ message: { text: "Hi" }, recipients: recipientsFor(2), scheduledAt }),
            ).id;
          const due = await Promise.all(Array.from({ length: dueCount }, (_, i) => create(at(1 + i))));
          const later = await Promise.all(Array.from({ length: laterCount }, () => create(at(60))));
          r.clock.advance(10 * 60_000);

          const enqueued: number[] = [];
          const countingQueue: JobQueue = {
            enqueue: (job, options) => {
              enqueued.push(job.broadcastId);
              return r.queue.enqueue(job, options);
            },
          };
          const log = new RaceLog();
          const ticks = Array.from({ length: 10 }, (_, i) =>
            adminOn(r, racingStore(store, s, `tick-${i}`, log), countingQueue).processScheduled(
              r.clock.now(),
            ),
          );
          const results = (await s.waitFor(Promise.all(ticks))).map(unwrap);

          expect(results.reduce((sum, x) => sum + x.queued, 0)).toBe(dueCount);
          expect(results.every((x) => x.failed === 0 && x.found >= x.queued)).toBe(true);
          expect(numerically(enqueued)).toEqual(numerically(due));
          for (const id of due) expect((await r.broadcast(id)).status).toBe("sending");
          for (const id of later) expect((await r.broadcast(id)).status).toBe("scheduled");
        }),
      ),
      { numRuns: runsFor(factory, 100, 10) },
    ));

  it("two retryFailed at once retry each failed recipient once", () =>
    fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.constantFrom<Behaviour>("ok", "down"), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        (s, behaviours, includePermanent) =>
          withStore(factory, async (store) => {
            fc.pre(behaviours.includes("down"));
            const r = rig(store);
            // Down during the first pass (4 attempts, then failed); up again for the retry.
            let retrying = false;
            const firstPass = behavingSender(behaviours);
            const fake = createFakeSender({
              respond: (message) => (retrying ? { status: "delivered" } : firstPass.send(message)),
            });
            const worker = r.workerWith(fake, { batchSize: 3 });
            r.queue.consume((job) => worker.handle(job));
            const { id } = unwrap(
              await r.service.create({
                message: { text: "Hi" },
                recipients: recipientsFor(behaviours.length),
              }),
            );
            unwrap(await r.service.start(id));
            await runToTheEnd(r);
            const failed = behaviours.filter((b) => b === "down").length;
            expect(await r.broadcast(id)).toMatchObject({ failedCount: failed });

            retrying = true;
            const log = new RaceLog();
            const retries = ["a", "b"].map((actor) =>
              adminOn(r, racingStore(store, s, actor, log)).retryFailed(id, { includePermanent }),
            );
            const results = await s.waitFor(Promise.all(retries));
            const retried = results.map((x) => (x.isOk() ? x.value.retriedCount : 0));
            expect(retried.reduce((sum, x) => sum + x, 0)).toBe(failed);
            expect([...retried].sort((a, b) => a - b)).toEqual([0, failed]);
            for (const x of results) {
              if (x.isOk() && x.value.retriedCount === 0) expect(x.value.taskId).toBeNull();
              if (x.isErr()) expect(["invalid_transition", "conflict"]).toContain(x.error.type);
            }

            await runToTheEnd(r);
            const calls = callsPerRecipient(fake);
            expect(behaviours.map((_, i) => calls.get(i + 1))).toEqual(
              behaviours.map((b) => (b === "down" ? 4 + 1 : 1)),
            );
            expect(await r.broadcast(id)).toMatchObject({
              status: "sent",
              sentCount: behaviours.length,
              failedCount: 0,
            });
          }),
      ),
      { numRuns: runsFor(factory, 100, 10) },
    ));

  it("two workers on one broadcast never claim nor message one recipient twice", () =>
    fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.constantFrom<Behaviour>("ok", "ok", "blocked"), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        (s, behaviours, batchA, batchB) =>
          withStore(factory, async (store) => {
            const r = rig(store);
            const n = behaviours.length;
            const { id } = unwrap(
              await r.service.create({ message: { text: "Hi" }, recipients: recipientsFor(n) }),
            );
            unwrap(await r.service.start(id));
            const fake = behavingSender(behaviours);
            const log = new RaceLog();
            const workerOf = (actor: string, batchSize: number) =>
              createSendWorker({
                store: racingStore(store, s, actor, log),
                queue: r.queue,
                sender: racingSender(fake, s, actor, log),
                clock: r.clock,
                batchSize,
                leaseMs: LEASE_MS,
                workerId: actor,
              });
            const job = { broadcastId: id, onlyFailed: false };
            const runs = await s.waitFor(
              Promise.all([workerOf("A", batchA).handle(job), workerOf("B", batchB).handle(job)]),
            );

            expect(runs.every((x) => x.isOk())).toBe(true);
            const claimed = ofType(log.events, "claim").flatMap((c) => c.ids);
            expect(numerically(claimed)).toEqual(numerically(recipientsFor(n).map((x) => x.recipientId)));
            expect(numerically(fake.calls.map((c) => c.recipientId))).toEqual(numerically(claimed));
            const blocked = behaviours.filter((b) => b === "blocked").length;
            const final = await r.broadcast(id);
            expect(final).toMatchObject({ sentCount: n - blocked, failedCount: blocked });
            expect(final.status).toBe(blocked === 0 ? "sent" : blocked === n ? "failed" : "completed");
          }),
      ),
      { numRuns: runsFor(factory, 150, 10) },
    ));
});
