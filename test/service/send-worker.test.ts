import {
  createBroadcastService,
  createSendWorker,
  DELIVERY_UNKNOWN,
  idempotencyKey,
  type SendResult,
} from "broadcastkit";
import { afterEach, describe, expect, it } from "vitest";
import { storeFactories } from "../support/stores.js";
import { MINUTE, makeWorld, SECOND, START, type World } from "./support/world.js";

const transient = (description = "Network timeout"): SendResult => ({
  status: "failed",
  kind: "transient",
  description,
});
const permanent = (description = "Forbidden: bot was blocked by the user"): SendResult => ({
  status: "failed",
  kind: "permanent",
  description,
});
const secondsSinceStart = (at: Date) => (at.getTime() - START.getTime()) / SECOND;

/** Resolves once `condition` holds, looking after each turn of the event loop (at most 5 s). */
async function until(condition: () => boolean): Promise<void> {
  for (let turns = 0; !condition(); turns++) {
    if (turns > 5000) throw new Error("condition never held");
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe.each(storeFactories)("the send worker on the $name store", (factory) => {
  let w: World;
  afterEach(() => w.close());

  describe("delivering", () => {
    it("sends every recipient once, in claim order, with its idempotency key, then settles on sent", async () => {
      w = await makeWorld(factory, { batchSize: 2 });
      const b = await w.started(5);

      await w.settle();

      expect(w.sender.calls.map((call) => [call.recipientId, call.chatId, call.idempotencyKey])).toEqual(
        [1, 2, 3, 4, 5].map((id) => [id, 1000 + id, idempotencyKey(b.id, id)]),
      );
      expect(await w.broadcast(b.id)).toMatchObject({ status: "sent", sentCount: 5, failedCount: 0 });
      expect((await w.recipients(b.id)).map((r) => [r.state, r.attempts, r.messageId])).toEqual(
        [1, 2, 3, 4, 5].map((messageId) => ["sent", 1, messageId]),
      );
    });

    it("answers a run for a broadcast that is not sending without sending anything", async () => {
      w = await makeWorld(factory);
      const draft = await w.create(2);

      const notSending = (
        await w.worker.handle({ broadcastId: draft.id, onlyFailed: false })
      )._unsafeUnwrap();
      const missing = (await w.worker.handle({ broadcastId: 999, onlyFailed: false }))._unsafeUnwrap();

      expect(notSending).toMatchObject({ stoppedBecause: "not_sending", status: "draft", batches: 0 });
      expect(missing).toMatchObject({ stoppedBecause: "not_found", status: null });
      expect(w.sender.calls).toHaveLength(0);
    });

    it("refuses a job that is not a send job", async () => {
      w = await makeWorld(factory);

      const refused = (await w.worker.handle({ broadcastId: -3, onlyFailed: false }))._unsafeUnwrapErr();

      expect(refused).toMatchObject({ type: "validation", issues: [{ path: "broadcastId" }] });
    });
  });

  describe("pausing and cancelling", () => {
    /** Resolves once `status` is stored for the broadcast (this process's signals tell at once). */
    const stored = (id: number, status: string) =>
      new Promise<void>((resolve) => {
        const stop = w.signals.watch(id, (now) => {
          if (now !== status) return;
          stop();
          resolve();
        });
      });

    describe.each([1, 4])("with %i send(s) in flight at most", (concurrency) => {
      it("pause stops new sends at once; sends in flight count before pause answers; resume sends nobody twice", async () => {
        w = await makeWorld(factory, { batchSize: 2, concurrency });
        const b = await w.started(12);
        let pausing: ReturnType<typeof w.service.pause> | undefined;
        let pauseStored = false;
        const startedAfterPause: (number | string)[] = [];
        w.respondWith(async (m) => {
          if (pauseStored) startedAfterPause.push(m.recipientId);
          if (m.recipientId === 3) {
            const isStored = stored(b.id, "paused");
            pausing = w.service.pause(b.id);
            await isStored;
            pauseStored = true;
          }
          return { status: "delivered" };
        });

        await w.settle();
        const paused = (await pausing!)._unsafeUnwrap();

        expect(startedAfterPause).toEqual([]);
        const sentBeforePause = w.sender.calls.length;
        expect(paused).toMatchObject({ status: "paused", sentCount: sentBeforePause });
        expect(await w.broadcast(b.id)).toMatchObject({
          status: "paused",
          sentCount: sentBeforePause,
          pauseReason: { type: "manual" },
        });
        expect((await w.recipients(b.id)).filter((r) => r.state === "pending")).toHaveLength(
          12 - sentBeforePause,
        );

        w.respondWith(() => ({ status: "delivered" }));
        (await w.service.resume(b.id))._unsafeUnwrap();
        await w.settle();

        const calls = w.sender.calls.map((call) => call.recipientId);
        expect([...calls].sort((x, y) => Number(x) - Number(y))).toEqual(
          Array.from({ length: 12 }, (_, i) => i + 1),
        );
        expect(await w.broadcast(b.id)).toMatchObject({ status: "sent", sentCount: 12, pauseReason: null });
      });

      it("cancel stops new sends at once; the counts it leaves are final", async () => {
        w = await makeWorld(factory, { batchSize: 2, concurrency });
        const b = await w.started(12);
        let cancelling: ReturnType<typeof w.service.cancel> | undefined;
        let cancelStored = false;
        let isStored: Promise<void> | undefined;
        const startedAfterCancel: (number | string)[] = [];
        w.respondWith(async (m) => {
          if (cancelStored) startedAfterCancel.push(m.recipientId);
          if (m.recipientId === 1) {
            isStored = stored(b.id, "cancelled");
            cancelling = w.service.cancel(b.id);
            await isStored;
            cancelStored = true;
          } else if (isStored !== undefined) {
            // In flight while the cancel is being stored: such sends settle and are written, and
            // no other one starts, however long the store takes to answer the cancel.
            await isStored;
          }
          return { status: "delivered" };
        });

        await w.settle();
        (await cancelling!)._unsafeUnwrap();
        const afterCancel = (await w.service.getProgress(b.id))._unsafeUnwrap();

        expect(startedAfterCancel).toEqual([]);
        expect(w.sender.calls.length).toBeLessThanOrEqual(concurrency);
        expect(afterCancel).toMatchObject({
          status: "cancelled",
          sentCount: w.sender.calls.length,
          failedCount: 0,
          pendingCount: 12 - w.sender.calls.length,
        });
        await w.settle();
        expect((await w.service.getProgress(b.id))._unsafeUnwrap()).toEqual(afterCancel);
        expect(w.queue.pending()).toEqual([]);

        // Those never sent read as cancelled, not pending forever.
        const unsent = 12 - w.sender.calls.length;
        expect(afterCancel.cancelledCount).toBe(unsent);
        const states = (await w.recipients(b.id)).map((r) => r.state);
        expect(states.filter((state) => state === "cancelled")).toHaveLength(unsent);
        expect(states).not.toContain("pending");
        const listed = async (status: "cancelled" | "pending") =>
          (await w.service.listRecipients(b.id, { status, limit: 100 }))._unsafeUnwrap().items;
        expect((await listed("cancelled")).map((r) => r.state)).toEqual(Array(unsent).fill("cancelled"));
        expect(await listed("pending")).toEqual([]);
      });
    });
  });

  describe("refused content and the error threshold", () => {
    it("pauses when the message itself is refused: no send starts after the refusal, and the refused recipient stays pending", async () => {
      w = await makeWorld(factory, { batchSize: 5, concurrency: 1 });
      const b = await w.started(6);
      const refusal = "Bad Request: can't parse entities: unsupported start tag";
      w.respondWith((m) =>
        m.recipientId === 3
          ? { status: "failed", kind: "content", description: refusal }
          : { status: "delivered" },
      );

      await w.settle();

      expect(w.sender.calls.map((call) => call.recipientId)).toEqual([1, 2, 3]);
      expect(await w.broadcast(b.id)).toMatchObject({
        status: "paused",
        pauseReason: { type: "content_refused", description: refusal },
        sentCount: 2,
        failedCount: 0,
      });
      const third = (await w.recipients(b.id))[2];
      expect(third).toMatchObject({ recipientId: 3, state: "pending", attempts: 0 });
      expect(w.events.at(-1)).toMatchObject({
        type: "broadcast.paused",
        reason: { type: "content_refused" },
      });

      w.respondWith(() => ({ status: "delivered" }));
      await w.service.resume(b.id);
      await w.settle();

      expect(w.sender.calls.map((call) => call.recipientId)).toEqual([1, 2, 3, 3, 4, 5, 6]);
      expect(await w.broadcast(b.id)).toMatchObject({ status: "sent", sentCount: 6 });
    });

    it("with sends in flight when the message is refused, those settle and count; nothing else starts", async () => {
      w = await makeWorld(factory, { batchSize: 5, concurrency: 4 });
      const b = await w.started(10);
      const answers = new Map<number | string, (result: SendResult) => void>();
      w.respondWith((m) => new Promise<SendResult>((resolve) => answers.set(m.recipientId, resolve)));
      const running = w.runJobs();
      await until(() => answers.size === 4);

      answers.get(2)!({ status: "failed", kind: "content", description: "Bad Request: message is too long" });
      await new Promise((resolve) => setTimeout(resolve, 20));
      for (const id of [1, 3, 4]) answers.get(id)!({ status: "delivered" });
      await running;
      await w.settle();

      expect(w.sender.calls.map((call) => call.recipientId)).toEqual([1, 2, 3, 4]);
      expect(await w.broadcast(b.id)).toMatchObject({ status: "paused", sentCount: 3, failedCount: 0 });
      expect(
        (await w.recipients(b.id)).filter((r) => r.state === "pending").map((r) => r.recipientId),
      ).toEqual([2, 5, 6, 7, 8, 9, 10]);
    });

    it("pauses once the written failures reach the broadcast's error threshold; sends in flight then still count", async () => {
      w = await makeWorld(factory, { batchSize: 1, concurrency: 1 });
      const b = await w.started(8, { errorThreshold: 2 });
      w.respondWith(() => permanent());

      await w.settle();

      const broadcast = await w.broadcast(b.id);
      expect(broadcast).toMatchObject({
        status: "paused",
        pauseReason: { type: "error_threshold", failedCount: 2, threshold: 2 },
      });
      // The pause comes once the second failure is written; the one send that started meanwhile counts too.
      expect(broadcast.failedCount).toBe(w.sender.calls.length);
      expect(w.sender.calls.length).toBeGreaterThanOrEqual(2);
      expect(w.sender.calls.length).toBeLessThanOrEqual(3);
    });

    it("goes on after an admin resumes a broadcast above its threshold", async () => {
      w = await makeWorld(factory, { batchSize: 1 });
      const b = await w.started(5, { errorThreshold: 2 });
      w.respondWith(() => permanent());
      await w.settle();

      await w.service.resume(b.id);
      await w.settle();

      expect(await w.broadcast(b.id)).toMatchObject({ status: "failed", failedCount: 5 });
    });
  });

  describe("retries", () => {
    it("retries a transient failure after 60 s, 120 s and 240 s, then fails it", async () => {
      w = await makeWorld(factory);
      const attemptsAt: number[] = [];
      w.respondWith(() => {
        attemptsAt.push(secondsSinceStart(w.clock.now()));
        return transient();
      });
      const b = await w.started(1);

      await w.runJobs();
      expect(await w.recipients(b.id)).toMatchObject([
        {
          state: "pending",
          attempts: 1,
          nextAttemptAt: new Date(START.getTime() + MINUTE),
          lastError: "Network timeout",
        },
      ]);
      w.clock.advance(MINUTE - 1);
      await w.runJobs();
      expect(attemptsAt).toEqual([0]);
      w.clock.advance(1);
      await w.runJobs();
      expect(attemptsAt).toEqual([0, 60]);
      await w.settle();

      expect(attemptsAt).toEqual([0, 60, 180, 420]);
      expect(await w.recipients(b.id)).toMatchObject([
        { state: "failed", attempts: 4, lastErrorKind: "transient" },
      ]);
      expect(await w.broadcast(b.id)).toMatchObject({
        status: "failed",
        failedCount: 1,
        errorCounts: { "Network timeout": 1 },
      });
    });

    it("waits out a 429's retry_after without using up a retry", async () => {
      w = await makeWorld(factory);
      const attemptsAt: number[] = [];
      w.respondWith((_m, call) => {
        attemptsAt.push(secondsSinceStart(w.clock.now()));
        return call === 0
          ? {
              status: "failed",
              kind: "transient",
              description: "Too Many Requests: retry after 5",
              retryAfterMs: 5 * SECOND,
            }
          : transient();
      });
      const b = await w.started(1);

      await w.runJobs();
      expect(await w.recipients(b.id)).toMatchObject([{ state: "pending", attempts: 0 }]);
      await w.settle();

      // 429 at 0 s, then the first attempt at 5 s and all three retries after it.
      expect(attemptsAt).toEqual([0, 5, 65, 185, 425]);
      expect(await w.recipients(b.id)).toMatchObject([{ state: "failed", attempts: 4 }]);
    });

    it("keeps one continuation job waiting for the next due attempt", async () => {
      w = await makeWorld(factory);
      w.respondWith(() => transient());
      const b = await w.started(3);

      await w.runJobs();

      expect(w.queue.pending()).toEqual([
        expect.objectContaining({
          job: { broadcastId: b.id, onlyFailed: false },
          dueAt: new Date(START.getTime() + MINUTE),
          dedupeKey: `send:${b.id}:later`,
        }),
      ]);
    });

    it("runs a resume at once, not folded into a continuation waiting for a retry", async () => {
      w = await makeWorld(factory);
      w.respondWith(() => transient());
      const b = await w.started(3);
      await w.runJobs();
      (await w.service.pause(b.id))._unsafeUnwrap();
      (await w.service.resume(b.id))._unsafeUnwrap();

      expect(w.queue.pending().map((p) => p.dueAt)).toEqual(
        expect.arrayContaining([START, new Date(START.getTime() + MINUTE)]),
      );
    });
  });

  describe("what the sender answers", () => {
    it("resends to the migrated chat id once and stores it on the recipient", async () => {
      w = await makeWorld(factory);
      const supergroup = -1001234567890;
      w.respondWith((m) =>
        m.chatId === supergroup
          ? { status: "delivered", messageId: 77 }
          : {
              status: "failed",
              kind: "permanent",
              description: "Bad Request: group chat was upgraded to a supergroup chat",
              migrateToChatId: supergroup,
            },
      );
      const b = await w.started(1);

      await w.settle();

      expect(w.sender.calls.map((call) => [call.chatId, call.idempotencyKey])).toEqual([
        [1001, idempotencyKey(b.id, 1)],
        [supergroup, idempotencyKey(b.id, 1)],
      ]);
      expect(await w.recipients(b.id)).toMatchObject([{ state: "sent", chatId: supergroup, messageId: 77 }]);
      expect(await w.broadcast(b.id)).toMatchObject({ status: "sent", sentCount: 1 });
    });

    it.each([
      [
        "throws",
        () => {
          throw new Error("socket hang up");
        },
      ],
      ["rejects", () => Promise.reject(new Error("socket hang up"))],
      ["answers outside the port's shape", () => ({ ok: true }) as unknown as SendResult],
      [
        "answers an unknown failure kind",
        () => ({ status: "failed", kind: "weird", description: "?" }) as unknown as SendResult,
      ],
    ])("counts a sender that %s as a transient 'sender error' and logs the cause", async (_name, answer) => {
      w = await makeWorld(factory);
      w.respondWith(answer);
      const b = await w.started(2);

      const run = (await w.worker.handle({ broadcastId: b.id, onlyFailed: false }))._unsafeUnwrap();

      expect(run).toMatchObject({ stoppedBecause: "waiting", retrying: 2 });
      expect(await w.recipients(b.id)).toMatchObject([
        { state: "pending", attempts: 1, lastError: "sender error", lastErrorKind: "transient" },
        { state: "pending", attempts: 1, lastError: "sender error", lastErrorKind: "transient" },
      ]);
      expect(
        w.logs.filter((log) => log.level === "warn" && log.fields.recipientId !== undefined),
      ).toHaveLength(2);
    });
  });

  describe("store failures and crashes", () => {
    it("ends the run with a storage error; the queue runs it again and nothing is lost or counted twice", async () => {
      w = await makeWorld(factory, { batchSize: 2 });
      const b = await w.started(4);
      w.faults.failNext("recordOutcomes");

      await w.runJobs();
      expect(w.queue.pending()).toEqual([expect.objectContaining({ failedRuns: 1 })]);
      expect(await w.broadcast(b.id)).toMatchObject({ sentCount: 0, failedCount: 0 });
      expect(w.logs.find((log) => log.level === "error")?.fields).toMatchObject({
        operation: "recordOutcomes",
      });

      await w.settle();

      // At least once: the outcomes that were lost are sent again once their lease expires; the
      // recipients claimed but not started yet were released and sent by the next run.
      const calls = w.sender.calls.map((call) => call.recipientId);
      expect(calls.slice(0, 2)).toEqual([1, 2]);
      expect([...calls].sort()).toEqual([1, 1, 2, 2, 3, 4]);
      expect(await w.broadcast(b.id)).toMatchObject({ status: "sent", sentCount: 4, failedCount: 0 });
      expect((await w.recipients(b.id)).map((r) => r.state)).toEqual(["sent", "sent", "sent", "sent"]);
    });

    it("at most once: a recipient whose outcome was lost is failed as 'delivery unknown', never sent twice", async () => {
      w = await makeWorld(factory, { batchSize: 2, guarantee: "at-most-once" });
      const b = await w.started(4);
      w.faults.failNext("recordOutcomes");
      const crashed = await w.worker.handle({ broadcastId: b.id, onlyFailed: false });
      expect(crashed._unsafeUnwrapErr()).toMatchObject({ type: "storage" });

      await w.settle();

      expect(w.sender.calls.map((call) => call.recipientId)).toEqual([1, 2, 3, 4]);
      expect(await w.broadcast(b.id)).toMatchObject({ status: "completed", sentCount: 2, failedCount: 2 });
      expect((await w.recipients(b.id)).map((r) => [r.state, r.lastError])).toEqual([
        ["failed", DELIVERY_UNKNOWN],
        ["failed", DELIVERY_UNKNOWN],
        ["sent", null],
        ["sent", null],
      ]);
    });

    it("at most once: recipients taken over from a dead worker are failed as 'delivery unknown' at claim time, even when the run stops before reaching them", async () => {
      w = await makeWorld(factory, {
        batchSize: 4,
        concurrency: 1,
        leaseMs: SECOND,
        guarantee: "at-most-once",
      });
      const b = await w.started(4);
      // A worker claimed recipients 1 and 2 and died: whether it sent them is unknown.
      const dead = await w.store.claimRecipients({
        broadcastId: b.id,
        owner: "dead",
        limit: 2,
        now: w.clock.now(),
        leaseMs: SECOND,
        onlyFailed: false,
      });
      expect(dead.recipients.map((r) => r.recipientId)).toEqual([1, 2]);
      w.clock.advance(2 * SECOND);
      // The pause lands while the next run claims all four: it stops before starting anyone.
      let paused = false;
      w.faults.before("claimRecipients", async () => {
        if (paused) return;
        paused = true;
        (await w.service.pause(b.id))._unsafeUnwrap();
      });

      await w.runJobs();
      expect(w.sender.calls).toEqual([]);
      (await w.service.resume(b.id))._unsafeUnwrap();
      await w.settle();

      // Released unsent, 1 and 2 would have lost their takeover mark and been sent again.
      expect(w.sender.calls.map((call) => call.recipientId)).toEqual([3, 4]);
      expect(await w.broadcast(b.id)).toMatchObject({ status: "completed", sentCount: 2, failedCount: 2 });
      expect((await w.recipients(b.id)).map((r) => [r.state, r.lastError])).toEqual([
        ["failed", DELIVERY_UNKNOWN],
        ["failed", DELIVERY_UNKNOWN],
        ["sent", null],
        ["sent", null],
      ]);
    });

    it("a run whose lease was taken over drops those outcomes, leaves the newer ones, and ends without harm", async () => {
      w = await makeWorld(factory, { batchSize: 2, leaseMs: SECOND });
      const b = await w.started(2);
      let overtaken: ReturnType<typeof w.worker.handle> | undefined;
      w.respondWith(async () => {
        if (overtaken === undefined) {
          // The first worker stalls past its lease; meanwhile a second run takes its recipients over.
          w.clock.advance(2 * SECOND);
          overtaken = w.worker.handle({ broadcastId: b.id, onlyFailed: false });
          await overtaken;
        }
        return { status: "delivered" };
      });

      const slow = await w.worker.handle({ broadcastId: b.id, onlyFailed: false });
      const fast = await overtaken;

      expect(slow._unsafeUnwrap()).toMatchObject({
        stoppedBecause: "not_sending",
        status: "sent",
        delivered: 0,
      });
      expect(fast).toMatchObject({ value: { stoppedBecause: "finished", delivered: 2 } });
      expect(await w.broadcast(b.id)).toMatchObject({ status: "sent", sentCount: 2 });
      expect(w.logs.some((log) => log.level === "warn" && /lease lost/.test(log.message ?? ""))).toBe(true);
    });

    it("a late worker starts no send on a lease that expired under it: recipients taken over meanwhile are sent by their new holder only", async () => {
      w = await makeWorld(factory, { batchSize: 4, concurrency: 1, leaseMs: SECOND });
      const b = await w.started(4);
      // Another process's worker: this one hears of what it does through the store only.
      const elsewhere = createSendWorker({
        store: w.store,
        queue: w.queue,
        sender: w.sender,
        clock: w.clock,
      });
      let overtaken: ReturnType<typeof w.worker.handle> | undefined;
      w.respondWith(async () => {
        if (overtaken === undefined) {
          // The worker stalls past its lease on its first send; the other takes all four over.
          w.clock.advance(2 * SECOND);
          overtaken = elsewhere.handle({ broadcastId: b.id, onlyFailed: false });
          await overtaken;
        }
        return { status: "delivered" };
      });

      await w.worker.handle({ broadcastId: b.id, onlyFailed: false });
      await overtaken;

      // 1 was on its way when the lease expired, so its new holder sends it again (at least once);
      // 2, 3 and 4 were never started by the late worker, and it does not start them now.
      expect(w.sender.calls.map((call) => call.recipientId)).toEqual([1, 1, 2, 3, 4]);
      expect(await w.broadcast(b.id)).toMatchObject({ status: "sent", sentCount: 4 });
    });

    it("a renewal that waits behind a write renews only what is still unwritten: nothing it just stored is reported lost", async () => {
      // Renewed every 10 ms (real time), while each write takes 50 ms: renewals queue behind writes.
      w = await makeWorld(factory, { batchSize: 2, concurrency: 2, leaseMs: 30 });
      const b = await w.started(6);
      w.faults.before("recordOutcomes", () => new Promise((resolve) => setTimeout(resolve, 50)));

      await w.runJobs();

      expect(w.logs.filter((log) => /lease lost/.test(log.message ?? ""))).toEqual([]);
      expect(w.sender.calls.map((call) => call.recipientId)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(await w.broadcast(b.id)).toMatchObject({ status: "sent", sentCount: 6 });
    });

    it("a late worker that wakes after a cancel made elsewhere has answered starts no send", async () => {
      w = await makeWorld(factory, { batchSize: 4, concurrency: 1, leaseMs: SECOND });
      const b = await w.started(4);
      // Another process's service: this worker hears of its cancel through the store only.
      const elsewhere = createBroadcastService({ store: w.store, queue: w.queue, clock: w.clock });
      let cancelled = false;
      w.respondWith(async () => {
        if (!cancelled) {
          cancelled = true;
          // The worker stalls past its lease, so the cancel finds no live lease and answers at once.
          w.clock.advance(2 * SECOND);
          (await elsewhere.cancel(b.id))._unsafeUnwrap();
        }
        return { status: "delivered" };
      });

      await w.worker.handle({ broadcastId: b.id, onlyFailed: false });

      expect(w.sender.calls.map((call) => call.recipientId)).toEqual([1]);
      expect((await w.broadcast(b.id)).status).toBe("cancelled");
    });
  });
});

describe("what the send worker logs", () => {
  it("puts the broadcast and the queue's job id on every line of a run", async () => {
    const w = await makeWorld(storeFactories[0]!);
    try {
      w.respondWith((m) =>
        m.recipientId === 2
          ? { status: "failed", kind: "transient", description: "Network timeout" }
          : { status: "delivered" },
      );
      const b = await w.started(3);
      const before = w.logs.length;
      await w.runJobs();
      const [job] = w.queue.pending();
      const ran = w.logs.slice(before);

      expect(ran.length).toBeGreaterThan(0);
      expect(
        ran.every((log) => log.fields.broadcastId === b.id && typeof log.fields.jobId === "string"),
      ).toBe(true);
      expect(job).toBeDefined();
    } finally {
      await w.close();
    }
  });
});
